//! The member store: accepts archive members in any order, keeps small JSON documents in
//! memory, indexes every other member as a candidate layer while it streams past, and
//! resolves names (with in-archive symlinks) for the join in [`Assembler::finish`].
//!
//! Invariants: keys are cleaned member names (see [`super::path`]); a member named
//! `blobs/sha256/<hex>` is only ever stored with content that hashes to `<hex>` (else it
//! is stored as broken); JSON kept in memory never exceeds `max_json` per document nor
//! [`JSON_BUDGET_FACTOR`] × `max_json` in total (members beyond it are stored as broken);
//! the last member with a name wins (A6).

use super::path::{self, PathError};
use super::{Archive, ArchiveError};
use crate::layer;
use crate::limits::Limits;
use crate::model::{Digest, LayerIndex};
use std::collections::{HashMap, HashSet};
use std::io::{self, Read};
use std::sync::Arc;

/// Total in-memory JSON allowed per archive, as a multiple of `Limits::max_json`.
pub const JSON_BUDGET_FACTOR: u64 = 4;

/// Symlink hops followed when resolving one member path (A5).
pub const MAX_SYMLINK_HOPS: usize = 8;

/// How many leading bytes decide whether an unnamed blob is JSON.
const SNIFF: usize = 512;

/// One stored member.
#[derive(Debug, Clone)]
pub(crate) enum Member {
    /// A small document kept verbatim, with the digest of its bytes.
    Json { bytes: Arc<[u8]>, digest: Digest },
    /// A JSON(-looking) member over the cap; never read (A8).
    Oversized { size: u64 },
    /// A member indexed as a layer.
    Layer(Arc<LayerIndex>),
    /// A member that could not be used; the error surfaces only if it is referenced.
    Broken(ArchiveError),
    /// A symlink member and its raw target.
    Symlink(String),
}

/// Collects archive members, then joins them into an [`Archive`].
pub struct Assembler<'a> {
    pub(crate) limits: &'a Limits,
    pub(crate) progress: &'a mut dyn FnMut(u64),
    pub(crate) members: HashMap<String, Member>,
    json_bytes: u64,
    layer_bytes: u64,
    layer_entries: u64,
    /// Member bytes consumed so far (what `progress` reports).
    consumed: u64,
    pub(crate) ignored: Vec<String>,
}

impl<'a> Assembler<'a> {
    /// A new, empty assembler. `progress` receives the running total of member bytes
    /// consumed (JSON members and layer blobs as stored), growing while layers are indexed.
    pub fn new(limits: &'a Limits, progress: &'a mut dyn FnMut(u64)) -> Self {
        Assembler {
            limits,
            progress,
            members: HashMap::new(),
            json_bytes: 0,
            layer_bytes: 0,
            layer_entries: 0,
            consumed: 0,
            ignored: Vec::new(),
        }
    }

    /// Adds a regular-file member of `size` bytes whose content `data` yields. Errors are
    /// returned only for failures of the whole job (reading `data`, job-wide caps); a
    /// member that is merely unusable is stored as such and reported if referenced.
    pub fn add_file(
        &mut self,
        name: &str,
        size: u64,
        data: &mut dyn Read,
    ) -> Result<(), ArchiveError> {
        let Some(key) = self.key_for(name) else {
            return Ok(());
        };
        self.forget(&key);
        let named_digest = blob_name_digest(&key);
        if key.starts_with("blobs/") && named_digest.is_none() {
            // Another algorithm or a stray file under blobs/: nothing can reference it.
            self.ignored.push(name.to_owned());
            return Ok(());
        }
        let metadata = is_metadata_name(&key);
        let cap = self.limits.max_json;
        if metadata && size > cap {
            self.members.insert(key, Member::Oversized { size });
            return Ok(());
        }
        let mut prefix = Vec::with_capacity(SNIFF);
        read_up_to(
            data,
            &mut prefix,
            SNIFF.min(usize::try_from(size).unwrap_or(SNIFF)),
        )
        .map_err(|e| read_error(name, &e))?;
        let json = metadata || looks_like_json(&prefix);
        if json && size > cap {
            self.members.insert(key, Member::Oversized { size });
            return Ok(());
        }
        if json {
            return self.add_json(key, name, prefix, data, named_digest);
        }
        let mut blob = io::Cursor::new(prefix).chain(data);
        let base = self.consumed;
        let mut seen = 0;
        let progress = &mut *self.progress;
        let result = layer::index_layer(&mut blob, None, self.limits, &mut |n| {
            seen = n;
            progress(base + n);
        });
        self.consumed += seen;
        let member = match result {
            Ok(index) => self.accept_layer(&key, index, named_digest)?,
            Err(e) => Member::Broken(ArchiveError::Layer {
                member: key.clone(),
                source: Arc::new(e),
            }),
        };
        self.members.insert(key, member);
        Ok(())
    }

