//! The engine's load events ([`LoadProgress`]) folded into the API's cumulative
//! [`Progress`], the form jobs publish over SSE.

use super::ProgressFn;
use crate::progress::{LoadProgress, ProgressSink};
use app::api::{LayerDownload, Progress};
use parking_lot::Mutex;
use std::sync::Arc;

/// A sink for one load that reports its cumulative progress to `out`.
pub fn progress_sink(out: ProgressFn) -> Arc<dyn ProgressSink> {
    Arc::new(ProgressAdapter {
        state: Mutex::new(Progress::default()),
        out,
    })
}

struct ProgressAdapter {
    state: Mutex<Progress>,
    out: ProgressFn,
}

impl ProgressSink for ProgressAdapter {
    fn report(&self, event: LoadProgress) {
        let mut p = self.state.lock();
        match event {
            LoadProgress::Stage { stage } => {
                p.stage = Some(stage);
                p.bytes = 0;
                p.total_bytes = None;
                p.downloads.clear();
            }
            LoadProgress::LayerBytes { index, done, total } => {
                let index = u32::try_from(index).unwrap_or(u32::MAX);
                match p.downloads.binary_search_by_key(&index, |d| d.index) {
                    Ok(at) => {
                        p.downloads[at].done = done;
                        p.downloads[at].total = total;
                    }
                    Err(at) => p.downloads.insert(at, LayerDownload { index, done, total }),
                }
            }
            LoadProgress::Bytes { done, total } => {
                p.bytes = done;
                p.total_bytes = total;
            }
            // Every layer reports once, in any order (downloads run in parallel): the
            // count of reports is the count of finished layers.
            LoadProgress::Layer { index, count, .. } => {
                let index = u32::try_from(index).unwrap_or(u32::MAX);
                p.downloads.retain(|d| d.index != index);
                let count = u32::try_from(count).unwrap_or(u32::MAX);
                p.layers = count;
                p.layer = p.layer.saturating_add(1).min(count);
            }
        }
        (self.out)(p.clone());
    }

    fn queued(&self, position: Option<usize>) {
        let mut p = self.state.lock();
        p.queue_position = position.map(|n| u32::try_from(n).unwrap_or(u32::MAX));
        (self.out)(p.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::api::LoadStage;

    #[test]
    fn layers_count_up_in_any_order_and_stages_reset_bytes() {
        let seen: Arc<Mutex<Vec<Progress>>> = Arc::default();
        let log = seen.clone();
        let sink = progress_sink(Arc::new(move |p| log.lock().push(p)));
        sink.report(LoadProgress::Stage {
            stage: LoadStage::Downloading,
        });
        sink.report(LoadProgress::Bytes {
            done: 10,
            total: Some(30),
        });
        for (index, done) in [(2, 5), (0, 7), (2, 9)] {
            sink.report(LoadProgress::LayerBytes {
                index,
                done,
                total: 10,
            });
        }
        let downloads = seen.lock().last().cloned().unwrap().downloads;
        let got: Vec<(u32, u64)> = downloads.iter().map(|d| (d.index, d.done)).collect();
        assert_eq!(got, [(0, 7), (2, 9)], "one entry per layer, in layer order");
        for index in [2, 0, 1] {
            sink.report(LoadProgress::Layer {
                index,
                count: 3,
                diff_id: String::new(),
                from_cache: false,
            });
        }
        let last = seen.lock().last().cloned().unwrap();
        assert_eq!((last.layer, last.layers), (3, 3));
        assert!(
            last.downloads.is_empty(),
            "finished layers are no longer downloading"
        );
        assert_eq!((last.bytes, last.total_bytes), (10, Some(30)));
        sink.report(LoadProgress::Stage {
            stage: LoadStage::Done,
        });
        let last = seen.lock().last().cloned().unwrap();
        assert_eq!((last.bytes, last.total_bytes, last.layer), (0, None, 3));
    }
}
