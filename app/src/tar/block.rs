//! One 512-byte tar header block: checksum verification, format detection and the
//! numeric and string field parsers, with Go `archive/tar` semantics (octal padded with
//! spaces or NULs, base-256 two's complement, signed and unsigned checksums).

/// Size of a tar block.
pub const BLOCK: usize = 512;

/// The header flavour, decided from the magic bytes the way Go's `getFormat` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Pre-POSIX header without magic.
    V7,
    /// `ustar\0` magic (POSIX ustar, possibly with PAX extensions).
    Ustar,
    /// `ustar\0` plus the `tar\0` trailer.
    Star,
    /// `ustar ` + ` \0` (old GNU tar).
    Gnu,
}

/// Why a header field could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldError {
    /// Not octal after trimming spaces and NULs, or out of range.
    BadOctal,
    /// Base-256 value does not fit in 63 bits.
    Base256Overflow,
}

/// True when every byte is zero (an end-of-archive block).
pub fn is_zero(block: &[u8]) -> bool {
    block.iter().all(|&b| b == 0)
}

/// Sums of the header with the checksum field read as spaces: (unsigned, signed), as Go's
/// `computeChecksum` (old tars were written with signed chars).
pub fn checksums(block: &[u8; BLOCK]) -> (i64, i64) {
    let mut unsigned = 0i64;
    let mut signed = 0i64;
    for (i, &b) in block.iter().enumerate() {
        let c = if (148..156).contains(&i) { b' ' } else { b };
        unsigned += i64::from(c);
        signed += i64::from(c as i8);
    }
    (unsigned, signed)
}

/// The stored checksum, if parseable.
pub fn stored_checksum(block: &[u8; BLOCK]) -> Option<i64> {
    parse_octal(&block[148..156]).ok()
}

/// Verifies the checksum and guesses the format; `None` for a block that is not a valid
/// header (bad checksum), which Go reports as `ErrHeader`.
pub fn format(block: &[u8; BLOCK]) -> Option<Format> {
    let stored = stored_checksum(block)?;
    let (unsigned, signed) = checksums(block);
    if stored != unsigned && stored != signed {
        return None;
    }
    let magic = &block[257..263];
    let version = &block[263..265];
    Some(if magic == b"ustar\0" && &block[508..512] == b"tar\0" {
        Format::Star
    } else if magic == b"ustar\0" {
        Format::Ustar
    } else if magic == b"ustar " && version == b" \0" {
        Format::Gnu
    } else {
        Format::V7
    })
}

/// The bytes of a string field up to the first NUL.
pub fn parse_str(field: &[u8]) -> &[u8] {
    match field.iter().position(|&b| b == 0) {
        Some(n) => &field[..n],
        None => field,
    }
}

/// Octal with leading/trailing spaces and NULs trimmed; empty means 0.
pub fn parse_octal(field: &[u8]) -> Result<i64, FieldError> {
    let start = field
        .iter()
        .position(|&b| b != b' ' && b != 0)
        .unwrap_or(field.len());
    let end = field
        .iter()
        .rposition(|&b| b != b' ' && b != 0)
        .map_or(start, |n| n + 1);
    let digits = parse_str(&field[start..end.max(start)]);
    if digits.is_empty() {
        return Ok(0);
    }
    let mut x: u64 = 0;
    for &d in digits {
        if !(b'0'..=b'7').contains(&d) {
            return Err(FieldError::BadOctal);
        }
        x = x
            .checked_mul(8)
            .and_then(|x| x.checked_add(u64::from(d - b'0')))
            .ok_or(FieldError::BadOctal)?;
    }
    // Go converts the parsed uint64 to int64; values above 2^63 turn negative.
    Ok(x as i64)
}

/// A numeric field: base-256 (two's complement, high bit set in the first byte) or octal.
pub fn parse_numeric(field: &[u8]) -> Result<i64, FieldError> {
    match field.first() {
        Some(&first) if first & 0x80 != 0 => {
            let inv: u8 = if first & 0x40 != 0 { 0xff } else { 0 };
            let mut x: u64 = 0;
            for (i, &b) in field.iter().enumerate() {
                let mut c = b ^ inv;
                if i == 0 {
                    c &= 0x7f;
                }
                if x >> 56 > 0 {
                    return Err(FieldError::Base256Overflow);
                }
                x = (x << 8) | u64::from(c);
            }
            if x >> 63 > 0 {
                return Err(FieldError::Base256Overflow);
            }
            let v = x as i64;
            Ok(if inv == 0xff { !v } else { v })
        }
        _ => parse_octal(field),
    }
}

/// Field ranges of the header layouts.
pub mod field {
    use std::ops::Range;
    pub const NAME: Range<usize> = 0..100;
    pub const MODE: Range<usize> = 100..108;
    pub const UID: Range<usize> = 108..116;
    pub const GID: Range<usize> = 116..124;
    pub const SIZE: Range<usize> = 124..136;
    pub const MTIME: Range<usize> = 136..148;
    pub const TYPEFLAG: usize = 156;
    pub const LINKNAME: Range<usize> = 157..257;
    pub const DEVMAJOR: Range<usize> = 329..337;
    pub const DEVMINOR: Range<usize> = 337..345;
    pub const USTAR_PREFIX: Range<usize> = 345..500;
    pub const STAR_PREFIX: Range<usize> = 345..476;
    /// Old GNU sparse: four (offset, length) pairs of 12-byte numbers.
    pub const GNU_SPARSE: Range<usize> = 386..482;
    pub const GNU_IS_EXTENDED: usize = 482;
    pub const GNU_REAL_SIZE: Range<usize> = 483..495;
    /// Sparse extension block: 21 pairs, then the continuation flag.
    pub const EXT_SPARSE: Range<usize> = 0..504;
    pub const EXT_IS_EXTENDED: usize = 504;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn octal_tolerates_spaces_and_nuls() {
        assert_eq!(parse_octal(b"0000644\0"), Ok(0o644));
        assert_eq!(parse_octal(b"  644 \0"), Ok(0o644));
        assert_eq!(parse_octal(b"\0\0\0\0"), Ok(0));
        assert_eq!(parse_octal(b"12\x0034"), Ok(0o12));
        assert_eq!(parse_octal(b"0008"), Err(FieldError::BadOctal));
        assert_eq!(parse_octal(b"-1"), Err(FieldError::BadOctal));
    }

    #[test]
    fn base256_positive_and_negative() {
        let mut f = [0u8; 12];
        f[0] = 0x80;
        f[11] = 5;
        assert_eq!(parse_numeric(&f), Ok(5));
        let neg = [0xffu8; 12];
        assert_eq!(parse_numeric(&neg), Ok(-1));
        let mut big = [0u8; 12];
        big[0] = 0x80;
        big[3] = 1;
        assert_eq!(parse_numeric(&big), Err(FieldError::Base256Overflow));
    }

    #[test]
    fn signed_checksum_accepted() {
        let mut b = [0u8; BLOCK];
        b[0] = 0xe9; // a high byte: signed and unsigned sums differ
        b[156] = b'0';
        let (_, signed) = checksums(&b);
        let s = format!("{signed:06o}\0 ");
        b[148..156].copy_from_slice(s.as_bytes());
        assert_eq!(format(&b), Some(Format::V7));
    }
}
