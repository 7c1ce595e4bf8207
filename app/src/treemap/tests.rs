use super::*;
use crate::filetree::testkit::LayerBuilder;
use crate::filetree::StackedTree;
use proptest::prelude::*;

const EPS: f64 = 1e-6;

fn check_tiling(sizes: &[u64], area: Rect, rects: &[Rect]) {
    assert_eq!(rects.len(), sizes.len());
    let total: f64 = sizes.iter().map(|s| *s as f64).sum();
    let mut covered = 0.0;
    for (s, r) in sizes.iter().zip(rects) {
        for v in [r.x, r.y, r.w, r.h] {
            assert!(v.is_finite(), "{r:?}");
        }
        assert!(r.w >= 0.0 && r.h >= 0.0, "{r:?}");
        assert!(
            r.x >= area.x - EPS && r.y >= area.y - EPS,
            "{r:?} inside {area:?}"
        );
        assert!(r.x + r.w <= area.x + area.w + EPS, "{r:?} inside {area:?}");
        assert!(r.y + r.h <= area.y + area.h + EPS, "{r:?} inside {area:?}");
        if total > 0.0 {
            let want = *s as f64 / total * area.area();
            assert!(
                (r.area() - want).abs() <= 1e-6 * area.area().max(1.0),
                "size {s}: {r:?} area {} want {want}",
                r.area()
            );
        }
        covered += r.area();
    }
    if total > 0.0 {
        assert!(
            (covered - area.area()).abs() <= 1e-6 * area.area(),
            "covered {covered}"
        );
    }
    for (i, a) in rects.iter().enumerate() {
        for b in &rects[i + 1..] {
            let ox = (a.x + a.w).min(b.x + b.w) - a.x.max(b.x);
            let oy = (a.y + a.h).min(b.y + b.h) - a.y.max(b.y);
            assert!(ox <= EPS || oy <= EPS, "{a:?} overlaps {b:?}");
        }
    }
}

#[test]
fn squarify_tiles_the_classic_example() {
    // the example of the squarified-treemap paper: 6x4 with 6,6,4,3,2,2,1
    let sizes = [6, 6, 4, 3, 2, 2, 1];
    let area = Rect::new(0.0, 0.0, 6.0, 4.0);
    let rects = squarify(&sizes, area);
    check_tiling(&sizes, area, &rects);
    // the first row is the two 6s stacked in a 3-wide column
    assert!(
        (rects[0].w - 3.0).abs() < EPS && (rects[0].h - 2.0).abs() < EPS,
        "{:?}",
        rects[0]
    );
    assert!(
        (rects[1].x).abs() < EPS && (rects[1].y - 2.0).abs() < EPS,
        "{:?}",
        rects[1]
    );
}

#[test]
fn squarify_keeps_input_order_and_handles_zeros() {
    let sizes = [0, 5, 0, 10, 0];
    let area = Rect::new(10.0, 20.0, 300.0, 100.0);
    let rects = squarify(&sizes, area);
    check_tiling(&sizes, area, &rects);
    assert_eq!(rects[0].area(), 0.0);
    assert!((rects[3].area() - 2.0 * rects[1].area()).abs() < 1e-6);
    for r in squarify(&[0, 0], area) {
        assert_eq!(r.area(), 0.0);
        assert!(!r.x.is_nan());
    }
    assert!(squarify(&[], area).is_empty());
    let flat = squarify(&[1, 2], Rect::new(0.0, 0.0, 0.0, 50.0));
    assert!(flat.iter().all(|r| r.area() == 0.0 && r.h.is_finite()));
    let bad = squarify(&[1, 2], Rect::new(f64::NAN, 0.0, f64::INFINITY, -3.0));
    assert!(bad.iter().all(|r| r.x.is_finite() && r.w.is_finite()));
}

#[test]
fn squarify_huge_sizes_stay_finite() {
    let sizes = [u64::MAX, u64::MAX / 2, 1, 0];
    let area = Rect::new(0.0, 0.0, 1000.0, 600.0);
    let rects = squarify(&sizes, area);
    assert!(rects.iter().all(|r| r.w.is_finite() && r.h.is_finite()));
    assert!((rects[0].area() - 2.0 * rects[1].area()).abs() < 1e-3 * area.area());
}

proptest! {
    #[test]
    fn squarify_tiles_any_sizes(sizes in proptest::collection::vec(0u64..1_000_000, 0..60), w in 1.0f64..2000.0, h in 1.0f64..2000.0) {
        let area = Rect::new(5.0, 7.0, w, h);
        let rects = squarify(&sizes, area);
        check_tiling(&sizes, area, &rects);
    }
}

