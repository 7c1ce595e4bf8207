//! Overlay-rule and BAD-INPUTS tests for the layer and stacked trees.

use super::testkit::LayerBuilder;
use super::*;
use crate::model::{EntryFlag, EntryKind};

fn stack(layers: Vec<LayerBuilder>) -> StackedTree {
    StackedTree::from_layers(layers.into_iter().map(|l| l.arc())).unwrap()
}

fn present(t: &StackedTree, path: &str, k: u32) -> bool {
    t.lookup(path.as_bytes(), k)
        .and_then(|n| t.info(n, k))
        .is_some_and(|i| i.mark != DiffMark::Removed)
}

fn mark(t: &StackedTree, path: &str, k: u32) -> Option<DiffMark> {
    t.lookup(path.as_bytes(), k)
        .and_then(|n| t.info(n, k))
        .map(|i| i.mark)
}

#[test]
fn upper_file_replaces_lower_and_dirs_merge() {
    let t = stack(vec![
        LayerBuilder::new()
            .dir("a")
            .file("a/x", b"one")
            .file("a/y", b"y"),
        LayerBuilder::new()
            .dir("a")
            .mode(0o700)
            .file("a/x", b"two!"),
    ]);
    assert!(present(&t, "a/y", 1), "dir+dir merges: lower children stay");
    let x = t.info(t.lookup(b"a/x", 1).unwrap(), 1).unwrap();
    assert_eq!((x.size, x.mark), (4, DiffMark::Modified));
    let a = t.info(t.lookup(b"a", 1).unwrap(), 1).unwrap();
    assert_eq!(a.mode, 0o700);
    assert_eq!(a.mark, DiffMark::AttrsOnly);
    assert_eq!(a.size, 5, "dir size sums files below");
    assert_eq!(a.descendants, 2);
}

#[test]
fn file_replacing_dir_removes_subtree() {
    let t = stack(vec![
        LayerBuilder::new().dir("a").file("a/x", b"123"),
        LayerBuilder::new().file("a", b"now a file"),
    ]);
    let a = t.info(t.lookup(b"a", 1).unwrap(), 1).unwrap();
    assert_eq!((a.kind, a.mark), (EntryKind::File, DiffMark::Modified));
    assert_eq!(mark(&t, "a/x", 1), Some(DiffMark::Removed));
    assert_eq!(t.hidden_copies()[0].cause, HideCause::ParentReplaced);
}

#[test]
fn whiteout_of_file_and_of_dir_f2() {
    // F2: L1 a/foo b/bar; L2 .wh.a; L3 a/baz -> a/baz b/bar
    let t = stack(vec![
        LayerBuilder::new()
            .dir("a")
            .file("a/foo", b"foo")
            .dir("b")
            .file("b/bar", b"bar"),
        LayerBuilder::new().whiteout("a"),
        LayerBuilder::new().dir("a").file("a/baz", b"baz"),
    ]);
    assert_eq!(mark(&t, "a", 1), Some(DiffMark::Removed));
    assert_eq!(mark(&t, "a/foo", 1), Some(DiffMark::Removed));
    assert!(!present(&t, "a/foo", 2));
    assert!(present(&t, "a/baz", 2) && present(&t, "b/bar", 2));
    assert_eq!(
        t.lookup(b"a/foo", 2),
        None,
        "gone for good two layers later"
    );
    assert_eq!(mark(&t, "a", 2), Some(DiffMark::Added));
    let root = t.info(NodeId::ROOT, 2).unwrap();
    assert_eq!(root.size, 6);
    let h = t.hidden_copies();
    assert_eq!(h.len(), 1);
    assert_eq!(
        (h[0].cause, h[0].added_layer, h[0].hidden_layer),
        (HideCause::DirWhiteout, 0, 1)
    );
    assert_eq!(t.stats(1).unwrap().removed, 2);
    assert_eq!(t.stats(1).unwrap().removed_bytes, 3);
}

