//! Golden snapshots (insta) of the analysis as users read it: the text report and the
//! JSON of [`Analysis`] for a small image that has every kind of waste (a package index
//! deleted a layer later, a chmod rewrite, duplicate files, an overwritten config).
//! Review a changed `.snap` by reading it before accepting it.

use super::*;
use crate::filetree::testkit::LayerBuilder;
use crate::filetree::StackedTree;
use crate::model::LayerIndex;
use std::sync::Arc;

fn layers() -> Vec<Arc<LayerIndex>> {
    vec![
        LayerBuilder::new()
            .dir("bin")
            .file_n("bin/sh", 9_000, b's')
            .dir("etc")
            .file_n("etc/os-release", 120, b'o')
            .dir("usr")
            .dir("usr/lib")
            .file_n("usr/lib/libc.so", 40_000, b'c'),
        LayerBuilder::new()
            .dir("usr/bin")
            .file_n("usr/bin/curl", 15_000, b'u')
            .file_n("usr/lib/libcurl.so", 8_000, b'l')
            .dir("var")
            .dir("var/lib")
            .dir("var/lib/apt")
            .dir("var/lib/apt/lists")
            .file_n("var/lib/apt/lists/main_Packages", 20_000, b'p')
            .file_n("var/lib/apt/lists/security_Packages", 5_000, b'q'),
        LayerBuilder::new()
            .dir("app")
            .file_n("app/server", 30_000, b'a')
            .file_n("app/config.json", 500, b'j')
            .dir("app/assets")
            .file_n("app/assets/logo.png", 4_000, b'g')
            .file_n("app/assets/logo@1x.png", 4_000, b'g'),
        LayerBuilder::new()
            .file_n("app/server", 30_000, b'a')
            .mode(0o755)
            .file_n("app/config.json", 700, b'J'),
        LayerBuilder::new().whiteout("var/lib/apt/lists"),
    ]
    .into_iter()
    .map(|l| l.arc())
    .collect()
}

fn commands() -> Vec<Option<String>> {
    [
        Some("/bin/sh -c #(nop) ADD file:base in / "),
        Some("/bin/sh -c apt-get update && apt-get install -y curl"),
        Some("COPY app /app # buildkit"),
        Some("/bin/sh -c chmod 755 /app/server && cp /etc/app.json /app/config.json"),
        None,
    ]
    .into_iter()
    .map(|c| c.map(str::to_owned))
    .collect()
}

fn analysed() -> (Analysis, dive::DiveAnalysis) {
    let layers = layers();
    let tree = StackedTree::from_layers(layers.clone()).unwrap();
    (
        analyze(&tree, &AnalysisOptions::default()),
        dive::analyze(&layers),
    )
}

#[test]
fn text_report() {
    let (a, d) = analysed();
    insta::assert_snapshot!(render_text(&a, &d, &commands()));
}

#[test]
fn json_document() {
    let (a, _) = analysed();
    insta::assert_snapshot!(serde_json::to_string_pretty(&a).unwrap());
}
