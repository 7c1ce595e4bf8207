use super::*;
use crate::filetree::testkit::LayerBuilder;

fn stack(layers: Vec<LayerBuilder>) -> StackedTree {
    StackedTree::from_layers(layers.into_iter().map(|l| l.arc())).unwrap()
}

fn changes(t: &StackedTree, path: &str) -> Vec<(u32, VersionChange, Option<u32>)> {
    t.versions_of(path.as_bytes())
        .iter()
        .map(|v| (v.layer, v.change, v.replaced_at))
        .collect()
}

fn size_of(r: Result<OpenedFile<'_>, OpenError>) -> u64 {
    r.expect("opens").entry.size
}

#[test]
fn versions_list_every_write_and_the_deletion() {
    let t = stack(vec![
        LayerBuilder::new().file("etc/app.conf", b"one"),
        LayerBuilder::new().file("etc/app.conf", b"two!"),
        LayerBuilder::new()
            .file("etc/app.conf", b"two!")
            .mode(0o600),
        LayerBuilder::new().whiteout("etc/app.conf"),
    ]);
    assert_eq!(
        changes(&t, "etc/app.conf"),
        vec![
            (0, VersionChange::Added, Some(1)),
            (1, VersionChange::Modified, Some(2)),
            (2, VersionChange::AttrsOnly, Some(3)),
            (3, VersionChange::Deleted, None),
        ]
    );
    assert_eq!(t.layers_holding(b"etc/app.conf"), vec![0, 1, 2]);
    assert!(t.versions_of(b"etc/none").is_empty());
}

#[test]
fn a_deleted_file_still_opens_in_the_layer_that_stored_it() {
    let t = stack(vec![
        LayerBuilder::new().file("secret.key", b"hunter2"),
        LayerBuilder::new().whiteout("secret.key"),
    ]);
    assert_eq!(size_of(t.open_in_layer(b"secret.key", 0, Follow::Yes)), 7);
    let gone = t.open_at(b"secret.key", 1, Follow::Yes).unwrap_err();
    assert_eq!(
        gone,
        OpenError::Absent {
            layer: None,
            present_in: vec![0]
        }
    );
    assert_eq!(
        gone.to_string(),
        "not in the final filesystem; present in layer 0"
    );
    let not_here = t.open_in_layer(b"secret.key", 1, Follow::Yes).unwrap_err();
    assert_eq!(not_here.to_string(), "not in layer 1; present in layer 0");
    // rm -rf of the directory above hides it the same way
    let t = stack(vec![
        LayerBuilder::new().dir("cache").file("cache/blob", b"xx"),
        LayerBuilder::new().whiteout("cache"),
    ]);
    assert_eq!(changes(&t, "cache/blob")[1].1, VersionChange::Deleted);
    assert_eq!(size_of(t.open_in_layer(b"cache/blob", 0, Follow::Yes)), 2);
}

#[test]
fn stacked_reads_take_the_version_visible_at_that_layer() {
    let t = stack(vec![
        LayerBuilder::new().file("a", b"1"),
        LayerBuilder::new().file("b", b"22"),
        LayerBuilder::new().file("a", b"333"),
    ]);
    assert_eq!(size_of(t.open_at(b"a", 1, Follow::Yes)), 1);
    assert_eq!(t.open_at(b"a", 2, Follow::Yes).unwrap().layer, 2);
    assert_eq!(
        size_of(t.open_at(b"/a", 2, Follow::Yes)),
        3,
        "leading slash"
    );
    assert!(matches!(
        t.open_at(b"a", 3, Follow::Yes),
        Err(OpenError::NoLayer { layer: 3, count: 3 })
    ));
}

#[test]
fn symlinks_are_followed_inside_the_image_only() {
    let t = stack(vec![LayerBuilder::new()
        .dir("etc")
        .file("etc/real", b"abc")
        .symlink("etc/rel", "real")
        .symlink("abs", "/etc/real")
        .symlink("up", "../../../../etc/real")
        .symlink("passwd", "../../../../etc/passwd")
        .symlink("environ", "/proc/self/environ")
        .symlink("loop1", "loop2")
        .symlink("loop2", "loop1")
        .symlink("dirlink", "etc")]);
    assert_eq!(size_of(t.open_at(b"etc/rel", 0, Follow::Yes)), 3);
    assert_eq!(size_of(t.open_at(b"abs", 0, Follow::Yes)), 3);
    let up = t.open_at(b"up", 0, Follow::Yes).unwrap();
    assert_eq!(
        (up.path.as_slice(), up.hops),
        (&b"etc/real"[..], 1),
        "`..` stops at the root"
    );
    assert_eq!(
        size_of(t.open_at(b"dirlink/real", 0, Follow::Yes)),
        3,
        "parent symlink"
    );
    // hostile targets resolve inside the image, where nothing is found
    for hostile in ["passwd", "environ"] {
        let e = t.open_at(hostile.as_bytes(), 0, Follow::Yes).unwrap_err();
        assert!(matches!(e, OpenError::Dangling { .. }), "{hostile}: {e}");
    }
    assert_eq!(
        t.open_at(b"loop1", 0, Follow::Yes).unwrap_err(),
        OpenError::Loop
    );
    // not followed, the link itself is returned for the viewer to show
    let link = t.open_at(b"passwd", 0, Follow::No).unwrap();
    assert_eq!(link.entry.kind, EntryKind::Symlink);
    assert_eq!(
        link.entry.link.as_deref(),
        Some(&b"../../../../etc/passwd"[..])
    );
}

#[test]
fn hard_links_open_their_target() {
    let t = stack(vec![
        LayerBuilder::new().file("bin/busybox", b"ELF..."),
        LayerBuilder::new()
            .file("usr/bin/tool", b"tool!!!!")
            .hardlink("usr/bin/alias", "usr/bin/tool")
            .hardlink("bin/sh", "bin/busybox"),
    ]);
    let same_layer = t.open_in_layer(b"usr/bin/alias", 1, Follow::Yes).unwrap();
    assert_eq!((same_layer.layer, same_layer.entry.size), (1, 8));
    let lower = t.open_at(b"bin/sh", 1, Follow::Yes).unwrap();
    assert_eq!((lower.layer, lower.entry.size), (0, 6));
}

#[test]
fn directories_and_devices_have_no_bytes() {
    let t = stack(vec![LayerBuilder::new().dir("etc").file("etc/x", b"1")]);
    assert_eq!(
        t.open_at(b"etc", 0, Follow::Yes).unwrap_err(),
        OpenError::Directory
    );
    assert_eq!(
        t.open_at(b"", 0, Follow::Yes).unwrap_err(),
        OpenError::Directory
    );
    let t = stack(vec![LayerBuilder::new().raw(crate::model::Entry {
        kind: EntryKind::Fifo,
        ..LayerBuilder::new().file("pipe", b"").build().entries[0].clone()
    })]);
    assert_eq!(
        t.open_at(b"pipe", 0, Follow::Yes).unwrap_err().to_string(),
        "is a FIFO, not a regular file"
    );
}
