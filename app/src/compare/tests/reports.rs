//! Input checks, the size gate, renderers, hostile names and deep trees, on the test
//! images of the parent module.

use super::{bytes, compare_two, image, multistage, single_stage};
use crate::compare::{
    compare, diff_images, fail_if_larger, render_json, render_markdown, render_text, CompareError,
    CompareOptions, DiffOptions,
};
use crate::testkit::{ImageBuilder, LayerBuilder};

#[test]
fn compare_takes_two_to_four_images() {
    let a = image(&multistage());
    let err = compare(&[&a], &CompareOptions::default()).unwrap_err();
    assert_eq!(err, CompareError::ImageCount(1));
    assert_eq!(
        err.to_string(),
        "compare: 1 images given (compare takes 2 to 4)"
    );
    assert!(compare(&[&a, &a, &a, &a, &a], &CompareOptions::default()).is_err());
    let same = compare(&[&a, &a], &CompareOptions::default()).unwrap();
    assert_eq!(same.summary()[0], "B is the same size as A (110 kB)");
    assert_eq!(same.pairs[0].shared_prefix.layers, 3);
    assert!(same.pairs[0].config.runtime_equal());
    let no_files = compare(
        &[&a, &a],
        &CompareOptions {
            files: false,
            ..CompareOptions::default()
        },
    )
    .unwrap();
    assert!(no_files.pairs[0].files.is_none());
}

#[test]
fn size_gate_fails_when_the_second_image_grew_too_much() {
    let small = image(&multistage());
    let big = image(&single_stage());
    let grew = compare_two(&small, &big);
    let check = fail_if_larger(&grew, 10.0);
    assert!(check.failed);
    let worst = check.worst_pct.unwrap();
    assert!((worst - 585_000.0 / 110_000.0 * 100.0).abs() < 1e-9);
    assert_eq!(
        check.lines[0],
        "B is 531.8% larger than A (+585 kB), limit 10.0%: fail"
    );
    assert!(!fail_if_larger(&grew, 600.0).failed);
    let shrank = compare_two(&big, &small);
    let check = fail_if_larger(&shrank, 0.0);
    assert!(!check.failed);
    assert_eq!(
        check.lines[0],
        "B is 84.2% smaller than A (-585 kB), limit 0.0%: pass"
    );
}

#[test]
fn renderers_show_the_figures() {
    let a = image(&single_stage());
    let b = image(&multistage());
    let c = compare_two(&a, &b);
    let text = render_text(&c);
    assert!(text.lines().all(|l| l.chars().count() <= 100), "{text}");
    assert!(text.contains("B is 84% smaller than A (695 kB → 110 kB)"));
    assert!(text.contains("/usr/lib/gcc"));
    assert!(text.contains("app:multi"));
    let md = render_markdown(&c);
    assert!(md.starts_with("### Image comparison"));
    assert!(md.contains("| B | app:multi |"), "{md}");
    assert!(
        md.contains("- A's /usr/lib/gcc (400 kB, 2 files) is not in B"),
        "{md}"
    );
    assert!(md.contains("| /usr/lib/gcc | 400 kB (2) |"), "{md}");
    assert!(md.contains("| Env CC | gcc |  |"), "{md}");
    let json = render_json(&c).unwrap();
    let back: crate::api::CompareReport = serde_json::from_str(&json).unwrap();
    assert_eq!(back, crate::api::CompareReport::from(&c));
    assert_eq!(back.summary().collect::<Vec<_>>(), c.summary());
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["images"][1]["content_bytes"], 110_000);
}

#[test]
fn hostile_names_are_escaped_in_reports() {
    let a = image(&ImageBuilder::new().tag("x:1").layer(
        "ADD",
        &LayerBuilder::new().file("evil|dir/\u{202e}name\n`x`", bytes(9_000, 1)),
    ));
    let b = image(
        &ImageBuilder::new()
            .tag("x:2")
            .layer("ADD", &LayerBuilder::new().file("y", b"y")),
    );
    let c = compare_two(&a, &b);
    let md = render_markdown(&c);
    assert!(!md.contains('\u{202e}'));
    assert!(md.contains("evil\\|dir"), "{md}");
    let text = render_text(&c);
    assert!(!text.contains('\u{202e}'));
    let d = c.pairs[0].files.as_ref().unwrap();
    assert_eq!(&*d.changes[0].path, "evil|dir/\u{202e}name\n`x`".as_bytes());
}

#[test]
fn deep_trees_diff_without_recursion() {
    let deep: String = (0..1_300).map(|i| format!("d{}/", i % 10)).collect();
    let a = image(&ImageBuilder::new().layer(
        "ADD",
        &LayerBuilder::new().file(format!("{deep}leaf"), bytes(1_000, 1)),
    ));
    let b = image(&ImageBuilder::new().layer("ADD", &LayerBuilder::new().file("x", b"x")));
    let d = diff_images(&a, &b, &DiffOptions::default()).unwrap();
    assert_eq!((d.totals.removed, d.totals.removed_bytes), (1, 1_000));
    assert!(d.changes[0].display.ends_with("/d9/leaf"));
    assert_eq!(d.groups[0].display, "/d0/d1/d2", "groups stop at max_depth");
    let c = compare_two(&a, &b);
    assert!(c
        .summary()
        .contains(&"A's /d0/d1/d2 (1.0 kB, 1 file) is not in B".to_owned()));
}
