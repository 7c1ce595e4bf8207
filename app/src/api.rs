//! Wire DTOs of the HTTP API (`/api/v1`), shared by the server and the browser.
//!
//! Serde only: these types carry no behaviour beyond small constructors and are kept
//! apart from the domain model so the engine can change without breaking clients.
//! Invariants: sizes are `u64` bytes (never preformatted strings); digests travel as
//! `sha256:<hex>` strings and are typed [`Digest`]s on both sides; every closed set of
//! words (error codes, stages, flags, causes, sort orders) is an enum with its serde
//! spelling, so neither side matches string literals; raw file names travel twice, as
//! lossless standard base64 (`name_raw`) and as an escaped display string (`name`, see
//! [`crate::fmt::display_path`]).

mod analysis;
mod compare;
mod error;
mod files;
mod findings;
mod registries;
mod tree;
mod treemap;

pub use crate::model::Digest;
pub use analysis::*;
pub use compare::*;
pub use error::*;
pub use files::*;
pub use findings::*;
pub use registries::*;
pub use tree::*;
pub use treemap::*;

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `GET /api/v1/health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    pub version: String,
    pub docker: DockerHealth,
}

/// Whether the Docker daemon answered, where it was tried, and why not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DockerHealth {
    pub up: bool,
    /// The address tried, e.g. `unix:///var/run/docker.sock`.
    pub address: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Why the daemon is considered down.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// With several named Docker hosts (`serve --docker NAME=URL`), each one; `up` is then
    /// true while any answers, and the fields above describe the set.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<HostHealth>,
}

/// One named Docker host and whether it answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostHealth {
    /// The name given with `--docker NAME=URL`.
    pub name: String,
    pub up: bool,
    /// The URL, e.g. `ssh://deploy@build-1` or `unix:///run/podman/podman.sock`.
    pub address: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// One local image, as `docker image ls` plus `docker system df -v` describe it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageSummary {
    pub id: Digest,
    /// First 12 hex digits of the ID.
    pub short_id: String,
    /// `name:tag` references; empty for a dangling image.
    pub tags: Vec<String>,
    pub repo_digests: Vec<String>,
    /// Seconds since the Unix epoch.
    pub created: i64,
    /// Total bytes of the image's layers.
    pub size: u64,
    /// Bytes in layers also used by other local images (`None` when unknown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared_size: Option<u64>,
    /// Bytes only this image uses (`None` when unknown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unique_size: Option<u64>,
    pub layer_count: u32,
    /// No tag points at it.
    pub dangling: bool,
    pub labels: BTreeMap<String, String>,
    /// Where the image was opened from when it is not a daemon image listed by
    /// `docker image ls` (`docker-archive:/x.tar`, `oci:/layout`, ...); `None` for the daemon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The named Docker host this row was listed by (`serve --docker NAME=URL`); `None`
    /// with a single daemon. The same image on two hosts is two rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

/// `GET /api/v1/images`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageList {
    pub images: Vec<ImageSummary>,
    pub totals: ImageTotals,
}

/// Sums over the listed images.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageTotals {
    pub count: u64,
    /// Sum of image sizes (counts shared layers once per image, like `docker image ls`).
    pub size: u64,
    /// Sum of unique sizes (known ones only).
    pub unique_size: u64,
    pub dangling: u64,
}

/// `GET /api/v1/images/{id}`: inspect, config and history aligned to layers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageDetail {
    pub summary: ImageSummary,
    pub architecture: String,
    pub os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// The config's `created` timestamp as written (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    pub config: RunConfig,
    /// Every build step, empty ones included, in order.
    pub history: Vec<HistoryStep>,
    /// One per layer (bottom first).
    pub layers: Vec<LayerInfo>,
    /// The non-empty history steps do not match the layer count (shown as a flag).
    pub history_mismatch: bool,
    /// Every named Docker host that holds this image (the one described first); empty
    /// with a single daemon.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<String>,
}

/// What a container starts with (the image config's `config`), as plain text values.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    pub env: Vec<String>,
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    pub exposed_ports: Vec<String>,
    pub volumes: Vec<String>,
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shell: Option<Vec<String>>,
}

/// One Dockerfile step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryStep {
    /// Position in `config.history`.
    pub index: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    pub created_by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// The step made no layer (ENV, CMD, LABEL, ...).
    pub empty_layer: bool,
    /// The layer this step made, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diff_id: Option<Digest>,
    /// Size of that layer in bytes (0 for empty steps).
    pub size: u64,
}

/// One layer of an image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerInfo {
    pub index: u32,
    pub diff_id: Digest,
    /// Content bytes as `docker history` reports them.
    pub size: u64,
    /// The history step that made it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history_index: Option<u32>,
    pub created_by: String,
}

/// Lossless standard base64 of raw bytes (names need not be UTF-8).
pub fn encode_raw(raw: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(raw)
}

/// Inverse of [`encode_raw`].
pub fn decode_raw(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_names_round_trip_losslessly() {
        let raw = b"\xff\x00a/b\n";
        assert_eq!(decode_raw(&encode_raw(raw)).unwrap(), raw.to_vec());
    }

    #[test]
    fn sizes_are_numbers_on_the_wire() {
        let t = ImageTotals {
            count: 1,
            size: u64::MAX,
            unique_size: 0,
            dangling: 0,
        };
        let json = serde_json::to_string(&t).unwrap();
        assert!(json.contains("18446744073709551615"), "{json}");
    }
}