    /// Adds a symlink member (`name -> target`); it is followed only when a path through
    /// it is looked up, and only inside the archive.
    pub fn add_symlink(&mut self, name: &str, target: &str) {
        if let Some(key) = self.key_for(name) {
            self.forget(&key);
            self.members.insert(key, Member::Symlink(target.to_owned()));
        }
    }

    /// Joins the members into the images they describe.
    pub fn finish(self) -> Result<Archive, ArchiveError> {
        super::build::finish(self)
    }

    /// Records a member that cannot be addressed (e.g. a non-UTF-8 name).
    pub(crate) fn ignore(&mut self, name: &str) {
        self.ignored.push(name.chars().take(200).collect());
    }

    fn key_for(&mut self, name: &str) -> Option<String> {
        match path::clean(name) {
            Ok(k) => Some(k),
            Err(_) => {
                self.ignored.push(name.chars().take(200).collect());
                None
            }
        }
    }

    /// Drops an earlier member of the same name (last wins) and releases its budget.
    fn forget(&mut self, key: &str) {
        match self.members.remove(key) {
            Some(Member::Json { bytes, .. }) => self.json_bytes -= bytes.len() as u64,
            Some(Member::Layer(l)) => {
                self.layer_bytes = self.layer_bytes.saturating_sub(l.tar_size);
                self.layer_entries = self.layer_entries.saturating_sub(l.entries.len() as u64);
            }
            _ => {}
        }
    }

    fn add_json(
        &mut self,
        key: String,
        name: &str,
        mut bytes: Vec<u8>,
        data: &mut dyn Read,
        named_digest: Option<Digest>,
    ) -> Result<(), ArchiveError> {
        let cap = self.limits.max_json;
        let room = (cap + 1).saturating_sub(bytes.len() as u64);
        data.take(room)
            .read_to_end(&mut bytes)
            .map_err(|e| read_error(name, &e))?;
        if bytes.len() as u64 > cap {
            // The declared size lied; what follows is never read.
            self.members.insert(
                key,
                Member::Oversized {
                    size: bytes.len() as u64,
                },
            );
            return Ok(());
        }
        self.consumed += bytes.len() as u64;
        (self.progress)(self.consumed);
        let budget = cap.saturating_mul(JSON_BUDGET_FACTOR);
        if self.json_bytes + bytes.len() as u64 > budget {
            // Memory stays bounded; the member fails only if something needs it (an
            // archive full of large SBOM attestations is still readable).
            let e = ArchiveError::LimitExceeded(format!(
                "json member {key}: json members total more than {budget} bytes"
            ));
            self.members.insert(key, Member::Broken(e));
            return Ok(());
        }
        self.json_bytes += bytes.len() as u64;
        let digest = Digest::of(&bytes);
        let member = match named_digest {
            Some(expected) if expected != digest => Member::Broken(ArchiveError::DigestMismatch {
                what: format!("blob {key}"),
                expected,
                actual: digest,
            }),
            _ => Member::Json {
                bytes: bytes.into(),
                digest,
            },
        };
        self.members.insert(key, member);
        Ok(())
    }

    fn accept_layer(
        &mut self,
        key: &str,
        index: LayerIndex,
        named_digest: Option<Digest>,
    ) -> Result<Member, ArchiveError> {
        let actual = blob_digest_of(&index);
        if let Some(expected) = named_digest {
            if expected != actual {
                return Ok(Member::Broken(ArchiveError::DigestMismatch {
                    what: format!("blob {key}"),
                    expected,
                    actual,
                }));
            }
        }
        self.charge_layer(&index)?;
        Ok(Member::Layer(Arc::new(index)))
    }

    /// Counts a layer against the job-wide caps.
    pub(crate) fn charge_layer(&mut self, index: &LayerIndex) -> Result<(), ArchiveError> {
        self.layer_bytes = self.layer_bytes.saturating_add(index.tar_size);
        self.layer_entries = self
            .layer_entries
            .saturating_add(index.entries.len() as u64);
        if self.layer_bytes > self.limits.max_job_bytes {
            return Err(ArchiveError::LimitExceeded(format!(
                "layers total more than {} decompressed bytes",
                self.limits.max_job_bytes
            )));
        }
        if self.layer_entries > self.limits.max_entries_per_image {
            return Err(ArchiveError::LimitExceeded(format!(
                "layers total more than {} entries",
                self.limits.max_entries_per_image
            )));
        }
        Ok(())
    }

