//! Sharing-map inputs from the Docker daemon: every image `docker image ls` shows, built
//! from the daemon's list, inspect and history answers only (no layer is read): diff IDs
//! from `RootFS.Layers`, each layer's size from the history step that made it. The
//! figures are the ones `docker system df -v` shows: the daemon's history sizes are the
//! layer store's per-layer sizes, and [`app::compare::sharing_map`] keys layers by chain
//! ID as the layer store does. Used by `strata sharing` and `GET /api/v1/sharing`.
//!
//! The Engine API's history does not say which steps made no layer, so steps are tied to
//! layers by [`layer_sizes`]: a step with bytes always made a layer; a zero-byte step made
//! one unless it is a metadata-only instruction; if the count still disagrees, zero-byte
//! steps are re-assigned (their size is 0 either way). An image whose history cannot be
//! aligned is left out with a note rather than given made-up sizes.

use super::docker::{DockerClient, DockerError};
use app::compare::SharingInput;
use app::model::Digest;
use bollard::models::ImageHistoryResponseItem;
use futures_util::{stream, StreamExt, TryStreamExt};
use std::collections::HashMap;

/// Inspect + history requests in flight at once.
const CONCURRENT_REQUESTS: usize = 8;

/// Instructions that never make a layer.
const METADATA_ONLY: [&str; 13] = [
    "ENV",
    "CMD",
    "LABEL",
    "EXPOSE",
    "USER",
    "ENTRYPOINT",
    "ARG",
    "VOLUME",
    "STOPSIGNAL",
    "HEALTHCHECK",
    "SHELL",
    "ONBUILD",
    "MAINTAINER",
];

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

/// Whether a history step (created_by) is an instruction that makes no layer.
pub(crate) fn is_metadata_only(created_by: &str) -> bool {
    let text = created_by.trim();
    // The classic builder writes `/bin/sh -c #(nop)  ENV ...` for non-RUN steps; of those
    // ADD, COPY and WORKDIR commit a layer.
    let nop = text
        .strip_prefix("/bin/sh -c #(nop)")
        .or_else(|| text.strip_prefix("#(nop)"))
        .map(str::trim_start);
    let word = nop.unwrap_or(text).split_whitespace().next().unwrap_or("");
    match nop {
        Some(_) => !matches!(word, "ADD" | "COPY" | "WORKDIR"),
        None => METADATA_ONLY.contains(&word),
    }
}

/// The size of each of `layer_count` layers from history steps `(size, created_by)`,
/// oldest first; `None` when they cannot be matched (more sized steps than layers, or
/// fewer steps than layers).
pub fn layer_sizes(steps: &[(u64, &str)], layer_count: usize) -> Option<Vec<u64>> {
    if steps.len() == layer_count {
        return Some(steps.iter().map(|s| s.0).collect());
    }
    if steps.len() < layer_count {
        return None;
    }
    let mut makes: Vec<bool> = steps
        .iter()
        .map(|(size, by)| *size > 0 || !is_metadata_only(by))
        .collect();
    let mut count = makes.iter().filter(|m| **m).count();
    // Too many: the newest zero-byte steps are the likeliest empty ones (ENV/CMD tails).
    for i in (0..steps.len()).rev() {
        if count <= layer_count {
            break;
        }
        if makes[i] && steps[i].0 == 0 {
            makes[i] = false;
            count -= 1;
        }
    }
    // Too few: zero-byte steps judged metadata-only made a layer after all, oldest first.
    for made in makes.iter_mut() {
        if count >= layer_count {
            break;
        }
        if !*made {
            *made = true;
            count += 1;
        }
    }
    (count == layer_count).then(|| {
        steps
            .iter()
            .zip(&makes)
            .filter(|(_, m)| **m)
            .map(|(s, _)| s.0)
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classic_builder_steps_align_with_layers() {
        let steps = [
            (0, "/bin/sh -c #(nop) ENV A=1"),
            (100, "/bin/sh -c #(nop) COPY file:abc in /bin/busybox "),
            (0, "/bin/sh -c #(nop) WORKDIR /app"),
            (50, "/bin/busybox sh -c make"),
            (0, "/bin/sh -c #(nop)  CMD [\"app\"]"),
            (0, "/bin/sh -c #(nop)  LABEL x=y"),
        ];
        assert_eq!(layer_sizes(&steps, 3), Some(vec![100, 0, 50]));
    }

    #[test]
    fn buildkit_steps_and_count_fixes() {
        let steps = [
            (10, "COPY busybox /bin/busybox # buildkit"),
            (0, "ENV X=1"),
            (0, "RUN /bin/busybox true # buildkit"),
            (0, "WORKDIR /x"),
        ];
        // RUN and WORKDIR look like layers: one of them was empty; the newest goes.
        assert_eq!(layer_sizes(&steps, 2), Some(vec![10, 0]));
        // Only sized steps and one more: the oldest metadata step is taken.
        assert_eq!(layer_sizes(&steps, 4), Some(vec![10, 0, 0, 0]));
        assert_eq!(layer_sizes(&steps, 5), None);
        // More sized steps than layers cannot be matched.
        assert_eq!(
            layer_sizes(&[(1, "RUN a"), (2, "RUN b"), (0, "ENV")], 1),
            None
        );
        // One step per layer (docker import): every step is a layer.
        assert_eq!(layer_sizes(&[(0, "ENV X=1"), (7, "")], 2), Some(vec![0, 7]));
    }

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
