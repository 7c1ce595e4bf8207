//! The one HTTP client of the UI: every call to `/api/v1` goes through here (fetch, the
//! upload XHR and the job event streams) and returns typed DTOs from `app::api` or one
//! [`ApiError`]. In-flight requests are aborted when their future is dropped (a view
//! went away or a resource refetched); event streams close when their [`JobEvents`] is
//! dropped.

use app::api::{
    AnalysisSummary, ComparePending, CompareReport, Digest, ErrorBody, ErrorCode, Health,
    ImageDetail, ImageList, JobEvent, JobId, JobInfo, Page, RankedFile, SearchHit, SearchMode,
    SharingReport, TreePage, TreeView, WastedPath,
};

use gloo_net::http::{Request, RequestBuilder};
use serde::de::DeserializeOwned;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast as _;

mod files;
pub mod registries;

pub use files::{
    file_diff, file_diff_images, file_range, file_url, file_versions, FileChunk, FileScope,
    FileSource,
};

const BASE: &str = "/api/v1";

/// Why an API call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// The request never got an answer (server stopped, network).
    #[error("cannot reach the strata server: {0}")]
    Network(String),
    /// The server answered with an error body.
    #[error("{message}")]
    Server {
        status: u16,
        code: ErrorCode,
        message: String,
    },
    /// The page's own address names something that cannot exist (an edited link).
    #[error("this page's address is not valid: {0}")]
    BadLink(String),
    /// The answer was not what this UI expects (version skew).
    #[error("unexpected answer from the server: {0}")]
    Decode(String),
}

impl ApiError {
    /// True for 503 `docker_unavailable`.
    pub fn is_docker_down(&self) -> bool {
        self.code() == Some(ErrorCode::DockerUnavailable)
    }

    /// True for 404.
    pub fn is_not_found(&self) -> bool {
        matches!(self, ApiError::Server { status: 404, .. })
    }

    /// True for 409 `not_ready`.
    pub fn is_not_ready(&self) -> bool {
        self.code() == Some(ErrorCode::NotReady)
    }

    /// The server's error code, when the server answered.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            ApiError::Server { code, .. } => Some(*code),
            _ => None,
        }
    }
}

/// Aborts the fetch when dropped before completion.
struct AbortOnDrop(Option<web_sys::AbortController>);

impl AbortOnDrop {
    fn new() -> Self {
        AbortOnDrop(web_sys::AbortController::new().ok())
    }

    fn signal(&self) -> Option<web_sys::AbortSignal> {
        self.0.as_ref().map(|c| c.signal())
    }

    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some(c) = self.0.take() {
            c.abort();
        }
    }
}

/// Sends the request; a non-2xx answer becomes [`ApiError::Server`], a 2xx answer is
/// returned as its status and body text.
async fn fetch_text(builder: RequestBuilder) -> Result<(u16, String), ApiError> {
    fetch_built(builder, RequestBuilder::build).await
}

/// [`fetch_text`] with a JSON body.
async fn fetch_text_json<B: serde::Serialize>(
    builder: RequestBuilder,
    body: &B,
) -> Result<(u16, String), ApiError> {
    fetch_built(builder, |b| b.json(body)).await
}

/// Finishes the request with `finish` (after arming the abort signal) and sends it.
async fn fetch_built(
    builder: RequestBuilder,
    finish: impl FnOnce(RequestBuilder) -> Result<gloo_net::http::Request, gloo_net::Error>,
) -> Result<(u16, String), ApiError> {
    let guard = AbortOnDrop::new();
    let signal = guard.signal();
    let request = finish(builder.abort_signal(signal.as_ref()))
        .map_err(|e| ApiError::Decode(e.to_string()))?;
    let response = request
        .send()
        .await
        .map_err(|e| ApiError::Network(e.to_string()))?;
    let status = response.status();
    if !response.ok() {
        let body = response.json::<ErrorBody>().await.ok();
        guard.disarm();
        return Err(server_error(status, body));
    }
    let text = response
        .text()
        .await
        .map_err(|e| ApiError::Network(e.to_string()));
    guard.disarm();
    Ok((status, text?))
}

