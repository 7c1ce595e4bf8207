//! Findings from the layer index alone, with no file read: secrets recognised by their
//! path (credential files, private keys by their conventional names) and build leftovers
//! (package-manager caches and indexes, `.git` directories, editor and core files), in
//! every layer. A file that a later layer deleted or replaced is still found: it ships
//! in the layer that added it, and anyone can extract it from there.
//!
//! Rules are data ([`RULES`]): an ID, a severity, a rationale and the Dockerfile change
//! that fixes it. [`check`] groups matches by rule and layer and says which layer hid
//! them, if any. [`check_metadata`] finds credentials in the config's `Env` and labels and
//! in the build history (build arguments, overwritten `ENV` values), masked. Content
//! rules (keys inside `*.pem`, tokens inside `.npmrc`) need the file bytes and are not
//! here yet.

mod metadata;
mod rules;

pub use metadata::{check_metadata, mask, redact_command};
pub use rules::RULES;

use crate::filetree::StackedTree;
use crate::fmt::display_path;
use crate::model::{EntryKind, LayerIndex};
use serde::{Deserialize, Serialize};

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Low,
    Medium,
    High,
}

impl Severity {
    /// `low`, `medium`, `high`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }

    /// Parses `low`, `medium` or `high`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "low" => Some(Severity::Low),
            "medium" => Some(Severity::Medium),
            "high" => Some(Severity::High),
            _ => None,
        }
    }
}

/// What kind of problem a rule finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// A credential or key that anyone with the image can read.
    Secret,
    /// Bytes the running image does not need.
    Leftover,
}

/// How a rule matches a path (raw, no leading `/`). Only regular files are matched.
#[derive(Debug, Clone, Copy)]
pub enum Match {
    /// The file name is exactly this.
    Name(&'static str),
    /// The file name ends with this (and is longer).
    Suffix(&'static str),
    /// The path ends with these components (`.aws/credentials`).
    Tail(&'static str),
    /// The file is somewhere under a directory whose path ends with these components
    /// (`.git`, `.cache/pip`, `var/lib/apt/lists`); `^` first anchors it at the root.
    Under(&'static str),
}

impl Match {
    fn hits(self, path: &[u8]) -> bool {
        let name = path.rsplit(|&b| b == b'/').next().unwrap_or(path);
        match self {
            Match::Name(n) => name == n.as_bytes(),
            Match::Suffix(s) => name.len() > s.len() && name.ends_with(s.as_bytes()),
            Match::Tail(t) => {
                path == t.as_bytes()
                    || (path.ends_with(t.as_bytes())
                        && path[..path.len() - t.len()].ends_with(b"/"))
            }
            Match::Under(d) => match d.strip_prefix('^') {
                Some(root) => {
                    path.starts_with(root.as_bytes()) && path.get(root.len()) == Some(&b'/')
                }
                None => {
                    let d = d.as_bytes();
                    path.windows(d.len() + 1).enumerate().any(|(i, w)| {
                        w.starts_with(d) && w[d.len()] == b'/' && (i == 0 || path[i - 1] == b'/')
                    })
                }
            },
        }
    }
}

/// One rule.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// Stable ID, `secret.aws-credentials`.
    pub id: &'static str,
    pub category: Category,
    pub severity: Severity,
    pub title: &'static str,
    /// Why it matters.
    pub rationale: &'static str,
    /// The Dockerfile change that fixes it.
    pub fix: &'static str,
    /// Any of these matches...
    pub matches: &'static [Match],
    /// ...unless one of these does.
    pub except: &'static [Match],
}

impl Rule {
    /// Whether the rule flags a regular file at `path`.
    pub fn flags(&self, path: &[u8]) -> bool {
        self.matches.iter().any(|m| m.hits(path)) && !self.except.iter().any(|m| m.hits(path))
    }
}

/// Paths listed per finding; the counts cover them all.
pub const SHOWN_PATHS: usize = 20;

/// Files of one rule written by one layer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub rule: String,
    pub category: Category,
    pub severity: Severity,
    pub title: String,
    pub rationale: String,
    pub fix: String,
    /// The layer whose tar holds the files (0 = base), or the layer of the build step
    /// whose record holds the value; `None` for the image config itself.
    pub layer: Option<u32>,
    /// Where a metadata finding was seen, with the value masked (`ENV DB_PASSWORD=hu…r2`):
    /// never more than its first and last two characters.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<String>,
    /// The layer that deleted or replaced every one of them, when a later one did: they
    /// are not in the final filesystem but still ship in `layer`.
    pub hidden_at: Option<u32>,
    /// Matching files and their bytes stored in `layer`.
    pub files: u64,
    pub bytes: u64,
    /// Up to [`SHOWN_PATHS`] of them, `/path` for display, in tar order.
    pub paths: Vec<String>,
}

/// Every finding of `rules` in the image whose layers `tree` stacks, most severe first,
/// then by layer.
pub fn check(
    tree: &StackedTree,
    layers: &[std::sync::Arc<LayerIndex>],
    rules: &[Rule],
) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::new();
    for (n, layer) in layers.iter().enumerate() {
        let n = u32::try_from(n).unwrap_or(u32::MAX);
        for rule in rules {
            let mut finding: Option<Finding> = None;
            let mut all_hidden = true;
            let mut last_hider: Option<u32> = None;
            for e in layer.entries.iter().filter(|e| is_file(&e.path, e.kind)) {
                if !rule.flags(&e.path) {
                    continue;
                }
                let hider = tree
                    .versions_of(&e.path)
                    .iter()
                    .find(|v| v.layer == n)
                    .and_then(|v| v.replaced_at);
                match hider {
                    Some(h) => last_hider = last_hider.max(Some(h)),
                    None => all_hidden = false,
                }
                let f = finding.get_or_insert_with(|| Finding {
                    rule: rule.id.to_owned(),
                    category: rule.category,
                    severity: rule.severity,
                    title: rule.title.to_owned(),
                    rationale: rule.rationale.to_owned(),
                    fix: rule.fix.to_owned(),
                    layer: Some(n),
                    evidence: Vec::new(),
                    hidden_at: None,
                    files: 0,
                    bytes: 0,
                    paths: Vec::new(),
                });
                f.files += 1;
                f.bytes = f.bytes.saturating_add(e.size);
                if f.paths.len() < SHOWN_PATHS {
                    f.paths.push(format!("/{}", display_path(&e.path)));
                }
            }
            if let Some(mut f) = finding {
                f.hidden_at = if all_hidden { last_hider } else { None };
                out.push(f);
            }
        }
    }
    sort(&mut out);
    out
}

/// Every finding of an image: [`RULES`] over its layers and [`check_metadata`] over its
/// config, sorted by [`sort`].
pub fn check_image(image: &crate::model::Image, tree: &StackedTree) -> Vec<Finding> {
    let mut all = check(tree, &image.layers, RULES);
    all.extend(check_metadata(&image.config));
    sort(&mut all);
    all
}

/// Most severe first, then by layer (the config's findings after every layer's).
pub fn sort(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        b.severity.cmp(&a.severity).then(
            a.layer
                .unwrap_or(u32::MAX)
                .cmp(&b.layer.unwrap_or(u32::MAX)),
        )
    });
}

/// A regular file that is not a whiteout marker (`.wh.*`, which deletes, not ships).
fn is_file(path: &[u8], kind: EntryKind) -> bool {
    let name = path.rsplit(|&b| b == b'/').next().unwrap_or(path);
    kind == EntryKind::File && !name.starts_with(b".wh.")
}

#[cfg(test)]
mod tests;
