//! B1 (BAD-INPUTS §2.2): a gzip bomb layer — 8 MB of gzip that inflates to 8 GiB of a
//! valid tar — fails with a "limit exceeded" error, early (after the ratio grace, not
//! after the whole blob), both as a bare layer and inside a `docker save` archive. The
//! bomb is generated while it is read; it never exists in memory. Peak memory is measured
//! in `limits_rss_bomb.rs`.

use crate::archive_support::kit;
use crate::limits_support::gen;

use app::archive::{read_archive, ArchiveError};
use app::compress::CompressError;
use app::layer::{index_layer, LayerError};
use app::limits::Limits;
use std::io::{Cursor, Read};

const MIB: u64 = 1 << 20;

#[test]
fn bomb_is_a_few_mb_expanding_to_gigabytes() {
    let (bomb, tar_len) = gen::gzip_bomb(8192);
    let gz_len = bomb.len();
    assert_eq!(tar_len, 512 + 8192 * MIB);
    assert!(gz_len < 12 * MIB, "bomb is {gz_len} bytes of gzip");
    assert!(tar_len / gz_len > 900, "ratio {}", tar_len / gz_len);
}

#[test]
fn bomb_layer_fails_on_the_ratio_cap_after_the_grace() {
    let (bomb, _) = gen::gzip_bomb(8192);
    let limits = Limits::default();
    let mut consumed = 0u64;
    let err = index_layer(bomb, None, &limits, &mut |n| consumed = n)
        .expect_err("an 8 GiB bomb must not index");
    println!("ratio cap: failed after {consumed} compressed bytes: {err}");
    let msg = err.to_string();
    assert!(msg.contains("limit exceeded"), "{msg}");
    assert!(
        matches!(err, LayerError::Compress(CompressError::LimitExceeded(_))),
        "{err:?}"
    );
    // The ratio applies once `ratio_grace` (256 MiB) came out: at ~1030:1 that is about
    // 260 KB of gzip; well under 1 MiB of the 8 MB bomb may have been read.
    assert!(
        consumed < MIB,
        "read {consumed} compressed bytes before failing"
    );
    assert!(consumed > 100_000, "failed before the grace: {consumed}");
}

#[test]
fn bomb_layer_fails_on_the_absolute_cap_when_the_ratio_is_allowed() {
    let (bomb, _) = gen::gzip_bomb(8192);
    let limits = Limits {
        max_compression_ratio: u64::MAX,
        max_layer_bytes: 64 * MIB,
        ..Limits::default()
    };
    let mut consumed = 0u64;
    let err =
        index_layer(bomb, None, &limits, &mut |n| consumed = n).expect_err("over max_layer_bytes");
    println!("absolute cap: failed after {consumed} compressed bytes: {err}");
    let msg = err.to_string();
    assert!(msg.contains("limit exceeded"), "{msg}");
    assert!(
        consumed < 200_000,
        "read {consumed} compressed bytes for 64 MiB"
    );
}

#[test]
fn bomb_inside_a_docker_save_archive_fails_the_image_cleanly() {
    let (bomb, _) = gen::gzip_bomb(8192);
    let gz_len = bomb.len();
    // An outer tar streamed around the bomb: member header, bomb, padding, then the
    // config and manifest members that name it.
    let mut head = tar::Header::new_gnu();
    head.set_path("bomb/layer.tar").expect("path");
    head.set_size(gz_len);
    head.set_mode(0o644);
    head.set_cksum();
    let pad = vec![0u8; ((512 - gz_len % 512) % 512) as usize];
    let fake_diff_id = app::model::Digest::of(b"not computed: the layer never finishes");
    let config = serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [fake_diff_id.as_str()]}
    })
    .to_string()
    .into_bytes();
    let manifest = serde_json::json!([{
        "Config": "config.json", "RepoTags": ["bomb:latest"], "Layers": ["bomb/layer.tar"]
    }])
    .to_string()
    .into_bytes();
    let rest = kit::Outer::new()
        .file("config.json", &config)
        .file("manifest.json", &manifest)
        .bytes();
    let outer = Cursor::new(head.as_bytes().to_vec())
        .chain(bomb)
        .chain(Cursor::new(pad))
        .chain(Cursor::new(rest));
    let limits = Limits {
        ratio_grace: 16 * MIB,
        ..Limits::default()
    };
    let mut consumed = 0u64;
    // The archive itself reads (a bad layer member is kept as broken, job-wide caps
    // aside); selecting the image that needs it fails with the layer's error.
    let archive = read_archive(outer, &limits, &mut |n| consumed = n)
        .expect("the outer archive reads; the bomb member is stored as broken");
    assert!(consumed < 4 << 20, "read {consumed} bytes");
    let err = archive
        .select(None, None)
        .expect_err("an image whose layer is a bomb must not load");
    let msg = err.to_string();
    assert!(msg.contains("limit exceeded"), "{msg}");
    assert!(matches!(err, ArchiveError::Layer { .. }), "{err:?}");
}