#[test]
fn opaque_hides_lower_children_regardless_of_order_f3() {
    for before in [true, false] {
        let l2 = if before {
            LayerBuilder::new().dir("a").opaque("a").file("a/y", b"y")
        } else {
            LayerBuilder::new().dir("a").file("a/y", b"y").opaque("a")
        };
        let t = stack(vec![LayerBuilder::new().dir("a").file("a/x", b"x"), l2]);
        assert!(
            !present(&t, "a/x", 1),
            "lower child hidden (before={before})"
        );
        assert!(
            present(&t, "a/y", 1),
            "same-layer child kept (before={before})"
        );
        assert_eq!(t.hidden_copies()[0].cause, HideCause::Opaque);
        let a = t.info(t.lookup(b"a", 1).unwrap(), 1).unwrap();
        assert!(a.flags.contains(TreeFlag::Opaque));
    }
}

#[test]
fn whiteout_of_nothing_is_a_flagged_noop_f1_and_base_f6() {
    let t = stack(vec![LayerBuilder::new()
        .whiteout("ghost")
        .file("real", b"r")]);
    assert!(present(&t, "real", 0));
    assert_eq!(t.warnings(0)[0].kind, LayerWarningKind::WhiteoutOfNothing);
}

#[test]
fn same_layer_file_then_whiteout_removes_f4() {
    let t = stack(vec![
        LayerBuilder::new().file("foo", b"lower"),
        LayerBuilder::new().file("foo", b"upper").whiteout("foo"),
    ]);
    assert_eq!(mark(&t, "foo", 1), Some(DiffMark::Removed));
    let foo = t.info(t.lookup(b"foo", 1).unwrap(), 1).unwrap();
    assert!(foo.flags.contains(TreeFlag::SameLayerWhiteout));
    assert_eq!(foo.size, 5, "a removed node shows what was there before");
    let lt = LayerTree::build(t.layer(1).unwrap()).unwrap();
    let n = lt.node(lt.lookup(b"foo").unwrap()).unwrap();
    assert!(n.whiteout && n.entry.is_none() && n.flags.contains(TreeFlag::SameLayerWhiteout));
    // both copies are waste: the lower one and the one stored in layer 1
    assert_eq!(t.hidden_copies().iter().map(|h| h.bytes).sum::<u64>(), 10);
}

#[test]
fn whiteout_then_recreate_in_same_layer_f6() {
    let t = stack(vec![
        LayerBuilder::new().dir("d").file("d/old", b"o"),
        LayerBuilder::new()
            .whiteout("d")
            .dir("d")
            .file("d/new", b"n"),
    ]);
    assert!(present(&t, "d/new", 1));
    assert!(!present(&t, "d/old", 1));
}

#[test]
fn invalid_and_odd_whiteouts_f5_f7() {
    let t = stack(vec![
        LayerBuilder::new()
            .dir("a")
            .file("a/x", b"x")
            .file("y", b"y"),
        LayerBuilder::new()
            .file("a/.wh.", b"")
            .file("a/.wh..", b"")
            .file("a/.wh...", b"")
            .file("a/.wh..wh.foo", b"")
            .file(".wh..wh.plnk/123", b"")
            .dir(".wh.y"),
    ]);
    assert!(
        present(&t, "a/x", 1),
        "invalid whiteouts never delete the parent"
    );
    let kinds: Vec<_> = t.warnings(1).iter().map(|w| w.kind).collect();
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == LayerWarningKind::InvalidWhiteout)
            .count(),
        4
    );
    assert!(kinds.contains(&LayerWarningKind::AufsMetadata));
    assert_eq!(
        mark(&t, "y", 1),
        Some(DiffMark::Removed),
        "F7: a dir named .wh.y still deletes y"
    );
    let lt = LayerTree::build(t.layer(1).unwrap()).unwrap();
    assert!(lt
        .node(lt.lookup(b"y").unwrap())
        .unwrap()
        .flags
        .contains(TreeFlag::OddWhiteout));
}

