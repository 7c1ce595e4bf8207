//! Writes Docker tar-split metadata (JSON lines) for a tar stream, the way
//! `vbatts/tar-split` does: type 2 "segment" lines carry the raw header, extension-header,
//! padding and end-of-archive bytes; a type 1 "file" line stands for each entry's payload
//! with its size and 8-byte big-endian CRC-64/GO-ISO. Entry boundaries come from
//! `app::tar::TarReader` itself, so for any tar it accepts the tar-split reader must
//! produce exactly the index `index_layer` produces.

use app::limits::Limits;
use app::tar::{Header, TarReader};
use base64::Engine as _;
use serde_json::json;

static CRC64: crc::Crc<u64, crc::Table<16>> =
    crc::Crc::<u64, crc::Table<16>>::new(&crc::CRC_64_GO_ISO);

/// Why the converter gave up (the input is not a tar the reader accepts, or has entries
/// tar-split cannot describe).
#[derive(Debug)]
pub struct NotConvertible;

/// The tar-split JSON lines of `tar`, or `NotConvertible` for a tar the header reader
/// refuses or one with sparse entries (tar-split records their logical size).
pub fn tar_split_of(tar: &[u8], limits: &Limits) -> Result<Vec<u8>, NotConvertible> {
    let mut out = Vec::new();
    let mut position = 0u64;
    let mut line = |out: &mut Vec<u8>, v: serde_json::Value| {
        let mut v = v;
        v["position"] = json!(position);
        position += 1;
        out.extend_from_slice(v.to_string().as_bytes());
        out.push(b'\n');
    };
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let mut tr = TarReader::new(tar, limits);
    // Start of the bytes not yet written to a segment line.
    let mut written = 0usize;
    loop {
        let header: Header = match tr.next_header() {
            Ok(Some(h)) => h,
            Ok(None) => break,
            Err(_) => return Err(NotConvertible),
        };
        if header.sparse.is_some() {
            return Err(NotConvertible);
        }
        let end = usize::try_from(tr.offset()).map_err(|_| NotConvertible)?;
        line(
            &mut out,
            json!({"type": 2, "payload": b64(&tar[written..end])}),
        );
        let len = usize::try_from(tr.remaining_payload()).map_err(|_| NotConvertible)?;
        let payload = tar.get(end..end + len).ok_or(NotConvertible)?;
        let mut file = json!({"type": 1, "size": len});
        match std::str::from_utf8(&header.path) {
            Ok(name) => file["name"] = json!(name),
            Err(_) => file["name_raw"] = json!(b64(&header.path)),
        }
        file["payload"] = if len == 0 {
            serde_json::Value::Null
        } else {
            json!(b64(&CRC64.checksum(payload).to_be_bytes()))
        };
        line(&mut out, file);
        written = end + len;
    }
    if written < tar.len() {
        line(
            &mut out,
            json!({"type": 2, "payload": b64(&tar[written..])}),
        );
    }
    Ok(out)
}
