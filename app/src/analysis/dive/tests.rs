//! dive parity: documents produced from hand-built layers equal, byte for byte, what
//! `dive --json` 0.13.1 wrote for the same layers (two images built with docker, two
//! crafted archives with dive's quirks), plus hand-computed figures and CI rules.

use super::*;
use crate::filetree::testkit::LayerBuilder;
use crate::model::{Digest, Entry, HistoryEntry, RootFs};

#[derive(serde::Deserialize)]
struct Op {
    t: String,
    p: String,
    #[serde(default)]
    size: usize,
    mode: Option<u32>,
    l: Option<String>,
    uid: Option<u64>,
    gid: Option<u64>,
}

fn layers_from_spec(spec: &str) -> Vec<Arc<LayerIndex>> {
    let spec: Vec<Vec<Op>> = serde_json::from_str(spec).unwrap();
    spec.into_iter()
        .map(|ops| {
            let mut b = LayerBuilder::new();
            for op in &ops {
                b = match op.t.as_str() {
                    "file" => b.file_n(&op.p, op.size, b'x'),
                    "dir" => b.dir(&op.p),
                    "sym" => b.symlink(&op.p, op.l.as_deref().unwrap()),
                    "hard" => b.hardlink(&op.p, op.l.as_deref().unwrap()),
                    "wh" => b.whiteout(&op.p),
                    "opq" => b.opaque(&op.p),
                    other => panic!("unknown op {other}"),
                };
                if let Some(m) = op.mode {
                    b = b.mode(m);
                }
            }
            let mut l = b.build();
            for (e, op) in l.entries.iter_mut().zip(&ops) {
                e.uid = op.uid.unwrap_or(0);
                e.gid = op.gid.unwrap_or(0);
                // docker writes whiteouts as regular files that keep a link name
                e.link = op.l.as_deref().map(|l| l.as_bytes().into());
            }
            Arc::new(l)
        })
        .collect()
}

