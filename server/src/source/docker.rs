//! The Docker (or Podman) daemon through bollard: connecting the way the docker CLI does
//! (`DOCKER_HOST` unix/tcp/https/ssh, `DOCKER_TLS_VERIFY` + `DOCKER_CERT_PATH`, default
//! `/var/run/docker.sock`; `ssh://` through the `ssh` binary, see [`ssh`]), API version negotiation, and the few read-only operations
//! Strata needs (ping, version, info, list, inspect, history, export).
//!
//! Invariants: only full image IDs (`sha256:<64 hex>`) are put into request paths — user
//! references are first resolved against `GET /images/json` by [`DockerClient::resolve`];
//! a daemon 404 is [`DockerError::NotFound`], a transport failure is
//! [`DockerError::Unavailable`] naming the address tried (or
//! [`DockerError::ExportInterrupted`] once an export has started streaming). Short
//! requests use a client with a 10 s timeout; exports use a separate client whose long
//! timeout covers the daemon's slow start, plus an idle watchdog per chunk.

mod resolve;
pub mod ssh;

pub use resolve::{resolve_in, resolve_listed, Listed};

use super::reference::ImageRef;
use app::model::Digest;
use bollard::models::{ImageHistoryResponseItem, ImageInspect, ImageSummary};
use bollard::query_parameters::ListImagesOptionsBuilder;
use bollard::{Docker, API_DEFAULT_VERSION};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::OnceCell;

/// Where the docker CLI looks when `DOCKER_HOST` is unset.
pub const DEFAULT_DOCKER_HOST: &str = "unix:///var/run/docker.sock";
/// Timeout of short requests (ping, list, inspect, history, info). Well below the HTTP
/// server's 30 s request timeout, so a hung (e.g. SIGSTOPped) daemon is reported as a
/// 503 naming it, not as the server's bare 408.
pub const API_TIMEOUT: Duration = Duration::from_secs(10);
/// Time the daemon may take before the first byte of an export (it writes every layer
/// to a temporary directory first).
pub const EXPORT_START_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// Longest silence tolerated between two chunks of an export.
pub const EXPORT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// What went wrong talking to the daemon.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum DockerError {
    /// The daemon could not be reached (no socket, refused, TLS, timeout).
    #[error("cannot reach the Docker daemon at {address} ({reason})")]
    Unavailable { address: String, reason: String },
    /// `DOCKER_HOST`/`--docker-host` or the TLS files are unusable.
    #[error("cannot use Docker host {address}: {reason}")]
    Config { address: String, reason: String },
    /// No image matches (daemon 404, or nothing in the list).
    #[error("image {0} not found in the Docker daemon")]
    NotFound(String),
    /// A short ID prefix or name matches several images.
    #[error("image reference {reference} is ambiguous: it matches {count} images")]
    Ambiguous { reference: String, count: usize },
    /// Any other answer from the daemon.
    #[error("Docker daemon at {address} failed to {what}: {message}")]
    Daemon {
        address: String,
        what: &'static str,
        message: String,
    },
    /// The connection broke after the export had started streaming (daemon crashed or
    /// restarted): the data received is incomplete and must not be used.
    #[error("export of image {id} was cut off: the connection to the Docker daemon at {address} was lost ({reason}); retry once the daemon is running again")]
    ExportInterrupted {
        address: String,
        id: String,
        reason: String,
    },
    /// The export stream went silent.
    #[error("export of image {id} stalled: the Docker daemon stopped sending data (nothing for {secs} s)")]
    Stalled { id: String, secs: u64 },
}

/// The daemon facts the engine needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonInfo {
    /// `DockerRootDir`, e.g. `/var/lib/docker`.
    pub root_dir: Option<PathBuf>,
    /// Storage driver, e.g. `overlay2`.
    pub driver: Option<String>,
    pub server_version: Option<String>,
    /// The API version negotiated with the daemon, e.g. `1.41`.
    pub api_version: String,
}

/// A connection to one daemon (cheap to clone; clones share the connection). The bollard
/// clients are created and the API version negotiated on first use, so a daemon that
/// starts later is picked up.
#[derive(Debug, Clone)]
pub struct DockerClient {
    address: String,
    clients: std::sync::Arc<OnceCell<Clients>>,
    idle: Duration,
    /// TLS files (`ca.pem`, `cert.pem`, `key.pem`) of this host; `None` = `DOCKER_CERT_PATH`.
    cert_path: Option<PathBuf>,
}

#[derive(Debug)]
struct Clients {
    api: Docker,
    export: Docker,
}

