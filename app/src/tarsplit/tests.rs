//! tar-split tests on hand-written streams: each builds the tar and its tar-split lines
//! together (the way tar-split's disassembler cuts them) and compares with `index_layer`.

use super::*;
use crate::compress::tests::gzip;
use crate::layer::index_layer;
use crate::tar::testkit::{fix_checksum, header, pax_record, TarBuilder};

/// Builds a tar and its tar-split JSON lines side by side.
#[derive(Default)]
struct Both {
    tar: Vec<u8>,
    lines: Vec<String>,
    seg: Vec<u8>,
}

impl Both {
    fn raw(&mut self, bytes: &[u8]) -> &mut Self {
        self.tar.extend_from_slice(bytes);
        self.seg.extend_from_slice(bytes);
        self
    }

    fn push(&mut self, mut v: serde_json::Value) {
        v["position"] = self.lines.len().into();
        self.lines.push(v.to_string());
    }

    fn flush(&mut self) {
        let seg = std::mem::take(&mut self.seg);
        let b64 = base64::engine::general_purpose::STANDARD.encode(seg);
        self.push(serde_json::json!({"type": 2, "payload": b64}));
    }

    /// Ends the raw header bytes of an entry and adds its file line and payload.
    fn file_line(&mut self, name: &[u8], data: &[u8]) -> &mut Self {
        self.flush();
        let crc = (!data.is_empty()).then(|| {
            base64::engine::general_purpose::STANDARD
                .encode(crate::layer::CRC64.checksum(data).to_be_bytes())
        });
        let mut v = serde_json::json!({"type": 1, "payload": crc});
        match std::str::from_utf8(name) {
            Ok(s) => v["name"] = s.into(),
            Err(_) => {
                v["name_raw"] = base64::engine::general_purpose::STANDARD
                    .encode(name)
                    .into()
            }
        }
        if !data.is_empty() {
            v["size"] = data.len().into();
        }
        self.push(v);
        self.tar.extend_from_slice(data);
        // Padding belongs to the next raw segment.
        let pad = (512 - data.len() % 512) % 512;
        self.raw(&vec![0u8; pad])
    }

    fn entry(&mut self, name: &[u8], typeflag: u8, data: &[u8]) -> &mut Self {
        let h = header(name, typeflag, data.len() as u64);
        self.raw(&h).file_line(name, data)
    }

    fn finish(&mut self) -> (Vec<u8>, Vec<u8>) {
        self.flush();
        (
            self.tar.clone(),
            (self.lines.join("\n") + "\n").into_bytes(),
        )
    }
}

fn sample() -> (Vec<u8>, Vec<u8>) {
    let mut b = Both::default();
    b.entry(b"bin/", b'5', b"");
    b.entry(b"bin/busybox", b'0', &[0x42; 1500]);
    let mut sym = header(b"bin/sh", b'2', 0);
    sym[157..164].copy_from_slice(b"busybox");
    fix_checksum(&mut sym);
    b.raw(&sym).file_line(b"bin/sh", b"");
    let mut hl = header(b"bin/ash", b'1', 0);
    hl[157..169].copy_from_slice(b"/bin/busybox");
    fix_checksum(&mut hl);
    b.raw(&hl).file_line(b"bin/ash", b"");
    // A PAX header with a long path, and a global header (Go reports it as an entry,
    // so tar-split writes an empty file line for it).
    let long = "usr/share/".repeat(15) + "file";
    let mut g = TarBuilder::new();
    g.pax(b'g', &[("comment", b"x")]);
    b.raw(&g.bytes()).file_line(b"pax_global_header", b"");
    let mut x = TarBuilder::new();
    x.entry(b"PaxHeaders/x", b'x', &pax_record("path", long.as_bytes()));
    b.raw(&x.bytes())
        .raw(&header(b"short", b'0', 3))
        .file_line(long.as_bytes(), b"abc");
    b.entry(b"etc/.wh.passwd", b'0', b"");
    b.entry(b"caf\xe9", b'0', b"non-utf8 name");
    b.entry(b"etc/empty", b'0', b"");
    b.raw(&[0u8; 1024]).raw(&[0u8; 4096]);
    b.finish()
}

fn index_both(tar: &[u8], lines: &[u8]) -> (LayerIndex, LayerIndex) {
    let diff = Digest::of(tar);
    let limits = Limits::default();
    let real = index_layer(tar, Some(&diff), &limits, &mut |_| {}).unwrap();
    let split = index_tar_split(lines, diff, &limits).unwrap();
    (real, split)
}

#[test]
fn matches_index_layer_on_the_same_tar() {
    let (tar, lines) = sample();
    let (real, split) = index_both(&tar, &lines);
    assert_eq!(real.entries.len(), 8);
    assert_eq!(split, real);
    assert_eq!(split.tar_size, tar.len() as u64);
    assert!(split.warnings.iter().any(|w| w.message.contains("global")));
}

#[test]
fn accepts_gzipped_lines() {
    let (tar, lines) = sample();
    let (real, _) = index_both(&tar, &lines);
    let split = index_tar_split(
        gzip(&lines).as_slice(),
        real.diff_id.clone(),
        &Limits::default(),
    );
    assert_eq!(split.unwrap(), real);
}

