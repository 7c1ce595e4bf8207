//! Golden snapshots (insta) of the comparison reports as users read them: the text,
//! Markdown and JSON renderings of the single-stage build against the multistage build
//! of the same app. Review a changed `.snap` by reading it before accepting it.

use super::{compare_two, image, multistage, single_stage};
use crate::compare::{render_json, render_markdown, render_text};

#[test]
fn single_vs_multistage_text() {
    let c = compare_two(&image(&single_stage()), &image(&multistage()));
    insta::assert_snapshot!(render_text(&c));
}

#[test]
fn single_vs_multistage_markdown() {
    let c = compare_two(&image(&single_stage()), &image(&multistage()));
    insta::assert_snapshot!(render_markdown(&c));
}

#[test]
fn single_vs_multistage_json() {
    let c = compare_two(&image(&single_stage()), &image(&multistage()));
    insta::assert_snapshot!(render_json(&c).unwrap());
}
