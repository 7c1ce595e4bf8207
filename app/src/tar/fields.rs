//! The fields every header block carries (name with ustar/star prefix, mode, ids, size,
//! mtime, device numbers), and how PAX records override them (Go's `mergePAX`).

use super::block::{self, field, Format, BLOCK};
use super::pax::{self, PaxRecords};
use super::{Header, TarError};

/// The numeric and name fields every header carries.
pub(super) struct Fields {
    pub name: Vec<u8>,
    pub mode: i64,
    pub uid: i64,
    pub gid: i64,
    pub size: i64,
    pub mtime: i64,
}

impl Fields {
    pub(super) fn parse(blk: &[u8; BLOCK], format: Format, off: u64) -> Result<Self, TarError> {
        let num = |range: std::ops::Range<usize>, what: &str| {
            block::parse_numeric(&blk[range]).map_err(|e| TarError::InvalidHeader {
                offset: off,
                reason: format!("bad {what} field ({e:?})"),
            })
        };
        let mode = num(field::MODE, "mode")?;
        let uid = num(field::UID, "uid")?;
        let gid = num(field::GID, "gid")?;
        let size = num(field::SIZE, "size")?;
        let mtime = num(field::MTIME, "mtime")?;
        let name = block::parse_str(&blk[field::NAME]);
        let prefix: &[u8] = match format {
            Format::Ustar | Format::Star | Format::Gnu => {
                num(field::DEVMAJOR, "devmajor")?;
                num(field::DEVMINOR, "devminor")?;
                match format {
                    Format::Ustar => block::parse_str(&blk[field::USTAR_PREFIX]),
                    Format::Star => block::parse_str(&blk[field::STAR_PREFIX]),
                    _ => b"",
                }
            }
            Format::V7 => b"",
        };
        let mut full = Vec::with_capacity(prefix.len() + 1 + name.len());
        if !prefix.is_empty() {
            full.extend_from_slice(prefix);
            full.push(b'/');
        }
        full.extend_from_slice(name);
        Ok(Fields {
            name: full,
            mode,
            uid,
            gid,
            size,
            mtime,
        })
    }
}

/// Applies PAX records to an entry like Go's `mergePAX`; returns the (possibly overridden)
/// size.
pub(super) fn merge_pax(hdr: &mut Header, recs: &PaxRecords, mut size: i64) -> Result<i64, String> {
    let int = |k: &str, v: &[u8]| pax::parse_decimal_i64(v).ok_or_else(|| format!("bad {k}"));
    let time = |k: &str, v: &[u8]| pax::parse_time(v).ok_or_else(|| format!("bad {k}"));
    for (k, v) in &recs.map {
        match k.as_slice() {
            b"path" => hdr.path = v.clone(),
            b"linkpath" => hdr.linkname = v.clone(),
            b"size" => size = int("size", v)?,
            b"uid" => hdr.uid = int("uid", v)?,
            b"gid" => hdr.gid = int("gid", v)?,
            b"mtime" => hdr.mtime = time("mtime", v)?,
            b"atime" => {
                time("atime", v)?;
            }
            b"ctime" => {
                time("ctime", v)?;
            }
            _ => {}
        }
    }
    Ok(size)
}

pub(super) fn pax_error(offset: u64, e: pax::PaxError) -> TarError {
    let reason = match e {
        pax::PaxError::Malformed(why) => format!("malformed record: {why}"),
        pax::PaxError::DuplicateKey(k) => format!("key {k:?} given twice (ambiguous)"),
        pax::PaxError::BadValue(k) => format!("bad value for {k}"),
    };
    TarError::Pax { offset, reason }
}
