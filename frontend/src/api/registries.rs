//! Calls of the Registries page: configured registries, catalog and tag pages, one
//! tag's detail, and opening a tag as an image.

use super::{fetch_json, ApiError, BASE};
use crate::routes::encode_query as enc;
use app::api::{JobInfo, NamePage, OpenTag, RegistryInfo, TagDetail};
use gloo_net::http::Request;

/// `GET /registries`.
pub async fn registries() -> Result<Vec<RegistryInfo>, ApiError> {
    fetch_json(Request::get(&format!("{BASE}/registries"))).await
}

fn page_query(n: usize, last: Option<&str>) -> String {
    match last {
        Some(l) => format!("n={n}&last={}", enc(l)),
        None => format!("n={n}"),
    }
}

/// `GET /registries/{name}/repositories`.
pub async fn repositories(name: &str, n: usize, last: Option<&str>) -> Result<NamePage, ApiError> {
    fetch_json(Request::get(&format!(
        "{BASE}/registries/{}/repositories?{}",
        enc(name),
        page_query(n, last)
    )))
    .await
}

/// `GET /registries/{name}/tags`.
pub async fn tags(
    name: &str,
    repository: &str,
    n: usize,
    last: Option<&str>,
) -> Result<NamePage, ApiError> {
    fetch_json(Request::get(&format!(
        "{BASE}/registries/{}/tags?repository={}&{}",
        enc(name),
        enc(repository),
        page_query(n, last)
    )))
    .await
}

/// `GET /registries/{name}/tag`.
pub async fn tag(name: &str, repository: &str, tag: &str) -> Result<TagDetail, ApiError> {
    fetch_json(Request::get(&format!(
        "{BASE}/registries/{}/tag?repository={}&tag={}",
        enc(name),
        enc(repository),
        enc(tag)
    )))
    .await
}

/// `POST /registries/{name}/open`: the job that downloads and analyses the tag.
pub async fn open(name: &str, body: &OpenTag) -> Result<JobInfo, ApiError> {
    let builder = Request::post(&format!("{BASE}/registries/{}/open", enc(name)));
    let (_, text) = super::fetch_text_json(builder, body).await?;
    super::decode(&text)
}
