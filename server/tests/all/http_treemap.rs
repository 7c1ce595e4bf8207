//! The treemap route over finished analyses of fake images: nesting, sizes, marks,
//! folding of the smallest entries, the node cap on a layer with thousands of files,
//! and error codes.

use crate::http_support::fake;

use app::model::{EntryKind, HistoryEntry, Image, ImageConfig, RootFs};
use axum::http::StatusCode;
use fake::{entry, get_json, layer, request, send, wait_job, FakeBackend};
use server::http::{router, AppState};
use std::sync::Arc;

async fn analysed(backend: FakeBackend, id: &str) -> axum::Router {
    let app = router(AppState::builder(Arc::new(backend)).build());
    let (_, _, body) = send(
        &app,
        request("POST", &format!("/api/v1/images/{id}/analysis")),
    )
    .await;
    let job: serde_json::Value = serde_json::from_str(&body).unwrap();
    let info = wait_job(&app, job["id"].as_str().unwrap()).await;
    assert_eq!(info["state"], "done", "{info}");
    app
}

fn nodes(map: &serde_json::Value) -> &Vec<serde_json::Value> {
    map["nodes"].as_array().unwrap()
}

fn names(map: &serde_json::Value) -> Vec<String> {
    nodes(map)
        .iter()
        .map(|n| n["path"].as_str().unwrap().to_owned())
        .collect()
}

/// 6000 files in `big/d0..d9` on a base layer of `lib/` files.
fn big_image() -> Arc<Image> {
    use EntryKind::{Dir, File};
    let base = layer(
        b"big-l0",
        vec![entry("lib", Dir, 0), entry("lib/libc.so", File, 2_000_000)],
    );
    let mut entries = vec![entry("big", Dir, 0)];
    for d in 0..10 {
        entries.push(entry(&format!("big/d{d}"), Dir, 0));
        for f in 0..600u64 {
            entries.push(entry(&format!("big/d{d}/f{f:04}"), File, 1 + f));
        }
    }
    let top = layer(b"big-l1", entries);
    let config = ImageConfig {
        architecture: "amd64".into(),
        os: "linux".into(),
        rootfs: RootFs {
            kind: "layers".into(),
            diff_ids: vec![base.diff_id.clone(), top.diff_id.clone()],
        },
        history: vec![
            HistoryEntry {
                created_by: Some("ADD base /".into()),
                ..Default::default()
            },
            HistoryEntry {
                created_by: Some("RUN make-files".into()),
                ..Default::default()
            },
        ],
        ..Default::default()
    };
    Arc::new(Image {
        id: fake::digest(7),
        tags: vec!["big:1".into()],
        repo_digests: vec![],
        config,
        config_raw: vec![],
        layers: vec![base, top],
    })
}

