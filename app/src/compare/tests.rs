//! `compare` on images built with the test kit: single-stage vs multistage builds
//! of the same small app, two images on one base, FROM scratch vs a toolchain image,
//! attribute-only rewrites, layer-vs-layer diffs, renderers and the size gate. Every
//! expected figure below is computed by hand from the layer contents.

//! (These live beside the code because the test kit is compiled for this crate's own
//! unit tests; integration tests under `app/tests` would need the `testkit` feature.)

use super::Fact;
use super::{
    compare, diff_images, diff_trees, stack, ChangeKind, CompareError, CompareOptions, Comparison,
    DiffOptions, LayerSharing, StepStatus,
};
use crate::archive::read_archive;
use crate::limits::Limits;
use crate::model::Image;
use crate::testkit::{ImageBuilder, LayerBuilder};

mod props;
mod reports;
mod snapshots;

fn image(b: &ImageBuilder) -> Image {
    let tar = b.docker_save();
    let archive = read_archive(&tar[..], &Limits::default(), &mut |_| {}).expect("archive");
    archive.select(None, None).expect("image")
}

fn bytes(n: usize, seed: u8) -> Vec<u8> {
    (0..n).map(|i| seed.wrapping_add((i % 251) as u8)).collect()
}

/// 50,000 bytes in 3 files.
fn base_layer() -> LayerBuilder {
    LayerBuilder::new()
        .dir("etc")
        .file("etc/os-release", bytes(100, 1))
        .dir("bin")
        .file("bin/sh", bytes(9_900, 2))
        .dir("lib")
        .file("lib/libc.so", bytes(40_000, 3))
}

fn app_binary() -> Vec<u8> {
    bytes(40_000, 9)
}

fn prod_dep() -> Vec<u8> {
    bytes(20_000, 10)
}

/// A single-stage build: base (50,000) + toolchain (500,000) + sources (50,000) +
/// build (60,000) + deps (35,000) = 695,000 bytes in 17 files.
fn single_stage() -> ImageBuilder {
    ImageBuilder::new()
        .tag("app:single")
        .layer("/bin/sh -c #(nop) ADD file:base in / ", &base_layer())
        .layer(
            "/bin/sh -c apt-get install -y build-essential",
            &LayerBuilder::new()
                .file("usr/lib/gcc/x86_64-linux-gnu/12/cc1", bytes(300_000, 4))
                .file("usr/lib/gcc/x86_64-linux-gnu/12/lto1", bytes(100_000, 5))
                .file("usr/include/stdio.h", bytes(4_000, 6))
                .file("usr/include/stdlib.h", bytes(6_000, 7))
                .file("var/cache/apt/archives/gcc.deb", bytes(80_000, 8))
                .file("var/lib/apt/lists/main", bytes(10_000, 11)),
        )
        .layer(
            "/bin/sh -c #(nop) COPY dir:src in /src ",
            &LayerBuilder::new()
                .file("src/main.c", bytes(30_000, 12))
                .file("src/util.c", bytes(15_000, 13))
                .file("src/Makefile", bytes(5_000, 14)),
        )
        .layer(
            "/bin/sh -c make -C /src && make install",
            &LayerBuilder::new()
                .file_with("usr/local/bin/app", app_binary(), 0o755, 0, 0)
                .file("root/.cache/build/main.o", bytes(12_000, 15))
                .file("root/.cache/build/util.o", bytes(8_000, 16)),
        )
        .layer(
            "/bin/sh -c pip install -r requirements-dev.txt",
            &LayerBuilder::new()
                .file("usr/local/lib/deps/prod.so", prod_dep())
                .file("usr/local/lib/devdeps/test.so", bytes(15_000, 17)),
        )
        .empty_step("/bin/sh -c #(nop)  ENV CC=gcc")
        .empty_step("/bin/sh -c #(nop)  CMD [\"/usr/local/bin/app\"]")
        .env("PATH=/usr/bin:/bin")
        .env("CC=gcc")
        .cmd(&["/usr/local/bin/app"])
}

