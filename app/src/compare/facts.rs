//! What a pair comparison says, as typed facts, most important first: size change,
//! common base, layers of their own, files kept, the directories that explain the file
//! diff, and what a container starts with differently. This module decides *what* is
//! worth saying; [`super::sentences`] words it at the edge (CLI reports, the API's
//! [`crate::api::CompareReport`]), so the domain carries numbers, never prose.

use super::config::Change;
use super::files::{DiffGroup, FileDiff};
use super::{ImageSide, PairComparison};
use crate::model::Image;
use serde::{Deserialize, Serialize};

/// Label the OCI annotation spec reserves for the base image name.
const BASE_NAME_LABEL: &str = "org.opencontainers.image.base.name";

/// Most directory facts (removed, then added) per pair.
const MAX_GROUP_FACTS: usize = 3;

/// Which config map a [`Fact::Settings`] counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Setting {
    Env,
    Label,
}

/// One thing worth saying about the baseline (A) against another image (B).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Fact {
    /// Content bytes of A and B; `pct` is B's change against A (`None` when A is empty).
    Size {
        before: u64,
        after: u64,
        pct: Option<f64>,
    },
    /// The bottom `layers` are equal by chain ID.
    SharedBase {
        layers: usize,
        bytes: u64,
    },
    /// Nothing shared, in position or out of it; `base_name` from B's OCI base label.
    NoSharedBase {
        base_name: Option<String>,
    },
    /// Layers of B that A also has, on different parents (stored again).
    Moved {
        layers: u64,
        bytes: u64,
    },
    /// The compressed bytes a client holding A downloads to get B (registry images).
    UpdateCost {
        bytes: u64,
        layers: usize,
        of_bytes: u64,
    },
    /// What B adds on top of the common base.
    OwnLayers {
        layers: usize,
        bytes: u64,
    },
    /// Files of A that B keeps unchanged or changed (not removed).
    FilesKept {
        kept: u64,
        of: u64,
    },
    FilesAdded {
        files: u64,
        bytes: u64,
    },
    /// Removed files of A found in B at other paths.
    Relocated {
        files: u64,
        bytes: u64,
    },
    AttrsOnly {
        files: u64,
    },
    /// Mostly removals under `dir`; `gone` when B has no such directory; `rest` when
    /// the group is what its listed subdirectories do not hold.
    DirDropped {
        dir: String,
        rest: bool,
        gone: bool,
        files: u64,
        bytes: u64,
    },
    /// Mostly additions under `dir`; `new` when A has no such directory.
    DirAdded {
        dir: String,
        rest: bool,
        new: bool,
        files: u64,
        bytes: u64,
    },
    /// Mostly changed files under `dir`.
    DirChanged {
        dir: String,
        files: u64,
        bytes_before: u64,
        bytes_after: u64,
    },
    /// `os/architecture[/variant]`.
    Platform(Change<String>),
    User(Change<Option<String>>),
    Entrypoint(Change<Option<Vec<String>>>),
    Cmd(Change<Option<Vec<String>>>),
    WorkingDir(Change<Option<String>>),
    /// Environment variables or labels added, removed and changed.
    Settings {
        what: Setting,
        added: usize,
        removed: usize,
        changed: usize,
    },
    Ports {
        added: Vec<String>,
        removed: Vec<String>,
    },
}

fn size_fact(a: &ImageSide, b: &ImageSide) -> Fact {
    Fact::Size {
        before: a.content_bytes,
        after: b.content_bytes,
        pct: b.content_delta.pct,
    }
}

