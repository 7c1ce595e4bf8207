//! Strata analysis tests: waste with blame, attribute-only rewrites, duplicates, the
//! base/user split, the report, and property tests against a naive reference model.

use super::*;
use crate::filetree::testkit::LayerBuilder;
use crate::filetree::{HideCause, StackedTree};

fn stack(layers: Vec<LayerBuilder>) -> StackedTree {
    StackedTree::from_layers(layers.into_iter().map(|l| l.arc())).unwrap()
}

#[test]
fn reclaimable_counts_hidden_copies_once_with_blame() {
    let t = stack(vec![
        LayerBuilder::new()
            .file_n("big", 1000, b'a')
            .dir("d")
            .file_n("d/x", 300, b'x')
            .file_n("keep", 10, b'k'),
        LayerBuilder::new().file_n("big", 1000, b'b'),
        LayerBuilder::new()
            .whiteout("d")
            .file_n("keep", 10, b'k')
            .mode(0o600),
    ]);
    let a = analyze(&t, &AnalysisOptions::default());
    assert_eq!(a.stored_bytes, 1000 + 300 + 10 + 1000 + 10);
    assert_eq!(a.final_bytes, 1010);
    assert_eq!(
        a.reclaimable_bytes, 1310,
        "N-1 copies: lower big, d/x, lower keep"
    );
    assert_eq!(a.unattributed_bytes, 0);
    assert_eq!(a.wasted[0].path, "/big");
    assert_eq!(a.wasted[0].copies[0].added_layer, 0);
    assert_eq!(a.wasted[0].copies[0].hidden_layer, 1);
    assert_eq!(a.wasted[1].copies[0].cause, HideCause::DirWhiteout);
    assert_eq!(a.attrs_only.len(), 1);
    assert_eq!(
        (a.attrs_only[0].bytes, a.attrs_only[0].rewritten_layer),
        (10, 2)
    );
    assert_eq!(a.split.base_wasted, 0);
    assert_eq!(a.split.user_wasted, 1310);
    assert_eq!(a.layers[2].wasted_caused, 310);
    assert!((a.efficiency - (1.0 - 1310.0 / 2320.0)).abs() < 1e-12);
}

#[test]
fn duplicates_and_largest_files() {
    let t = stack(vec![LayerBuilder::new()
        .file("a", b"same bytes")
        .file("b/c", b"same bytes")
        .file("e", b"")
        .file("f", b"")
        .file_n("g", 50, b'g')]);
    let a = analyze(
        &t,
        &AnalysisOptions {
            base_layers: 1,
            top_files: 2,
        },
    );
    assert_eq!(a.duplicates.len(), 1, "empty files are not duplicates");
    assert_eq!(
        a.duplicates[0].paths,
        vec!["/a".to_owned(), "/b/c".to_owned()]
    );
    assert_eq!(a.duplicates[0].wasted_bytes, 10);
    assert_eq!(a.largest.len(), 2);
    assert_eq!(a.largest[0].path, "/g");
}

#[test]
fn opaque_dir_waste_is_counted_by_strata() {
    let t = stack(vec![
        LayerBuilder::new().dir("o").file_n("o/old", 100, b'o'),
        LayerBuilder::new()
            .dir("o")
            .opaque("o")
            .file_n("o/new", 5, b'n'),
    ]);
    let a = analyze(&t, &AnalysisOptions::default());
    assert_eq!(a.reclaimable_bytes, 100);
    assert_eq!(a.wasted[0].copies[0].cause, HideCause::Opaque);
}

#[test]
fn report_fits_in_100_columns() {
    let layers: Vec<_> = vec![
        LayerBuilder::new().file_n(&format!("{}file", "long/".repeat(40)), 2000, b'a'),
        LayerBuilder::new()
            .file_n("x", 5, b'x')
            .file("dup1", b"dd")
            .file("dup2", b"dd"),
        LayerBuilder::new().file_n("x", 5, b'x').mode(0o700),
    ]
    .into_iter()
    .map(|l| l.arc())
    .collect();
    let t = StackedTree::from_layers(layers.clone()).unwrap();
    let a = analyze(&t, &AnalysisOptions::default());
    let d = dive::analyze(&layers);
    let cmds = vec![Some("x".repeat(300)), None, Some("chmod 700 /x".to_owned())];
    let text = render_text(&a, &d, &cmds);
    for line in text.lines() {
        assert!(line.chars().count() <= 100, "too wide: {line:?}");
    }
    for section in [
        "Summary",
        "Layers",
        "Top wasted paths",
        "Attribute-only",
        "Duplicate",
        "dive-compatible",
    ] {
        assert!(text.contains(section), "missing {section}");
    }
    assert!(text.contains("L1 -> L2  attrs-only rewrite (5 B)"));
}

mod props;
mod snapshots;
