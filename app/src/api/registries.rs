//! DTOs of the registry routes (`/api/v1/registries/...`): the registries `strata serve
//! --registry NAME=HOST` was given, pages of their catalogs and tag lists, and what one
//! tag is (from its manifest and config, without downloading layers).

use crate::model::Digest;
use serde::{Deserialize, Serialize};

/// `GET /api/v1/registries`: one configured registry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryInfo {
    /// The name given with `--registry NAME=…` (the only handle clients use).
    pub name: String,
    /// `host[:port]`, for display.
    pub host: String,
}

/// One page of a catalog or a tag list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamePage {
    pub items: Vec<String>,
    /// Pass as `last` for the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// `GET /api/v1/registries/{name}/tag?repository=R&tag=T`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagDetail {
    pub repository: String,
    pub tag: String,
    /// The digest the tag points at (an index's, for multi-platform tags).
    pub digest: Digest,
    /// The platforms an index offers (empty for a single-platform tag).
    pub platforms: Vec<String>,
    /// Of the image for the chosen platform (the server's, unless asked).
    pub platform: Option<String>,
    /// The config's `created`, RFC 3339.
    pub created: Option<String>,
    pub layer_count: usize,
    /// Config plus layer blobs, as a client downloads them.
    pub compressed_size: u64,
    /// Content bytes of the layers, when every layer has been read before (else absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
}

/// `POST /api/v1/registries/{name}/open`: the tag to open as an image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenTag {
    pub repository: String,
    pub tag: String,
    /// `os/arch[/variant]`; default: the server's platform.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
}
