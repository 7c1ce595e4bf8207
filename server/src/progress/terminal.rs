//! The progress line on stderr for the CLI (only drawn on a terminal), redrawn at most
//! every 100 ms, for one load (`strata: exporting from daemon [####----] 12 MB / 40 MB
//! layer 3/5`) or several at once (`strata: A layer store 3/5 · B exporting 12 MB`).
//! Each load reports through its own [`BarSlot`]; a slot never blocks or fails its load.

use super::{LoadProgress, LoadStage, ProgressSink};
use parking_lot::Mutex;
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The shared line.
#[derive(Debug)]
pub struct TerminalBar {
    state: Mutex<Line>,
}

#[derive(Debug)]
struct Line {
    /// One label per load (unused when there is only one).
    labels: Vec<String>,
    slots: Vec<SlotState>,
    last_draw: Option<Instant>,
    drawn: bool,
}

#[derive(Debug, Clone)]
struct SlotState {
    stage: LoadStage,
    done: u64,
    total: Option<u64>,
    layers: usize,
    count: usize,
    /// Registry downloads in flight: (layer index, bytes, total), in layer order.
    downloads: Vec<(usize, u64, u64)>,
}

impl SlotState {
    /// Applies one event; true when the line should be redrawn at once.
    fn apply(&mut self, event: LoadProgress) -> bool {
        match event {
            LoadProgress::Stage { stage } => {
                self.stage = stage;
                self.done = 0;
                self.total = None;
                self.downloads.clear();
                true
            }
            LoadProgress::LayerBytes { index, done, total } => {
                match self.downloads.binary_search_by_key(&index, |d| d.0) {
                    Ok(at) => self.downloads[at] = (index, done, total),
                    Err(at) => self.downloads.insert(at, (index, done, total)),
                }
                false
            }
            LoadProgress::Bytes { done, total } => {
                self.done = done;
                self.total = total;
                false
            }
            LoadProgress::Layer { index, count, .. } => {
                self.downloads.retain(|d| d.0 != index);
                self.layers = (self.layers + 1).min(count);
                self.count = count;
                false
            }
        }
    }
}

/// The sink of one load on a [`TerminalBar`].
#[derive(Debug, Clone)]
pub struct BarSlot {
    bar: Arc<TerminalBar>,
    index: usize,
}

impl TerminalBar {
    /// A line for one load per label (one label: the long single-load form).
    pub fn new(labels: Vec<String>) -> Arc<Self> {
        let slot = SlotState {
            stage: LoadStage::Resolving,
            done: 0,
            total: None,
            layers: 0,
            count: 0,
            downloads: Vec::new(),
        };
        Arc::new(TerminalBar {
            state: Mutex::new(Line {
                slots: vec![slot; labels.len()],
                labels,
                last_draw: None,
                drawn: false,
            }),
        })
    }

    /// The sink for load `index`.
    pub fn slot(self: &Arc<Self>, index: usize) -> BarSlot {
        BarSlot {
            bar: self.clone(),
            index,
        }
    }

    /// Erases the line (call before printing results or errors).
    pub fn clear(&self) {
        let mut s = self.state.lock();
        if s.drawn {
            let _ = write!(std::io::stderr(), "\r\x1b[2K");
            s.drawn = false;
        }
    }
}

