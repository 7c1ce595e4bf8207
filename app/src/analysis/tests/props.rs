//! Property tests: the incremental stacked tree equals a naive sequential application of
//! each layer's change set (a BTreeMap model), at every layer; Strata's efficiency stays
//! in [0, 1] and reclaimable bytes never exceed what is stored.

use super::super::{analyze, dive, AnalysisOptions};
use crate::filetree::testkit::LayerBuilder;
use crate::filetree::{DiffMark, NodeId, StackedTree};
use crate::model::EntryKind;
use proptest::prelude::*;
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
enum Op {
    File(String, usize),
    Dir(String),
    Whiteout(String),
    Opaque(String),
}

fn path() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(vec!["a", "b", "c"]), 1..4).prop_map(|v| v.join("/"))
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (path(), 0usize..40).prop_map(|(p, n)| Op::File(p, n)),
        2 => path().prop_map(Op::Dir),
        2 => path().prop_map(Op::Whiteout),
        1 => path().prop_map(Op::Opaque),
    ]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    File(u64),
    Dir,
}

type Model = BTreeMap<String, Kind>;

fn remove_tree(m: &mut Model, p: &str) {
    let prefix = format!("{p}/");
    m.retain(|k, _| k != p && !k.starts_with(&prefix));
}

/// Creates missing parents as directories; false when a parent is a file (Docker fails).
fn parents(m: &mut Model, p: &str) -> bool {
    let parts: Vec<&str> = p.split('/').collect();
    for i in 1..parts.len() {
        let a = parts[..i].join("/");
        match m.get(&a) {
            Some(Kind::File(_)) => return false,
            Some(Kind::Dir) => {}
            None => {
                m.insert(a, Kind::Dir);
            }
        }
    }
    true
}

fn apply(m: &mut Model, layer: &[Op]) {
    for op in layer {
        if let Op::Opaque(d) = op {
            if m.get(d) == Some(&Kind::Dir) {
                let prefix = format!("{d}/");
                m.retain(|k, _| !k.starts_with(&prefix));
            }
        }
    }
    for op in layer {
        match op {
            Op::File(p, _) | Op::Dir(p) if parents(m, p) => {
                let new = match op {
                    Op::File(_, n) => Kind::File(*n as u64),
                    _ => Kind::Dir,
                };
                if !(new == Kind::Dir && m.get(p) == Some(&Kind::Dir)) {
                    remove_tree(m, p);
                }
                m.insert(p.clone(), new);
            }
            Op::Whiteout(p) => {
                let parent_ok = match p.rsplit_once('/') {
                    Some((dir, _)) => m.get(dir) == Some(&Kind::Dir),
                    None => true,
                };
                if parent_ok {
                    remove_tree(m, p);
                }
            }
            _ => {}
        }
    }
}

fn build(layer: &[Op]) -> LayerBuilder {
    let mut b = LayerBuilder::new();
    for op in layer {
        b = match op {
            Op::File(p, n) => b.file_n(p, *n, (*n % 7) as u8),
            Op::Dir(p) => b.dir(p),
            Op::Whiteout(p) => b.whiteout(p),
            Op::Opaque(d) => b.opaque(d),
        };
    }
    b
}

fn observed(t: &StackedTree, k: u32) -> Model {
    t.iter_at(k)
        .filter_map(|n| {
            let i = t.info(n, k)?;
            if i.mark == DiffMark::Removed {
                return None;
            }
            let kind = if i.kind == EntryKind::Dir {
                Kind::Dir
            } else {
                Kind::File(i.size)
            };
            Some((String::from_utf8_lossy(&t.path_of(n)).into_owned(), kind))
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn stacked_equals_sequential_application(layers in prop::collection::vec(prop::collection::vec(op(), 0..8), 1..6)) {
        let arcs: Vec<_> = layers.iter().map(|l| build(l).arc()).collect();
        let t = StackedTree::from_layers(arcs.clone()).unwrap();
        let mut model = Model::new();
        for (k, l) in layers.iter().enumerate() {
            apply(&mut model, l);
            let k = k as u32;
            prop_assert_eq!(&observed(&t, k), &model, "layer {}", k);
            let files: u64 = model.values().map(|v| if let Kind::File(n) = v { *n } else { 0 }).sum();
            prop_assert_eq!(t.info(NodeId::ROOT, k).unwrap().size, files);
            prop_assert_eq!(t.info(NodeId::ROOT, k).unwrap().descendants, model.len() as u64);
        }
        let a = analyze(&t, &AnalysisOptions::default());
        prop_assert!((0.0..=1.0).contains(&a.efficiency));
        prop_assert!(a.reclaimable_bytes <= a.stored_bytes);
        let hidden: u64 = t.hidden_copies().iter().map(|h| h.bytes).sum();
        prop_assert!(hidden <= a.reclaimable_bytes);
        let d = dive::analyze(&arcs);
        prop_assert!(d.efficiency <= 1.0);
    }
}