#[test]
fn nested_layout_puts_children_inside_their_parent() {
    // 0:/a (dir, 60) 1:/b (40) 2:/a/x (45) 3:/a/y (15) 4: bad parent (points forward)
    let parents = [None, None, Some(0), Some(0), Some(9)];
    let sizes = [60, 40, 45, 15, 5];
    let area = Rect::new(0.0, 0.0, 400.0, 200.0);
    let inset = Inset {
        pad: 2.0,
        header: 16.0,
    };
    let r = layout_nested(&parents, &sizes, area, inset);
    check_tiling(&sizes[..2], area, &r[..2]);
    let inner = Rect::new(r[0].x + 2.0, r[0].y + 16.0, r[0].w - 4.0, r[0].h - 18.0);
    check_tiling(&sizes[2..4], inner, &r[2..4]);
    assert_eq!(r[4].area(), 0.0);
    // a parent too small for the inset gives its children nothing, without NaN
    let tiny = layout_nested(
        &[None, Some(0)],
        &[1, 1],
        Rect::new(0.0, 0.0, 3.0, 3.0),
        inset,
    );
    assert_eq!(tiny[1].area(), 0.0);
    assert!(tiny[1].x.is_finite());
    assert!(layout_nested(&[None], &[], area, inset).is_empty());
}

fn tree(layers: Vec<LayerBuilder>) -> StackedTree {
    match StackedTree::from_layers(layers.into_iter().map(LayerBuilder::arc)) {
        Ok(t) => t,
        Err(e) => panic!("stacking failed: {e}"),
    }
}

fn entry_names(t: &StackedTree, p: &TreemapPlan) -> Vec<String> {
    p.items
        .iter()
        .map(|i| match i.kind {
            PlanKind::Entry(n) => String::from_utf8_lossy(&t.path_of(n)).into_owned(),
            PlanKind::Folded { count } => format!("({count} folded)"),
        })
        .collect()
}

#[test]
fn plan_lists_largest_first_nested_to_depth() {
    let t = tree(vec![
        LayerBuilder::new()
            .file_n("usr/bin/big", 500, b'a')
            .file_n("usr/bin/small", 10, b'b')
            .file_n("usr/lib/x/deep", 300, b'c')
            .file_n("etc/conf", 50, b'd'),
        LayerBuilder::new()
            .file_n("etc/new", 5, b'e')
            .whiteout("etc/conf"),
    ]);
    let p = plan(&t, 0, crate::filetree::NodeId::ROOT, 2, 100);
    assert_eq!(
        entry_names(&t, &p),
        ["usr", "etc", "usr/bin", "usr/lib", "etc/conf"]
    );
    assert_eq!(p.items[0].parent, None);
    assert_eq!(p.items[2].parent, Some(0));
    assert_eq!(p.items[2].depth, 2);
    assert_eq!(p.items[0].size, 810);
    // at layer 1, the removed file is counted but not listed
    let p1 = plan(&t, 1, crate::filetree::NodeId::ROOT, 3, 100);
    assert_eq!(p1.removed, 1);
    assert!(entry_names(&t, &p1).contains(&"etc/new".to_owned()));
    assert!(!entry_names(&t, &p1).contains(&"etc/conf".to_owned()));
}

#[test]
fn plan_folds_what_exceeds_the_limit() {
    let mut layer = LayerBuilder::new();
    for i in 0..3000 {
        layer = layer.file_n(&format!("data/f{i:04}"), 1 + i % 97, b'x');
    }
    let t = tree(vec![layer]);
    let data = match t.lookup(b"data", 0) {
        Some(n) => n,
        None => panic!("data missing"),
    };
    let p = plan(&t, 0, data, 3, 300);
    assert_eq!(p.items.len(), 300);
    let last = p.items[299];
    assert_eq!(last.kind, PlanKind::Folded { count: 2701 });
    let total: u64 = p.items.iter().map(|i| i.size).sum();
    assert_eq!(total, t.info(data, 0).map_or(0, |i| i.size));
    let sizes: Vec<u64> = p.items[..299].iter().map(|i| i.size).collect();
    assert!(sizes.windows(2).all(|w| w[0] >= w[1]), "largest first");
    // 97 distinct sizes, ~31 files each: the 299 shown are the 10 biggest sizes
    assert!(
        sizes[298] >= 88,
        "only the biggest are shown: {}",
        sizes[298]
    );
    assert!(
        last.size <= 2701 * sizes[298],
        "the folded are the smallest"
    );
    assert!(plan(&t, 0, data, 3, 0).items.is_empty());
    // zero-byte entries are folded before any budget goes to them
    let zeros = tree(vec![LayerBuilder::new()
        .file_n("d/big", 10, b'x')
        .symlink("d/l1", "big")
        .symlink("d/l2", "big")
        .symlink("d/l3", "big")]);
    let d = match zeros.lookup(b"d", 0) {
        Some(n) => n,
        None => panic!("d missing"),
    };
    let z = plan(&zeros, 0, d, 1, 3);
    assert_eq!(entry_names(&zeros, &z), ["d/big", "(3 folded)"]);
    assert_eq!(
        plan(&zeros, 0, d, 1, 4).items.len(),
        4,
        "all fit: all shown"
    );
    let one = plan(&t, 0, data, 1, 1);
    assert_eq!(one.items.len(), 1);
    assert_eq!(one.items[0].kind, PlanKind::Folded { count: 3000 });
}
