//! `GET /images/{id}/findings` over an opened `docker save` archive: a planted fake key
//! that a later layer deletes (still shipped), a credential in ENV (masked in the answer),
//! and the 409 before the analysis has run.

use crate::http_support::fake::{archive_router, get_json, request, send, wait_job};
use app::testkit::{ImageBuilder, LayerBuilder};
use axum::http::StatusCode;

#[tokio::test]
async fn findings_name_deleted_secrets_and_mask_values() {
    let img = ImageBuilder::new()
        .env("API_TOKEN=tok-0123456789-zz")
        .layer(
            "COPY key /root/.ssh/id_rsa",
            &LayerBuilder::new()
                .dir("root")
                .dir("root/.ssh")
                .file("root/.ssh/id_rsa", b"-----BEGIN FAKE TEST KEY-----\n"),
        )
        .layer(
            "RUN rm /root/.ssh/id_rsa",
            &LayerBuilder::new()
                .dir("root/.ssh")
                .whiteout("root/.ssh/id_rsa"),
        );
    let (app, _dir) = archive_router(&img).await;
    let id = img.image_id();
    let url = format!("/api/v1/images/{id}/findings");

    let (status, _) = get_json(&app, &url).await;
    assert_eq!(status, StatusCode::CONFLICT, "no analysis yet");
    let (_, _, body) = send(
        &app,
        request("POST", &format!("/api/v1/images/{id}/analysis")),
    )
    .await;
    let job: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        wait_job(&app, job["id"].as_str().unwrap()).await["state"],
        "done"
    );

    let (status, _, raw) = send(&app, request("GET", &url)).await;
    assert_eq!(status, StatusCode::OK, "{raw}");
    assert!(
        !raw.contains("tok-0123456789-zz"),
        "the value is masked: {raw}"
    );
    let doc: serde_json::Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(doc["image_id"], id.as_str());
    let f = doc["findings"].as_array().unwrap();
    let key = f
        .iter()
        .find(|f| f["rule"] == "secret.ssh-private-key")
        .unwrap();
    assert_eq!(
        (&key["layer"], &key["hidden_at"]),
        (&serde_json::json!(0), &serde_json::json!(1))
    );
    assert_eq!(key["paths"], serde_json::json!(["/root/.ssh/id_rsa"]));
    let env = f.iter().find(|f| f["rule"] == "secret.config-env").unwrap();
    assert_eq!(env["evidence"], serde_json::json!(["ENV API_TOKEN=to…zz"]));
    assert_eq!(env["layer"], serde_json::Value::Null);
}
