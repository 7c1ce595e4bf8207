//! History steps tied to layers. Owns the rules that decide which `config.history`
//! step made which layer: exactly from a loaded config ([`exact_history`]), and by
//! heuristics from the daemon's `docker history` answer ([`align`], [`daemon_history`],
//! [`layer_sizes`]).
//!
//! The Engine API's history lists one item per `config.history` entry, newest first,
//! but does not say which ones were `empty_layer`. A step made a layer when its size is
//! non-zero or its instruction is one that writes files; metadata-only instructions
//! (ENV, CMD, LABEL, ...) with size 0 did not. When the count still disagrees with the
//! layer count, steps are aligned from the bottom and the mismatch is flagged.
//!
//! Pure: the server converts the daemon's answer into [`HistoryItem`]s first.

use crate::api::{HistoryStep, ImageDetail, LayerInfo};
use crate::model::{Digest, Image};

/// One item of the daemon's `GET /images/{id}/history` answer, as far as alignment needs it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistoryItem {
    /// Unix seconds; 0 when unknown.
    pub created: i64,
    pub created_by: String,
    pub comment: String,
    /// Bytes the step added, as the daemon's layer store counts them.
    pub size: i64,
}

/// History steps oldest first, each tied to its layer where one can be found.
pub fn align(hist: &[HistoryItem], layer_count: usize) -> Vec<HistoryStep> {
    let oldest_first: Vec<&HistoryItem> = hist.iter().rev().collect();
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

/// Fills `detail`'s history and layers from the daemon's history (newest first, as
/// the daemon answers) and the image's diff IDs, flagging a count that does not fit.
pub fn daemon_history(hist: &[HistoryItem], diff_ids: &[Digest], detail: &mut ImageDetail) {
    let mut history = align(hist, diff_ids.len());
    for step in &mut history {
        step.diff_id = step.layer.and_then(|l| diff_ids.get(l as usize)).cloned();
    }
    let made = history.iter().filter(|s| s.layer.is_some()).count();
    detail.layers = diff_ids
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let step = history.iter().find(|s| s.layer == Some(i as u32));
            LayerInfo {
                index: i as u32,
                diff_id: d.clone(),
                size: step.map_or(0, |s| s.size),
                history_index: step.map(|s| s.index),
                created_by: step.map(|s| s.created_by.clone()).unwrap_or_default(),
            }
        })
        .collect();
    detail.history_mismatch = made != diff_ids.len()
        || history.iter().filter(|s| !s.empty_layer).count() != diff_ids.len();
    detail.history = history;
}

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

/// Whether a history step (created_by) is an instruction that makes no layer.
pub fn is_metadata_only(created_by: &str) -> bool {
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

/// Replaces the daemon-derived history with the exact one from the loaded config
/// (`empty_layer` flags as written, sizes as read from the layers).
pub fn exact_history(image: &Image, detail: &mut ImageDetail) {
    let cfg = &image.config;
    let by_layer = cfg.layer_history();
    let mut step_layer: Vec<Option<u32>> = vec![None; cfg.history.len()];
    for (layer, step) in by_layer.iter().enumerate() {
        if let Some(s) = step.and_then(|s| step_layer.get_mut(s)) {
            *s = Some(layer as u32);
        }
    }
    let size_of = |l: u32| image.layers.get(l as usize).map_or(0, |x| x.content_size());
    detail.history = cfg
        .history
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let layer = step_layer.get(i).copied().flatten();
            HistoryStep {
                index: i as u32,
                created: h.created.clone(),
                created_by: h.created_by.clone().unwrap_or_default(),
                comment: h.comment.clone(),
                empty_layer: h.empty_layer,
                layer,
                diff_id: layer
                    .and_then(|l| cfg.rootfs.diff_ids.get(l as usize))
                    .cloned(),
                size: layer.map_or(0, size_of),
            }
        })
        .collect();
    detail.layers = cfg
        .rootfs
        .diff_ids
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let step = by_layer.get(i).copied().flatten();
            LayerInfo {
                index: i as u32,
                diff_id: d.clone(),
                size: size_of(i as u32),
                history_index: step.map(|s| s as u32),
                created_by: step
                    .and_then(|s| cfg.history.get(s))
                    .and_then(|h| h.created_by.clone())
                    .unwrap_or_default(),
            }
        })
        .collect();
    detail.history_mismatch = cfg.history_mismatch();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(created_by: &str, size: i64) -> HistoryItem {
        HistoryItem {
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
}