impl ProgressSink for BarSlot {
    fn report(&self, event: LoadProgress) {
        let mut s = self.bar.state.lock();
        let Some(slot) = s.slots.get_mut(self.index) else {
            return;
        };
        let force = slot.apply(event);
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

fn render(line: &Line) -> String {
    match line.slots.as_slice() {
        [one] => format!("strata: {}", render_one(one)),
        many => {
            let parts: Vec<String> = many
                .iter()
                .zip(&line.labels)
                .map(|(s, label)| render_compact(label, s))
                .collect();
            format!("strata: {}", parts.join(" · "))
        }
    }
}

/// `exporting from daemon [####----------------] 12 MB / 40 MB layer 3/5`.
fn render_one(s: &SlotState) -> String {
    let stage = match s.stage {
        LoadStage::Resolving => "resolving",
        LoadStage::ReadingStorage => "reading layer store",
        LoadStage::Exporting => "exporting from daemon",
        LoadStage::ReadingArchive => "reading archive",
        LoadStage::Downloading => "downloading",
        LoadStage::Done => "done",
        _ => "working",
    };
    let bytes = match s.total {
        Some(t) if t > 0 => {
            let pct = (s.done.min(t) * 100) / t;
            let filled = usize::try_from(pct / 5).unwrap_or(20).min(20);
            format!(
                " [{}{}] {} / {}",
                "#".repeat(filled),
                "-".repeat(20 - filled),
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
    // Each layer in flight with its share: ` (layer 2 40%, layer 5 12%)`, 1-based.
    let downloads = if s.downloads.is_empty() {
        String::new()
    } else {
        let each: Vec<String> = s
            .downloads
            .iter()
            .map(|&(i, done, total)| {
                format!(
                    "layer {} {}%",
                    i + 1,
                    (done.min(total) * 100) / total.max(1)
                )
            })
            .collect();
        format!(" ({})", each.join(", "))
    };
    format!("{stage}{bytes}{layers}{downloads}")
}

/// `A exporting 12 MB 3/5`.
fn render_compact(label: &str, s: &SlotState) -> String {
    let stage = match s.stage {
        LoadStage::Resolving => "resolving",
        LoadStage::ReadingStorage => "layer store",
        LoadStage::Exporting => "exporting",
        LoadStage::ReadingArchive => "archive",
        LoadStage::Downloading => "downloading",
        LoadStage::Done => "done",
        _ => "working",
    };
    let mut part = format!("{label} {stage}");
    if s.done > 0 && s.stage != LoadStage::Done {
        part.push(' ');
        part.push_str(&app::fmt::size(s.done));
    }
    if s.count > 0 && s.stage != LoadStage::Done {
        part.push_str(&format!(" {}/{}", s.layers, s.count));
    }
    part
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(labels: &[&str]) -> Line {
        let bar = TerminalBar::new(labels.iter().map(|l| (*l).to_owned()).collect());
        let state = bar.state.lock();
        Line {
            labels: state.labels.clone(),
            slots: state.slots.clone(),
            last_draw: None,
            drawn: false,
        }
    }

    #[test]
    fn one_load_gets_the_long_form_with_a_bar() {
        let mut l = line(&[""]);
        l.slots[0].apply(LoadProgress::Stage {
            stage: LoadStage::Exporting,
        });
        l.slots[0].apply(LoadProgress::Bytes {
            done: 50,
            total: Some(100),
        });
        assert_eq!(
            render(&l),
            "strata: exporting from daemon [##########----------] 50 B / 100 B"
        );
        for index in 0..2 {
            l.slots[0].apply(LoadProgress::Layer {
                index,
                count: 3,
                diff_id: String::new(),
                from_cache: false,
            });
        }
        assert!(render(&l).ends_with(" layer 2/3"), "{}", render(&l));
    }

    #[test]
    fn downloads_in_flight_are_named_with_their_share() {
        let mut l = line(&[""]);
        l.slots[0].apply(LoadProgress::Stage {
            stage: LoadStage::Downloading,
        });
        for (index, done) in [(4, 10), (1, 40), (4, 12)] {
            l.slots[0].apply(LoadProgress::LayerBytes {
                index,
                done,
                total: 100,
            });
        }
        assert!(
            render(&l).ends_with(" (layer 2 40%, layer 5 12%)"),
            "{}",
            render(&l)
        );
        l.slots[0].apply(LoadProgress::Layer {
            index: 1,
            count: 5,
            diff_id: String::new(),
            from_cache: false,
        });
        assert!(
            render(&l).ends_with(" layer 1/5 (layer 5 12%)"),
            "{}",
            render(&l)
        );
    }

    #[test]
    fn several_loads_share_one_labelled_line() {
        let mut l = line(&["A", "B"]);
        l.slots[0].apply(LoadProgress::Stage {
            stage: LoadStage::ReadingStorage,
        });
        l.slots[1].apply(LoadProgress::Bytes {
            done: 2048,
            total: None,
        });
        assert_eq!(render(&l), "strata: A layer store · B resolving 2.0 kB");
    }
}
