//! LoadProgress of one image load, as events the engine emits ([`LoadProgress`]) and the
//! sinks that consume them: the daemon backend turns them into the wire's cumulative
//! [`app::api::Progress`] (the one adapter, `backend::progress`) that the HTTP layer
//! streams as SSE, the CLI draws a one-line bar on a terminal ([`TerminalBar`]) and stays quiet otherwise.
//!
//! Invariant: sinks never block the engine for long and never fail it; a sink that
//! cannot show an event drops it.

mod terminal;

pub use terminal::{BarSlot, TerminalBar};

use serde::Serialize;
use std::io::Read;
use tokio_util::sync::CancellationToken;

/// What the engine is doing (the wire enum: the engine reports the stages the API shows).
pub use app::api::LoadStage;

/// One progress event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LoadProgress {
    /// A new stage began.
    Stage { stage: LoadStage },
    /// Bytes consumed so far in the current stage, and the total when known.
    Bytes { done: u64, total: Option<u64> },
    /// Bytes of layer `index` downloaded so far, of its `total` (registry downloads, which
    /// run a few at a time).
    LayerBytes { index: usize, done: u64, total: u64 },
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
    fn report(&self, event: LoadProgress);

    /// The load waits for an export slot as the `position`-th in line (1-based), or
    /// (`None`) no longer waits. Sinks that do not show queues ignore it.
    fn queued(&self, _position: Option<usize>) {}
}

/// Discards every event.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl ProgressSink for NoProgress {
    fn report(&self, _event: LoadProgress) {}
}

impl<F: Fn(LoadProgress) + Send + Sync> ProgressSink for F {
    fn report(&self, event: LoadProgress) {
        self(event)
    }
}

/// Counts bytes read through [`ChunkProgress::wrap`]ped readers, reports them as
/// [`LoadProgress::Bytes`] (at most every 1 MiB) and turns a cancellation into a read error,
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
            self.sink.report(LoadProgress::Bytes {
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
    use parking_lot::Mutex;

    #[test]
    fn closures_are_sinks() {
        let seen = Mutex::new(Vec::new());
        let sink = |e: LoadProgress| seen.lock().push(e);
        sink.report(LoadProgress::Stage {
            stage: LoadStage::Done,
        });
        assert_eq!(seen.lock().len(), 1);
    }
}
