//! `manifest.json` of `docker save`: a list of `{Config, RepoTags, Layers}` whose paths
//! name members of the archive (`<hex>.json` and `<hex>/layer.tar` in classic saves,
//! `blobs/sha256/<hex>` from Docker ≥ 25). `LayerSources` (foreign layers) is ignored.
//!
//! moby's rules apply: `null` is refused ("manifest cannot be null"), `[]` means no images.

use super::oci::parse_json;
use super::ArchiveError;
use serde::Deserialize;

/// One `manifest.json` entry.
#[derive(Debug, Clone, Deserialize)]
pub struct SaveEntry {
    #[serde(rename = "Config")]
    pub config: String,
    #[serde(rename = "RepoTags", default)]
    pub repo_tags: Option<Vec<String>>,
    #[serde(rename = "Layers", default)]
    pub layers: Option<Vec<String>>,
}

/// Parses `manifest.json`.
pub fn parse(bytes: &[u8]) -> Result<Vec<SaveEntry>, ArchiveError> {
    let entries: Option<Vec<SaveEntry>> = parse_json("manifest.json", bytes)?;
    entries.ok_or(ArchiveError::NullManifest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_empty_and_entries() {
        assert!(matches!(parse(b"null"), Err(ArchiveError::NullManifest)));
        assert!(parse(b"[]").unwrap().is_empty());
        let e =
            parse(br#"[{"Config":"a.json","RepoTags":null,"Layers":["x/layer.tar"]}]"#).unwrap();
        assert_eq!(e[0].config, "a.json");
        assert_eq!(
            e[0].layers.as_deref(),
            Some(&["x/layer.tar".to_owned()][..])
        );
        assert!(matches!(parse(b"{}"), Err(ArchiveError::Json { .. })));
    }
}
