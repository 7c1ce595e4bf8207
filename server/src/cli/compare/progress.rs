//! One progress line on stderr for several concurrent loads: `A reading layer store 3/5 ·
//! B exporting 12 MB`, redrawn at most every 100 ms. Each load reports through its own
//! [`Slot`]; a slot never blocks or fails its load.

use crate::progress::{Progress, ProgressSink, Stage};
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The shared line.
#[derive(Debug)]
pub struct LoadsBar {
    state: Mutex<Lines>,
}

#[derive(Debug)]
struct Lines {
    slots: Vec<SlotState>,
    last_draw: Option<Instant>,
    drawn: bool,
}

#[derive(Debug, Clone, Copy)]
struct SlotState {
    stage: Stage,
    done: u64,
    layers: usize,
    count: usize,
}

/// The sink of load `index`.
#[derive(Debug, Clone)]
pub struct Slot {
    bar: Arc<LoadsBar>,
    index: usize,
}

impl LoadsBar {
    /// A line for `n` loads.
    pub fn new(n: usize) -> Self {
        let slot = SlotState {
            stage: Stage::Resolving,
            done: 0,
            layers: 0,
            count: 0,
        };
        LoadsBar {
            state: Mutex::new(Lines {
                slots: vec![slot; n],
                last_draw: None,
                drawn: false,
            }),
        }
    }

    /// The sink for load `index`.
    pub fn slot(self: &Arc<Self>, index: usize) -> Slot {
        Slot {
            bar: self.clone(),
            index,
        }
    }

    /// Erases the line (call before printing results or errors).
    pub fn clear(&self) {
        if let Ok(mut s) = self.state.lock() {
            if s.drawn {
                let _ = write!(std::io::stderr(), "\r\x1b[2K");
                s.drawn = false;
            }
        }
    }
}

impl ProgressSink for Slot {
    fn report(&self, event: Progress) {
        let Ok(mut s) = self.bar.state.lock() else {
            return;
        };
        let Some(slot) = s.slots.get_mut(self.index) else {
            return;
        };
        let force = match event {
            Progress::Stage { stage } => {
                slot.stage = stage;
                slot.done = 0;
                true
            }
            Progress::Bytes { done, .. } => {
                slot.done = done;
                false
            }
            Progress::Layer { count, .. } => {
                slot.layers = (slot.layers + 1).min(count);
                slot.count = count;
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
        let line = render(&s.slots);
        let _ = write!(std::io::stderr(), "\r\x1b[2K{line}");
        s.drawn = true;
    }
}

fn render(slots: &[SlotState]) -> String {
    let parts: Vec<String> = slots
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let stage = match s.stage {
                Stage::Resolving => "resolving",
                Stage::ReadingStorage => "layer store",
                Stage::Exporting => "exporting",
                Stage::ReadingArchive => "archive",
                Stage::Done => "done",
            };
            let mut part = format!("{} {stage}", super::label(i));
            if s.done > 0 && s.stage != Stage::Done {
                part.push(' ');
                part.push_str(&app::fmt::size(s.done));
            }
            if s.count > 0 && s.stage != Stage::Done {
                part.push_str(&format!(" {}/{}", s.layers, s.count));
            }
            part
        })
        .collect();
    format!("strata: {}", parts.join(" · "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_names_every_load() {
        let bar = Arc::new(LoadsBar::new(2));
        let (a, b) = (bar.slot(0), bar.slot(1));
        a.report(Progress::Stage {
            stage: Stage::Exporting,
        });
        a.report(Progress::Layer {
            index: 0,
            count: 3,
            diff_id: String::new(),
            from_cache: false,
        });
        b.report(Progress::Stage { stage: Stage::Done });
        let line = render(&bar.state.lock().unwrap().slots);
        assert_eq!(line, "strata: A exporting 1/3 · B done");
        bar.clear();
        assert!(!bar.state.lock().unwrap().drawn);
    }
}