fn layer_facts(b: &ImageSide, pair: &PairComparison, img_b: &Image) -> Vec<Fact> {
    let mut out = Vec::new();
    let p = pair.shared_prefix;
    if p.layers > 0 {
        out.push(Fact::SharedBase {
            layers: p.layers,
            bytes: p.content_bytes,
        });
    } else if pair.moved.is_empty() {
        let base_name = img_b
            .config
            .config
            .labels
            .as_ref()
            .and_then(|l| l.get(BASE_NAME_LABEL))
            .cloned();
        out.push(Fact::NoSharedBase { base_name });
    }
    if !pair.moved.is_empty() {
        out.push(Fact::Moved {
            layers: pair.moved.len() as u64,
            bytes: pair.moved.iter().map(|m| m.content_bytes).sum(),
        });
    }
    let own = b.content_bytes.saturating_sub(p.content_bytes);
    if p.layers > 0 && own > 0 {
        out.push(Fact::OwnLayers {
            layers: b.layer_count.saturating_sub(p.layers),
            bytes: own,
        });
    }
    out
}

fn group_fact(g: &DiffGroup) -> Option<Fact> {
    let t = &g.totals;
    let dir = g.display.clone();
    if t.removed_bytes * 2 >= t.churn() && t.removed > 0 {
        Some(Fact::DirDropped {
            dir,
            rest: g.rest,
            gone: !g.in_b,
            files: t.removed,
            bytes: t.removed_bytes,
        })
    } else if t.added_bytes * 2 >= t.churn() && t.added > 0 {
        Some(Fact::DirAdded {
            dir,
            rest: g.rest,
            new: !g.in_a,
            files: t.added,
            bytes: t.added_bytes,
        })
    } else if t.changed > 0 {
        Some(Fact::DirChanged {
            dir,
            files: t.changed,
            bytes_before: t.changed_bytes_before,
            bytes_after: t.changed_bytes_after,
        })
    } else {
        None
    }
}

fn file_facts(d: &FileDiff) -> Vec<Fact> {
    let t = &d.totals;
    let mut out = vec![Fact::FilesKept {
        kept: t.kept(),
        of: d.a.files,
    }];
    if t.added > 0 {
        out.push(Fact::FilesAdded {
            files: t.added,
            bytes: t.added_bytes,
        });
    }
    if d.relocated.files > 0 {
        out.push(Fact::Relocated {
            files: d.relocated.files,
            bytes: d.relocated.bytes,
        });
    }
    if t.attrs_only > 0 {
        out.push(Fact::AttrsOnly {
            files: t.attrs_only,
        });
    }
    out.extend(
        d.groups
            .iter()
            .filter(|g| !(g.rest && g.path.is_empty() && d.groups.len() > 1))
            .filter_map(group_fact)
            .take(MAX_GROUP_FACTS),
    );
    out
}

fn config_facts(pair: &PairComparison) -> Vec<Fact> {
    let c = &pair.config;
    let mut out = Vec::new();
    out.extend(c.platform.clone().map(Fact::Platform));
    out.extend(c.user.clone().map(Fact::User));
    out.extend(c.entrypoint.clone().map(Fact::Entrypoint));
    out.extend(c.cmd.clone().map(Fact::Cmd));
    out.extend(c.working_dir.clone().map(Fact::WorkingDir));
    for (what, m) in [(Setting::Env, &c.env), (Setting::Label, &c.labels)] {
        if !m.is_empty() {
            out.push(Fact::Settings {
                what,
                added: m.added.len(),
                removed: m.removed.len(),
                changed: m.changed.len(),
            });
        }
    }
    let ports = &c.exposed_ports;
    if !ports.is_empty() {
        out.push(Fact::Ports {
            added: ports.added.clone(),
            removed: ports.removed.clone(),
        });
    }
    out
}

/// The facts of one pair, most important first.
pub(super) fn facts(
    a: &ImageSide,
    b: &ImageSide,
    pair: &PairComparison,
    img_b: &Image,
) -> Vec<Fact> {
    let mut out = vec![size_fact(a, b)];
    out.extend(layer_facts(b, pair, img_b));
    out.extend(pair.update_cost.map(|c| Fact::UpdateCost {
        bytes: c.bytes,
        layers: c.layers,
        of_bytes: c.of_bytes,
    }));
    if let Some(d) = &pair.files {
        out.extend(file_facts(d));
    }
    out.extend(config_facts(pair));
    out
}