impl DockerClient {
    /// Prepares a client for `host` (else `DOCKER_HOST`, else the default socket). Only
    /// the address syntax is checked here: an absent daemon is reported by the first
    /// request.
    pub fn new(host: Option<&str>) -> Result<Self, DockerError> {
        let address = match host {
            Some(h) if !h.is_empty() => h.to_owned(),
            _ => std::env::var("DOCKER_HOST")
                .ok()
                .filter(|h| !h.is_empty())
                .unwrap_or_else(|| DEFAULT_DOCKER_HOST.to_owned()),
        };
        let shown = redact_password(&address);
        if shown != address {
            return Err(DockerError::Config {
                address: shown,
                reason: "give the user without a password (ssh logs in with keys or the agent, \
                         TLS hosts with certificates)"
                    .into(),
            });
        }
        if !["unix://", "tcp://", "http://", "https://", "ssh://"]
            .iter()
            .any(|p| address.starts_with(p))
        {
            return Err(DockerError::Config {
                address,
                reason: UNSUPPORTED_SCHEME.into(),
            });
        }
        if address.starts_with("ssh://") {
            ssh::SshTarget::parse(&address).map_err(|reason| DockerError::Config {
                address: address.clone(),
                reason,
            })?;
        }
        Ok(DockerClient {
            address,
            clients: std::sync::Arc::new(OnceCell::new()),
            idle: EXPORT_IDLE_TIMEOUT,
            cert_path: None,
        })
    }

    /// Uses the TLS files in `dir` for this host (and TLS even for `tcp://`), instead of
    /// `DOCKER_CERT_PATH` / `~/.docker`.
    pub fn with_cert_path(mut self, dir: Option<PathBuf>) -> Self {
        self.cert_path = dir;
        self
    }

    /// Overrides the export idle watchdog (tests use a short one).
    pub fn with_export_idle_timeout(mut self, idle: Duration) -> Self {
        self.idle = idle;
        self
    }

    /// The daemon address in use, as the user would write it.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// Connects and negotiates the API version once (downgrading to the daemon's, e.g.
    /// 1.41); retried on the next call when the daemon was unreachable.
    async fn ready(&self) -> Result<&Clients, DockerError> {
        self.clients
            .get_or_try_init(|| async {
                let api = connect(&self.address, self.cert_path.as_deref(), API_TIMEOUT)?
                    .negotiate_version()
                    .await
                    .map_err(|e| self.map_err(e, "negotiate the API version", ""))?;
                let export = connect(
                    &self.address,
                    self.cert_path.as_deref(),
                    EXPORT_START_TIMEOUT,
                )?
                .negotiate_version()
                .await
                .map_err(|e| self.map_err(e, "negotiate the API version", ""))?;
                Ok(Clients { api, export })
            })
            .await
    }

    /// `GET /_ping`: is the daemon there?
    pub async fn ping(&self) -> Result<(), DockerError> {
        self.ready()
            .await?
            .api
            .ping()
            .await
            .map(|_| ())
            .map_err(|e| self.map_err(e, "answer a ping", ""))
    }

    /// `GET /info` and the negotiated version.
    pub async fn info(&self) -> Result<DaemonInfo, DockerError> {
        let info = self
            .ready()
            .await?
            .api
            .info()
            .await
            .map_err(|e| self.map_err(e, "report its info", ""))?;
        let v = self.ready().await?.api.client_version();
        Ok(DaemonInfo {
            root_dir: info.docker_root_dir.map(PathBuf::from),
            driver: info.driver,
            server_version: info.server_version,
            api_version: format!("{}.{}", v.major_version, v.minor_version),
        })
    }

    /// `GET /images/json` with docker's filters (`dangling`, `reference`, `before`,
    /// `since`, `label`), which travel url-encoded in the query string.
    pub async fn list_images(
        &self,
        filters: &HashMap<String, Vec<String>>,
    ) -> Result<Vec<ImageSummary>, DockerError> {
        let mut opts = ListImagesOptionsBuilder::new().all(false);
        if !filters.is_empty() {
            opts = opts.filters(filters);
        }
        self.ready()
            .await?
            .api
            .list_images(Some(opts.build()))
            .await
            .map_err(|e| self.map_err(e, "list images", ""))
    }

    /// Resolves a validated reference to a full image ID using only the image list, as the
    /// docker CLI does: a name (`latest` implied) or name@digest first, then an ID prefix.
    pub async fn resolve(&self, r: &ImageRef) -> Result<Digest, DockerError> {
        let all = self
            .ready()
            .await?
            .api
            .list_images(Some(ListImagesOptionsBuilder::new().all(true).build()))
            .await
            .map_err(|e| self.map_err(e, "list images", ""))?;
        resolve_in(r, &all)
    }

