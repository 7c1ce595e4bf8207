//! The distribution API client: `/v2/` probing (HTTPS, or plain HTTP where allowed),
//! the 401 → token → retry handshake (once per request: a second 401 is an error, never
//! a loop), retries with backoff on connection errors and 5xx, `Retry-After` on 429,
//! resumable blob downloads (`Range`) after a drop or a stall, and capped reads of every
//! document.

use super::auth::{self, AuthCache, Challenge, TokenAnswer, TokenRequest};
use super::credentials::{Credential, DockerConfig};
use super::reference::api_host;
use super::{is_loopback, RegistryError, RegistryRef, RegistrySettings};
use app::distribution::{BlobRef, MANIFEST_ACCEPT, MAX_MANIFEST_BYTES};
use app::model::Digest;
use bytes::Bytes;
use parking_lot::Mutex;
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, RANGE, WWW_AUTHENTICATE};
use reqwest::StatusCode;
use sha2::{Digest as _, Sha256};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Longest `Retry-After` waited for; a longer one fails with the figure.
const MAX_RETRY_AFTER: u64 = 30;
/// Largest error or tag-list body read.
const MAX_SMALL_BODY: u64 = 4 << 20;

/// A manifest as served.
#[derive(Debug, Clone)]
pub struct FetchedManifest {
    pub bytes: Vec<u8>,
    pub content_type: Option<String>,
    /// sha256 of `bytes` (verified against the reference's digest when it had one).
    pub digest: Digest,
}

/// One page of a tag list or catalog.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Page {
    pub items: Vec<String>,
    /// The `last` value for the next page, when the registry announced one.
    pub next: Option<String>,
}

/// What a request is for: the auth scope and the words errors use.
struct Target<'a> {
    registry: &'a str,
    scope: String,
    what: String,
}

/// A registry client shared by every load (cheap to clone).
#[derive(Clone)]
pub struct RegistryClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    settings: RegistrySettings,
    config: Result<DockerConfig, RegistryError>,
    auth: AuthCache,
    /// `https://host` or `http://host`, once probed.
    bases: Mutex<HashMap<String, String>>,
    requests: AtomicU64,
}