#[test]
fn crc_comes_from_the_file_line() {
    let (_, lines) = sample();
    let text = String::from_utf8(lines).unwrap();
    let ix = index_tar_split(text.as_bytes(), Digest::of(b""), &Limits::default()).unwrap();
    let bb = ix
        .entries
        .iter()
        .find(|e| &*e.path == b"bin/busybox")
        .unwrap();
    assert_eq!(bb.crc64, Some(crate::layer::CRC64.checksum(&[0x42; 1500])));
    assert_eq!(bb.size, 1500);
}

fn with_line(lines: &[u8], n: usize, f: impl Fn(&mut serde_json::Value)) -> Vec<u8> {
    let text = String::from_utf8(lines.to_vec()).unwrap();
    let out: Vec<String> = text
        .lines()
        .enumerate()
        .map(|(i, l)| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            if i == n {
                f(&mut v);
            }
            v.to_string()
        })
        .collect();
    (out.join("\n") + "\n").into_bytes()
}

#[test]
fn size_mismatch_rejected() {
    let (_, lines) = sample();
    let bad = with_line(&lines, 3, |v| v["size"] = 1499.into());
    let err = index_tar_split(bad.as_slice(), Digest::of(b""), &Limits::default()).unwrap_err();
    assert!(matches!(err, LayerError::TarSplit(_)), "{err}");
    assert!(err.to_string().contains("bin/busybox"), "{err}");
}

#[test]
fn bad_checksum_length_and_json_rejected() {
    let (_, lines) = sample();
    let bad = with_line(&lines, 3, |v| v["payload"] = "AAAA".into());
    assert!(index_tar_split(bad.as_slice(), Digest::of(b""), &Limits::default()).is_err());
    let bad = with_line(&lines, 2, |v| v["position"] = 7.into());
    let err = index_tar_split(bad.as_slice(), Digest::of(b""), &Limits::default()).unwrap_err();
    assert!(err.to_string().contains("position"), "{err}");
    let err =
        index_tar_split(&b"{not json\n"[..], Digest::of(b""), &Limits::default()).unwrap_err();
    assert!(matches!(err, LayerError::TarSplit(_)), "{err}");
}

#[test]
fn missing_file_line_rejected() {
    let (_, lines) = sample();
    let text = String::from_utf8(lines).unwrap();
    // Drop busybox's file line and renumber.
    let kept: Vec<&str> = text
        .lines()
        .enumerate()
        .filter(|(i, _)| *i != 3)
        .map(|(_, l)| l)
        .collect();
    let renumbered: Vec<String> = kept
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["position"] = i.into();
            v.to_string()
        })
        .collect();
    let bad = renumbered.join("\n");
    let err = index_tar_split(bad.as_bytes(), Digest::of(b""), &Limits::default()).unwrap_err();
    assert!(matches!(err, LayerError::TarSplit(_)), "{err}");
}

#[test]
fn truncated_stream_rejected() {
    let (_, lines) = sample();
    let text = String::from_utf8(lines).unwrap();
    let first: Vec<&str> = text.lines().take(3).collect();
    let err = index_tar_split(
        first.join("\n").as_bytes(),
        Digest::of(b""),
        &Limits::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("ends before a payload"), "{err}");
}

#[test]
fn empty_layer_from_tar_split() {
    let mut b = Both::default();
    b.raw(&[0u8; 1024]);
    let (tar, lines) = b.finish();
    let (real, split) = index_both(&tar, &lines);
    assert_eq!(split, real);
    assert_eq!(split.tar_size, 1024);
}

/// G3: one 50 GB file. tar-split carries no payload, so indexing it takes no time and
/// no memory proportional to the file; its size and checksum come from the metadata.
#[test]
fn g3_fifty_gigabyte_file_from_tar_split() {
    const SIZE: u64 = 50_000_000_000;
    let mut h = header(b"disk.img", b'0', 0);
    // base-256 size: the octal field tops out at 8 GiB.
    h[124..136].fill(0);
    h[124] = 0x80;
    h[128..136].copy_from_slice(&SIZE.to_be_bytes());
    fix_checksum(&mut h);
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let lines = [
        serde_json::json!({"type": 2, "payload": b64(&h), "position": 0}),
        serde_json::json!({"type": 1, "name": "disk.img", "size": SIZE,
            "payload": b64(&0x1234_5678_9abc_def0u64.to_be_bytes()), "position": 1}),
        serde_json::json!({"type": 2, "payload": b64(&[0u8; 1024]), "position": 2}),
    ]
    .iter()
    .map(|v| v.to_string() + "\n")
    .collect::<String>();
    let diff_id = crate::model::Digest::of(b"trusted from the layer store");
    let index = index_tar_split(lines.as_bytes(), diff_id, &Limits::default()).unwrap();
    assert_eq!(index.entries.len(), 1);
    assert_eq!(index.entries[0].size, SIZE);
    assert_eq!(index.entries[0].crc64, Some(0x1234_5678_9abc_def0));
    assert_eq!(index.content_size(), SIZE);
    assert_eq!(index.tar_size, 512 + SIZE + 1024);
}