    /// `GET /images/{id}/json`.
    pub async fn inspect(&self, id: &Digest) -> Result<ImageInspect, DockerError> {
        self.ready()
            .await?
            .api
            .inspect_image(id.as_str())
            .await
            .map_err(|e| self.map_err(e, "inspect the image", id.as_str()))
    }

    /// `GET /images/{id}/history`.
    pub async fn history(&self, id: &Digest) -> Result<Vec<ImageHistoryResponseItem>, DockerError> {
        self.ready()
            .await?
            .api
            .image_history(id.as_str())
            .await
            .map_err(|e| self.map_err(e, "report the image history", id.as_str()))
    }

    /// `GET /images/{id}/get`: the image as a `docker save` tar stream. Each chunk after
    /// the first must arrive within the idle timeout.
    pub async fn export(
        &self,
        id: &Digest,
    ) -> Result<impl Stream<Item = Result<Bytes, DockerError>> + Send + 'static, DockerError> {
        let inner = self.ready().await?.export.export_image(id.as_str()).boxed();
        let this = self.clone();
        let id = id.clone();
        let state = (inner, this, id, true, false);
        Ok(futures_util::stream::unfold(
            state,
            |(mut inner, this, id, first, done)| async move {
                if done {
                    return None;
                }
                // The export client's own timeout bounds the wait for response headers;
                // the first body chunk may follow a long daemon-side copy, later ones not.
                let next = if first {
                    tokio::time::timeout(EXPORT_START_TIMEOUT, inner.next()).await
                } else {
                    tokio::time::timeout(this.idle, inner.next()).await
                };
                let item = match next {
                    Err(_) => Err(DockerError::Stalled {
                        id: id.to_string(),
                        secs: if first {
                            EXPORT_START_TIMEOUT
                        } else {
                            this.idle
                        }
                        .as_secs(),
                    }),
                    Ok(None) => return None,
                    Ok(Some(Ok(b))) => Ok(b),
                    // The export client's own (long) header timeout, not API_TIMEOUT.
                    Ok(Some(Err(bollard::errors::Error::RequestTimeoutError))) => {
                        Err(DockerError::Stalled {
                            id: id.to_string(),
                            secs: EXPORT_START_TIMEOUT.as_secs(),
                        })
                    }
                    Ok(Some(Err(e))) => {
                        Err(match this.map_err(e, "export the image", id.as_str()) {
                            // Headers arrived, so the daemon was reachable: a transport error
                            // now means the stream was cut, which "cannot reach" would hide.
                            DockerError::Unavailable { address, reason } if !first => {
                                DockerError::ExportInterrupted {
                                    address,
                                    id: id.to_string(),
                                    reason,
                                }
                            }
                            other => other,
                        })
                    }
                };
                let stop = item.is_err();
                Some((item, (inner, this, id, false, stop)))
            },
        ))
    }

    fn map_err(&self, e: bollard::errors::Error, what: &'static str, subject: &str) -> DockerError {
        use bollard::errors::Error as E;
        match e {
            E::DockerResponseServerError {
                status_code: 404,
                message,
            } => DockerError::NotFound(if subject.is_empty() {
                message
            } else {
                subject.to_owned()
            }),
            E::DockerResponseServerError { message, .. } => DockerError::Daemon {
                address: self.address.clone(),
                what,
                message: first_line(&message),
            },
            E::RequestTimeoutError => DockerError::Unavailable {
                address: self.address.clone(),
                reason: format!("no answer within {} s", API_TIMEOUT.as_secs()),
            },
            E::HyperLegacyError { .. }
            | E::IOError { .. }
            | E::SocketNotFoundError(_)
            | E::HyperResponseError { .. } => DockerError::Unavailable {
                address: self.address.clone(),
                reason: root_cause(&e),
            },
            other => DockerError::Daemon {
                address: self.address.clone(),
                what,
                message: first_line(&other.to_string()),
            },
        }
    }
}

/// `address` with the password of a `USER:PASSWORD@` part replaced by `***`, so no
/// error or log line repeats it.
fn redact_password(address: &str) -> String {
    let Some((scheme, rest)) = address.split_once("://") else {
        return address.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return address.to_owned();
    };
    match rest[..at].split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{}", &rest[at + 1..]),
        None => address.to_owned(),
    }
}

const UNSUPPORTED_SCHEME: &str =
    "unsupported scheme (use unix://PATH, tcp://HOST:PORT, https://HOST:PORT or ssh://USER@HOST)";