#[test]
fn escaping_entries_are_ignored() {
    let t = stack(vec![LayerBuilder::new()
        .file("../etc/passwd", b"x")
        .flag(EntryFlag::EscapesRoot)
        .file("ok", b"1")]);
    assert_eq!(t.iter_at(0).count(), 1);
    assert_eq!(t.warnings(0)[0].kind, LayerWarningKind::EscapesRoot);
}

#[test]
fn entries_beneath_symlinked_dir_are_placed_at_the_target_e2() {
    let t = stack(vec![
        LayerBuilder::new().dir("etc").file("etc/passwd", b"root"),
        LayerBuilder::new()
            .symlink("evil", "/etc")
            .file("evil/passwd", b"owned!"),
    ]);
    let p = t.info(t.lookup(b"etc/passwd", 1).unwrap(), 1).unwrap();
    assert_eq!((p.size, p.mark), (6, DiffMark::Modified));
    assert!(p.flags.contains(TreeFlag::ThroughSymlink));
    let evil = t.info(t.lookup(b"evil", 1).unwrap(), 1).unwrap();
    assert_eq!(
        evil.link,
        Some(&b"/etc"[..]),
        "symlink target stored verbatim"
    );
    assert!(t.lookup(b"evil/passwd", 1).is_none());
}

#[test]
fn relative_symlink_escape_is_clamped_to_root_and_loops_stop_e1() {
    let t = stack(vec![
        LayerBuilder::new()
            .dir("a")
            .symlink("a/up", "../../../..")
            .file("a/up/top", b"t"),
        LayerBuilder::new()
            .symlink("l1", "l2")
            .symlink("l2", "l1")
            .file("l1/x", b"x"),
    ]);
    assert!(present(&t, "top", 0), "../.. stops at the root");
    assert!(!present(&t, "l1/x", 1) && !present(&t, "x", 1));
    assert!(t
        .warnings(1)
        .iter()
        .any(|w| w.kind == LayerWarningKind::SymlinkLoop));
}

#[test]
fn symlink_then_dir_replaces_e3() {
    let t = stack(vec![
        LayerBuilder::new().dir("target"),
        LayerBuilder::new()
            .symlink("s", "target")
            .dir("s")
            .file("s/f", b"f"),
    ]);
    let s = t.info(t.lookup(b"s", 1).unwrap(), 1).unwrap();
    assert_eq!(s.kind, EntryKind::Dir);
    assert!(s.flags.contains(TreeFlag::ReplacedSymlink));
    assert!(present(&t, "s/f", 1));
    assert!(!present(&t, "target/f", 1));
}

#[test]
fn hardlinks_count_once_and_unresolved_are_flagged_e4() {
    let t = stack(vec![
        LayerBuilder::new()
            .file("a", b"12345")
            .hardlink("b", "a")
            .hardlink("c", "missing"),
        LayerBuilder::new()
            .whiteout("a")
            .hardlink("d", "a")
            .dir("dir")
            .hardlink("e", "dir")
            .hardlink("self", "self")
            .hardlink("early", "late")
            .file("late", b"l")
            .hardlink("ok", "b"),
    ]);
    for bad in ["e", "self", "early"] {
        let n = t.info(t.lookup(bad.as_bytes(), 1).unwrap(), 1).unwrap();
        assert!(n.flags.contains(TreeFlag::UnresolvedHardlink), "{bad}");
    }
    let ok = t.info(t.lookup(b"ok", 1).unwrap(), 1).unwrap();
    assert!(
        !ok.flags.contains(TreeFlag::UnresolvedHardlink),
        "a link to a link resolves"
    );
    assert_eq!(t.info(NodeId::ROOT, 0).unwrap().size, 5);
    let c = t.info(t.lookup(b"c", 0).unwrap(), 0).unwrap();
    assert!(c.flags.contains(TreeFlag::UnresolvedHardlink));
    let b = t.info(t.lookup(b"b", 0).unwrap(), 0).unwrap();
    assert!(!b.flags.contains(TreeFlag::UnresolvedHardlink));
    let d = t.info(t.lookup(b"d", 1).unwrap(), 1).unwrap();
    assert!(
        d.flags.contains(TreeFlag::UnresolvedHardlink),
        "target whited out"
    );
}