/// A non-2xx answer: the server's `{code, message}`, or the bare status.
fn server_error(status: u16, body: Option<ErrorBody>) -> ApiError {
    match body {
        Some(b) => ApiError::Server {
            status,
            code: b.code,
            message: b.message,
        },
        None => ApiError::Server {
            status,
            code: ErrorCode::Unknown,
            message: format!("the server answered HTTP {status}"),
        },
    }
}

fn decode<T: DeserializeOwned>(text: &str) -> Result<T, ApiError> {
    serde_json::from_str(text).map_err(|e| ApiError::Decode(e.to_string()))
}

async fn fetch_json<T: DeserializeOwned>(builder: RequestBuilder) -> Result<T, ApiError> {
    let (_, text) = fetch_text(builder).await?;
    decode(&text)
}

use crate::routes::encode_query as enc;

/// `GET /health`.
pub async fn health() -> Result<Health, ApiError> {
    fetch_json(Request::get(&format!("{BASE}/health"))).await
}

/// Query-string filters for the image list, `docker image ls --filter` style.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListFilters {
    pub dangling: Option<bool>,
    pub reference: Option<String>,
    pub label: Option<String>,
    pub before: Option<String>,
    pub since: Option<String>,
    /// A named Docker host (`serve --docker NAME=URL`).
    pub host: Option<String>,
}

impl ListFilters {
    fn query(&self) -> String {
        let mut parts = Vec::new();
        if let Some(d) = self.dangling {
            parts.push(format!("dangling={d}"));
        }
        for (k, v) in [
            ("reference", &self.reference),
            ("label", &self.label),
            ("before", &self.before),
            ("since", &self.since),
            ("host", &self.host),
        ] {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                parts.push(format!("{k}={}", enc(v)));
            }
        }
        if parts.is_empty() {
            String::new()
        } else {
            format!("?{}", parts.join("&"))
        }
    }
}

/// `GET /images`.
pub async fn list_images(filters: &ListFilters) -> Result<ImageList, ApiError> {
    fetch_json(Request::get(&format!("{BASE}/images{}", filters.query()))).await
}

/// `GET /images/{id}`.
pub async fn image_detail(id: &Digest) -> Result<ImageDetail, ApiError> {
    fetch_json(Request::get(&format!("{BASE}/images/{id}"))).await
}

/// `POST /images/{id}/analysis`: starts (or joins) the analysis job.
pub async fn start_analysis(id: &Digest) -> Result<JobInfo, ApiError> {
    fetch_json(Request::post(&format!("{BASE}/images/{id}/analysis"))).await
}

/// `GET /images/{id}/analysis`.
pub async fn analysis(id: &Digest) -> Result<AnalysisSummary, ApiError> {
    fetch_json(Request::get(&format!("{BASE}/images/{id}/analysis"))).await
}

/// `GET /images/{id}/layers/{n}/treemap`: one directory of the filesystem as of the
/// layer (`path_raw` base64, empty = root), `depth` levels deep, at most `limit` nodes.
pub async fn treemap(
    id: &Digest,
    layer: u32,
    path_raw: &str,
    depth: u32,
    limit: u64,
) -> Result<app::api::Treemap, ApiError> {
    fetch_json(Request::get(&format!(
        "{BASE}/images/{id}/layers/{layer}/treemap?path_raw={}&depth={depth}&limit={limit}",
        enc(path_raw)
    )))
    .await
}

/// `GET /images/{id}/layers/{n}/tree`: children of one directory (`path_raw` base64).
pub async fn tree(
    id: &Digest,
    layer: u32,
    view: TreeView,
    path_raw: &str,
    offset: u64,
    limit: u64,
) -> Result<TreePage, ApiError> {
    fetch_json(Request::get(&format!(
        "{BASE}/images/{id}/layers/{layer}/tree?view={}&path_raw={}&offset={offset}&limit={limit}",
        view.as_str(),
        enc(path_raw)
    )))
    .await
}

