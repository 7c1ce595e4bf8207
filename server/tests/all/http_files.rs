//! File-content routes end to end over an opened `docker save` archive: versions of a
//! path, raw bytes with Range / ETag / If-None-Match, the safety headers on hostile
//! content (HTML with a script, SVG with onload), downloads as attachments, the text
//! view's page cap, links followed inside the image only, and diffs of two versions.

use crate::http_support::fake::{archive_router, get_json, request, send, wait_job};
use app::testkit::{ImageBuilder, LayerBuilder};
use axum::http::StatusCode;

const HTML: &[u8] = b"<html><script>window.__pwned=1;document.title='pwned'</script></html>";
const SVG: &[u8] = b"<svg xmlns='http://www.w3.org/2000/svg' onload='window.__pwned=1'/>";

fn image() -> ImageBuilder {
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    ImageBuilder::new()
        .layer(
            "COPY . /srv",
            &LayerBuilder::new()
                .dir("srv")
                .file("srv/app.conf", b"port=80\nmode=dev\n")
                .file("srv/index.html", HTML)
                .file("srv/evil.svg", SVG)
                .file("srv/big.bin", &big)
                .file(b"srv/caf\xe9.txt", b"latin-1 name"),
        )
        .layer(
            "RUN edit",
            &LayerBuilder::new()
                .file("srv/app.conf", b"port=8080\nmode=prod\n")
                .symlink("srv/passwd", "../../../../etc/passwd")
                .symlink("srv/current.conf", "app.conf"),
        )
        .layer(
            "RUN rm /srv/app.conf",
            &LayerBuilder::new().whiteout("srv/app.conf"),
        )
}

async fn analysed() -> (axum::Router, String, tempfile::TempDir) {
    let img = image();
    let (app, dir) = archive_router(&img).await;
    let id = img.image_id().to_string();
    let (status, _, body) = send(
        &app,
        request("POST", &format!("/api/v1/images/{id}/analysis")),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let job: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        wait_job(&app, job["id"].as_str().unwrap()).await["state"],
        "done"
    );
    (app, id, dir)
}

fn with(
    req: axum::http::Request<axum::body::Body>,
    h: &str,
    v: &str,
) -> axum::http::Request<axum::body::Body> {
    let (mut parts, body) = req.into_parts();
    parts.headers.insert(
        axum::http::HeaderName::from_bytes(h.as_bytes()).unwrap(),
        v.parse().unwrap(),
    );
    axum::http::Request::from_parts(parts, body)
}

