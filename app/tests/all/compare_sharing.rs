//! `app::compare::sharing_map` on three images sharing some layers, figures computed by
//! hand with `docker system df -v` semantics (layers keyed by chain ID).

use app::compare::{render_sharing_text, sharing_map, CompareError, SharingInput};
use app::model::Digest;

fn d(name: &str) -> Digest {
    Digest::of(name.as_bytes())
}

fn input(id: &str, tags: &[&str], layers: &[(&str, u64)]) -> SharingInput {
    SharingInput {
        id: d(id),
        tags: tags.iter().map(|t| t.to_string()).collect(),
        diff_ids: layers.iter().map(|(l, _)| d(l)).collect(),
        layer_sizes: layers.iter().map(|(_, s)| *s).collect(),
    }
}

/// web = L1 L2 X, worker = L1 L2 Y, tool = L1 X' (X on another parent).
fn three_images() -> Vec<SharingInput> {
    vec![
        input("web", &["web:1"], &[("L1", 100), ("L2", 50), ("X", 30)]),
        input(
            "worker",
            &["worker:1"],
            &[("L1", 100), ("L2", 50), ("Y", 20)],
        ),
        input("tool", &["tool:1"], &[("L1", 100), ("X", 30)]),
        // the same image under a second tag is one image
        input(
            "web",
            &["web:latest"],
            &[("L1", 100), ("L2", 50), ("X", 30)],
        ),
    ]
}

#[test]
fn sharing_map_matches_hand_computed_figures() {
    let m = sharing_map(&three_images()).unwrap();
    assert_eq!(m.images.len(), 3);
    assert_eq!(m.images[0].tags, vec!["web:1", "web:latest"]);
    let figures: Vec<(u64, u64, u64)> = m
        .images
        .iter()
        .map(|i| (i.size, i.shared_size, i.unique_size))
        .collect();
    assert_eq!(
        figures,
        vec![(180, 150, 30), (170, 150, 20), (130, 100, 30)]
    );
    assert_eq!(m.total_virtual, 480);
    // L1, L1+L2, X on L2, Y on L2, X on L1
    assert_eq!(m.layers.len(), 5);
    assert_eq!(m.total_stored, 230);
    assert_eq!(m.savings, 250);
    assert_eq!(m.duplicate_content, 30, "X is stored twice");
    assert_eq!(
        m.shared_bytes,
        vec![
            vec![180, 150, 100],
            vec![150, 170, 100],
            vec![100, 100, 130]
        ]
    );
    assert_eq!(m.layers[0].images, vec![0, 1, 2]);
    assert_eq!(m.layers[1].images, vec![0, 1]);
    assert_eq!(m.layers[4].images, vec![2]);
    assert_eq!(m.layers[4].diff_id, m.layers[2].diff_id);
    assert_ne!(m.layers[4].chain_id, m.layers[2].chain_id);
    assert_eq!(m.images[2].shares_with, vec![0, 1]);
    let text = render_sharing_text(&m);
    assert!(
        text.starts_with(
            "3 images, 5 distinct layers: 480 B virtual, 230 B stored, 250 B saved by sharing"
        ),
        "{text}"
    );
    assert!(text.contains("30 B stored again"), "{text}");
}

#[test]
fn an_image_alone_shares_nothing() {
    let m = sharing_map(&[input("solo", &[], &[("A", 10), ("B", 5)])]).unwrap();
    assert_eq!((m.images[0].shared_size, m.images[0].unique_size), (0, 15));
    assert_eq!((m.total_virtual, m.total_stored, m.savings), (15, 15, 0));
    assert!(m.images[0].shares_with.is_empty());
    let empty = sharing_map(&[]).unwrap();
    assert_eq!(empty.total_stored, 0);
}

#[test]
fn mismatched_sizes_are_an_error() {
    let mut bad = input("bad", &["bad:1"], &[("A", 10)]);
    bad.layer_sizes.push(3);
    let err = sharing_map(&[bad]).unwrap_err();
    assert!(matches!(
        err,
        CompareError::SizeCount {
            diff_ids: 1,
            sizes: 2,
            ..
        }
    ));
    assert!(
        err.to_string().contains("has 1 diff IDs but 2 layer sizes"),
        "{err}"
    );
}