/// The multistage build of the same app: the same base, then only the binary (40,000)
/// and the production dependency (20,000) = 110,000 bytes in 5 files.
fn multistage() -> ImageBuilder {
    ImageBuilder::new()
        .tag("app:multi")
        .layer("/bin/sh -c #(nop) ADD file:base in / ", &base_layer())
        .layer(
            "COPY --from=build /usr/local/bin/app /usr/local/bin/app",
            &LayerBuilder::new().file_with("usr/local/bin/app", app_binary(), 0o755, 0, 0),
        )
        .layer(
            "COPY --from=build /usr/local/lib/deps /usr/local/lib/deps",
            &LayerBuilder::new().file("usr/local/lib/deps/prod.so", prod_dep()),
        )
        .empty_step("/bin/sh -c #(nop)  CMD [\"/usr/local/bin/app\"]")
        .env("PATH=/usr/bin:/bin")
        .cmd(&["/usr/local/bin/app"])
}

fn compare_two(a: &Image, b: &Image) -> Comparison {
    compare(&[a, b], &CompareOptions::default()).expect("compare")
}

#[test]
fn multistage_is_smaller_and_shares_only_the_base() {
    let a = image(&single_stage());
    let mut b = image(&multistage());
    b.config.config.user = Some("app".into());
    let c = compare_two(&a, &b);

    let (sa, sb) = (&c.images[0], &c.images[1]);
    assert_eq!((sa.label.as_str(), sb.label.as_str()), ("A", "B"));
    assert_eq!(sa.name, "app:single");
    assert_eq!(sa.content_bytes, 695_000);
    assert_eq!(sb.content_bytes, 110_000);
    assert_eq!(sb.content_delta.bytes, -585_000);
    let pct = sb.content_delta.pct.expect("pct");
    assert!(
        (pct - (-585_000.0 / 695_000.0 * 100.0)).abs() < 1e-9,
        "{pct}"
    );
    assert_eq!(sa.content_delta.bytes, 0);
    // tar bytes: every layer's tar is larger than its content, deltas agree with tars
    let tars_a: u64 = a.layers.iter().map(|l| l.tar_size).sum();
    let tars_b: u64 = b.layers.iter().map(|l| l.tar_size).sum();
    assert_eq!((sa.tar_bytes, sb.tar_bytes), (tars_a, tars_b));
    assert_eq!(sb.tar_delta.bytes, tars_b as i64 - tars_a as i64);

    // layers: only the base is shared, in position
    assert_eq!(c.layers.common_prefix, 1);
    assert_eq!(c.layers.common_prefix_bytes, 50_000);
    let p = &c.pairs[0];
    assert_eq!(p.shared_prefix.layers, 1);
    assert_eq!(p.shared_prefix.content_bytes, 50_000);
    assert!(p.moved.is_empty());
    assert_eq!(c.layers.rows.len(), 5);
    let row0 = &c.layers.rows[0].cells;
    assert_eq!(row0[0].as_ref().unwrap().sharing, LayerSharing::CommonBase);
    assert_eq!(row0[1].as_ref().unwrap().shared_with, vec![0]);
    let row1 = &c.layers.rows[1].cells;
    assert_eq!(row1[0].as_ref().unwrap().sharing, LayerSharing::Unique);
    assert_eq!(row1[0].as_ref().unwrap().content_bytes, 500_000);
    assert_eq!(row1[1].as_ref().unwrap().content_bytes, 40_000);
    assert!(c.layers.rows[3].cells[1].is_none());
    assert_eq!(c.layers.max_layer_bytes, 500_000);
    assert_eq!(
        c.layers.shared_bytes,
        vec![vec![695_000, 50_000], vec![50_000, 110_000]]
    );
    assert_eq!(
        (sa.shared_bytes, sa.unique_bytes, sa.unique_layers),
        (50_000, 645_000, 4)
    );
    assert_eq!(
        (sb.shared_bytes, sb.unique_bytes, sb.unique_layers),
        (50_000, 60_000, 2)
    );

    // files: what the multistage build left behind, grouped by directory
    let d = p.files.as_ref().expect("file diff");
    assert_eq!((d.a.files, d.a.bytes), (17, 695_000));
    assert_eq!((d.b.files, d.b.bytes), (5, 110_000));
    assert_eq!(d.totals.removed, 12);
    assert_eq!(d.totals.removed_bytes, 585_000);
    assert_eq!(
        (d.totals.added, d.totals.changed, d.totals.attrs_only),
        (0, 0, 0)
    );
    assert_eq!((d.totals.unchanged, d.totals.unchanged_bytes), (5, 110_000));
    assert_eq!(d.totals.kept(), 5);
    let groups: Vec<(&str, u64, u64)> = d
        .groups
        .iter()
        .map(|g| (g.display.as_str(), g.totals.removed_bytes, g.totals.removed))
        .collect();
    assert_eq!(
        groups,
        vec![
            ("/usr/lib/gcc", 400_000, 2),
            ("/var/cache/apt", 80_000, 1),
            ("/src", 50_000, 3),
            ("/root/.cache/build", 20_000, 2),
            ("/usr/local/lib", 15_000, 1),
            ("/usr/include", 10_000, 2),
            ("/var/lib/apt", 10_000, 1),
        ]
    );
    assert!(d.groups.iter().all(|g| !g.rest && g.in_a));
    assert!(!d.groups[0].in_b, "/usr/lib/gcc is gone from B");
    assert!(d.groups[4].in_b, "/usr/local/lib stays in B (prod deps)");
    let grouped: u64 = d.groups.iter().map(|g| g.totals.removed_bytes).sum();
    assert_eq!(
        grouped, d.totals.removed_bytes,
        "groups partition the changes"
    );
    assert_eq!(d.changes.len(), 12);
    assert_eq!(d.changes[0].display, "/usr/lib/gcc/x86_64-linux-gnu/12/cc1");
    assert_eq!(d.changes[0].change, ChangeKind::Removed);
    assert_eq!(d.changes[0].delta(), -300_000);

    // config and history
    let cfg = &p.config;
    assert_eq!(cfg.env.removed.get("CC").map(String::as_str), Some("gcc"));
    assert_eq!(cfg.env.unchanged, 1);
    assert!(cfg.cmd.is_none() && cfg.entrypoint.is_none());
    let user = cfg.user.as_ref().expect("user changed");
    assert_eq!(
        (user.before.clone(), user.after.clone()),
        (None, Some("app".into()))
    );
    assert_eq!(cfg.history.shared_steps, 1);
    assert_eq!(cfg.history.first_difference, Some((Some(1), Some(1))));
    let last = cfg.history.rows.last().unwrap();
    assert_eq!(last.status, StepStatus::Same, "the CMD step matches");
    assert!(last.empty_layer);
    let only_a = cfg
        .history
        .rows
        .iter()
        .filter(|r| r.status == StepStatus::OnlyA)
        .count();
    assert_eq!(only_a, 5, "four RUN/COPY steps and ENV CC exist only in A");

    // the plain-language summary
    let s = c.summary();
    assert_eq!(s[0], "B is 84% smaller than A (695 kB → 110 kB)");
    assert_eq!(s[1], "the first layer (50.0 kB) is shared: the common base");
    assert_eq!(s[2], "B adds 60.0 kB in 2 layers of its own on top");
    assert_eq!(s[3], "B keeps 5 of A's 17 files");
    assert_eq!(s[4], "A's /usr/lib/gcc (400 kB, 2 files) is not in B");
    assert_eq!(s[5], "A's /var/cache/apt (80.0 kB, 1 file) is not in B");
    assert_eq!(s[6], "A's /src (50.0 kB, 3 files) is not in B");
    assert!(
        s.contains(&"B runs as app (A: root (default))".to_owned()),
        "{s:#?}"
    );
    assert!(
        s.contains(&"B drops 1 environment variable".to_owned()),
        "{s:#?}"
    );
}

