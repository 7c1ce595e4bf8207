//! PAX extended-header records (`"%d %s=%s\n"`) and the GNU sparse maps carried in them,
//! parsed like Go's `parsePAX`/`parsePAXRecord`, except that a key given twice in one
//! header is rejected as ambiguous (Go keeps the last; tar-rs kept the first, which is how
//! entries were smuggled past it).

use std::collections::BTreeMap;

/// Why a PAX header was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaxError {
    /// A record that does not follow `"<len> <key>=<value>\n"`.
    Malformed(&'static str),
    /// The same key twice in one header.
    DuplicateKey(String),
    /// A value that does not parse for its key.
    BadValue(String),
}

/// The records of one PAX header. Keys and values are kept as raw bytes (values need not be
/// UTF-8); GNU sparse 0.0 offset/numbytes pairs are folded into `GNU.sparse.map`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PaxRecords {
    pub map: BTreeMap<Vec<u8>, Vec<u8>>,
}

impl PaxRecords {
    pub fn get(&self, key: &str) -> Option<&[u8]> {
        self.map.get(key.as_bytes()).map(Vec::as_slice)
    }
}

const SPARSE_OFFSET: &[u8] = b"GNU.sparse.offset";
const SPARSE_NUMBYTES: &[u8] = b"GNU.sparse.numbytes";

/// Parses a whole PAX header payload.
pub fn parse(mut buf: &[u8]) -> Result<PaxRecords, PaxError> {
    let mut out = PaxRecords::default();
    let mut sparse0: Vec<u8> = Vec::new();
    let mut sparse0_items = 0usize;
    while !buf.is_empty() {
        let (key, value, rest) = parse_record(buf)?;
        buf = rest;
        if key == SPARSE_OFFSET || key == SPARSE_NUMBYTES {
            // GNU sparse 0.0 repeats these keys in strict alternation; Go folds them
            // into a 0.1-style map.
            let want = if sparse0_items.is_multiple_of(2) {
                SPARSE_OFFSET
            } else {
                SPARSE_NUMBYTES
            };
            if key != want || value.contains(&b',') {
                return Err(PaxError::Malformed("GNU sparse 0.0 records out of order"));
            }
            if sparse0_items > 0 {
                sparse0.push(b',');
            }
            sparse0.extend_from_slice(value);
            sparse0_items += 1;
            continue;
        }
        if out.map.insert(key.to_vec(), value.to_vec()).is_some() {
            return Err(PaxError::DuplicateKey(
                String::from_utf8_lossy(key).into_owned(),
            ));
        }
    }
    if sparse0_items > 0
        && out
            .map
            .insert(b"GNU.sparse.map".to_vec(), sparse0)
            .is_some()
    {
        return Err(PaxError::DuplicateKey("GNU.sparse.map".into()));
    }
    Ok(out)
}

type Record<'a> = (&'a [u8], &'a [u8], &'a [u8]);

fn parse_record(s: &[u8]) -> Result<Record<'_>, PaxError> {
    let sp = s
        .iter()
        .position(|&b| b == b' ')
        .ok_or(PaxError::Malformed("record without a length"))?;
    let len_str = &s[..sp];
    let n = parse_decimal_u64(len_str).ok_or(PaxError::Malformed("bad record length"))?;
    if n < 5 || n > s.len() as u64 {
        return Err(PaxError::Malformed("record length out of range"));
    }
    let n = n as usize;
    if n <= sp + 1 {
        return Err(PaxError::Malformed("record length out of range"));
    }
    let rec = &s[sp + 1..n - 1];
    if s[n - 1] != b'\n' {
        return Err(PaxError::Malformed("record not terminated by a newline"));
    }
    let eq = rec
        .iter()
        .position(|&b| b == b'=')
        .ok_or(PaxError::Malformed("record without '='"))?;
    let (key, value) = (&rec[..eq], &rec[eq + 1..]);
    if key.is_empty() {
        return Err(PaxError::Malformed("empty key"));
    }
    let nul_forbidden = matches!(key, b"path" | b"linkpath" | b"uname" | b"gname");
    if key.contains(&0) || (nul_forbidden && value.contains(&0)) {
        return Err(PaxError::Malformed("NUL in key or name"));
    }
    Ok((key, value, &s[n..]))
}

/// Strict unsigned decimal (no sign, no spaces), as Go's `ParseInt` accepts for lengths.
pub fn parse_decimal_u64(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    let mut x: u64 = 0;
    for &d in s {
        if !d.is_ascii_digit() {
            return None;
        }
        x = x.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    Some(x)
}

/// Signed decimal in the `int64` range (`strconv.ParseInt(v, 10, 64)`).
pub fn parse_decimal_i64(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let v = parse_decimal_u64(digits)?;
    if neg {
        if v > i64::MAX as u64 + 1 {
            None
        } else {
            Some((v as i64).wrapping_neg())
        }
    } else {
        i64::try_from(v).ok()
    }
}

/// A PAX time (`sec[.frac]`, possibly negative): the whole seconds, as Go's `parsePAXTime`
/// validates it.
pub fn parse_time(s: &[u8]) -> Option<i64> {
    let (secs, frac) = match s.iter().position(|&b| b == b'.') {
        Some(dot) => (&s[..dot], Some(&s[dot + 1..])),
        None => (s, None),
    };
    if let Some(f) = frac {
        if f.is_empty() || !f.iter().all(u8::is_ascii_digit) {
            return None;
        }
    }
    parse_decimal_i64(secs)
}

/// One data region of a sparse file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    pub offset: i64,
    pub length: i64,
}

