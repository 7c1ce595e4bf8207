//! Progress of one image load, as events the engine emits ([`Progress`]) and the sinks
//! that consume them: the HTTP layer forwards them as SSE, the CLI draws a one-line bar
//! on a terminal ([`TerminalBar`]) and stays quiet otherwise.
//!
//! Invariant: sinks never block the engine for long and never fail it; a sink that
//! cannot show an event drops it.

mod terminal;

pub use terminal::{BarSlot, TerminalBar};

use parking_lot::Mutex;
use serde::Serialize;
use std::io::Read;
use tokio_util::sync::CancellationToken;

/// What the engine is doing (the wire enum: the engine reports the stages the API shows).
pub use app::api::LoadStage;

/// One progress event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Progress {
    /// A new stage began.
    Stage { stage: LoadStage },
    /// Bytes consumed so far in the current stage, and the total when known.
    Bytes { done: u64, total: Option<u64> },
    /// Layer `index` (0-based) of `count` is ready.
    Layer {
        index: usize,
        count: usize,
        diff_id: String,
        from_cache: bool,
    },
}

/// Receives progress events; implementations must be cheap and never panic.
pub trait ProgressSink: Send + Sync {
    fn report(&self, event: Progress);

    /// The load waits for an export slot as the `position`-th in line (1-based), or
    /// (`None`) no longer waits. Sinks that do not show queues ignore it.
    fn queued(&self, _position: Option<usize>) {}
}

/// Discards every event.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl ProgressSink for NoProgress {
    fn report(&self, _event: Progress) {}
}

impl<F: Fn(Progress) + Send + Sync> ProgressSink for F {
    fn report(&self, event: Progress) {
        self(event)
    }
}

/// Adapts engine events to the wire DTO [`app::api::Progress`] (bytes, total, layers
/// finished of n) that the HTTP layer streams over SSE: each event updates the running
/// totals and the callback receives the new snapshot.
pub struct ApiProgress<F> {
    state: Mutex<app::api::Progress>,
    on_progress: F,
}

impl<F: Fn(app::api::Progress) + Send + Sync> ApiProgress<F> {
    pub fn new(on_progress: F) -> Self {
        ApiProgress {
            state: Mutex::new(app::api::Progress::default()),
            on_progress,
        }
    }
}

impl<F: Fn(app::api::Progress) + Send + Sync> ProgressSink for ApiProgress<F> {
    fn report(&self, event: Progress) {
        let snapshot = {
            let mut s = self.state.lock();
            match event {
                Progress::Stage { stage } => {
                    if stage != LoadStage::Done {
                        s.bytes = 0;
                        s.total_bytes = None;
                    }
                }
                Progress::Bytes { done, total } => {
                    s.bytes = done;
                    s.total_bytes = total;
                }
                // Each layer is reported once per load, in whatever order it became ready.
                Progress::Layer { count, .. } => {
                    let count = u32::try_from(count).unwrap_or(u32::MAX);
                    s.layers = count;
                    s.layer = s.layer.saturating_add(1).min(count);
                }
            }
            s.clone()
        };
        (self.on_progress)(snapshot);
    }
}

/// Counts bytes read through [`ChunkProgress::wrap`]ped readers, reports them as
/// [`Progress::Bytes`] (at most every 1 MiB) and turns a cancellation into a read error,
/// so blocking parsers stop promptly.
pub struct ChunkProgress<'a> {
    sink: &'a dyn ProgressSink,
    cancel: &'a CancellationToken,
    done: u64,
    total: Option<u64>,
    reported: u64,
}

impl<'a> ChunkProgress<'a> {
    pub fn new(sink: &'a dyn ProgressSink, cancel: &'a CancellationToken) -> Self {
        ChunkProgress {
            sink,
            cancel,
            done: 0,
            total: None,
            reported: 0,
        }
    }

    /// Sets the expected total (file size, image size estimate).
    pub fn set_total(&mut self, total: Option<u64>) {
        self.total = total;
    }

    /// Bytes counted so far.
    pub fn done(&self) -> u64 {
        self.done
    }

    /// A reader that counts into this progress.
    pub fn wrap<R: Read>(&mut self, inner: R) -> Counted<'_, 'a, R> {
        Counted {
            inner,
            progress: self,
        }
    }

    fn add(&mut self, n: u64) {
        self.done += n;
        if self.done - self.reported >= 1 << 20 {
            self.reported = self.done;
            self.sink.report(Progress::Bytes {
                done: self.done,
                total: self.total,
            });
        }
    }
}

/// See [`ChunkProgress::wrap`].
pub struct Counted<'p, 'a, R> {
    inner: R,
    progress: &'p mut ChunkProgress<'a>,
}

impl<R: Read> Read for Counted<'_, '_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.progress.cancel.is_cancelled() {
            return Err(std::io::Error::other("cancelled"));
        }
        let n = self.inner.read(buf)?;
        self.progress.add(n as u64);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_progress_accumulates() {
        let last = Mutex::new(app::api::Progress::default());
        let sink = ApiProgress::new(|p| {
            *last.lock() = p;
        });
        sink.report(Progress::Bytes {
            done: 10,
            total: Some(100),
        });
        sink.report(Progress::Layer {
            index: 1,
            count: 3,
            diff_id: String::new(),
            from_cache: true,
        });
        sink.report(Progress::Layer {
            index: 0,
            count: 3,
            diff_id: String::new(),
            from_cache: true,
        });
        let l = last.lock().clone();
        assert_eq!(
            (l.bytes, l.total_bytes, l.layer, l.layers),
            (10, Some(100), 2, 3)
        );
    }

    #[test]
    fn closures_are_sinks() {
        let seen = Mutex::new(Vec::new());
        let sink = |e: Progress| seen.lock().push(e);
        sink.report(Progress::Stage {
            stage: LoadStage::Done,
        });
        assert_eq!(seen.lock().len(), 1);
    }
}