#[test]
fn images_on_one_base_share_the_prefix_and_moved_layers_are_found() {
    let base = base_layer();
    let apk = LayerBuilder::new().file("lib/apk/db/installed", bytes(7_000, 20));
    let app = LayerBuilder::new().file("app/server", bytes(25_000, 21));
    let p = image(
        &ImageBuilder::new()
            .tag("p:1")
            .layer("ADD base", &base)
            .layer("RUN apk add", &apk)
            .layer("COPY app", &app),
    );
    let q = image(
        &ImageBuilder::new()
            .tag("q:1")
            .layer("ADD base", &base)
            .layer("RUN apk add", &apk)
            .layer(
                "COPY other",
                &LayerBuilder::new().file("other", bytes(3_000, 22)),
            ),
    );
    let r = image(
        &ImageBuilder::new()
            .tag("r:1")
            .layer(
                "ADD other-base",
                &LayerBuilder::new().file("etc/alpine-release", bytes(10, 23)),
            )
            .layer("COPY app", &app),
    );
    let c = compare(&[&p, &q, &r], &CompareOptions::default()).unwrap();
    assert_eq!(c.layers.common_prefix, 0, "r starts elsewhere");
    let pq = &c.pairs[0];
    assert_eq!(pq.shared_prefix.layers, 2);
    assert_eq!(pq.shared_prefix.content_bytes, 57_000);
    assert!(pq
        .sentences(&c.images)
        .contains(&"the first 2 layers (57.0 kB) are shared: the common base".to_owned()));
    assert!(pq.facts.contains(&Fact::SharedBase {
        layers: 2,
        bytes: 57_000
    }));
    assert_eq!(pq.config.history.shared_steps, 2);
    let pr = &c.pairs[1];
    assert_eq!(pr.shared_prefix.layers, 0);
    assert_eq!(pr.moved.len(), 1);
    assert_eq!(
        (
            pr.moved[0].baseline_index,
            pr.moved[0].other_index,
            pr.moved[0].content_bytes
        ),
        (2, 1, 25_000)
    );
    assert!(pr.sentences(&c.images).contains(
        &"1 layer of C (25.0 kB) also appears in A on different parents (stored again)".to_owned()
    ));
    let cell = |row: usize, img: usize| c.layers.rows[row].cells[img].clone().unwrap();
    assert_eq!(cell(0, 0).sharing, LayerSharing::SharedInPosition);
    assert_eq!(cell(0, 0).shared_with, vec![1]);
    assert_eq!(cell(2, 0).sharing, LayerSharing::SharedOutOfPosition);
    assert_eq!(cell(1, 2).sharing, LayerSharing::SharedOutOfPosition);
    assert_eq!(cell(2, 1).sharing, LayerSharing::Unique);
    assert_eq!(c.layers.shared_bytes[0][2], 25_000);
    assert_eq!(c.layers.shared_bytes[1][2], 0);
    assert_eq!(c.images[2].shared_bytes, 25_000);
    assert_eq!(c.images[2].unique_bytes, 10);
    // the file diff sees /app/server unchanged across the move
    let files = pr.files.as_ref().unwrap();
    assert_eq!(files.totals.unchanged, 1);
    assert_eq!(files.totals.added, 1);
    assert_eq!(files.totals.removed, 4);
}

