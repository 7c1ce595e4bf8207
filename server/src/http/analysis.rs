//! What the server keeps for an analysed image: the loaded image, its stacked file tree
//! (`app::filetree`), Strata's waste analysis and the dive-compatible figures (both
//! `app::analysis`), computed once off the async runtime when the job finishes. Tree
//! and ranked-list requests read from here; nothing is recomputed per request except a
//! small per-layer cache of directories that contain changes
//! ([`StackedTree::changed_dirs`]).

use app::analysis::{self, AnalysisOptions};
use app::api::{AnalysisSummary, DiveFigures, LayerStats};
use app::filetree::{NodeId, StackedTree};
use app::model::Image;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;

/// Length of the largest-files list kept per image.
const TOP_FILES: usize = 1000;

/// The finished work for one image (named apart from the domain's
/// [`app::analysis::Analysis`], which it holds as `report`).
pub struct AnalysedImage {
    pub image: Arc<Image>,
    pub tree: StackedTree,
    pub report: analysis::Analysis,
    pub summary: AnalysisSummary,
    changed_dirs: Mutex<HashMap<u32, Arc<HashMap<NodeId, u64>>>>,
}

fn finite(x: f64) -> f64 {
    if x.is_finite() {
        x
    } else {
        0.0
    }
}

impl AnalysedImage {
    /// Stacks the layers and analyses them (CPU-bound: call from a blocking task).
    pub fn build(image: Arc<Image>) -> Result<AnalysedImage, String> {
        let tree = StackedTree::from_layers(image.layers.iter().cloned())
            .map_err(|e| format!("image {}: {e}", image.id))?;
        let report = analysis::analyze(
            &tree,
            &AnalysisOptions {
                base_layers: 1,
                top_files: TOP_FILES,
            },
        );
        let dive = analysis::dive::analyze(&image.layers);
        let layers: Vec<LayerStats> = image
            .layers
            .iter()
            .enumerate()
            .map(|(i, l)| LayerStats {
                index: i as u32,
                diff_id: l.diff_id.clone(),
                size: l.content_size(),
                tar_size: l.tar_size,
                compressed_size: l.compressed_size,
                entries: l.entries.len() as u64,
                warnings: l.warnings.iter().map(|w| w.message.clone()).collect(),
            })
            .collect();
        let summary = AnalysisSummary {
            image_id: image.id.clone(),
            total_size: layers.iter().map(|l| l.size).sum(),
            entries: layers.iter().map(|l| l.entries).sum(),
            layers,
            stored_bytes: Some(report.stored_bytes),
            final_bytes: Some(report.final_bytes),
            reclaimable_bytes: Some(report.reclaimable_bytes),
            efficiency: Some(finite(report.efficiency)),
            attrs_only_bytes: Some(report.attrs_only.iter().map(|a| a.bytes).sum()),
            duplicate_bytes: Some(report.duplicates.iter().map(|d| d.wasted_bytes).sum()),
            dive: Some(DiveFigures {
                efficiency: finite(dive.efficiency),
                wasted_bytes: dive.wasted_bytes,
                user_wasted_percent: finite(dive.wasted_user_percent),
            }),
        };
        Ok(AnalysedImage {
            image,
            tree,
            report,
            summary,
            changed_dirs: Mutex::new(HashMap::new()),
        })
    }

    /// Directories (as of layer `k`) with at least one change of layer `k` below them,
    /// each with the regular-file bytes layer `k` itself writes below it (its own bytes).
    pub fn changed_dirs(&self, k: u32) -> Arc<HashMap<NodeId, u64>> {
        if let Some(hit) = self.changed_dirs.lock().get(&k).cloned() {
            return hit;
        }
        let dirs = Arc::new(self.tree.changed_dirs(k));
        self.changed_dirs.lock().insert(k, dirs.clone());
        dirs
    }
}
