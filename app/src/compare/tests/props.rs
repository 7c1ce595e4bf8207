//! Properties of the file diff on random images: diffing an image with itself finds
//! nothing; swapping the sides swaps added and removed; the groups partition the
//! changes; the side figures match the trees.

use super::image;
use crate::compare::{diff_images, stack, DiffOptions};
use crate::testkit::{ImageBuilder, LayerBuilder};
use proptest::prelude::*;

const NAMES: [&str; 6] = ["usr", "lib", "bin", "etc", "x", "cache"];

fn layer_strategy() -> impl Strategy<Value = Vec<(Vec<usize>, usize)>> {
    prop::collection::vec(
        (prop::collection::vec(0..NAMES.len(), 1..5), 0..4_000usize),
        0..12,
    )
}

fn build(files: &[(Vec<usize>, usize)]) -> crate::model::Image {
    let mut layer = LayerBuilder::new();
    let mut seen = std::collections::HashSet::new();
    for (comps, len) in files {
        let path: Vec<&str> = comps.iter().map(|c| NAMES[*c]).collect();
        let path = format!("{}/f", path.join("/"));
        // a path used as a file cannot also be a directory prefix of another: "/f" leaf
        if seen.insert(path.clone()) {
            layer = layer.file(path, vec![b'a' + (*len % 7) as u8; *len]);
        }
    }
    image(&ImageBuilder::new().layer("ADD", &layer))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn file_diff_is_consistent(fa in layer_strategy(), fb in layer_strategy()) {
        let (a, b) = (build(&fa), build(&fb));
        let opts = DiffOptions { max_groups: 4, ..DiffOptions::default() };
        let same = diff_images(&a, &a, &opts).unwrap();
        prop_assert_eq!(same.totals.changes(), 0);
        prop_assert!(same.groups.is_empty());
        let ab = diff_images(&a, &b, &opts).unwrap();
        let ba = diff_images(&b, &a, &opts).unwrap();
        prop_assert_eq!(ab.totals.added, ba.totals.removed);
        prop_assert_eq!(ab.totals.added_bytes, ba.totals.removed_bytes);
        prop_assert_eq!(ab.totals.changed, ba.totals.changed);
        prop_assert_eq!(ab.totals.delta(), -ba.totals.delta());
        prop_assert!(ab.groups.len() <= 4);
        let grouped: u64 = ab.groups.iter().map(|g| g.totals.changes()).sum();
        prop_assert_eq!(grouped, ab.totals.changes());
        let grouped_bytes: u64 = ab.groups.iter().map(|g| g.totals.churn()).sum();
        prop_assert_eq!(grouped_bytes, ab.totals.churn());
        let ta = stack(&a).unwrap();
        let files_a = ta.layer_count().checked_sub(1).map_or(0, |k| ta.files_at(k).count() as u64);
        prop_assert_eq!(ab.a.files, files_a);
        prop_assert_eq!(ab.a.files, ab.totals.removed + ab.totals.kept());
        prop_assert_eq!(ab.b.files, ab.totals.added + ab.totals.kept());
        prop_assert_eq!(ab.b.bytes as i128 - ab.a.bytes as i128, i128::from(ab.totals.delta()));
    }
}