#[test]
fn from_scratch_shares_nothing_with_a_toolchain_image() {
    let toolchain = image(&single_stage());
    let scratch = image(&ImageBuilder::new().tag("app:scratch").layer(
        "COPY app /app",
        &LayerBuilder::new().file_with("app", app_binary(), 0o755, 0, 0),
    ));
    let c = compare_two(&toolchain, &scratch);
    assert_eq!(c.layers.common_prefix, 0);
    let p = &c.pairs[0];
    assert_eq!(p.shared_prefix.layers, 0);
    assert!(p.moved.is_empty());
    assert_eq!(c.layers.shared_bytes[0][1], 0);
    assert_eq!(c.images[1].unique_bytes, 40_000);
    assert!(c.layers.rows[0]
        .cells
        .iter()
        .all(|x| x.as_ref().unwrap().sharing == LayerSharing::Unique));
    let s = c.summary();
    assert_eq!(
        s[1],
        "no layers shared: B does not start from A's base (a different FROM, or FROM scratch)"
    );
    assert!(
        s.contains(&"B keeps 0 of A's 17 files".to_owned()),
        "{s:#?}"
    );
    let d = p.files.as_ref().unwrap();
    assert_eq!((d.totals.removed, d.totals.removed_bytes), (17, 695_000));
    assert_eq!((d.totals.added, d.totals.added_bytes), (1, 40_000));
    let root_rest = d
        .groups
        .iter()
        .find(|g| g.rest && g.path.is_empty())
        .unwrap();
    assert_eq!(root_rest.totals.added, 1, "/app sits directly under /");

    // a base label names the base
    let mut labelled = scratch.clone();
    labelled.config.config.labels = Some(
        [(
            "org.opencontainers.image.base.name".to_owned(),
            "scratch".to_owned(),
        )]
        .into(),
    );
    let c = compare_two(&toolchain, &labelled);
    assert_eq!(c.summary()[1], "no layers shared: B starts FROM scratch");
}