/// `GET /images/{id}/files/largest`.
pub async fn largest_files(
    id: &Digest,
    offset: u64,
    limit: u64,
) -> Result<Page<RankedFile>, ApiError> {
    fetch_json(Request::get(&format!(
        "{BASE}/images/{id}/files/largest?offset={offset}&limit={limit}"
    )))
    .await
}

/// `GET /images/{id}/wasted`.
pub async fn wasted(id: &Digest, offset: u64, limit: u64) -> Result<Page<WastedPath>, ApiError> {
    fetch_json(Request::get(&format!(
        "{BASE}/images/{id}/wasted?offset={offset}&limit={limit}"
    )))
    .await
}

/// What `/compare` answered.
#[derive(Debug, Clone, PartialEq)]
pub enum CompareAnswer {
    /// Every image was read: the comparison.
    Ready(Box<CompareReport>),
    /// Some images are still being read (HTTP 202): follow these jobs, then ask again.
    Pending(ComparePending),
}

/// `POST /compare?ids=...`: starts (or joins) every image's analysis and answers the
/// comparison or the jobs to follow (`retry`: start failed loads again).
pub async fn compare(ids: &[Digest], retry: bool) -> Result<CompareAnswer, ApiError> {
    let list: Vec<String> = ids.iter().map(|i| enc(i.as_str())).collect();
    let mut url = format!("{BASE}/compare?ids={}", list.join(","));
    if retry {
        url.push_str("&retry=true");
    }
    let (status, text) = fetch_text(Request::post(&url)).await?;
    if status == 202 {
        Ok(CompareAnswer::Pending(decode(&text)?))
    } else {
        Ok(CompareAnswer::Ready(Box::new(decode(&text)?)))
    }
}

/// `GET /sharing`.
pub async fn sharing() -> Result<SharingReport, ApiError> {
    fetch_json(Request::get(&format!("{BASE}/sharing"))).await
}

/// `GET /images/{id}/layers/{n}/search`: paths matching `q` in the layer's view.
pub async fn search(
    id: &Digest,
    layer: u32,
    view: TreeView,
    q: &str,
    mode: SearchMode,
    offset: u64,
    limit: u64,
) -> Result<Page<SearchHit>, ApiError> {
    let mode = mode.as_str();
    fetch_json(Request::get(&format!(
        "{BASE}/images/{id}/layers/{layer}/search?view={}&q={}&mode={mode}&offset={offset}&limit={limit}",
        view.as_str(),
        enc(q)
    )))
    .await
}

/// `GET /jobs/{id}/events?viewer=V` as a live stream: every event is decoded and handed
/// to `on_event`; after the last one (done, failed, cancelled) the stream is closed so
/// the browser does not reconnect it. Dropping the value closes it too.
pub struct JobEvents {
    source: web_sys::EventSource,
    _handler: Closure<dyn FnMut(web_sys::MessageEvent)>,
}

impl JobEvents {
    /// Opens the stream of `job`, counted as viewer `viewer` (a name the page picked,
    /// so [`cancel_job`] can detach exactly this stream).
    pub fn open(
        job: &JobId,
        viewer: &str,
        on_event: impl Fn(Result<JobEvent, ApiError>) + 'static,
    ) -> Result<JobEvents, ApiError> {
        let url = format!(
            "{BASE}/jobs/{}/events?viewer={}",
            enc(job.as_str()),
            enc(viewer)
        );
        let source = web_sys::EventSource::new(&url)
            .map_err(|_| ApiError::Network("the browser refused the progress stream".into()))?;
        let closer = source.clone();
        let handler =
            Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |ev: web_sys::MessageEvent| {
                let Some(text) = ev.data().as_string() else {
                    return;
                };
                let event = serde_json::from_str::<JobEvent>(&text)
                    .map_err(|e| ApiError::Decode(format!("progress event: {e}")));
                if !matches!(event, Ok(JobEvent::Progress(_))) {
                    closer.close();
                }
                on_event(event);
            });
        for name in ["progress", "done", "failed", "cancelled"] {
            source
                .add_event_listener_with_callback(name, handler.as_ref().unchecked_ref())
                .map_err(|_| ApiError::Network("cannot listen to the progress stream".into()))?;
        }
        Ok(JobEvents {
            source,
            _handler: handler,
        })
    }
}

