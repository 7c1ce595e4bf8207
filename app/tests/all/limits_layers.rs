//! G1 (BAD-INPUTS): images with many layers. 130 layers (past moby's 125 run limit, what
//! the containerd store can hold) in a `docker save` archive and 1000 layers in an OCI
//! layout read and select in full, in order; 1001 layers fail on `max_layers` with
//! "limit exceeded".

use crate::archive_support::kit;

use app::archive::{read_archive, ArchiveError};
use app::limits::Limits;
use app::model::Digest;
use std::time::Instant;

fn layers(n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            kit::layer(&[(
                format!("layer/{i:04}").as_str(),
                format!("content {i}\n").as_bytes(),
            )])
        })
        .collect()
}

fn check_image(archive: &[u8], layers: &[Vec<u8>]) {
    let started = Instant::now();
    let a = read_archive(archive, &Limits::default(), &mut |_| {})
        .unwrap_or_else(|e| panic!("{} layers: {e}", layers.len()));
    let image = a
        .select(None, None)
        .unwrap_or_else(|e| panic!("{} layers: {e}", layers.len()));
    println!(
        "{} layers, {} archive bytes: read and selected in {:?}",
        layers.len(),
        archive.len(),
        started.elapsed()
    );
    assert_eq!(image.layers.len(), layers.len());
    for (i, (got, tar)) in image.layers.iter().zip(layers).enumerate() {
        assert_eq!(got.diff_id, Digest::of(tar), "layer {i} out of order");
        assert_eq!(got.entries.len(), 1);
        assert_eq!(&got.entries[0].path[..], format!("layer/{i:04}").as_bytes());
    }
}

#[test]
fn docker_save_with_130_layers() {
    let l = layers(130);
    check_image(&kit::docker_save(&l), &l);
}

#[test]
fn oci_layout_with_1000_layers() {
    let l = layers(1000);
    check_image(&kit::oci_layout(&l), &l);
}

#[test]
fn docker_save_with_1000_layers() {
    let l = layers(1000);
    check_image(&kit::docker_save(&l), &l);
}

#[test]
fn more_layers_than_the_cap_fail_cleanly() {
    let l = layers(1001);
    let err = match read_archive(&kit::oci_layout(&l)[..], &Limits::default(), &mut |_| {}) {
        Ok(a) => a
            .select(None, None)
            .expect_err("1001 layers over max_layers"),
        Err(e) => e,
    };
    assert!(matches!(err, ArchiveError::LimitExceeded(_)), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("limit exceeded") && msg.contains("1001"),
        "{msg}"
    );
}