#[tokio::test]
async fn treemap_nests_largest_first_with_marks_and_folds() {
    let id = fake::digest(1).to_string();
    let app = analysed(FakeBackend::up(), &id).await;
    let (status, map) = get_json(&app, &format!("/api/v1/images/{id}/layers/1/treemap")).await;
    assert_eq!(status, StatusCode::OK, "{map}");
    assert_eq!(map["layer"], 1);
    assert_eq!(map["depth"], 2);
    assert_eq!(map["limit"], 300);
    assert_eq!(map["size"], 435 + 100 + 25, "{map}");
    assert_eq!(map["removed"], 1, "data/old was removed at layer 1");
    let all = nodes(&map);
    // root children first, largest first
    assert_eq!(&names(&map)[..3], ["/many", "/etc", "/data"]);
    assert_eq!(all[0]["mark"], "added");
    assert_eq!(all[0]["size"], 435);
    assert_eq!(all[1]["mark"], "unchanged");
    assert_eq!(all[2]["mark"], "modified");
    assert!(all[..3]
        .iter()
        .all(|n| n["parent"].is_null() && n["depth"] == 1));
    let keep = all.iter().find(|n| n["path"] == "/data/keep").unwrap();
    assert_eq!(keep["parent"], 2);
    assert_eq!(keep["depth"], 2);
    assert_eq!(keep["mark"], "modified");
    assert_eq!(keep["size"], 20);
    assert!(
        !names(&map).contains(&"/data/old".to_owned()),
        "removed not drawn"
    );
    assert_eq!(all.len(), 3 + 30 + 1 + 2);

    // a tight cap is shared by size: /many gets 6 of the 7 places left (5 + a fold)
    let (_, small) = get_json(
        &app,
        &format!("/api/v1/images/{id}/layers/1/treemap?limit=10"),
    )
    .await;
    let few = nodes(&small);
    assert_eq!(few.len(), 10, "{small}");
    assert_eq!(few[3]["path"], "/many/f29");
    let fold = &few[8];
    assert_eq!(fold["folded"], 25);
    assert_eq!(fold["name"], "(25 smaller entries)");
    assert_eq!(fold["parent"], 0);
    assert_eq!(fold["path"], "/many");
    assert_eq!(fold["size"], (0..25).sum::<u64>());
    assert_eq!(few[9]["path"], "/etc/a");

    // zoomed into a directory, with the raw path of a child usable as the next zoom
    let (status, zoom) = get_json(
        &app,
        &format!("/api/v1/images/{id}/layers/1/treemap?path=/data&depth=1"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{zoom}");
    assert_eq!(zoom["path"], "data");
    assert_eq!(names(&zoom), ["/data/keep", "/data/new"]);
    assert_eq!(nodes(&zoom)[0]["path_raw"], "ZGF0YS9rZWVw");
    let (_, layer0) = get_json(
        &app,
        &format!("/api/v1/images/{id}/layers/0/treemap?path_raw=ZGF0YQ%3D%3D"),
    )
    .await;
    assert_eq!(names(&layer0), ["/data/old", "/data/keep"]);
    assert!(nodes(&layer0).iter().all(|n| n["mark"] == "added"));
}

#[tokio::test]
async fn treemap_errors_have_codes() {
    let id = fake::digest(1).to_string();
    let app = analysed(FakeBackend::up(), &id).await;
    for (uri, status, code) in [
        (
            format!("/api/v1/images/{id}/layers/9/treemap"),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            format!("/api/v1/images/{id}/layers/x/treemap"),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            format!("/api/v1/images/{id}/layers/1/treemap?path=/nope"),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            format!("/api/v1/images/{id}/layers/1/treemap?path=/etc/a"),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            format!("/api/v1/images/{id}/layers/1/treemap?depth=-1"),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            format!("/api/v1/images/{id}/layers/1/treemap?path_raw=%%%"),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
    ] {
        let (got, body) = get_json(&app, &uri).await;
        assert_eq!(got, status, "{uri}: {body}");
        assert_eq!(body["code"], code, "{uri}: {body}");
    }
    let other = fake::digest(3).to_string();
    let (got, body) = get_json(&app, &format!("/api/v1/images/{other}/layers/0/treemap")).await;
    assert_eq!(got, StatusCode::CONFLICT, "no analysis yet: {body}");
}

#[tokio::test]
async fn treemap_caps_nodes_on_a_layer_with_thousands_of_files() {
    let big = big_image();
    let id = big.id.to_string();
    let backend = FakeBackend {
        by_id: vec![big],
        ..FakeBackend::up()
    };
    let app = analysed(backend, &id).await;
    let (status, map) = get_json(
        &app,
        &format!("/api/v1/images/{id}/layers/1/treemap?path=/big&depth=6&limit=5000"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{map}");
    assert_eq!(map["limit"], 2000, "the limit is clamped");
    assert_eq!(map["depth"], 6);
    let all = nodes(&map);
    assert_eq!(all.len(), 2000);
    let total: u64 = all
        .iter()
        .filter(|n| n["depth"] == 1)
        .map(|n| n["size"].as_u64().unwrap())
        .sum();
    assert_eq!(
        total,
        map["size"].as_u64().unwrap(),
        "children tile their parents"
    );
    let folds: Vec<&serde_json::Value> = all
        .iter()
        .filter(|n| n["folded"].as_u64().is_some())
        .collect();
    assert!(!folds.is_empty());
    let folded: u64 = folds.iter().map(|f| f["folded"].as_u64().unwrap()).sum();
    let real = all.len() as u64 - folds.len() as u64;
    assert_eq!(real - 10 + folded, 6000, "every file is drawn or folded");
    assert_eq!(
        folds.len(),
        10,
        "each directory keeps its biggest 198 files"
    );
    assert!(all
        .iter()
        .filter(|n| n["folded"].is_null())
        .all(|n| n["mark"] == "added"));

    let (_, root) = get_json(
        &app,
        &format!("/api/v1/images/{id}/layers/1/treemap?depth=3&limit=50"),
    )
    .await;
    let few = nodes(&root);
    assert_eq!(few.len(), 50);
    assert_eq!(few[0]["path"], "/lib", "the base layer's 2 MB come first");
    assert_eq!(few[0]["mark"], "unchanged");
    assert_eq!(few[1]["path"], "/big");
    assert_eq!(few[1]["mark"], "added");
    let (status, _, body) = send(
        &app,
        request(
            "GET",
            &format!("/api/v1/images/{id}/layers/1/treemap?path=/big&depth=6&limit=2000"),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.len() < 600_000, "bounded body: {} bytes", body.len());
}
