//! Aligning the daemon's `docker history` answer with the image's layers.
//!
//! The Engine API's history lists one item per `config.history` entry, newest first,
//! but does not say which ones were `empty_layer`. A step made a layer when its size is
//! non-zero or its instruction is one that writes files; metadata-only instructions
//! (ENV, CMD, LABEL, ...) with size 0 did not. When the count still disagrees with the
//! layer count, steps are aligned from the bottom and the mismatch is flagged.

use crate::source::sharing::is_metadata_only;
use app::api::{HistoryStep, ImageDetail, ImageSummary, LayerInfo, RunConfig};
use app::model::Digest;
use bollard::models::{ImageHistoryResponseItem, ImageInspect};

/// History steps oldest first, each tied to its layer where one can be found.
pub fn align(hist: &[ImageHistoryResponseItem], layer_count: usize) -> Vec<HistoryStep> {
    let oldest_first: Vec<&ImageHistoryResponseItem> = hist.iter().rev().collect();
    let mut makes_layer: Vec<bool> = oldest_first
        .iter()
        .map(|h| h.size > 0 || !is_metadata_only(&h.created_by))
        .collect();
    let count = makes_layer.iter().filter(|m| **m).count();
    if count != layer_count && oldest_first.len() == layer_count {
        // One history item per layer (e.g. `docker import`): every step is a layer.
        makes_layer.iter_mut().for_each(|m| *m = true);
    }
    let mut next_layer = 0u32;
    oldest_first
        .iter()
        .zip(makes_layer)
        .enumerate()
        .map(|(i, (h, made))| {
            let layer = (made && (next_layer as usize) < layer_count).then(|| {
                next_layer += 1;
                next_layer - 1
            });
            HistoryStep {
                index: u32::try_from(i).unwrap_or(u32::MAX),
                created: (h.created > 0).then(|| h.created.to_string()),
                created_by: h.created_by.clone(),
                comment: (!h.comment.is_empty()).then(|| h.comment.clone()),
                empty_layer: !made,
                layer,
                diff_id: None,
                size: u64::try_from(h.size).unwrap_or(0),
            }
        })
        .collect()
}

/// The full detail answer from inspect + history.
pub fn detail(
    summary: ImageSummary,
    inspect: &ImageInspect,
    hist: &[ImageHistoryResponseItem],
    diff_ids: &[Digest],
) -> ImageDetail {
    let mut history = align(hist, diff_ids.len());
    for step in &mut history {
        step.diff_id = step
            .layer
            .and_then(|l| diff_ids.get(l as usize))
            .map(Digest::to_string);
    }
    let made = history.iter().filter(|s| s.layer.is_some()).count();
    let layers = diff_ids
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let step = history.iter().find(|s| s.layer == Some(i as u32));
            LayerInfo {
                index: i as u32,
                diff_id: d.to_string(),
                size: step.map_or(0, |s| s.size),
                history_index: step.map(|s| s.index),
                created_by: step.map(|s| s.created_by.clone()).unwrap_or_default(),
            }
        })
        .collect();
    let history_mismatch = made != diff_ids.len()
        || history.iter().filter(|s| !s.empty_layer).count() != diff_ids.len();
    let cfg = inspect.config.clone().unwrap_or_default();
    ImageDetail {
        summary,
        architecture: inspect.architecture.clone().unwrap_or_default(),
        os: inspect.os.clone().unwrap_or_default(),
        variant: inspect.variant.clone().filter(|v| !v.is_empty()),
        author: inspect.author.clone().filter(|a| !a.is_empty()),
        created_at: inspect.created.as_ref().map(|c| c.to_string()),
        config: RunConfig {
            user: cfg.user.filter(|u| !u.is_empty()),
            env: cfg.env.unwrap_or_default(),
            entrypoint: cfg.entrypoint.unwrap_or_default(),
            cmd: cfg.cmd.unwrap_or_default(),
            working_dir: cfg.working_dir.filter(|w| !w.is_empty()),
            exposed_ports: sorted(cfg.exposed_ports.unwrap_or_default()),
            volumes: sorted(cfg.volumes.unwrap_or_default()),
            labels: cfg.labels.unwrap_or_default().into_iter().collect(),
            stop_signal: cfg.stop_signal.filter(|s| !s.is_empty()),
            shell: cfg.shell.filter(|s| !s.is_empty()),
        },
        history,
        layers,
        history_mismatch,
    }
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(created_by: &str, size: i64) -> ImageHistoryResponseItem {
        ImageHistoryResponseItem {
            created_by: created_by.into(),
            size,
            ..Default::default()
        }
    }

    #[test]
    fn empty_steps_are_kept_and_layers_aligned() {
        // Newest first, as the daemon answers.
        let hist = vec![
            item("CMD [\"sh\"]", 0),
            item("COPY x /x # buildkit", 10),
            item("ENV A=1", 0),
            item("RUN mkdir /d # buildkit", 0),
            item("/bin/sh -c #(nop) ADD file:abc in /", 5),
        ];
        let steps = align(&hist, 3);
        let layers: Vec<Option<u32>> = steps.iter().map(|s| s.layer).collect();
        assert_eq!(layers, vec![Some(0), Some(1), None, Some(2), None]);
        assert!(steps[2].empty_layer && steps[4].empty_layer);
        assert_eq!(steps[3].size, 10);
    }
}
