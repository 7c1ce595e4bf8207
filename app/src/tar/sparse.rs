//! Sparse entries: the old GNU `S` map (in the header and extension blocks) and the PAX
//! GNU sparse formats (0.0/0.1 in records, 1.0 at the start of the payload). Only the map
//! is read and checked; holes are never materialised. The header's size becomes the real
//! size, and the map must account for exactly the data bytes stored.

use super::block::{self, field, Format, BLOCK};
use super::pax::{self, PaxRecords, Region};
use super::{Header, Sparse, SparseFormat, TarError, TarReader, TarSource};

impl<S: TarSource> TarReader<S> {
    pub(super) fn read_sparse(
        &mut self,
        hdr: &mut Header,
        blk: &[u8; BLOCK],
        recs: Option<&PaxRecords>,
        off: u64,
    ) -> Result<(), TarError> {
        let invalid = |reason: &str| TarError::InvalidHeader {
            offset: off,
            reason: reason.to_owned(),
        };
        let (format, regions) = if hdr.typeflag == b'S' {
            if hdr.format != Format::Gnu {
                return Err(invalid("old GNU sparse entry in a non-GNU header"));
            }
            let real = block::parse_numeric(&blk[field::GNU_REAL_SIZE])
                .map_err(|_| invalid("bad GNU sparse real size"))?;
            hdr.size = u64::try_from(real).map_err(|_| invalid("negative sparse real size"))?;
            (SparseFormat::OldGnu, self.old_gnu_map(blk, off)?)
        } else {
            let Some(recs) = recs else { return Ok(()) };
            let major = recs.get("GNU.sparse.major");
            let minor = recs.get("GNU.sparse.minor");
            let pax1 = match (major, minor) {
                (Some(b"0"), Some(b"0" | b"1")) => false,
                (Some(b"1"), Some(b"0")) => true,
                (Some(_), _) | (_, Some(_)) => return Ok(()),
                (None, None) if recs.get("GNU.sparse.map").is_some_and(|m| !m.is_empty()) => false,
                (None, None) => return Ok(()),
            };
            if let Some(name) = recs.get("GNU.sparse.name").filter(|n| !n.is_empty()) {
                hdr.path = name.to_vec();
            }
            let size = recs
                .get("GNU.sparse.size")
                .or_else(|| recs.get("GNU.sparse.realsize"));
            if let Some(size) = size {
                let n = pax::parse_decimal_i64(size).ok_or_else(|| invalid("bad sparse size"))?;
                hdr.size = u64::try_from(n).map_err(|_| invalid("negative sparse size"))?;
            }
            if pax1 {
                (SparseFormat::Pax1, self.pax1_map(off)?)
            } else {
                let regions =
                    pax::sparse_map_0x1(recs, self.max_sparse).map_err(|e| TarError::Pax {
                        offset: off,
                        reason: format!("bad sparse map: {e:?}"),
                    })?;
                (SparseFormat::Pax0, regions)
            }
        };
        if super::header_only(hdr.typeflag) {
            return Err(invalid("sparse map on an entry without data"));
        }
        let real = i64::try_from(hdr.size).map_err(|_| invalid("sparse size out of range"))?;
        let data = pax::validate_sparse(&regions, real)
            .ok_or_else(|| invalid("sparse map out of order or outside the file"))?;
        if data != self.remaining {
            return Err(invalid(&format!(
                "sparse map describes {data} data bytes but the entry stores {}",
                self.remaining
            )));
        }
        hdr.sparse = Some(Sparse {
            format,
            regions: regions.len(),
            data_bytes: data,
        });
        Ok(())
    }

    fn push_region(&self, out: &mut Vec<Region>, r: Region, off: u64) -> Result<(), TarError> {
        if out.len() >= self.max_sparse {
            return Err(TarError::TooManySparseRegions {
                offset: off,
                max: self.max_sparse,
            });
        }
        out.push(r);
        Ok(())
    }

    fn old_gnu_map(&mut self, first: &[u8; BLOCK], off: u64) -> Result<Vec<Region>, TarError> {
        let mut out = Vec::new();
        let mut blk = *first;
        let (mut area, mut ext_flag) = (field::GNU_SPARSE, field::GNU_IS_EXTENDED);
        loop {
            for entry in blk[area.clone()].chunks_exact(24) {
                // Same termination rule as GNU, BSD and Go tar.
                if entry[0] == 0 {
                    break;
                }
                let parse = |b: &[u8]| {
                    block::parse_numeric(b).map_err(|_| TarError::InvalidHeader {
                        offset: off,
                        reason: "bad old GNU sparse map".into(),
                    })
                };
                let r = Region {
                    offset: parse(&entry[..12])?,
                    length: parse(&entry[12..])?,
                };
                self.push_region(&mut out, r, off)?;
            }
            if blk[ext_flag] == 0 {
                return Ok(out);
            }
            blk = self
                .read_block("a sparse extension block")?
                .ok_or(TarError::Truncated {
                    offset: self.offset,
                    what: "a sparse extension block",
                })?;
            area = field::EXT_SPARSE;
            ext_flag = field::EXT_IS_EXTENDED;
        }
    }

    /// The 1.0 map: decimal lines (count, then offset/length pairs) in whole blocks at the
    /// start of the payload.
    fn pax1_map(&mut self, off: u64) -> Result<Vec<Region>, TarError> {
        let mut text: Vec<u8> = Vec::new();
        let mut pos = 0usize;
        let mut next_token = |tr: &mut Self, text: &mut Vec<u8>| -> Result<i64, TarError> {
            loop {
                if let Some(nl) = text[pos..].iter().position(|&b| b == b'\n') {
                    let tok = &text[pos..pos + nl];
                    pos += nl + 1;
                    return pax::parse_decimal_i64(tok).ok_or(TarError::InvalidHeader {
                        offset: off,
                        reason: "bad PAX 1.0 sparse map".into(),
                    });
                }
                if text.len() as u64 + BLOCK as u64 > tr.max_ext {
                    return Err(TarError::ExtensionTooLarge {
                        offset: off,
                        what: "PAX 1.0 sparse map",
                        size: text.len() as u64 + BLOCK as u64,
                        max: tr.max_ext,
                    });
                }
                if tr.remaining < BLOCK as u64 {
                    return Err(TarError::Truncated {
                        offset: tr.offset,
                        what: "a PAX 1.0 sparse map",
                    });
                }
                let blk = tr
                    .read_block("a PAX 1.0 sparse map")?
                    .ok_or(TarError::Truncated {
                        offset: tr.offset,
                        what: "a PAX 1.0 sparse map",
                    })?;
                tr.remaining -= BLOCK as u64;
                text.extend_from_slice(&blk);
            }
        };
        let count = next_token(self, &mut text)?;
        if count < 0 {
            return Err(TarError::InvalidHeader {
                offset: off,
                reason: "negative sparse region count".into(),
            });
        }
        if count as u64 > self.max_sparse as u64 {
            return Err(TarError::TooManySparseRegions {
                offset: off,
                max: self.max_sparse,
            });
        }
        let mut out = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let offset = next_token(self, &mut text)?;
            let length = next_token(self, &mut text)?;
            out.push(Region { offset, length });
        }
        // The map occupies whole blocks; the payload proper starts after them.
        self.pad = super::pad_of(self.remaining);
        Ok(out)
    }
}
