//! Progress of one image load, as events the engine emits ([`Progress`]) and the sinks
//! that consume them: the HTTP layer forwards them as SSE, the CLI draws a one-line bar
//! on a terminal ([`TerminalBar`]) and stays quiet otherwise.
//!
//! Invariant: sinks never block the engine for long and never fail it; a sink that
//! cannot show an event drops it.

use serde::Serialize;
use std::io::{Read, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// What the engine is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Resolving the reference and inspecting the image in the daemon.
    Resolving,
    /// Reading layer indexes from the daemon's own storage (tar-split metadata).
    ReadingStorage,
    /// Streaming `GET /images/{id}/get` from the daemon.
    Exporting,
    /// Reading an archive file or an OCI layout directory.
    ReadingArchive,
    /// Done: the image is complete.
    Done,
}

/// One progress event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Progress {
    /// A new stage began.
    Stage { stage: Stage },
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
            let Ok(mut s) = self.state.lock() else { return };
            match event {
                Progress::Stage { stage } => {
                    if stage != Stage::Done {
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

/// A one-line progress bar on stderr (only meant for terminals), redrawn at most every
/// 100 ms: stage, bytes (of total) and layers ready.
#[derive(Debug)]
pub struct TerminalBar {
    state: Mutex<BarState>,
}

#[derive(Debug)]
struct BarState {
    stage: Stage,
    done: u64,
    total: Option<u64>,
    layers: usize,
    count: usize,
    last_draw: Option<Instant>,
    drawn: bool,
}

impl Default for TerminalBar {
    fn default() -> Self {
        TerminalBar {
            state: Mutex::new(BarState {
                stage: Stage::Resolving,
                done: 0,
                total: None,
                layers: 0,
                count: 0,
                last_draw: None,
                drawn: false,
            }),
        }
    }
}

impl TerminalBar {
    /// Erases the bar (call before printing results or errors).
    pub fn clear(&self) {
        if let Ok(mut s) = self.state.lock() {
            if s.drawn {
                let _ = write!(std::io::stderr(), "\r\x1b[2K");
                s.drawn = false;
            }
        }
    }
}

impl ProgressSink for TerminalBar {
    fn report(&self, event: Progress) {
        let Ok(mut s) = self.state.lock() else { return };
        let force = match event {
            Progress::Stage { stage } => {
                s.stage = stage;
                s.done = 0;
                s.total = None;
                true
            }
            Progress::Bytes { done, total } => {
                s.done = done;
                s.total = total;
                false
            }
            Progress::Layer { count, .. } => {
                s.layers = (s.layers + 1).min(count);
                s.count = count;
                false
            }
        };
        let due = s
            .last_draw
            .is_none_or(|t| t.elapsed() >= Duration::from_millis(100));
        if !(force || due) {
            return;
        }
        s.last_draw = Some(Instant::now());
        let line = render(&s);
        let _ = write!(std::io::stderr(), "\r\x1b[2K{line}");
        s.drawn = true;
    }
}

fn render(s: &BarState) -> String {
    let stage = match s.stage {
        Stage::Resolving => "resolving",
        Stage::ReadingStorage => "reading layer store",
        Stage::Exporting => "exporting from daemon",
        Stage::ReadingArchive => "reading archive",
        Stage::Done => "done",
    };
    let bytes = match s.total {
        Some(t) if t > 0 => {
            let pct = (s.done.min(t) * 100) / t;
            let filled = usize::try_from(pct / 5).unwrap_or(20);
            format!(
                " [{}{}] {} / {}",
                "#".repeat(filled),
                "-".repeat(20 - filled.min(20)),
                app::fmt::size(s.done),
                app::fmt::size(t)
            )
        }
        _ if s.done > 0 => format!(" {}", app::fmt::size(s.done)),
        _ => String::new(),
    };
    let layers = if s.count > 0 {
        format!(" layer {}/{}", s.layers, s.count)
    } else {
        String::new()
    };
    format!("strata: {stage}{bytes}{layers}")
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
    fn renders_bytes_and_layers() {
        let s = BarState {
            stage: Stage::Exporting,
            done: 50,
            total: Some(100),
            layers: 1,
            count: 3,
            last_draw: None,
            drawn: false,
        };
        let line = render(&s);
        assert!(
            line.starts_with("strata: exporting from daemon [##########----------]"),
            "{line}"
        );
        assert!(line.ends_with(" layer 1/3"), "{line}");
    }

    #[test]
    fn api_progress_accumulates() {
        let last = Mutex::new(app::api::Progress::default());
        let sink = ApiProgress::new(|p| {
            if let Ok(mut l) = last.lock() {
                *l = p;
            }
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
        let l = last.lock().unwrap().clone();
        assert_eq!(
            (l.bytes, l.total_bytes, l.layer, l.layers),
            (10, Some(100), 2, 3)
        );
    }

    #[test]
    fn closures_are_sinks() {
        let seen = Mutex::new(Vec::new());
        let sink = |e: Progress| seen.lock().map(|mut v| v.push(e)).unwrap_or(());
        sink.report(Progress::Stage { stage: Stage::Done });
        assert_eq!(seen.lock().map(|v| v.len()).unwrap_or(0), 1);
    }
}