impl Drop for JobEvents {
    fn drop(&mut self) {
        self.source.close();
    }
}

/// `POST /jobs/{id}/cancel?viewer=V`: detaches this page's stream and cancels the job
/// when nobody else watches it; 409 `viewers_waiting` when others still do.
pub async fn cancel_job(job: &JobId, viewer: &str) -> Result<JobInfo, ApiError> {
    fetch_json(Request::post(&format!(
        "{BASE}/jobs/{}/cancel?viewer={}",
        enc(job.as_str()),
        enc(viewer)
    )))
    .await
}

/// Bytes of an upload sent so far, and the total.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadProgress {
    pub sent: u64,
    pub total: u64,
}

/// Aborts an upload when dropped before completion (and detaches its progress callback
/// first, so the browser never calls a dropped closure).
struct AbortXhrOnDrop(Option<web_sys::XmlHttpRequest>);

impl Drop for AbortXhrOnDrop {
    fn drop(&mut self) {
        if let Some(xhr) = self.0.take() {
            if let Ok(upload) = xhr.upload() {
                upload.set_onprogress(None);
            }
            // Best effort: the request is abandoned either way.
            let _ = xhr.abort();
        }
    }
}

/// `POST /uploads?name=FILE`: streams `file` as the raw request body (the browser reads
/// it from disk as it sends), reporting upload progress, and returns the loaded image's
/// list entry. XHR rather than fetch because only XHR reports upload progress.
pub async fn upload_archive(
    file: &web_sys::File,
    on_progress: impl Fn(UploadProgress) + 'static,
) -> Result<app::api::ImageSummary, ApiError> {
    let js = |what: &str| {
        let what = what.to_owned();
        move |e: wasm_bindgen::JsValue| ApiError::Network(format!("{what}: {e:?}"))
    };
    let xhr = web_sys::XmlHttpRequest::new().map_err(js("cannot create the upload request"))?;
    let url = format!("{BASE}/uploads?name={}", enc(&file.name()));
    xhr.open_with_async("POST", &url, true)
        .map_err(js("cannot open the upload request"))?;
    xhr.set_request_header("Content-Type", "application/octet-stream")
        .map_err(js("cannot set the upload type"))?;
    let total = file.size() as u64;
    let progress =
        Closure::<dyn FnMut(web_sys::ProgressEvent)>::new(move |ev: web_sys::ProgressEvent| {
            let total = if ev.length_computable() {
                ev.total() as u64
            } else {
                total
            };
            on_progress(UploadProgress {
                sent: ev.loaded() as u64,
                total,
            });
        });
    xhr.upload()
        .map_err(js("cannot watch the upload"))?
        .set_onprogress(Some(progress.as_ref().unchecked_ref()));
    let settled = {
        let xhr = xhr.clone();
        js_sys::Promise::new(&mut move |resolve, reject| {
            xhr.set_onload(Some(&resolve));
            xhr.set_onerror(Some(&reject));
            xhr.set_onabort(Some(&reject));
        })
    };
    xhr.send_with_opt_blob(Some(file))
        .map_err(js("cannot send the archive"))?;
    let mut guard = AbortXhrOnDrop(Some(xhr.clone()));
    let outcome = wasm_bindgen_futures::JsFuture::from(settled).await;
    guard.0 = None;
    if let Ok(upload) = xhr.upload() {
        upload.set_onprogress(None);
    }
    drop(progress);
    if outcome.is_err() {
        return Err(ApiError::Network(
            "the upload was interrupted before the server answered".into(),
        ));
    }
    let status = xhr.status().unwrap_or(0);
    let text = xhr.response_text().ok().flatten().unwrap_or_default();
    if (200..300).contains(&status) {
        return decode(&text);
    }
    Err(server_error(
        status,
        serde_json::from_str::<ErrorBody>(&text).ok(),
    ))
}