#[test]
fn distinct_raw_names_stay_distinct_d9() {
    let t = stack(vec![LayerBuilder::new()
        .file("caf\u{e9}", b"nfc")
        .file("cafe\u{301}", b"nfd")
        .file("a", b"1")
        .file("A", b"2")
        .raw({
            let mut e = crate::model::Entry {
                path: Box::from(&b"bad\xff"[..]),
                ..LayerBuilder::new().file("x", b"3").build().entries[0].clone()
            };
            e.size = 3;
            e
        })]);
    assert_eq!(t.iter_at(0).count(), 5);
    let names: Vec<Vec<u8>> = t
        .children(NodeId::ROOT, 0)
        .iter()
        .map(|i| i.name.to_vec())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "children sorted by raw bytes");
}

#[test]
fn duplicates_last_wins_d10() {
    let t = stack(vec![LayerBuilder::new()
        .file("f", b"first")
        .file("f", b"second!")
        .dir("d")
        .dir("d")
        .mode(0o700)
        .file("x", b"file")
        .dir("x")]);
    let f = t.info(t.lookup(b"f", 0).unwrap(), 0).unwrap();
    assert_eq!(f.size, 7);
    assert!(f.flags.contains(TreeFlag::Duplicate));
    assert_eq!(t.info(t.lookup(b"d", 0).unwrap(), 0).unwrap().mode, 0o700);
    assert_eq!(
        t.info(t.lookup(b"x", 0).unwrap(), 0).unwrap().kind,
        EntryKind::Dir
    );
    assert_eq!(
        t.info(NodeId::ROOT, 0).unwrap().size,
        7,
        "size counted once"
    );
    assert_eq!(t.hidden_copies().len(), 2);
    assert!(t
        .hidden_copies()
        .iter()
        .all(|h| h.cause == HideCause::DuplicateInLayer));
    let lt = LayerTree::build(t.layer(0).unwrap()).unwrap();
    assert!(lt
        .node(lt.lookup(b"f").unwrap())
        .unwrap()
        .flags
        .contains(TreeFlag::Duplicate));
}

#[test]
fn attrs_only_rewrite_is_told_apart() {
    let t = stack(vec![
        LayerBuilder::new().file("f", b"same").file("g", b"same"),
        LayerBuilder::new()
            .file("f", b"same")
            .mode(0o600)
            .file("g", b"diff"),
    ]);
    assert_eq!(mark(&t, "f", 1), Some(DiffMark::AttrsOnly));
    assert_eq!(mark(&t, "g", 1), Some(DiffMark::Modified));
    let s = t.stats(1).unwrap();
    assert_eq!((s.attrs_only, s.attrs_only_bytes, s.modified), (1, 4, 1));
    assert_eq!(mark(&t, "f", 0), Some(DiffMark::Added));
}

#[test]
fn layer_tree_keeps_its_own_change_set() {
    let l = LayerBuilder::new()
        .file("a/b/c", b"x")
        .whiteout("a/gone")
        .opaque("a/b")
        .build();
    let lt = LayerTree::build(&l).unwrap();
    let paths: Vec<Vec<u8>> = lt.iter().map(|n| lt.path_of(n)).collect();
    assert_eq!(
        paths,
        vec![
            b"a".to_vec(),
            b"a/b".to_vec(),
            b"a/b/c".to_vec(),
            b"a/gone".to_vec()
        ]
    );
    let b = lt.node(lt.lookup(b"a/b").unwrap()).unwrap();
    assert!(b.opaque && b.flags.contains(TreeFlag::Implicit));
    assert!(lt.node(lt.lookup(b"a/gone").unwrap()).unwrap().whiteout);
}

#[test]
fn deep_trees_do_not_recurse() {
    let path = vec!["d"; 20_000].join("/");
    let t = stack(vec![
        LayerBuilder::new().file(&path, b"deep"),
        LayerBuilder::new().whiteout("d"),
    ]);
    assert_eq!(t.info(NodeId::ROOT, 0).unwrap().descendants, 20_000);
    assert_eq!(t.info(NodeId::ROOT, 1).unwrap().descendants, 0);
    assert_eq!(
        t.iter_at(1).count(),
        20_000,
        "removed subtree is shown at the layer that removed it"
    );
}