impl RegistryClient {
    /// Builds a client; fails only for unreadable CA files. An unreadable docker config
    /// fails the first request that needs credentials, with the file named.
    pub fn new(settings: RegistrySettings) -> Result<Self, RegistryError> {
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("strata/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(15))
            .read_timeout(settings.stall_timeout)
            .redirect(reqwest::redirect::Policy::limited(5));
        for path in &settings.ca_files {
            let pem = std::fs::read(path).map_err(|e| {
                RegistryError::Settings(format!("--registry-ca {}: {e}", path.display()))
            })?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                RegistryError::Settings(format!("--registry-ca {}: {e}", path.display()))
            })?;
            if certs.is_empty() {
                return Err(RegistryError::Settings(format!(
                    "--registry-ca {}: no PEM certificate in it",
                    path.display()
                )));
            }
            builder = builder.tls_certs_merge(certs);
        }
        let http = builder
            .build()
            .map_err(|e| RegistryError::Settings(format!("HTTP client: {e}")))?;
        let config = DockerConfig::load(settings.config_file.as_deref()).map_err(Into::into);
        Ok(RegistryClient {
            inner: Arc::new(Inner {
                http,
                settings,
                config,
                auth: AuthCache::default(),
                bases: Mutex::new(HashMap::new()),
                requests: AtomicU64::new(0),
            }),
        })
    }

    /// The settings it was built with.
    pub fn settings(&self) -> &RegistrySettings {
        &self.inner.settings
    }

    /// HTTP requests sent so far (token requests included).
    pub fn requests(&self) -> u64 {
        self.inner.requests.load(Ordering::Relaxed)
    }

    fn plain_allowed(&self, registry: &str) -> bool {
        is_loopback(registry) || self.inner.settings.insecure.iter().any(|h| h == registry)
    }

    /// The manifest `reference` (a tag or digest) of `r`'s repository.
    pub async fn manifest(
        &self,
        r: &RegistryRef,
        reference: &str,
    ) -> Result<FetchedManifest, RegistryError> {
        let target = Target {
            registry: &r.registry,
            scope: pull_scope(&r.repository),
            what: format!("manifest {}:{reference}", r.repository),
        };
        let path = format!("/v2/{}/manifests/{reference}", r.repository);
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static(MANIFEST_ACCEPT));
        let resp = self.get(&target, &path, headers).await?;
        let content_type = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = self.read_capped(&target, resp, MAX_MANIFEST_BYTES).await?;
        let digest = Digest::of(&bytes);
        if let Ok(expected) = Digest::parse(reference) {
            if expected != digest {
                return Err(RegistryError::DigestMismatch {
                    registry: r.registry.clone(),
                    what: target.what,
                    expected,
                    actual: digest.to_string(),
                });
            }
        }
        Ok(FetchedManifest {
            bytes,
            content_type,
            digest,
        })
    }

    /// A small blob (a config) read whole, verified against its digest and size.
    pub async fn small_blob(
        &self,
        r: &RegistryRef,
        blob: &BlobRef,
        cap: u64,
    ) -> Result<Vec<u8>, RegistryError> {
        let target = blob_target(r, blob);
        if blob.size > cap {
            return Err(RegistryError::TooLarge {
                registry: r.registry.clone(),
                what: target.what,
                limit: cap,
            });
        }
        let path = format!("/v2/{}/blobs/{}", r.repository, blob.digest);
        let resp = self.get(&target, &path, HeaderMap::new()).await?;
        let bytes = self.read_capped(&target, resp, cap).await?;
        let actual = Digest::of(&bytes);
        if actual != blob.digest || (blob.size != 0 && bytes.len() as u64 != blob.size) {
            return Err(RegistryError::DigestMismatch {
                registry: r.registry.clone(),
                what: target.what,
                expected: blob.digest.clone(),
                actual: format!("{actual} ({} bytes)", bytes.len()),
            });
        }
        Ok(bytes)
    }

    /// Streams a blob into `tx`, resuming with `Range` after a dropped connection or a
    /// stall, and fails (after the last chunk was sent) unless the bytes hash to the
    /// descriptor's digest and size. `on_bytes` hears every chunk's length.
    pub async fn stream_blob(
        &self,
        r: &RegistryRef,
        blob: &BlobRef,
        tx: &tokio::sync::mpsc::Sender<std::io::Result<Bytes>>,
        on_bytes: &(dyn Fn(u64) + Send + Sync),
    ) -> Result<(), RegistryError> {
        let target = blob_target(r, blob);
        let path = format!("/v2/{}/blobs/{}", r.repository, blob.digest);
        let mut hasher = Sha256::new();
        let mut done: u64 = 0;
        let mut attempt = 0;
        let attempts = self.inner.settings.attempts.max(1);
        loop {
            let mut headers = HeaderMap::new();
            if done > 0 {
                if let Ok(v) = HeaderValue::from_str(&format!("bytes={done}-")) {
                    headers.insert(RANGE, v);
                }
            }
            let mut resp = self.get(&target, &path, headers).await?;
            // A server that ignores Range sends everything again: skip what we have.
            let mut skip = if done > 0 && resp.status() != StatusCode::PARTIAL_CONTENT {
                done
            } else {
                0
            };
            let failure = loop {
                match resp.chunk().await {
                    Ok(Some(mut chunk)) => {
                        if skip > 0 {
                            let n = skip.min(chunk.len() as u64);
                            skip -= n;
                            chunk = chunk.slice(usize::try_from(n).unwrap_or(chunk.len())..);
                            if chunk.is_empty() {
                                continue;
                            }
                        }
                        done += chunk.len() as u64;
                        if blob.size != 0 && done > blob.size {
                            return Err(RegistryError::DigestMismatch {
                                registry: r.registry.clone(),
                                what: target.what.clone(),
                                expected: blob.digest.clone(),
                                actual: format!("more than the {} bytes declared", blob.size),
                            });
                        }
                        hasher.update(&chunk);
                        on_bytes(chunk.len() as u64);
                        if tx.send(Ok(chunk)).await.is_err() {
                            // The reader gave up (cancelled or failed): stop quietly.
                            return Ok(());
                        }
                    }
                    Ok(None) => break None,
                    Err(e) => break Some(e),
                }
            };
            match failure {
                None if blob.size != 0 && done < blob.size => {
                    // The connection ended early without an error: resume like a drop.
                    attempt += 1;
                    if attempt >= attempts {
                        return Err(RegistryError::Unreachable {
                            registry: r.registry.clone(),
                            message: format!(
                                "{} ended after {done} of {} bytes ({attempts} attempts)",
                                target.what, blob.size
                            ),
                        });
                    }
                }
                None => break,
                Some(e) => {
                    attempt += 1;
                    if attempt >= attempts {
                        let secs = self.inner.settings.stall_timeout.as_secs();
                        return Err(if e.is_timeout() {
                            RegistryError::Stalled {
                                registry: r.registry.clone(),
                                what: target.what.clone(),
                                attempts,
                                secs,
                            }
                        } else {
                            RegistryError::Unreachable {
                                registry: r.registry.clone(),
                                message: format!("{}: {}", target.what, error_chain(&e)),
                            }
                        });
                    }
                    tracing::info!(
                        "registry {}: {} broke after {done} bytes ({}); resuming",
                        r.registry,
                        target.what,
                        error_chain(&e)
                    );
                }
            }
            tokio::time::sleep(backoff(attempt)).await;
        }
        let actual = Digest::from_sha256(&hasher.finalize().into());
        if actual != blob.digest || (blob.size != 0 && done != blob.size) {
            let e = RegistryError::DigestMismatch {
                registry: r.registry.clone(),
                what: target.what,
                expected: blob.digest.clone(),
                actual: format!("{actual} ({done} bytes)"),
            };
            let _ = tx.send(Err(std::io::Error::other(e.to_string()))).await;
            return Err(e);
        }
        Ok(())
    }

    /// One page of `repository`'s tags.
    pub async fn tags(
        &self,
        registry: &str,
        repository: &str,
        n: usize,
        last: Option<&str>,
    ) -> Result<Page, RegistryError> {
        let target = Target {
            registry,
            scope: pull_scope(repository),
            what: format!("the tags of {repository}"),
        };
        let path = format!("/v2/{repository}/tags/list?{}", page_query(n, last));
        self.page(&target, &path, "tags").await
    }

    /// One page of the registry's repositories.
    pub async fn catalog(
        &self,
        registry: &str,
        n: usize,
        last: Option<&str>,
    ) -> Result<Page, RegistryError> {
        let target = Target {
            registry,
            scope: "registry:catalog:*".into(),
            what: "the catalog".into(),
        };
        let path = format!("/v2/_catalog?{}", page_query(n, last));
        self.page(&target, &path, "repositories").await
    }

    async fn page(
        &self,
        target: &Target<'_>,
        path: &str,
        field: &str,
    ) -> Result<Page, RegistryError> {
        let resp = self.get(target, path, HeaderMap::new()).await?;
        let next = resp
            .headers()
            .get(reqwest::header::LINK)
            .and_then(|v| v.to_str().ok())
            .and_then(next_last);
        let bytes = self.read_capped(target, resp, MAX_SMALL_BODY).await?;
        let v: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| RegistryError::Status {
                registry: target.registry.to_owned(),
                what: target.what.clone(),
                status: 200,
                message: format!("answer is not JSON: {e}"),
            })?;
        let items = v
            .get(field)
            .and_then(|t| t.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        Ok(Page { items, next })
    }

    /// `https://host` or, where allowed and HTTPS does not answer, `http://host`.
    async fn base(&self, registry: &str) -> Result<String, RegistryError> {
        if let Some(b) = self.inner.bases.lock().get(registry) {
            return Ok(b.clone());
        }
        let host = api_host(registry);
        let https = format!("https://{host}");
        let base = match self.ping(&https).await {
            Ok(()) => https,
            Err(e) if self.plain_allowed(registry) => {
                let http = format!("http://{host}");
                match self.ping(&http).await {
                    Ok(()) => http,
                    Err(_) => return Err(net_error(registry, &e)),
                }
            }
            Err(e) => return Err(net_error(registry, &e)),
        };
        self.inner
            .bases
            .lock()
            .insert(registry.to_owned(), base.clone());
        Ok(base)
    }

    /// `GET /v2/`: any HTTP answer a registry gives (200, 401) proves the scheme works.
    async fn ping(&self, base: &str) -> Result<(), reqwest::Error> {
        self.inner.requests.fetch_add(1, Ordering::Relaxed);
        let resp = self
            .inner
            .http
            .get(format!("{base}/v2/"))
            .timeout(Duration::from_secs(15))
            .send()
            .await?;
        // An HTTPS server answering a plain request says 400: that is not a registry.
        if resp.status() == StatusCode::BAD_REQUEST {
            return resp.error_for_status().map(|_| ());
        }
        Ok(())
    }

    /// Sends a GET with auth and retries; returns a 2xx answer (or 206), else the error.
    async fn get(
        &self,
        target: &Target<'_>,
        path: &str,
        headers: HeaderMap,
    ) -> Result<reqwest::Response, RegistryError> {
        let base = self.base(target.registry).await?;
        let url = format!("{base}{path}");
        let attempts = self.inner.settings.attempts.max(1);
        let mut attempt = 0;
        let mut challenged = false;
        loop {
            let mut req = self.inner.http.get(&url).headers(headers.clone());
            if let Some(a) = self.inner.auth.get(target.registry, &target.scope) {
                req = req.header(AUTHORIZATION, a);
            }
            self.inner.requests.fetch_add(1, Ordering::Relaxed);
            let resp = match req.send().await {
                Ok(r) => r,
                Err(e) => {
                    attempt += 1;
                    if attempt >= attempts || !(e.is_connect() || e.is_timeout() || e.is_request())
                    {
                        return Err(net_error(target.registry, &e));
                    }
                    tokio::time::sleep(backoff(attempt)).await;
                    continue;
                }
            };
            let status = resp.status();
            if status.is_success() {
                return Ok(resp);
            }
            if status == StatusCode::UNAUTHORIZED {
                if challenged {
                    return Err(self.unauthorized(target, resp).await);
                }
                challenged = true;
                let challenge = resp
                    .headers()
                    .get(WWW_AUTHENTICATE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(Challenge::parse);
                self.authorize(target, challenge).await?;
                continue;
            }
            let retryable = status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error();
            attempt += 1;
            if retryable && attempt < attempts {
                let wait = if status == StatusCode::TOO_MANY_REQUESTS {
                    let after = retry_after(resp.headers()).unwrap_or(1);
                    if after > MAX_RETRY_AFTER {
                        return Err(RegistryError::RateLimited {
                            registry: target.registry.to_owned(),
                            what: target.what.clone(),
                            retry_after: after,
                        });
                    }
                    Duration::from_secs(after)
                } else {
                    backoff(attempt)
                };
                tokio::time::sleep(wait).await;
                continue;
            }
            return Err(self.status_error(target, resp).await);
        }
    }

    /// Answers a challenge: fetches and caches the `Authorization` to send.
    async fn authorize(
        &self,
        target: &Target<'_>,
        challenge: Option<Challenge>,
    ) -> Result<(), RegistryError> {
        let credential = self.credential(target.registry).await?;
        match challenge {
            None => Err(RegistryError::Unauthorized {
                registry: target.registry.to_owned(),
                what: target.what.clone(),
                why: "401 without a usable WWW-Authenticate challenge".into(),
            }),
            Some(Challenge::Basic) => match credential {
                Some(Credential::Basic { username, password }) => {
                    let v = auth::basic_header(&username, &password);
                    self.inner.auth.put(target.registry, &target.scope, v, None);
                    Ok(())
                }
                _ => Err(self.no_credentials(target)),
            },
            Some(Challenge::Bearer { realm, service, .. }) => {
                let token = self
                    .token(target, &realm, service.as_deref(), credential.as_ref())
                    .await?;
                let (token, life) = token;
                self.inner.auth.put(
                    target.registry,
                    &target.scope,
                    format!("Bearer {token}"),
                    Some(life),
                );
                Ok(())
            }
        }
    }

    /// The credential for `registry`, on a blocking thread (a credential helper is a
    /// process that may take seconds).
    async fn credential(&self, registry: &str) -> Result<Option<Credential>, RegistryError> {
        let inner = self.inner.clone();
        let registry = registry.to_owned();
        tokio::task::spawn_blocking(move || match &inner.config {
            Ok(c) => c.credential(&registry).map_err(Into::into),
            Err(e) => Err(e.clone()),
        })
        .await
        .map_err(|e| RegistryError::Settings(format!("credential lookup failed: {e}")))?
    }

    async fn token(
        &self,
        target: &Target<'_>,
        realm: &str,
        service: Option<&str>,
        credential: Option<&Credential>,
    ) -> Result<(String, Duration), RegistryError> {
        let url = reqwest::Url::parse(realm)
            .ok()
            .filter(|u| matches!(u.scheme(), "https" | "http"))
            .ok_or_else(|| RegistryError::Unauthorized {
                registry: target.registry.to_owned(),
                what: target.what.clone(),
                why: format!("token realm {realm:?} is not an http(s) URL"),
            })?;
        let req = match auth::token_request(credential, service, &target.scope) {
            TokenRequest::Get { authorization } => {
                let mut q: Vec<(&str, &str)> = vec![("scope", &target.scope)];
                if let Some(s) = service {
                    q.push(("service", s));
                }
                let mut u = url.clone();
                u.query_pairs_mut().extend_pairs(q);
                let mut req = self.inner.http.get(u);
                if let Some(a) = authorization {
                    req = req.header(AUTHORIZATION, a);
                }
                req
            }
            TokenRequest::Post { form } => {
                let body: String = form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(form)
                    .finish();
                self.inner
                    .http
                    .post(url.clone())
                    .header(
                        reqwest::header::CONTENT_TYPE,
                        "application/x-www-form-urlencoded",
                    )
                    .body(body)
            }
        };
        self.inner.requests.fetch_add(1, Ordering::Relaxed);
        let resp = req
            .send()
            .await
            .map_err(|e| net_error(target.registry, &e))?;
        let status = resp.status();
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return Err(match credential {
                None => self.no_credentials(target),
                Some(_) => RegistryError::Unauthorized {
                    registry: target.registry.to_owned(),
                    what: target.what.clone(),
                    why: format!(
                        "the token service rejected the credentials for {} ({}); run `docker login {}` again",
                        target.registry,
                        status.as_u16(),
                        target.registry
                    ),
                },
            });
        }
        if !status.is_success() {
            return Err(self.status_error(target, resp).await);
        }
        let bytes = self
            .read_capped(target, resp, auth::MAX_TOKEN_ANSWER)
            .await?;
        serde_json::from_slice::<TokenAnswer>(&bytes)
            .ok()
            .and_then(TokenAnswer::into_token)
            .ok_or_else(|| RegistryError::Unauthorized {
                registry: target.registry.to_owned(),
                what: target.what.clone(),
                why: "the token service's answer holds no token".into(),
            })
    }

    fn no_credentials(&self, target: &Target<'_>) -> RegistryError {
        let file = match &self.inner.config {
            Ok(c) => c.path().map_or_else(
                || "~/.docker/config.json".to_owned(),
                |p| p.display().to_string(),
            ),
            Err(_) => "the docker config".to_owned(),
        };
        RegistryError::Unauthorized {
            registry: target.registry.to_owned(),
            what: target.what.clone(),
            why: format!(
                "it needs credentials and {file} has none for {}; run `docker login {}` or pass --registry-config FILE",
                target.registry, target.registry
            ),
        }
    }

    async fn unauthorized(&self, target: &Target<'_>, resp: reqwest::Response) -> RegistryError {
        let message = self.error_message(resp).await;
        let why = match self.credential(target.registry).await {
            Ok(Some(_)) => format!(
                "the credentials for {} were rejected ({message}); run `docker login {}` again",
                target.registry, target.registry
            ),
            Ok(None) => return self.no_credentials(target),
            Err(e) => e.to_string(),
        };
        RegistryError::Unauthorized {
            registry: target.registry.to_owned(),
            what: target.what.clone(),
            why,
        }
    }

    async fn status_error(&self, target: &Target<'_>, resp: reqwest::Response) -> RegistryError {
        let status = resp.status();
        let message = self.error_message(resp).await;
        match status {
            StatusCode::NOT_FOUND => RegistryError::NotFound {
                registry: target.registry.to_owned(),
                what: target.what.clone(),
            },
            StatusCode::FORBIDDEN => RegistryError::Unauthorized {
                registry: target.registry.to_owned(),
                what: target.what.clone(),
                why: format!("access denied ({message})"),
            },
            StatusCode::TOO_MANY_REQUESTS => RegistryError::RateLimited {
                registry: target.registry.to_owned(),
                what: target.what.clone(),
                retry_after: 0,
            },
            s => RegistryError::Status {
                registry: target.registry.to_owned(),
                what: target.what.clone(),
                status: s.as_u16(),
                message,
            },
        }
    }

    /// The first `errors[].message` of a distribution error body, else the status text.
    async fn error_message(&self, mut resp: reqwest::Response) -> String {
        let status = resp.status();
        let mut body = Vec::new();
        while let Ok(Some(chunk)) = resp.chunk().await {
            body.extend_from_slice(&chunk);
            if body.len() > 64 << 10 {
                break;
            }
        }
        let from_json = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| {
                let e = v.get("errors")?.get(0)?;
                let code = e.get("code").and_then(|c| c.as_str()).unwrap_or("");
                let msg = e.get("message").and_then(|c| c.as_str()).unwrap_or("");
                Some(format!("{code}: {msg}"))
            });
        let text = from_json.unwrap_or_else(|| {
            status
                .canonical_reason()
                .unwrap_or("unexpected status")
                .to_owned()
        });
        text.chars().filter(|c| !c.is_control()).take(200).collect()
    }

    async fn read_capped(
        &self,
        target: &Target<'_>,
        mut resp: reqwest::Response,
        cap: u64,
    ) -> Result<Vec<u8>, RegistryError> {
        let too_large = || RegistryError::TooLarge {
            registry: target.registry.to_owned(),
            what: target.what.clone(),
            limit: cap,
        };
        if resp.content_length().is_some_and(|n| n > cap) {
            return Err(too_large());
        }
        let mut out = Vec::new();
        loop {
            match resp.chunk().await {
                Ok(Some(c)) => {
                    if out.len() as u64 + c.len() as u64 > cap {
                        return Err(too_large());
                    }
                    out.extend_from_slice(&c);
                }
                Ok(None) => return Ok(out),
                Err(e) if e.is_timeout() => {
                    return Err(RegistryError::Stalled {
                        registry: target.registry.to_owned(),
                        what: target.what.clone(),
                        attempts: 1,
                        secs: self.inner.settings.stall_timeout.as_secs(),
                    })
                }
                Err(e) => return Err(net_error(target.registry, &e)),
            }
        }
    }
}