/// Builds a bollard client for `address` with `timeout`, following the docker CLI's rules
/// (TLS from `cert_path`, else `DOCKER_CERT_PATH` when TLS is asked for).
fn connect(
    address: &str,
    cert_path: Option<&Path>,
    timeout: Duration,
) -> Result<Docker, DockerError> {
    let secs = timeout.as_secs();
    let config_err = |reason: String| DockerError::Config {
        address: address.to_owned(),
        reason,
    };
    let tls_verify =
        cert_path.is_some() || std::env::var("DOCKER_TLS_VERIFY").is_ok_and(|v| !v.is_empty());
    let result = if address.starts_with("unix://") {
        Docker::connect_with_unix(address, secs, API_DEFAULT_VERSION)
    } else if address.starts_with("ssh://") {
        let target = ssh::SshTarget::parse(address).map_err(config_err)?;
        ssh::connect(target, secs)
    } else if address.starts_with("https://")
        || (tls_verify && (address.starts_with("tcp://") || address.starts_with("http://")))
    {
        let dir = cert_path
            .map(Path::to_path_buf)
            .or_else(cert_dir)
            .ok_or_else(|| config_err("no DOCKER_CERT_PATH and no home directory".into()))?;
        for file in ["ca.pem", "cert.pem", "key.pem"] {
            if !dir.join(file).is_file() {
                return Err(config_err(format!(
                    "no {file} in {} (TLS hosts need ca.pem, cert.pem and key.pem there)",
                    dir.display()
                )));
            }
        }
        let host = address
            .replacen("https://", "tcp://", 1)
            .replacen("http://", "tcp://", 1);
        // bollard's TLS takes rustls' process-wide provider, which rustls cannot choose
        // when a build enables both of its providers (a workspace build does: the e2e
        // harness wants ring); name ours. An error only means one is installed already.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        Docker::connect_with_ssl(
            &host,
            &dir.join("key.pem"),
            &dir.join("cert.pem"),
            &dir.join("ca.pem"),
            secs,
            API_DEFAULT_VERSION,
        )
    } else if address.starts_with("tcp://") || address.starts_with("http://") {
        Docker::connect_with_http(address, secs, API_DEFAULT_VERSION)
    } else {
        return Err(config_err(UNSUPPORTED_SCHEME.into()));
    };
    result.map_err(|e| match e {
        bollard::errors::Error::SocketNotFoundError(_) => DockerError::Unavailable {
            address: address.to_owned(),
            reason: "No such file or directory".into(),
        },
        e => config_err(root_cause(&e)),
    })
}

fn cert_dir() -> Option<PathBuf> {
    match std::env::var_os("DOCKER_CERT_PATH").filter(|v| !v.is_empty()) {
        Some(p) => Some(PathBuf::from(p)),
        None => std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker")),
    }
}

/// The innermost cause, without Rust's " (os error N)" suffix: "No such file or directory".
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur: &(dyn std::error::Error + 'static) = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    let msg = cur.to_string();
    let msg = match msg.find(" (os error ") {
        Some(i) => msg[..i].to_owned(),
        None => msg,
    };
    first_line(&msg)
}

fn first_line(s: &str) -> String {
    s.lines()
        .next()
        .unwrap_or("")
        .trim()
        .chars()
        .take(300)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsupported_host_is_a_config_error() {
        assert!(matches!(
            DockerClient::new(Some("ftp://x")),
            Err(DockerError::Config { .. })
        ));
        assert!(DockerClient::new(Some("unix:///nonexistent.sock")).is_ok());
    }

    #[test]
    fn passwords_in_host_addresses_are_refused_and_never_repeated() {
        assert_eq!(redact_password("ssh://ann:pw@h:22"), "ssh://ann:***@h:22");
        assert_eq!(
            redact_password("tcp://u:p@h:2375/x@y"),
            "tcp://u:***@h:2375/x@y"
        );
        assert_eq!(redact_password("ssh://ann@h"), "ssh://ann@h");
        assert_eq!(
            redact_password("unix:///run/a@b.sock"),
            "unix:///run/a@b.sock"
        );
        for address in ["ssh://ann:s3cret@h", "tcp://u:s3cret@h:2375"] {
            let err = DockerClient::new(Some(address)).err().unwrap().to_string();
            assert!(err.contains("without a password"), "{err}");
            assert!(!err.contains("s3cret"), "{err}");
        }
    }

    #[tokio::test]
    async fn missing_socket_is_unavailable_with_the_address() {
        let c = DockerClient::new(Some("unix:///nonexistent.sock")).map_err(|e| e.to_string());
        let err = match c {
            Ok(c) => c.ping().await.err().map(|e| e.to_string()),
            Err(e) => Some(e),
        };
        let msg = err.unwrap_or_default();
        assert!(
            msg.starts_with("cannot reach the Docker daemon at unix:///nonexistent.sock ("),
            "{msg}"
        );
        assert!(msg.contains("No such file or directory"), "{msg}");
    }
}
