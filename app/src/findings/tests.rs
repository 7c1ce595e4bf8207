use super::*;
use crate::filetree::testkit::LayerBuilder;
use std::sync::Arc;

fn run(layers: Vec<LayerBuilder>) -> Vec<Finding> {
    let layers: Vec<Arc<LayerIndex>> = layers.into_iter().map(LayerBuilder::arc).collect();
    let tree = StackedTree::from_layers(layers.iter().cloned()).unwrap();
    check(&tree, &layers, RULES)
}

#[test]
fn matches_respect_component_boundaries() {
    assert!(Match::Tail(".aws/credentials").hits(b"root/.aws/credentials"));
    assert!(Match::Tail(".aws/credentials").hits(b".aws/credentials"));
    assert!(!Match::Tail(".aws/credentials").hits(b"root/x.aws/credentials"));
    assert!(Match::Under(".git").hits(b"app/.git/config"));
    assert!(Match::Under(".git").hits(b".git/HEAD"));
    assert!(!Match::Under(".git").hits(b"app/.github/workflows/ci.yml"));
    assert!(
        !Match::Under(".git").hits(b"app/.git"),
        "the directory itself holds no bytes"
    );
    assert!(Match::Under("^var/lib/apt/lists").hits(b"var/lib/apt/lists/deb_InRelease"));
    assert!(!Match::Under("^var/lib/apt/lists").hits(b"x/var/lib/apt/lists/y"));
    assert!(Match::Suffix(".tfstate").hits(b"infra/prod.tfstate"));
    assert!(
        !Match::Suffix(".tfstate").hits(b"infra/.tfstate"),
        "a suffix needs a stem"
    );
}

#[test]
fn a_deleted_secret_still_ships_in_the_layer_that_added_it() {
    let found = run(vec![
        LayerBuilder::new()
            .dir("root")
            .file("root/.aws/credentials", b"[default]\nkey=AKIA...\n")
            .file("app/.env", b"TOKEN=x"),
        LayerBuilder::new().whiteout("root/.aws"),
    ]);
    let aws = found
        .iter()
        .find(|f| f.rule == "secret.aws-credentials")
        .unwrap();
    assert_eq!((aws.layer, aws.hidden_at), (Some(0), Some(1)));
    assert_eq!(aws.paths, ["/root/.aws/credentials"]);
    assert_eq!(aws.bytes, 22);
    assert_eq!(aws.severity, Severity::High);
    let env = found.iter().find(|f| f.rule == "secret.dotenv").unwrap();
    assert_eq!(env.hidden_at, None, "still in the final filesystem");
    // No finding for the whiteout marker itself.
    assert_eq!(found.len(), 2, "{found:?}");
}

#[test]
fn leftovers_are_grouped_per_layer_with_their_bytes() {
    let found = run(vec![
        LayerBuilder::new()
            .file_n(
                "var/lib/apt/lists/deb.debian.org_dists_bookworm_InRelease",
                1000,
                b'a',
            )
            .file_n("var/lib/apt/lists/deb.debian.org_Packages", 5000, b'b')
            .file("var/lib/apt/lists/lock", b""),
        LayerBuilder::new().file_n("var/lib/apt/lists/extra_Packages", 300, b'c'),
    ]);
    let apt: Vec<&Finding> = found
        .iter()
        .filter(|f| f.rule == "leftover.apt-lists")
        .collect();
    assert_eq!(apt.len(), 2);
    assert_eq!(
        (apt[0].layer, apt[0].files, apt[0].bytes),
        (Some(0), 2, 6000)
    );
    assert_eq!(
        (apt[1].layer, apt[1].files, apt[1].bytes),
        (Some(1), 1, 300)
    );
}

#[test]
fn fixtures_and_public_keys_are_not_secrets_and_order_is_by_severity() {
    let found = run(vec![LayerBuilder::new()
        .file("usr/share/doc/aws/examples/.aws/credentials", b"x")
        .file("src/tests/id_rsa", b"x")
        .file("root/.ssh/id_rsa.pub", b"x")
        .file("root/.ssh/id_ed25519", b"x")
        .file("app/.git/HEAD", b"ref: x")
        .file("app/notes.swp", b"x")]);
    let ids: Vec<&str> = found.iter().map(|f| f.rule.as_str()).collect();
    assert_eq!(
        ids,
        [
            "secret.ssh-private-key",
            "leftover.git-directory",
            "leftover.editor-and-core-files"
        ]
    );
}

#[test]
fn every_rule_has_an_id_a_fix_and_a_reason_and_ids_are_unique() {
    let mut ids = std::collections::HashSet::new();
    for r in RULES {
        assert!(ids.insert(r.id), "duplicate rule {}", r.id);
        assert!(
            !r.fix.is_empty() && !r.rationale.is_empty() && !r.matches.is_empty(),
            "{}",
            r.id
        );
        let prefix = match r.category {
            Category::Secret => "secret.",
            Category::Leftover => "leftover.",
        };
        assert!(r.id.starts_with(prefix), "{}", r.id);
    }
}