#[tokio::test]
async fn versions_list_every_state_of_a_path_with_its_step() {
    let (app, id, _dir) = analysed().await;
    let (status, v) = get_json(
        &app,
        &format!("/api/v1/images/{id}/files/versions?path=/srv/app.conf"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let rows = v["versions"].as_array().unwrap();
    let summary: Vec<(u64, &str, bool)> = rows
        .iter()
        .map(|r| {
            (
                r["layer"].as_u64().unwrap(),
                r["change"].as_str().unwrap(),
                r["readable"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (0, "added", true),
            (1, "modified", true),
            (2, "deleted", false)
        ]
    );
    assert_eq!(rows[0]["replaced_at"], 1);
    assert_eq!(rows[1]["command"], "RUN edit");
    assert!(rows[0]["etag"].as_str().unwrap().starts_with("\"crc64-"));
    let (status, e) = get_json(
        &app,
        &format!("/api/v1/images/{id}/files/versions?path=/nope"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{e}");
}

#[tokio::test]
async fn bytes_of_a_deleted_version_with_range_and_etag() {
    let (app, id, _dir) = analysed().await;
    let url = format!("/api/v1/images/{id}/layers/1/file?path=srv/app.conf");
    let (status, h, body) = send(&app, request("GET", &url)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "port=8080\nmode=prod\n");
    assert_eq!(h["content-type"], "application/octet-stream");
    assert_eq!(h["x-strata-file-size"], "20");
    assert_eq!(h["x-strata-layer"], "1");
    assert_eq!(h["accept-ranges"], "bytes");
    let etag = h["etag"].to_str().unwrap().to_owned();

    let (status, h, body) = send(&app, with(request("GET", &url), "range", "bytes=5-8")).await;
    assert_eq!(status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(body, "8080");
    assert_eq!(h["content-range"], "bytes 5-8/20");
    let (status, h, _) = send(&app, with(request("GET", &url), "range", "bytes=20-")).await;
    assert_eq!(status, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(h["content-range"], "bytes */20");
    let (status, _, body) = send(&app, with(request("GET", &url), "if-none-match", &etag)).await;
    assert_eq!((status, body.as_str()), (StatusCode::NOT_MODIFIED, ""));

    // gone from the final filesystem, with where it still is
    let (status, _, body) = send(
        &app,
        request(
            "GET",
            &format!("/api/v1/images/{id}/layers/2/file?path=srv/app.conf&scope=stacked"),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        body.contains("not in the final filesystem; present in layers 0, 1"),
        "{body}"
    );
    let (status, _, body) = send(
        &app,
        request(
            "GET",
            &format!("/api/v1/images/{id}/layers/0/file?path=srv"),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("is a directory"), "{body}");
}

#[tokio::test]
async fn hostile_content_is_never_served_as_a_page() {
    let (app, id, _dir) = analysed().await;
    for (name, bytes) in [("index.html", HTML), ("evil.svg", SVG)] {
        for view in ["", "&as=text", "&download=true"] {
            let url = format!("/api/v1/images/{id}/layers/0/file?path=srv/{name}{view}");
            let (status, h, body) = send(&app, request("GET", &url)).await;
            assert_eq!(status, StatusCode::OK, "{url}");
            assert_eq!(body.as_bytes(), bytes);
            let ct = h["content-type"].to_str().unwrap();
            assert!(
                ct == "application/octet-stream" || ct == "text/plain; charset=utf-8",
                "{ct}"
            );
            assert_eq!(h["x-content-type-options"], "nosniff");
            let csp: Vec<&str> = h
                .get_all("content-security-policy")
                .iter()
                .map(|v| v.to_str().unwrap())
                .collect();
            assert!(csp.contains(&"sandbox"), "{csp:?}");
            let disposition = h["content-disposition"].to_str().unwrap();
            if view.contains("download") {
                assert!(
                    disposition.starts_with(&format!("attachment; filename=\"{name}\"")),
                    "{disposition}"
                );
            }
        }
    }
    // a name that is not UTF-8, addressed by raw bytes
    let raw = app::api::encode_raw(b"srv/caf\xe9.txt");
    let url = format!(
        "/api/v1/images/{id}/layers/0/file?path_raw={}&download=true",
        urlencode(&raw)
    );
    let (status, h, body) = send(&app, request("GET", &url)).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "latin-1 name"));
    assert!(h["content-disposition"]
        .to_str()
        .unwrap()
        .contains("filename*=UTF-8''caf%EF%BF%BD.txt"));
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn links_are_followed_inside_the_image_and_shown_when_not() {
    let (app, id, _dir) = analysed().await;
    let base = format!("/api/v1/images/{id}/layers/1/file");
    let (status, h, body) = send(
        &app,
        request("GET", &format!("{base}?path=srv/current.conf")),
    )
    .await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::OK, "port=8080\nmode=prod\n")
    );
    assert_eq!(h["x-strata-layer"], "1");
    let (status, _, body) = send(&app, request("GET", &format!("{base}?path=srv/passwd"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("no such file in the image"), "{body}");
    assert!(!body.contains("root:"), "{body}");
    let (status, _, body) = send(
        &app,
        request("GET", &format!("{base}?path=srv/passwd&follow=false")),
    )
    .await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::OK, "../../../../etc/passwd")
    );
}

#[tokio::test]
async fn large_files_page_and_download_whole() {
    let (app, id, _dir) = analysed().await;
    let url = format!("/api/v1/images/{id}/layers/0/file?path=srv/big.bin");
    let (status, h, _) = send(&app, request("GET", &format!("{url}&as=text"))).await;
    assert_eq!(status, StatusCode::PARTIAL_CONTENT, "the text view pages");
    assert_eq!(h["content-range"], "bytes 0-1048575/3000000");
    let resp = tower::ServiceExt::oneshot(
        app.clone(),
        with(request("GET", &url), "range", "bytes=2999990-"),
    )
    .await
    .unwrap();
    let bytes = http_body_util::BodyExt::collect(resp.into_body())
        .await
        .unwrap()
        .to_bytes();
    let want: Vec<u8> = (2_999_990..3_000_000u32).map(|i| (i % 251) as u8).collect();
    assert_eq!(bytes.as_ref(), want.as_slice());
    let resp = tower::ServiceExt::oneshot(app.clone(), request("GET", &url))
        .await
        .unwrap();
    let all = http_body_util::BodyExt::collect(resp.into_body())
        .await
        .unwrap()
        .to_bytes();
    assert_eq!(all.len(), 3_000_000);
    assert!(all.iter().enumerate().all(|(i, b)| *b == (i % 251) as u8));
}

#[tokio::test]
async fn diffs_of_two_layers_and_binary_files() {
    let (app, id, _dir) = analysed().await;
    let (status, d) = get_json(
        &app,
        &format!("/api/v1/images/{id}/files/diff?path=/srv/app.conf&from=0&to=1"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{d}");
    assert_eq!(d["identical"], false);
    let lines: Vec<(String, String)> = d["hunks"][0]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["kind"].as_str().unwrap().to_owned(),
                l["text"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        lines.contains(&("removed".into(), "port=80".into())),
        "{lines:?}"
    );
    assert!(
        lines.contains(&("added".into(), "mode=prod".into())),
        "{lines:?}"
    );
    let (status, d) = get_json(
        &app,
        &format!("/api/v1/images/{id}/files/diff?path=/srv/big.bin&from=0&to=0"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{d}");
    assert_eq!(d["identical"], true);
    assert!(d["hunks"].is_null());
    let (status, e) = get_json(
        &app,
        &format!("/api/v1/images/{id}/files/diff?path=/srv/app.conf&from=0&to=2"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{e}");
    let (status, _) = get_json(
        &app,
        &format!("/api/v1/images/{id}/files/diff?path=/srv/app.conf"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

/// A GET of `url` from client address `ip` (no sign-in: the client is the user).
fn from_ip(url: &str, ip: [u8; 4]) -> axum::http::Request<axum::body::Body> {
    let mut req = request("GET", url);
    req.extensions_mut()
        .insert(axum::extract::ConnectInfo(std::net::SocketAddr::from((
            ip, 40000,
        ))));
    req
}

#[tokio::test]
async fn one_user_cannot_take_every_read_slot() {
    let (app, id, _dir) = analysed().await;
    let url = format!("/api/v1/images/{id}/layers/0/file?path=srv/big.bin");
    // Four downloads of one client, their bodies not read yet: each holds its slot.
    let mut held = Vec::new();
    for _ in 0..server::http::MAX_READS_PER_USER {
        let resp = tower::ServiceExt::oneshot(app.clone(), from_ip(&url, [10, 0, 0, 7]))
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        held.push(resp);
    }
    let (status, h, body) = send(&app, from_ip(&url, [10, 0, 0, 7])).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(h["retry-after"], "1");
    assert!(
        body.contains("client 10.0.0.7 already has 4 file reads running"),
        "{body}"
    );
    // Another client still reads.
    let (status, _, _) = send(&app, from_ip(&url, [10, 0, 0, 8])).await;
    assert_eq!(status, StatusCode::OK);
    // A finished download gives its slot back.
    drop(held.pop());
    let (status, _, _) = send(&app, from_ip(&url, [10, 0, 0, 7])).await;
    assert_eq!(status, StatusCode::OK);
}
