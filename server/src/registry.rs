//! Images in OCI distribution registries, read without a daemon: references
//! ([`reference`]), credentials docker already has ([`credentials`]), the auth handshake
//! ([`auth`]), the HTTP client with its retry, stall and size rules ([`client`]) and the
//! on-disk blob store shared by every source ([`blobs`]). The engine
//! (`engine::registry`) turns a reference into an [`app::model::Image`] through them.
//!
//! Why not `oci-client`: it reads manifests and error bodies whole with no size limit
//! (a hostile registry could exhaust memory), has no identity-token exchange, no retry,
//! `Retry-After` or resume policy, and no stall timeout per read. This client is a few
//! hundred lines over `reqwest` (which `oci-client` uses too) and decodes documents with
//! `app::distribution`, the same pure code the tests drive directly.
//!
//! Security invariants:
//! - Plain HTTP only for loopback hosts (127.0.0.0/8, ::1, `localhost`) and names given
//!   with `--insecure-registry`; everything else is HTTPS with the system roots plus
//!   `--registry-ca` files.
//! - `Authorization` is never sent to a redirect target on another host, port or scheme
//!   (reqwest strips it; a test checks it with a second server).
//! - Every body read is capped; blobs are streamed, verified against their digest and
//!   size, and only then renamed into the store.

pub mod auth;
pub mod blobs;
pub mod client;
pub mod credentials;
pub mod reference;

pub use blobs::BlobStore;
pub use client::RegistryClient;
pub use reference::RegistryRef;

use app::distribution::DistributionError;
use app::model::Digest;
use std::path::PathBuf;
use std::time::Duration;

/// How registries are reached.
#[derive(Debug, Clone)]
pub struct RegistrySettings {
    /// The docker config with credentials; `None` = `$DOCKER_CONFIG` or `~/.docker`.
    pub config_file: Option<PathBuf>,
    /// Extra CA certificates (PEM) trusted for registries.
    pub ca_files: Vec<PathBuf>,
    /// Registries (`host[:port]`) allowed over plain HTTP besides loopback ones.
    pub insecure: Vec<String>,
    /// Longest silence tolerated while reading an answer.
    pub stall_timeout: Duration,
    /// Attempts for one request (connection errors, 5xx, 429, stalls).
    pub attempts: u32,
    /// Blobs fetched at the same time for one image.
    pub parallel_blobs: usize,
}

impl Default for RegistrySettings {
    fn default() -> Self {
        RegistrySettings {
            config_file: None,
            ca_files: Vec::new(),
            insecure: Vec::new(),
            stall_timeout: Duration::from_secs(30),
            attempts: 4,
            parallel_blobs: 3,
        }
    }
}

/// Why a registry could not be read. Every message is one line that names the registry
/// and, where there is one, the flag or command that fixes it.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    #[error("registry settings: {0}")]
    Settings(String),
    #[error("cannot reach registry {registry}: {message}")]
    Unreachable { registry: String, message: String },
    #[error("TLS with registry {registry} failed: {message}; for a private CA pass --registry-ca FILE, for a plain-HTTP registry --insecure-registry {registry}")]
    Tls { registry: String, message: String },
    #[error("registry {registry} refused {what}: {why}")]
    Unauthorized {
        registry: String,
        what: String,
        why: String,
    },
    #[error("{what} not found in registry {registry}")]
    NotFound { registry: String, what: String },
    #[error("registry {registry} answered {status} for {what}: {message}")]
    Status {
        registry: String,
        what: String,
        status: u16,
        message: String,
    },
    #[error(
        "registry {registry} is rate-limiting requests (429) for {what}; retry in {retry_after} s"
    )]
    RateLimited {
        registry: String,
        what: String,
        retry_after: u64,
    },
    #[error("registry {registry} stopped sending {what} ({attempts} attempts, {secs} s of silence each)")]
    Stalled {
        registry: String,
        what: String,
        attempts: u32,
        secs: u64,
    },
    #[error("{what} from registry {registry} is larger than the limit of {limit} bytes")]
    TooLarge {
        registry: String,
        what: String,
        limit: u64,
    },
    #[error("{what} from registry {registry} does not match its digest: expected {expected}, got {actual}; nothing was cached")]
    DigestMismatch {
        registry: String,
        what: String,
        expected: Digest,
        actual: String,
    },
    #[error("{registry}: {error}")]
    Distribution {
        registry: String,
        error: DistributionError,
    },
    #[error("{0}")]
    Credentials(#[from] credentials::CredentialError),
    #[error("blob store {path}: {message}")]
    Store { path: PathBuf, message: String },
}

impl RegistryError {
    /// True when the reference names nothing (HTTP 404 at the API).
    pub fn is_not_found(&self) -> bool {
        matches!(self, RegistryError::NotFound { .. })
    }

    /// True when the registry could not be reached or kept failing (HTTP 502).
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            RegistryError::Unreachable { .. }
                | RegistryError::Tls { .. }
                | RegistryError::RateLimited { .. }
                | RegistryError::Stalled { .. }
                | RegistryError::Status { .. }
        )
    }
}

/// True for a host (`name[:port]`) on the loopback network, where docker allows HTTP.
pub fn is_loopback(host: &str) -> bool {
    let name = match host.rsplit_once(':') {
        Some((n, p)) if p.bytes().all(|b| b.is_ascii_digit()) => n,
        _ => host,
    };
    let name = name.trim_start_matches('[').trim_end_matches(']');
    name == "localhost"
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_127_slash_8_and_localhost() {
        for h in ["127.0.0.1:5000", "127.1.2.3", "localhost:80", "[::1]:5000"] {
            assert!(is_loopback(h), "{h}");
        }
        for h in ["10.0.0.1:5000", "example.com", "127.0.0.1.nip.io"] {
            assert!(!is_loopback(h), "{h}");
        }
    }
}
