//! Regression (found by fuzzing, `layer_plain` invariants): a sparse file's logical size
//! ("realsize") is taken from the header, so an 11 KB layer of three old-GNU sparse files
//! each claiming 2^63 − 1 bytes indexes fine, and then `LayerIndex::content_size()` adds
//! the sizes up and overflows: a panic ("attempt to add with overflow") with overflow
//! checks (debug, tests), a wrapped, wrong size in release. Every later sum over entry
//! sizes (comparisons, sharing, totals) has the same problem.
//!
//! Either the layer reader refuses such an entry (an error), or the index it returns must
//! be safe to sum: `content_size()` must return a value at least as large as any one file.

use app::layer::index_layer;
use app::limits::Limits;
use app::model::EntryKind;

/// An old GNU sparse (`S`) header: one 512-byte data region at offset 0, stored as 512
/// bytes, with a base-256 real size of 2^63 − 1.
fn sparse_header(name: &[u8]) -> [u8; 512] {
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name);
    h[100..108].copy_from_slice(b"0000644\0");
    h[108..116].copy_from_slice(b"0000000\0");
    h[116..124].copy_from_slice(b"0000000\0");
    h[124..136].copy_from_slice(b"00000001000\0"); // 512 bytes stored
    h[136..148].copy_from_slice(b"14500000000\0");
    h[156] = b'S';
    h[257..265].copy_from_slice(b"ustar  \0"); // GNU magic + version
    h[386..398].copy_from_slice(b"00000000000\0"); // region 0: offset 0
    h[398..410].copy_from_slice(b"00000001000\0"); //           512 bytes
    h[483] = 0x80; // realsize, base-256: 2^63 - 1
    h[487] = 0x7f;
    h[488..495].fill(0xff);
    h[148..156].fill(b' ');
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    h
}

fn layer() -> Vec<u8> {
    let mut tar = Vec::new();
    for name in [&b"a"[..], b"b", b"c"] {
        tar.extend_from_slice(&sparse_header(name));
        tar.extend_from_slice(&[b'x'; 512]);
    }
    tar.extend_from_slice(&[0u8; 1024]);
    tar
}

#[test]
fn huge_sparse_sizes_do_not_overflow_content_size() {
    let tar = layer();
    assert_eq!(tar.len(), 4096);
    let index = match index_layer(&tar[..], None, &Limits::default(), &mut |_| {}) {
        Ok(index) => index,
        Err(e) => {
            // Refusing the layer is a fix too; it must say why.
            assert!(!e.to_string().is_empty());
            return;
        }
    };
    let largest = index
        .entries
        .iter()
        .filter(|e| e.kind == EntryKind::File)
        .map(|e| e.size)
        .max()
        .unwrap_or(0);
    let total = std::panic::catch_unwind(|| index.content_size())
        .expect("content_size() panicked on attacker-chosen sparse sizes");
    assert!(
        total >= largest,
        "content_size() {total} is smaller than one file of {largest} bytes (wrapped)"
    );
}