#[test]
fn untouched_nodes_are_unchanged_and_files_under_files_are_refused() {
    let t = stack(vec![
        LayerBuilder::new().file("f", b"1").file("g", b"2"),
        LayerBuilder::new().file("f/child", b"x").file("h", b"3"),
    ]);
    assert_eq!(mark(&t, "g", 1), Some(DiffMark::Unchanged));
    assert_eq!(mark(&t, "h", 1), Some(DiffMark::Added));
    assert_eq!(
        t.info(t.lookup(b"f", 1).unwrap(), 1).unwrap().kind,
        EntryKind::File
    );
    assert_eq!(t.warnings(1)[0].kind, LayerWarningKind::ParentNotDir);
    let s = t.stats(1).unwrap();
    assert_eq!((s.added, s.added_bytes, s.entries), (1, 1, 2));
    assert_eq!(t.changes(1).len(), 1);
}

#[test]
fn queries_by_layer_see_history() {
    let t = stack(vec![
        LayerBuilder::new().dir("etc").file("etc/a", b"aa"),
        LayerBuilder::new().file("etc/b", b"bbb"),
        LayerBuilder::new().whiteout("etc/a"),
    ]);
    let etc = t.lookup(b"etc", 0).unwrap();
    let sizes: Vec<u64> = (0..3).map(|k| t.info(etc, k).unwrap().size).collect();
    assert_eq!(sizes, vec![2, 5, 3]);
    let names = |k| {
        t.children(etc, k)
            .iter()
            .map(|c| (c.name.to_vec(), c.mark))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names(1),
        vec![
            (b"a".to_vec(), DiffMark::Unchanged),
            (b"b".to_vec(), DiffMark::Added)
        ]
    );
    assert_eq!(
        names(2),
        vec![
            (b"a".to_vec(), DiffMark::Removed),
            (b"b".to_vec(), DiffMark::Unchanged)
        ]
    );
    assert_eq!(t.path_of(t.lookup(b"etc/b", 2).unwrap()), b"etc/b".to_vec());
    assert!(t.info(etc, 3).is_none(), "no layer 3");
    let found: Vec<Vec<u8>> = t.iter_at(2).map(|n| t.path_of(n)).collect();
    assert_eq!(
        found,
        vec![b"etc".to_vec(), b"etc/a".to_vec(), b"etc/b".to_vec()]
    );
    for k in 0..3 {
        let mut walked = Vec::new();
        t.for_each_path_at(k, |n, p| walked.push((n, p.to_vec())));
        let expected: Vec<_> = t.iter_at(k).map(|n| (n, t.path_of(n))).collect();
        assert_eq!(walked, expected, "layer {k}");
    }
    let mut none = 0;
    t.for_each_path_at(3, |_, _| none += 1);
    assert_eq!(none, 0, "no layer 3");
}

#[test]
fn path_walk_matches_path_of_at_every_depth() {
    let t = stack(vec![
        LayerBuilder::new()
            .dir("a")
            .dir("a/b")
            .file("a/b/c", b"c")
            .file("a/d", b"d")
            .file("e", b"e"),
        LayerBuilder::new().dir("a/b/z").file("a/b/z/deep", b"x"),
    ]);
    for k in 0..2 {
        let mut walked = Vec::new();
        t.for_each_path_at(k, |n, p| walked.push((n, p.to_vec())));
        let expected: Vec<_> = t.iter_at(k).map(|n| (n, t.path_of(n))).collect();
        assert_eq!(walked, expected, "layer {k}");
    }
    let mut paths = Vec::new();
    t.for_each_path_at(1, |_, p| {
        paths.push(String::from_utf8_lossy(p).into_owned())
    });
    assert_eq!(
        paths,
        ["a", "a/b", "a/b/c", "a/b/z", "a/b/z/deep", "a/d", "e"]
    );
}
