//! Tree and ranked-list routes over a finished analysis of the fake sample image: one
//! directory per request, per-layer vs stacked views with marks, paging, path encodings,
//! error codes, and the wasted/largest lists with blame.

use crate::http_support::fake;

use axum::http::StatusCode;
use fake::{get_json, request, send, wait_job, FakeBackend};
use server::http::{router, AppState};
use std::sync::Arc;

async fn analysed() -> (axum::Router, String) {
    let app = router(AppState::builder(Arc::new(FakeBackend::up())).build());
    let id = fake::digest(1).to_string();
    let (_, _, body) = send(
        &app,
        request("POST", &format!("/api/v1/images/{id}/analysis")),
    )
    .await;
    let job: serde_json::Value = serde_json::from_str(&body).unwrap();
    let info = wait_job(&app, job["id"].as_str().unwrap()).await;
    assert_eq!(info["state"], "done", "{info}");
    (app, id)
}

fn names_marks(page: &serde_json::Value) -> Vec<(String, String)> {
    page["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["name"].as_str().unwrap().to_owned(),
                n["mark"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[tokio::test]
async fn stacked_view_lists_one_directory_with_marks_and_sizes() {
    let (app, id) = analysed().await;
    let (status, root) = get_json(
        &app,
        &format!("/api/v1/images/{id}/layers/1/tree?view=stacked"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{root}");
    assert_eq!(
        names_marks(&root),
        pairs(&[
            ("data", "modified"),
            ("etc", "unchanged"),
            ("many", "added")
        ]),
        "data is not rewritten itself, but changed below"
    );
    assert_eq!(root["nodes"][0]["flags"][0], "changed_below");
    assert!(root["nodes"][1]["flags"].is_null(), "{root}");
    assert_eq!(
        root["nodes"][0]["size"], 25,
        "data holds keep (20) + new (5)"
    );
    assert_eq!(root["nodes"][0]["kind"], "dir");
    let (_, data) = get_json(
        &app,
        &format!("/api/v1/images/{id}/layers/1/tree?view=stacked&path=/data"),
    )
    .await;
    assert_eq!(
        names_marks(&data),
        pairs(&[("keep", "modified"), ("new", "added"), ("old", "removed")])
    );
    assert_eq!(data["path"], "data");
    assert_eq!(data["nodes"][0]["mode"], 0o644);
    let (_, at0) = get_json(
        &app,
        &format!("/api/v1/images/{id}/layers/0/tree?view=stacked&path=data"),
    )
    .await;
    assert_eq!(
        names_marks(&at0),
        pairs(&[("keep", "added"), ("old", "added")])
    );
}

#[tokio::test]
async fn layer_view_shows_only_what_the_layer_changed() {
    let (app, id) = analysed().await;
    let (_, root) = get_json(
        &app,
        &format!("/api/v1/images/{id}/layers/1/tree?view=layer"),
    )
    .await;
    let names: Vec<String> = names_marks(&root).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, vec!["data", "many"], "etc is untouched by layer 1");
}

#[tokio::test]
async fn children_are_paged_and_sortable() {
    let (app, id) = analysed().await;
    let base = format!("/api/v1/images/{id}/layers/1/tree?view=stacked&path=many");
    let (_, page) = get_json(&app, &format!("{base}&offset=25&limit=10")).await;
    assert_eq!(page["total"], 30);
    assert_eq!(page["offset"], 25);
    assert_eq!(page["nodes"].as_array().unwrap().len(), 5);
    assert_eq!(page["nodes"][0]["name"], "f25");
    let (_, by_size) = get_json(&app, &format!("{base}&sort=size&limit=2")).await;
    assert_eq!(by_size["nodes"][0]["name"], "f29");
    assert_eq!(by_size["nodes"][1]["name"], "f28");
}

#[tokio::test]
async fn raw_paths_round_trip_in_base64() {
    let (app, id) = analysed().await;
    let raw = app::api::encode_raw(b"data");
    let (status, page) = get_json(
        &app,
        &format!(
            "/api/v1/images/{id}/layers/1/tree?view=stacked&path_raw={}",
            raw.replace('=', "%3D")
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["path_raw"], raw);
    assert_eq!(page["nodes"][0]["name_raw"], app::api::encode_raw(b"keep"));
}

#[tokio::test]
async fn tree_errors_have_the_right_codes() {
    let (app, id) = analysed().await;
    let cases = [
        (
            format!("/api/v1/images/{id}/layers/9/tree"),
            StatusCode::NOT_FOUND,
        ),
        (
            format!("/api/v1/images/{id}/layers/x/tree"),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("/api/v1/images/{id}/layers/1/tree?path=nope"),
            StatusCode::NOT_FOUND,
        ),
        (
            format!("/api/v1/images/{id}/layers/1/tree?path=etc/a"),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("/api/v1/images/{id}/layers/1/tree?path_raw=%25%25"),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("/api/v1/images/{id}/layers/1/tree?view=sideways"),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("/api/v1/images/{id}/layers/1/tree?sort=colour"),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("/api/v1/images/{}/layers/0/tree", fake::digest(2)),
            StatusCode::CONFLICT,
        ),
    ];
    for (uri, want) in cases {
        let (status, body) = get_json(&app, &uri).await;
        assert_eq!(status, want, "{uri}: {body}");
        assert!(body["code"].is_string(), "{uri}: {body}");
    }
}

#[tokio::test]
async fn wasted_paths_carry_blame_and_page() {
    let (app, id) = analysed().await;
    let (status, page) = get_json(&app, &format!("/api/v1/images/{id}/wasted")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["total"], 2);
    let first = &page["items"][0];
    assert_eq!(first["path"], "/data/old");
    assert_eq!(first["wasted"], 1000);
    assert_eq!(first["added_by"], 0);
    assert_eq!(first["hidden_by"], 1);
    assert_eq!(first["copies"][0]["cause"], "whiteout");
    assert_eq!(page["items"][1]["path"], "/data/keep");
    assert_eq!(page["items"][1]["copies"][0]["cause"], "overwritten");
    let (_, second) = get_json(
        &app,
        &format!("/api/v1/images/{id}/wasted?offset=1&limit=1"),
    )
    .await;
    assert_eq!(second["items"].as_array().unwrap().len(), 1);
    assert_eq!(second["items"][0]["path"], "/data/keep");

    let (_, summary) = get_json(&app, &format!("/api/v1/images/{id}/analysis")).await;
    assert_eq!(summary["reclaimable_bytes"], 1010);
    assert!(summary["dive"]["efficiency"].as_f64().unwrap() <= 1.0);
}

#[tokio::test]
async fn largest_files_are_ranked() {
    let (app, id) = analysed().await;
    let (_, page) = get_json(&app, &format!("/api/v1/images/{id}/files/largest?limit=3")).await;
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(items[0]["path"], "/etc/a");
    assert_eq!(items[0]["size"], 100);
    assert_eq!(items[0]["layer"], 0);
    assert_eq!(items[1]["path"], "/many/f29");
    assert!(page["total"].as_u64().unwrap() >= 30);
}

#[tokio::test]
async fn layer_view_directories_show_the_layers_own_bytes() {
    use app::model::EntryKind::{Dir, File};
    let l0 = fake::layer(
        b"own-0",
        vec![fake::entry("d", Dir, 0), fake::entry("d/big", File, 1000)],
    );
    let l1 = fake::layer(
        b"own-1",
        vec![fake::entry("d", Dir, 0), fake::entry("d/small", File, 7)],
    );
    let mut image = (*fake::sample_image()).clone();
    image.config.rootfs.diff_ids = vec![l0.diff_id.clone(), l1.diff_id.clone()];
    image.layers = vec![l0, l1];
    let backend = FakeBackend {
        image: Some(Arc::new(image)),
        ..FakeBackend::up()
    };
    let app = router(AppState::builder(Arc::new(backend)).build());
    let id = fake::digest(1).to_string();
    let (_, _, body) = send(
        &app,
        request("POST", &format!("/api/v1/images/{id}/analysis")),
    )
    .await;
    let job: serde_json::Value = serde_json::from_str(&body).unwrap();
    wait_job(&app, job["id"].as_str().unwrap()).await;
    let (_, layer) = get_json(
        &app,
        &format!("/api/v1/images/{id}/layers/1/tree?view=layer"),
    )
    .await;
    assert_eq!(layer["nodes"][0]["name"], "d");
    assert_eq!(layer["nodes"][0]["size"], 7, "{layer}");
    let (_, stacked) = get_json(
        &app,
        &format!("/api/v1/images/{id}/layers/1/tree?view=stacked"),
    )
    .await;
    assert_eq!(stacked["nodes"][0]["size"], 1007, "{stacked}");
    let (_, hits) = get_json(
        &app,
        &format!("/api/v1/images/{id}/layers/1/search?q=d&view=layer"),
    )
    .await;
    let d = hits["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["path"] == "/d")
        .unwrap();
    assert_eq!(d["size"], 7);
}

#[tokio::test]
async fn search_by_substring_and_glob_paged() {
    let (app, id) = analysed().await;
    let base = format!("/api/v1/images/{id}/layers/1/search");
    // Stacked: every path as of layer 1 (data/old is gone).
    let (status, page) = get_json(&app, &format!("{base}?q=DATA&view=stacked")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let paths: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["/data", "/data/keep", "/data/new"]);
    // Layer view: this layer's changes, the removal included.
    let (_, page) = get_json(&app, &format!("{base}?q=data/&view=layer")).await;
    let marks: Vec<(String, String)> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["path"].as_str().unwrap().to_owned(),
                h["mark"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        marks.contains(&("/data/old".into(), "removed".into())),
        "{marks:?}"
    );
    assert!(
        marks.contains(&("/data/new".into(), "added".into())),
        "{marks:?}"
    );
    // Glob on the file name, paged.
    let (_, page) = get_json(
        &app,
        &format!("{base}?q=f1*&mode=glob&view=stacked&limit=4&offset=2"),
    )
    .await;
    assert_eq!(page["total"], 10, "{page}");
    assert_eq!(page["items"].as_array().unwrap().len(), 4);
    assert_eq!(page["items"][0]["path"], "/many/f12");
    assert_eq!(page["items"][0]["size"], 12);
    // A glob with a slash matches whole paths.
    let (_, page) = get_json(&app, &format!("{base}?q=many/f0?&mode=glob&view=stacked")).await;
    assert_eq!(page["total"], 10);
    for bad in ["", "?q=", "?q=x&mode=regex"] {
        let (status, body) = get_json(&app, &format!("{base}{bad}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
    let (status, _) = get_json(&app, &format!("/api/v1/images/{id}/layers/9/search?q=a")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