#[test]
fn attribute_only_changes_are_told_apart_from_content_changes() {
    let a = image(
        &ImageBuilder::new().layer(
            "ADD files",
            &LayerBuilder::new()
                .file("etc/conf", b"same content")
                .file_with("usr/bin/tool", b"tool v1", 0o755, 0, 0)
                .file("data/owned", b"owned by root")
                .symlink("usr/bin/t", "tool"),
        ),
    );
    let b = image(
        &ImageBuilder::new().layer(
            "ADD files",
            &LayerBuilder::new()
                .file_with("etc/conf", b"same content", 0o600, 0, 0)
                .file_with("usr/bin/tool", b"tool v2!", 0o755, 0, 0)
                .file_with("data/owned", b"owned by root", 0o644, 1000, 1000)
                .symlink("usr/bin/t", "tool2"),
        ),
    );
    let d = diff_images(&a, &b, &DiffOptions::default()).unwrap();
    assert_eq!(d.totals.attrs_only, 2);
    assert_eq!(d.totals.attrs_only_bytes, 12 + 13);
    assert_eq!(d.totals.changed, 2, "tool (content) and t (link target)");
    assert_eq!(
        (d.totals.changed_bytes_before, d.totals.changed_bytes_after),
        (7, 8)
    );
    assert_eq!(d.totals.unchanged, 0);
    let conf = d.changes.iter().find(|c| c.display == "/etc/conf").unwrap();
    assert_eq!(conf.change, ChangeKind::AttrsOnly);
    let attrs = conf.attrs.as_ref().unwrap();
    assert_eq!(attrs.mode, Some((0o644, 0o600)));
    assert_eq!((attrs.uid, attrs.gid, attrs.mtime), (None, None, None));
    let owned = d
        .changes
        .iter()
        .find(|c| c.display == "/data/owned")
        .unwrap();
    assert_eq!(owned.change, ChangeKind::AttrsOnly);
    assert_eq!(owned.attrs.as_ref().unwrap().uid, Some((0, 1000)));
    let tool = d
        .changes
        .iter()
        .find(|c| c.display == "/usr/bin/tool")
        .unwrap();
    assert_eq!(tool.change, ChangeKind::Changed);
    assert_eq!(tool.delta(), 1);
    assert!(tool.attrs.is_none());
}

