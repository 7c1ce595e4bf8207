//! Sharing-map inputs from the Docker daemon: every image `docker image ls` shows, built
//! from the daemon's list, inspect and history answers only (no layer is read): diff IDs
//! from `RootFS.Layers`, each layer's size from the history step that made it. The
//! figures are the ones `docker system df -v` shows: the daemon's history sizes are the
//! layer store's per-layer sizes, and [`app::compare::sharing_map`] keys layers by chain
//! ID as the layer store does. Used by `strata sharing` and `GET /api/v1/sharing`.
//!
//! The Engine API's history does not say which steps made no layer, so steps are tied to
//! layers by [`app::history::layer_sizes`]: a step with bytes always made a layer; a zero-byte step made
//! one unless it is a metadata-only instruction; if the count still disagrees, zero-byte
//! steps are re-assigned (their size is 0 either way). An image whose history cannot be
//! aligned is left out with a note rather than given made-up sizes.

use super::docker::{DockerClient, DockerError};
use app::compare::SharingInput;
use app::history::layer_sizes;
use app::model::Digest;
use bollard::models::ImageHistoryResponseItem;
use futures_util::{stream, StreamExt, TryStreamExt};
use std::collections::HashMap;

/// Inspect + history requests in flight at once.
const CONCURRENT_REQUESTS: usize = 8;

/// The sharing inputs of every listed image, and a note per image left out. Images
/// removed between the list and the inspect are skipped silently.
pub async fn daemon_inputs(
    docker: &DockerClient,
) -> Result<(Vec<SharingInput>, Vec<String>), DockerError> {
    let mut list = docker.list_images(&HashMap::new()).await?;
    // Newest first, as `docker image ls` shows them (the daemon's own order varies).
    list.sort_by(|a, b| b.created.cmp(&a.created).then_with(|| a.id.cmp(&b.id)));
    let results: Vec<Option<Result<SharingInput, String>>> = stream::iter(list)
        .map(|summary| async move {
            let Ok(id) = Digest::parse(&summary.id) else {
                return Ok(Some(Err(format!(
                    "image {:?}: the daemon gave an unusable ID; left out",
                    summary.id
                ))));
            };
            let inspect = match docker.inspect(&id).await {
                Ok(i) => i,
                Err(DockerError::NotFound(_)) => return Ok(None),
                Err(e) => return Err(e),
            };
            let history = match docker.history(&id).await {
                Ok(h) => h,
                Err(DockerError::NotFound(_)) => return Ok(None),
                Err(e) => return Err(e),
            };
            let tags: Vec<String> = summary
                .repo_tags
                .into_iter()
                .filter(|t| t != "<none>:<none>")
                .collect();
            Ok(Some(input(
                id,
                tags,
                inspect.root_fs.and_then(|r| r.layers),
                &history,
            )))
        })
        .buffered(CONCURRENT_REQUESTS)
        .try_collect()
        .await?;
    let mut inputs = Vec::new();
    let mut skipped = Vec::new();
    for r in results.into_iter().flatten() {
        match r {
            Ok(i) => inputs.push(i),
            Err(s) => skipped.push(s),
        }
    }
    Ok((inputs, skipped))
}

/// One image's input from its inspect `RootFS.Layers` and its history.
fn input(
    id: Digest,
    tags: Vec<String>,
    layers: Option<Vec<String>>,
    history: &[ImageHistoryResponseItem],
) -> Result<SharingInput, String> {
    let name = tags
        .first()
        .cloned()
        .unwrap_or_else(|| id.short().to_owned());
    let diff_ids = layers
        .unwrap_or_default()
        .iter()
        .map(|l| Digest::parse(l))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("image {name}: bad diff ID in RootFS.Layers ({e}); left out"))?;
    let steps: Vec<(u64, &str)> = history
        .iter()
        .rev()
        .map(|h| (u64::try_from(h.size).unwrap_or(0), h.created_by.as_str()))
        .collect();
    let layer_sizes = layer_sizes(&steps, diff_ids.len()).ok_or_else(|| {
        format!(
            "image {name}: its history ({} steps) cannot be matched to its {} layers; left out",
            steps.len(),
            diff_ids.len()
        )
    })?;
    Ok(SharingInput {
        id,
        tags,
        diff_ids,
        layer_sizes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_reports_unusable_history() {
        let id = Digest::of(b"image");
        let layer = Digest::of(b"layer").to_string();
        let err = input(
            id.clone(),
            vec!["x:1".into()],
            Some(vec![layer.clone()]),
            &[],
        )
        .unwrap_err();
        assert!(err.starts_with("image x:1: its history (0 steps)"), "{err}");
        let hist = ImageHistoryResponseItem {
            size: 42,
            created_by: "COPY a /a".into(),
            ..Default::default()
        };
        let ok = input(id, vec![], Some(vec![layer]), &[hist]).unwrap();
        assert_eq!(ok.layer_sizes, vec![42]);
        let bad = input(Digest::of(b"i2"), vec![], Some(vec!["nope".into()]), &[]).unwrap_err();
        assert!(bad.contains("bad diff ID"), "{bad}");
    }
}
