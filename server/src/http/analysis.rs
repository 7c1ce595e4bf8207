//! What the server keeps for an analysed image: the loaded image and its summary
//! figures, computed once (off the async runtime) when the job finishes.

use app::api::{AnalysisSummary, LayerStats};
use app::model::Image;
use std::sync::Arc;

/// The finished work for one image.
pub struct Analysis {
    pub image: Arc<Image>,
    pub summary: AnalysisSummary,
}

impl Analysis {
    /// Computes the figures of a loaded image (CPU-bound: call from a blocking task).
    pub fn build(image: Arc<Image>) -> Result<Analysis, String> {
        let layers: Vec<LayerStats> = image
            .layers
            .iter()
            .enumerate()
            .map(|(i, l)| LayerStats {
                index: i as u32,
                diff_id: l.diff_id.to_string(),
                size: l.content_size(),
                tar_size: l.tar_size,
                compressed_size: l.compressed_size,
                entries: l.entries.len() as u64,
                warnings: l.warnings.iter().map(|w| w.message.clone()).collect(),
            })
            .collect();
        let summary = AnalysisSummary {
            image_id: image.id.to_string(),
            total_size: layers.iter().map(|l| l.size).sum(),
            entries: layers.iter().map(|l| l.entries).sum(),
            layers,
            stored_bytes: None,
            final_bytes: None,
            reclaimable_bytes: None,
            efficiency: None,
            attrs_only_bytes: None,
            duplicate_bytes: None,
            dive: None,
        };
        Ok(Analysis { image, summary })
    }
}