#[test]
fn two_layers_of_one_image_diff_like_the_tree_marks() {
    let img = image(
        &ImageBuilder::new()
            .layer(
                "ADD",
                &LayerBuilder::new()
                    .file("bin/run", b"#!/bin/sh\n")
                    .file("tmp/big", bytes(5_000, 1)),
            )
            .layer(
                "RUN chmod +x /bin/run && rm /tmp/big",
                &LayerBuilder::new()
                    .file_with("bin/run", b"#!/bin/sh\n", 0o755, 0, 0)
                    .whiteout("tmp/big"),
            ),
    );
    let t = stack(&img).unwrap();
    let d = diff_trees(&t, 0, &t, 1, &DiffOptions::default()).unwrap();
    assert_eq!((d.a.layer, d.b.layer), (Some(0), Some(1)));
    assert_eq!(
        (
            d.totals.attrs_only,
            d.totals.removed,
            d.totals.removed_bytes
        ),
        (1, 1, 5_000)
    );
    assert_eq!(d.groups[0].display, "/tmp");
    assert!(d.groups[0].in_a && d.groups[0].in_b, "/tmp itself stays");
    let err = diff_trees(&t, 0, &t, 2, &DiffOptions::default()).unwrap_err();
    assert!(matches!(
        err,
        CompareError::NoSuchLayer {
            layer: 2,
            count: 2,
            ..
        }
    ));
    assert_eq!(
        err.to_string(),
        "compare: layer 2 asked of B, which has 2 layers"
    );
}

#[test]
fn groups_stay_within_the_budget_and_partition_the_changes() {
    let mut layer = LayerBuilder::new();
    for d in 0..30u8 {
        for f in 0..20u8 {
            layer = layer.file(
                format!("srv/d{d:02}/sub/f{f:02}"),
                bytes(1_000 + usize::from(d) * 100, d),
            );
        }
    }
    let a = image(&ImageBuilder::new().layer("ADD", &layer));
    let b = image(&ImageBuilder::new().layer("ADD", &LayerBuilder::new().file("x", b"x")));
    let opts = DiffOptions {
        max_groups: 5,
        ..DiffOptions::default()
    };
    let d = diff_images(&a, &b, &opts).unwrap();
    assert!(d.groups.len() <= 5, "{}", d.groups.len());
    let removed: u64 = d.groups.iter().map(|g| g.totals.removed_bytes).sum();
    let count: u64 = d.groups.iter().map(|g| g.totals.changes()).sum();
    assert_eq!(removed, d.totals.removed_bytes);
    assert_eq!(count, d.totals.changes());
    assert_eq!(d.totals.removed, 600);
    // 30 equal-ish subdirectories do not fit 5 groups: /srv stays whole
    assert_eq!(d.groups[0].display, "/srv");
    let small = DiffOptions {
        max_changes: 10,
        ..DiffOptions::default()
    };
    let d = diff_images(&a, &b, &small).unwrap();
    assert_eq!(d.changes.len(), 10);
    assert_eq!(d.changes_omitted, 591);
    assert!(d.changes[0].size_before >= d.changes[9].size_before);
}

#[test]
fn moved_files_are_counted_as_relocated() {
    let a = image(
        &ImageBuilder::new().layer(
            "ADD",
            &LayerBuilder::new()
                .file("app/node_modules/prod/left-pad/index.js", bytes(3_000, 1))
                .file("app/node_modules/prod/lodash/index.js", bytes(7_000, 2))
                .file("app/node_modules/dev/jest/index.js", bytes(9_000, 3)),
        ),
    );
    let b = image(
        &ImageBuilder::new().layer(
            "ADD",
            &LayerBuilder::new()
                .file("app/node_modules/left-pad/index.js", bytes(3_000, 1))
                .file("app/node_modules/lodash/index.js", bytes(7_000, 2)),
        ),
    );
    let c = compare_two(&a, &b);
    let d = c.pairs[0].files.as_ref().unwrap();
    assert_eq!((d.totals.removed, d.totals.added), (3, 2));
    assert_eq!((d.relocated.files, d.relocated.bytes), (2, 10_000));
    let s = c.summary();
    assert!(
        s.contains(
            &"2 of A's removed files (10.0 kB) are in B at other paths (moved or renamed)"
                .to_owned()
        ),
        "{s:#?}"
    );
}