fn pull_scope(repository: &str) -> String {
    format!("repository:{repository}:pull")
}

fn blob_target<'a>(r: &'a RegistryRef, blob: &BlobRef) -> Target<'a> {
    Target {
        registry: &r.registry,
        scope: pull_scope(&r.repository),
        what: format!("blob {} of {}", blob.digest.short(), r.repository),
    }
}

fn page_query(n: usize, last: Option<&str>) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("n", &n.to_string());
    if let Some(l) = last {
        q.append_pair("last", l);
    }
    q.finish()
}

/// The `last` parameter of a `Link: <…?last=x&n=y>; rel="next"` header.
fn next_last(link: &str) -> Option<String> {
    let (target, params) = link.split_once(';')?;
    if !params.contains("rel=\"next\"") && !params.contains("rel=next") {
        return None;
    }
    let target = target.trim().trim_start_matches('<').trim_end_matches('>');
    let query = target.split_once('?')?.1;
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "last")
        .map(|(_, v)| v.into_owned())
}

fn retry_after(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// 250 ms, 500 ms, 1 s, 2 s, capped at 4 s.
fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(250u64 << attempt.saturating_sub(1).min(4)).min(Duration::from_secs(4))
}

/// The error and its causes on one line (reqwest's own message is only the outer one).
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(s) = cur {
        let t = s.to_string();
        if !parts.iter().any(|p| p.contains(&t)) {
            parts.push(t);
        }
        cur = s.source();
    }
    parts.join(": ")
}

fn net_error(registry: &str, e: &reqwest::Error) -> RegistryError {
    let message = error_chain(e);
    let tls = [
        "certificate",
        "tls",
        "handshake",
        "InvalidCertificate",
        "UnknownIssuer",
    ]
    .iter()
    .any(|k| message.contains(k));
    if tls {
        RegistryError::Tls {
            registry: registry.to_owned(),
            message,
        }
    } else {
        RegistryError::Unreachable {
            registry: registry.to_owned(),
            message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_headers_give_the_next_page() {
        assert_eq!(
            next_last(r#"</v2/_catalog?last=b%2Fc&n=2>; rel="next""#).as_deref(),
            Some("b/c")
        );
        assert_eq!(next_last(r#"</v2/x?last=a>; rel="prev""#), None);
        assert_eq!(next_last("garbage"), None);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff(1), Duration::from_millis(250));
        assert_eq!(backoff(2), Duration::from_millis(500));
        assert_eq!(backoff(10), Duration::from_secs(4));
    }
}