    /// Finds the member a manifest path names, following symlinks inside the archive
    /// (≤ [`MAX_SYMLINK_HOPS`], cycles fail). Returns the final key and member, or
    /// `Ok(None)` when nothing has that name.
    pub(crate) fn lookup(
        &self,
        what: &str,
        raw: &str,
    ) -> Result<Option<(String, &Member)>, ArchiveError> {
        let path_err = |source: PathError| ArchiveError::Path {
            what: what.to_owned(),
            source,
        };
        let mut cur = path::clean(raw).map_err(path_err)?;
        let mut seen = HashSet::from([cur.clone()]);
        let mut hops = 0;
        loop {
            let Some(next) = self.through_symlink(what, &cur)? else {
                return Ok(self.members.get(&cur).map(|m| (cur, m)));
            };
            hops += 1;
            if hops > MAX_SYMLINK_HOPS {
                return Err(ArchiveError::Symlink {
                    what: what.to_owned(),
                    path: raw.to_owned(),
                    reason: format!("more than {MAX_SYMLINK_HOPS} hops"),
                });
            }
            if !seen.insert(next.clone()) {
                return Err(ArchiveError::Symlink {
                    what: what.to_owned(),
                    path: raw.to_owned(),
                    reason: format!("cycle through {next:?}"),
                });
            }
            cur = next;
        }
    }

    /// Rewrites `cur` through the first (shortest) prefix that is a symlink member.
    fn through_symlink(&self, what: &str, cur: &str) -> Result<Option<String>, ArchiveError> {
        let comps: Vec<&str> = cur.split('/').collect();
        for i in 1..=comps.len() {
            let prefix = comps[..i].join("/");
            if let Some(Member::Symlink(target)) = self.members.get(&prefix) {
                let resolved =
                    path::join_link(&prefix, target).map_err(|e| ArchiveError::Symlink {
                        what: what.to_owned(),
                        path: prefix.clone(),
                        reason: e.to_string(),
                    })?;
                let rest = comps[i..].join("/");
                return Ok(Some(if rest.is_empty() {
                    resolved
                } else {
                    format!("{resolved}/{rest}")
                }));
            }
        }
        Ok(None)
    }

    /// Indexes an in-memory member as a layer (a layer tar whose first bytes looked like
    /// JSON and so was kept in memory).
    pub(crate) fn index_bytes(
        &mut self,
        key: &str,
        bytes: &[u8],
    ) -> Result<Arc<LayerIndex>, ArchiveError> {
        let base = self.consumed;
        let progress = &mut *self.progress;
        let index = layer::index_layer(bytes, None, self.limits, &mut |n| progress(base + n))
            .map_err(|e| ArchiveError::Layer {
                member: key.to_owned(),
                source: Arc::new(e),
            })?;
        self.charge_layer(&index)?;
        Ok(Arc::new(index))
    }
}

/// The digest of a layer blob's bytes as stored: the compressed digest, or the diff ID of
/// an uncompressed tar.
pub(crate) fn blob_digest_of(index: &LayerIndex) -> Digest {
    index
        .blob_digest
        .clone()
        .unwrap_or_else(|| index.diff_id.clone())
}

/// The stored size of a layer blob: compressed size, or the tar size.
pub(crate) fn blob_size_of(index: &LayerIndex) -> u64 {
    index.compressed_size.unwrap_or(index.tar_size)
}

/// `blobs/sha256/<hex>` → the digest it names.
pub(crate) fn blob_name_digest(key: &str) -> Option<Digest> {
    let hex = key.strip_prefix("blobs/sha256/")?;
    Digest::parse(&format!("sha256:{hex}")).ok()
}

/// Members that are always small metadata documents, never layers.
fn is_metadata_name(key: &str) -> bool {
    let last = key.rsplit('/').next().unwrap_or(key);
    key.ends_with(".json") || matches!(last, "json" | "VERSION" | "oci-layout" | "repositories")
}

/// JSON documents start with `{` or `[` after optional whitespace (and a UTF-8 BOM).
fn looks_like_json(prefix: &[u8]) -> bool {
    let body = prefix.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(prefix);
    matches!(
        body.iter().find(|b| !b.is_ascii_whitespace()),
        Some(b'{') | Some(b'[')
    )
}

fn read_up_to(r: &mut dyn Read, out: &mut Vec<u8>, n: usize) -> io::Result<()> {
    r.take(n as u64).read_to_end(out).map(|_| ())
}

fn read_error(name: &str, e: &io::Error) -> ArchiveError {
    ArchiveError::Read {
        member: name.chars().take(200).collect(),
        message: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_json() {
        assert!(looks_like_json(b"  {\"a\":1}"));
        assert!(looks_like_json(b"\xEF\xBB\xBF["));
        assert!(!looks_like_json(b"\x1f\x8b\x08"));
        assert!(!looks_like_json(b""));
        assert!(!looks_like_json(b"bin/\0\0\0"));
    }

    #[test]
    fn metadata_names() {
        for n in [
            "manifest.json",
            "index.json",
            "oci-layout",
            "repositories",
            "ab/json",
            "ab/VERSION",
            "abc.json",
        ] {
            assert!(is_metadata_name(n), "{n}");
        }
        for n in ["ab/layer.tar", "blobs/sha256/00"] {
            assert!(!is_metadata_name(n), "{n}");
        }
    }
}
