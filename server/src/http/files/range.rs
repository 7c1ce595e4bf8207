//! The single byte range of a `Range: bytes=…` header (RFC 9110 §14): `A-B`, `A-` and
//! `-N` forms. Several ranges are answered with the whole file (allowed by the RFC), an
//! unparsable header is ignored, and a range starting past the end is unsatisfiable.

use axum::http::HeaderValue;

/// Bytes `start..end` (end exclusive) of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    pub start: u64,
    pub end: u64,
}

impl ByteRange {
    pub fn len(&self) -> u64 {
        self.end - self.start
    }

    /// `Ok(None)`: answer the whole file; `Err(())`: 416.
    pub fn parse(header: Option<&HeaderValue>, size: u64) -> Result<Option<ByteRange>, ()> {
        let Some(spec) = header
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.trim().strip_prefix("bytes="))
        else {
            return Ok(None);
        };
        if spec.contains(',') {
            return Ok(None);
        }
        let Some((a, b)) = spec.trim().split_once('-') else {
            return Ok(None);
        };
        let (a, b) = (a.trim(), b.trim());
        let range = match (a.parse::<u64>(), b.parse::<u64>()) {
            (Ok(start), Ok(last)) if last >= start => Some((start, last.saturating_add(1))),
            (Ok(start), Err(_)) if b.is_empty() => Some((start, size)),
            (Err(_), Ok(n)) if a.is_empty() && n > 0 => Some((size.saturating_sub(n), size)),
            (Err(_), Ok(0)) if a.is_empty() => return Err(()),
            _ => None,
        };
        match range {
            None => Ok(None),
            Some((start, _)) if start >= size => Err(()),
            Some((start, end)) => Ok(Some(ByteRange {
                start,
                end: end.min(size),
            })),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(h: &str, size: u64) -> Result<Option<(u64, u64)>, ()> {
        ByteRange::parse(Some(&HeaderValue::from_str(h).unwrap()), size)
            .map(|r| r.map(|r| (r.start, r.end)))
    }

    #[test]
    fn the_three_forms_and_their_edges() {
        assert_eq!(parse("bytes=0-99", 1000), Ok(Some((0, 100))));
        assert_eq!(parse("bytes=900-", 1000), Ok(Some((900, 1000))));
        assert_eq!(parse("bytes=-10", 1000), Ok(Some((990, 1000))));
        assert_eq!(parse("bytes=-5000", 1000), Ok(Some((0, 1000))));
        assert_eq!(
            parse("bytes=990-5000", 1000),
            Ok(Some((990, 1000))),
            "clamped"
        );
        assert_eq!(parse("bytes=1000-", 1000), Err(()));
        assert_eq!(parse("bytes=-0", 1000), Err(()));
        assert_eq!(parse("bytes=0-0", 0), Err(()), "empty file");
    }

    #[test]
    fn odd_headers_mean_the_whole_file() {
        for h in [
            "bytes=5-2",
            "bytes=a-b",
            "items=0-1",
            "bytes=0-1,5-6",
            "bytes=",
        ] {
            assert_eq!(parse(h, 100), Ok(None), "{h}");
        }
        assert_eq!(ByteRange::parse(None, 100), Ok(None));
    }
}