/// Checks a sparse map against the real size the way Go's `validateSparseEntries` does:
/// non-negative, non-overlapping, in order, inside the file. Returns the data bytes.
pub fn validate_sparse(regions: &[Region], size: i64) -> Option<u64> {
    if size < 0 {
        return None;
    }
    let mut prev_end: i64 = 0;
    let mut data: u64 = 0;
    for r in regions {
        if r.offset < 0 || r.length < 0 {
            return None;
        }
        let end = r.offset.checked_add(r.length)?;
        if end > size || r.offset < prev_end {
            return None;
        }
        prev_end = end;
        data = data.checked_add(r.length as u64)?;
    }
    Some(data)
}

/// The 0.1 map: `GNU.sparse.numblocks` pairs in `GNU.sparse.map`.
pub fn sparse_map_0x1(recs: &PaxRecords, max: usize) -> Result<Vec<Region>, PaxError> {
    let count = recs
        .get("GNU.sparse.numblocks")
        .and_then(parse_decimal_u64)
        .ok_or_else(|| PaxError::BadValue("GNU.sparse.numblocks".into()))?;
    if count > max as u64 {
        return Err(PaxError::BadValue(format!(
            "GNU.sparse.numblocks: {count} regions exceeds the limit of {max}"
        )));
    }
    let map = recs.get("GNU.sparse.map").unwrap_or_default();
    let mut items = map.split(|&b| b == b',');
    let mut out = Vec::with_capacity(count as usize);
    if !map.is_empty() {
        while let Some(off) = items.next() {
            let len = items
                .next()
                .ok_or_else(|| PaxError::BadValue("GNU.sparse.map".into()))?;
            let offset = parse_decimal_i64(off);
            let length = parse_decimal_i64(len);
            match (offset, length) {
                (Some(offset), Some(length)) if (out.len() as u64) < count => {
                    out.push(Region { offset, length })
                }
                _ => return Err(PaxError::BadValue("GNU.sparse.map".into())),
            }
        }
    }
    if out.len() as u64 != count {
        return Err(PaxError::BadValue(
            "GNU.sparse.map does not match GNU.sparse.numblocks".into(),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(k: &str, v: &str) -> Vec<u8> {
        crate::tar::testkit::pax_record(k, v.as_bytes())
    }

    #[test]
    fn parses_records() {
        let mut buf = rec("path", "a/b");
        buf.extend(rec("size", "12"));
        let r = parse(&buf).unwrap();
        assert_eq!(r.get("path"), Some(&b"a/b"[..]));
        assert_eq!(r.get("size"), Some(&b"12"[..]));
    }

    #[test]
    fn c5_duplicate_key_in_one_header_rejected() {
        let mut buf = rec("size", "1");
        buf.extend(rec("size", "2"));
        assert_eq!(parse(&buf), Err(PaxError::DuplicateKey("size".into())));
    }

    #[test]
    fn c6_malformed_records_rejected() {
        for bad in [
            &b"5 x\n"[..],
            b"3 a=\n",
            b"99 path=x\n",
            b"x path=a\n",
            b"6 =ab\n",
            b"7 path",
        ] {
            assert!(parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn sparse_0x0_folded_into_map() {
        let mut buf = rec("GNU.sparse.numblocks", "2");
        for (k, v) in [
            ("GNU.sparse.offset", "0"),
            ("GNU.sparse.numbytes", "5"),
            ("GNU.sparse.offset", "10"),
            ("GNU.sparse.numbytes", "5"),
        ] {
            buf.extend(rec(k, v));
        }
        let r = parse(&buf).unwrap();
        assert_eq!(r.get("GNU.sparse.map"), Some(&b"0,5,10,5"[..]));
        let regions = sparse_map_0x1(&r, 10).unwrap();
        assert_eq!(validate_sparse(&regions, 15), Some(10));
        assert_eq!(validate_sparse(&regions, 14), None);
        assert!(sparse_map_0x1(&r, 1).is_err());
    }

    #[test]
    fn times_and_numbers() {
        assert_eq!(parse_time(b"1700000000.5"), Some(1_700_000_000));
        assert_eq!(parse_time(b"-3"), Some(-3));
        assert_eq!(parse_time(b"1."), None);
        assert_eq!(parse_decimal_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_decimal_i64(b"9223372036854775808"), None);
    }
}