fn parity(spec: &str, expected: &str) -> DiveAnalysis {
    let layers = layers_from_spec(spec);
    let want: DiveExport = serde_json::from_str(expected).unwrap();
    let metas: Vec<DiveLayerMeta> = want
        .layer
        .iter()
        .map(|l| DiveLayerMeta {
            id: l.id.clone(),
            digest_id: l.digest_id.clone(),
            command: l.command.clone(),
        })
        .collect();
    let (doc, analysis) = export(&layers, &metas);
    let got = String::from_utf8(to_json(&doc).unwrap()).unwrap();
    if got != expected {
        let line = got
            .lines()
            .zip(expected.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(0);
        let window = |s: &str| {
            s.lines()
                .skip(line.saturating_sub(3))
                .take(6)
                .collect::<Vec<_>>()
                .join("\n")
        };
        panic!(
            "dive json differs at line {line}:\n--- got\n{}\n--- want\n{}",
            window(&got),
            window(expected)
        );
    }
    analysis
}

#[test]
fn matches_dive_on_image_with_overwrite_chmod_and_deletes() {
    let a = parity(
        include_str!("testdata/img1.spec.json"),
        include_str!("testdata/img1.dive.json"),
    );
    assert_eq!(a.wasted_bytes, 22);
    assert_eq!(a.size_bytes, 1_987_296);
}

#[test]
fn matches_dive_on_image_with_hundreds_of_ties() {
    let a = parity(
        include_str!("testdata/img2.spec.json"),
        include_str!("testdata/img2.dive.json"),
    );
    assert_eq!(a.efficiency, 0.5);
    assert_eq!(a.inefficiencies.len(), 27);
}

#[test]
fn matches_dive_on_crafted_quirks() {
    // dir whiteout, whiteout of nothing (aborts the layer), same-layer whiteout, opaque,
    // implicit directory whiteout, hard links, symlinks, HTML characters, 15 ties
    let a = parity(
        include_str!("testdata/crafted2.spec.json"),
        include_str!("testdata/crafted2.dive.json"),
    );
    assert_eq!(a.wasted_bytes, 420);
}

#[test]
fn matches_dive_sort_order_on_sixty_ties() {
    let a = parity(
        include_str!("testdata/crafted3.spec.json"),
        include_str!("testdata/crafted3.dive.json"),
    );
    assert_eq!(a.inefficiencies.len(), 60);
}

fn arcs(layers: Vec<LayerBuilder>) -> Vec<Arc<LayerIndex>> {
    layers.into_iter().map(|l| l.arc()).collect()
}

#[test]
fn both_copies_count_as_waste() {
    let a = analyze(&arcs(vec![
        LayerBuilder::new().file_n("f", 10, 1),
        LayerBuilder::new().file_n("f", 10, 2),
    ]));
    assert_eq!(a.wasted_bytes, 20);
    assert_eq!(a.efficiency, 0.5);
    assert_eq!(a.wasted_user_percent, 2.0);
    assert_eq!(
        a.inefficiencies[0],
        DiveInefficiency {
            path: "/f".into(),
            count: 2,
            cumulative_size: 20
        }
    );
}

#[test]
fn dir_whiteout_counts_lower_subtree_only_for_explicit_dirs() {
    let explicit = analyze(&arcs(vec![
        LayerBuilder::new()
            .dir("d")
            .file_n("d/a", 5, 1)
            .file_n("d/b", 7, 1)
            .file_n("keep", 1, 1),
        LayerBuilder::new().whiteout("d"),
    ]));
    // paths /d/a 5, /d/b 7, /keep 1, /d 12: each seen once, so no waste and score 1
    assert_eq!((explicit.wasted_bytes, explicit.efficiency), (0, 1.0));
    let again = analyze(&arcs(vec![
        LayerBuilder::new().dir("d").file_n("d/a", 5, 1),
        LayerBuilder::new().whiteout("d"),
        LayerBuilder::new().dir("d"),
    ]));
    // /d: 5 (whiteout of the subtree) + 0 (empty dir) -> inefficient, min 0
    assert_eq!(again.wasted_bytes, 5);
    assert_eq!(again.efficiency, 5.0 / 10.0);
    let implicit = analyze(&arcs(vec![
        LayerBuilder::new().file_n("d/a", 5, 1),
        LayerBuilder::new().whiteout("d"),
        LayerBuilder::new().dir("d"),
    ]));
    assert_eq!(
        implicit.wasted_bytes, 0,
        "implicit dir has an empty FileInfo: counts 0"
    );
}

#[test]
fn opaque_whiteouts_are_ignored_by_dive() {
    let layers = arcs(vec![
        LayerBuilder::new().dir("o").file_n("o/x", 5, 1),
        LayerBuilder::new().dir("o").opaque("o").file_n("o/y", 3, 1),
    ]);
    let a = analyze(&layers);
    assert_eq!((a.wasted_bytes, a.efficiency), (0, 1.0));
    let t = crate::filetree::StackedTree::from_layers(layers).unwrap();
    let s = crate::analysis::analyze(&t, &crate::analysis::AnalysisOptions::default());
    assert_eq!(s.reclaimable_bytes, 5, "Strata sees the hidden o/x");
}

#[test]
fn whiteout_of_nothing_stops_the_layer_and_counts_minus_one() {
    let a = analyze(&arcs(vec![
        LayerBuilder::new().file_n("a", 4, 1),
        LayerBuilder::new().whiteout("ghost").file_n("zz", 6, 1),
    ]));
    // /zz is never scored; /ghost keeps min -1: (4 - 1) / 4
    assert_eq!(a.efficiency, 0.75);
    assert_eq!(a.layer_sizes, vec![4, 6]);
}

#[test]
fn layer_metas_follow_dive_history_alignment() {
    let d0 = Digest::of(b"0");
    let d1 = Digest::of(b"1");
    let cfg = ImageConfig {
        rootfs: RootFs {
            kind: "layers".into(),
            diff_ids: vec![d0.clone(), d1.clone(), Digest::of(b"2")],
        },
        history: vec![
            HistoryEntry {
                created_by: Some("/bin/sh -c #(nop) ADD file:abc in / ".into()),
                ..Default::default()
            },
            HistoryEntry {
                created_by: Some("/bin/sh -c #(nop)  ENV A=1".into()),
                empty_layer: true,
                ..Default::default()
            },
            HistoryEntry {
                created_by: Some("RUN /bin/sh -c make # buildkit".into()),
                ..Default::default()
            },
        ],
        ..Default::default()
    };
    let names = [
        "abc/layer.tar".to_owned(),
        "blobs/sha256/def".to_owned(),
        "x/layer.tar".to_owned(),
    ];
    let m = layer_metas(&cfg, &names);
    assert_eq!(
        m[0],
        DiveLayerMeta {
            id: "abc".into(),
            digest_id: d0.to_string(),
            command: "#(nop) ADD file:abc in / ".into()
        }
    );
    assert_eq!(
        m[1],
        DiveLayerMeta {
            id: "blobs".into(),
            digest_id: d1.to_string(),
            command: "RUN /bin/sh -c make # buildkit".into()
        }
    );
    assert_eq!(
        m[2],
        DiveLayerMeta {
            id: "x".into(),
            digest_id: String::new(),
            command: "(missing)".into()
        }
    );
}

#[test]
fn file_modes_and_implicit_nodes_follow_go() {
    let l = arcs(vec![LayerBuilder::new()
        .file("a/setuid", b"x")
        .mode(0o4755)
        .raw(Entry {
            kind: crate::model::EntryKind::CharDevice,
            ..LayerBuilder::new().dir("dev").build().entries[0].clone()
        })]);
    let (doc, _) = export(&l, &[]);
    let files = &doc.layer[0].file_list;
    assert_eq!(files[0].file_mode, 0o755 | (1 << 23));
    assert_eq!(files[1], DiveFileInfo::default(), "implicit parent a");
    assert_eq!(
        (files[2].type_flag, files[2].file_mode),
        (b'3', 0o755 | (1 << 26) | (1 << 21))
    );
    assert_eq!(doc.layer[0].command, "(missing)");
}

#[test]
fn ci_file_and_rules_behave_like_dive() {
    let file = parse_dive_ci(
        "---\nplugins:\n  - plugin1\n\nrules:\n  # comment\n  lowestEfficiency: 0.95\n  highestWastedBytes: 20Mb # x\n  \
         highestUserWastedPercent: \"0.5\"\n  plugin1/rule1: error\n",
    )
    .unwrap();
    assert_eq!(file.lowest_efficiency.as_deref(), Some("0.95"));
    assert_eq!(file.highest_wasted_bytes.as_deref(), Some("20Mb"));
    assert_eq!(file.highest_user_wasted_percent.as_deref(), Some("0.5"));
    let rules = DiveCiRules::default().with_file(&file);
    let pass = evaluate_ci(&rules, 0.95, 20_000_000, 0.5);
    assert!(pass.pass, "comparisons are strict: equal values pass");
    let fail = evaluate_ci(&rules, 0.9499, 20_000_001, 0.51);
    assert!(!fail.pass && fail.results.iter().all(|r| r.status == RuleStatus::Fail));
    assert_eq!(
        fail.results[0].message,
        "image efficiency is too low (efficiency=0.9499 < threshold=0.95)"
    );
    let defaults = evaluate_ci(&DiveCiRules::default(), 0.99, u64::MAX, f64::NAN);
    assert!(
        defaults.pass,
        "wasted bytes disabled; NaN user percent never fails"
    );
    assert_eq!(defaults.results[1].status, RuleStatus::Disabled);
    let bad = DiveCiRules {
        lowest_efficiency: "1.5".into(),
        ..DiveCiRules::default()
    };
    let out = evaluate_ci(&bad, 1.0, 0, 0.0);
    assert!(!out.pass && out.misconfigured);
    assert_eq!(out.results[0].status, RuleStatus::Misconfigured);
    assert!(
        evaluate_ci(&DiveCiRules::default(), 1.0, 0, f64::INFINITY).results[2].status
            == RuleStatus::Fail
    );
}

#[test]
fn sizes_parse_like_go_humanize() {
    assert_eq!(parse_size("20Mb"), Ok(20_000_000));
    assert_eq!(parse_size("20 MB"), Ok(20_000_000));
    assert_eq!(parse_size("1.5GiB"), Ok(1_610_612_736));
    assert_eq!(parse_size("1,000 kB"), Ok(1_000_000));
    assert_eq!(parse_size("42"), Ok(42));
    assert_eq!(parse_size("5k"), Ok(5000));
    assert!(parse_size("abc").is_err());
    assert!(parse_size("10 parsecs").is_err());
}

#[test]
fn layer_metas_match_dive_on_real_archives() {
    for (meta, dive_json) in [
        (
            include_str!("testdata/img1.meta.json"),
            include_str!("testdata/img1.dive.json"),
        ),
        (
            include_str!("testdata/img2.meta.json"),
            include_str!("testdata/img2.dive.json"),
        ),
    ] {
        #[derive(serde::Deserialize)]
        struct Meta {
            layers: Vec<String>,
            config: ImageConfig,
        }
        let meta: Meta = serde_json::from_str(meta).unwrap();
        let want: DiveExport = serde_json::from_str(dive_json).unwrap();
        let got = layer_metas(&meta.config, &meta.layers);
        let expected: Vec<DiveLayerMeta> = want
            .layer
            .iter()
            .map(|l| DiveLayerMeta {
                id: l.id.clone(),
                digest_id: l.digest_id.clone(),
                command: l.command.clone(),
            })
            .collect();
        assert_eq!(got, expected);
    }
}
