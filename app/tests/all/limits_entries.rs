//! G4 (BAD-INPUTS): entry-count caps. A layer with more entries than
//! `max_entries_per_layer` fails cleanly with "limit exceeded" (also when the entries are
//! header-only and gzip'd, the amplification case), exactly at the cap; and layers whose
//! entries (or bytes: `max_job_bytes`) add up past the image cap fail the archive read.

use crate::archive_support::kit;
use crate::limits_support::gen;

use app::archive::{read_archive, ArchiveError};
use app::layer::{index_layer, LayerError};
use app::limits::Limits;
use std::io::Read;

fn with_layer_cap(cap: u64) -> Limits {
    Limits {
        max_entries_per_layer: cap,
        ..Limits::default()
    }
}

#[test]
fn layer_cap_is_exact() {
    let index = index_layer(
        gen::ManyEntries::new(1000),
        None,
        &with_layer_cap(1000),
        &mut |_| {},
    )
    .expect("1000 entries under a cap of 1000");
    assert_eq!(index.entries.len(), 1000);

    let err = index_layer(
        gen::ManyEntries::new(1000),
        None,
        &with_layer_cap(999),
        &mut |_| {},
    )
    .expect_err("1000 entries over a cap of 999");
    assert!(matches!(err, LayerError::LimitExceeded(_)), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("limit exceeded") && msg.contains("999"),
        "{msg}"
    );
}

#[test]
fn header_only_amplification_fails_at_the_cap() {
    // 200,000 header-only entries gzip to a small blob; a cap of 5,000 stops it after
    // reading a small part of it.
    let gz =
        flate2::read::GzEncoder::new(gen::ManyEntries::new(200_000), flate2::Compression::fast());
    let mut consumed = 0u64;
    let err = index_layer(gz, None, &with_layer_cap(5_000), &mut |n| consumed = n)
        .expect_err("over the entry cap");
    assert!(err.to_string().contains("limit exceeded"), "{err}");
    assert!(matches!(err, LayerError::LimitExceeded(_)), "{err:?}");
    // 5,000 of 200,000 entries: a few percent of the blob was read.
    let mut whole = 0u64;
    let mut all =
        flate2::read::GzEncoder::new(gen::ManyEntries::new(200_000), flate2::Compression::fast());
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = all.read(&mut buf).expect("read generated gzip");
        if n == 0 {
            break;
        }
        whole += n as u64;
    }
    assert!(
        consumed * 10 < whole,
        "read {consumed} of {whole} compressed bytes"
    );
}

#[test]
fn image_entry_cap_fails_the_archive() {
    let layers: Vec<Vec<u8>> = (0..3)
        .map(|i| {
            let mut tar = Vec::new();
            gen::ManyEntries::new(400)
                .read_to_end(&mut tar)
                .expect("generate layer");
            // Distinct layers: append one file with the layer's number before the end.
            tar.truncate(tar.len() - 1024);
            tar.extend(kit::layer(&[(
                format!("layer-{i}").as_str(),
                b"x".as_slice(),
            )]));
            tar
        })
        .collect();
    let archive = kit::docker_save(&layers);

    let ok = read_archive(&archive[..], &Limits::default(), &mut |_| {})
        .expect("1203 entries under the default image cap");
    let image = ok.select(None, None).expect("image");
    let total: usize = image.layers.iter().map(|l| l.entries.len()).sum();
    assert_eq!(total, 3 * 401);

    let limits = Limits {
        max_entries_per_image: 1000,
        ..Limits::default()
    };
    let err = match read_archive(&archive[..], &limits, &mut |_| {}) {
        Ok(a) => a.select(None, None).expect_err("over the image cap"),
        Err(e) => e,
    };
    assert!(matches!(err, ArchiveError::LimitExceeded(_)), "{err:?}");
    assert!(err.to_string().contains("limit exceeded"), "{err}");

    // The per-job byte cap: the three layers add up past it, each alone stays under.
    let biggest = layers.iter().map(|l| l.len() as u64).max().unwrap_or(0);
    let limits = Limits {
        max_job_bytes: biggest * 2,
        ..Limits::default()
    };
    let err = match read_archive(&archive[..], &limits, &mut |_| {}) {
        Ok(a) => a.select(None, None).expect_err("over the job byte cap"),
        Err(e) => e,
    };
    assert!(matches!(err, ArchiveError::LimitExceeded(_)), "{err:?}");
    assert!(err.to_string().contains("decompressed bytes"), "{err}");
}
