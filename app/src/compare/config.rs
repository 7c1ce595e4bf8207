//! Config and history differences of two images: what a container starts with (Env,
//! Cmd, Entrypoint, User, WorkingDir, ExposedPorts, Labels, platform) and the build
//! steps aligned. History alignment: the shared prefix (same command and, for steps that
//! made a layer, the same chain ID) is the common base; after it, steps are matched by
//! command with a longest common subsequence (bounded; past the bound, by position).

use crate::model::{chain_ids, Digest, HistoryEntry, ImageConfig};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Largest `steps(A) × steps(B)` aligned by LCS; bigger histories align by position.
const MAX_LCS_CELLS: usize = 1_000_000;

/// A value that differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change<T> {
    pub before: T,
    pub after: T,
}

fn change<T: PartialEq + Clone>(a: &T, b: &T) -> Option<Change<T>> {
    (a != b).then(|| Change {
        before: a.clone(),
        after: b.clone(),
    })
}

/// Keys added, removed or changed (Env by variable name, Labels by key).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MapDiff {
    pub added: BTreeMap<String, String>,
    pub removed: BTreeMap<String, String>,
    pub changed: BTreeMap<String, Change<String>>,
    pub unchanged: usize,
}

impl MapDiff {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }

    fn of(a: &BTreeMap<String, String>, b: &BTreeMap<String, String>) -> MapDiff {
        let mut d = MapDiff::default();
        for (k, va) in a {
            match b.get(k) {
                None => {
                    d.removed.insert(k.clone(), va.clone());
                }
                Some(vb) if vb != va => {
                    d.changed.insert(
                        k.clone(),
                        Change {
                            before: va.clone(),
                            after: vb.clone(),
                        },
                    );
                }
                Some(_) => d.unchanged += 1,
            }
        }
        for (k, vb) in b {
            if !a.contains_key(k) {
                d.added.insert(k.clone(), vb.clone());
            }
        }
        d
    }
}

/// Members added or removed (ExposedPorts).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetDiff {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub unchanged: usize,
}

impl SetDiff {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty()
    }
}

/// How a history step of one image relates to the other's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum StepStatus {
    /// In the common base: same command, same layer in the same position.
    Shared,
    /// Same command on both sides after the base; for a layer step, the same diff ID.
    Same,
    /// Same command, but the layer it made differs (rebuilt, different inputs).
    Rebuilt,
    /// Only in A.
    OnlyA,
    /// Only in B.
    OnlyB,
}

/// One aligned history row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryRow {
    pub status: StepStatus,
    /// Index into A's / B's `history`.
    pub a: Option<usize>,
    pub b: Option<usize>,
    pub created_by: String,
    /// A metadata-only step (ENV, CMD, LABEL, ...).
    pub empty_layer: bool,
    /// Layer index each step made.
    pub layer_a: Option<usize>,
    pub layer_b: Option<usize>,
}

/// The two histories aligned.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryDiff {
    /// Steps in the common prefix (the shared base image and any shared steps after it).
    pub shared_steps: usize,
    /// First differing step: indices into A's and B's history (`None` past the end).
    pub first_difference: Option<(Option<usize>, Option<usize>)>,
    pub rows: Vec<HistoryRow>,
}

/// Everything that differs in two image configs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigDiff {
    /// `os/architecture[/variant]`.
    pub platform: Option<Change<String>>,
    pub user: Option<Change<Option<String>>>,
    pub working_dir: Option<Change<Option<String>>>,
    pub entrypoint: Option<Change<Option<Vec<String>>>>,
    pub cmd: Option<Change<Option<Vec<String>>>>,
    pub env: MapDiff,
    pub labels: MapDiff,
    pub exposed_ports: SetDiff,
    pub history: HistoryDiff,
}

impl ConfigDiff {
    /// True when nothing a container starts with differs (history aside).
    pub fn runtime_equal(&self) -> bool {
        self.platform.is_none()
            && self.user.is_none()
            && self.working_dir.is_none()
            && self.entrypoint.is_none()
            && self.cmd.is_none()
            && self.env.is_empty()
            && self.labels.is_empty()
            && self.exposed_ports.is_empty()
    }
}

fn platform(c: &ImageConfig) -> String {
    match &c.variant {
        Some(v) => format!("{}/{}/{v}", c.os, c.architecture),
        None => format!("{}/{}", c.os, c.architecture),
    }
}

/// `K=V` list as a map; a later duplicate wins, as the runtime does.
fn env_map(env: &Option<Vec<String>>) -> BTreeMap<String, String> {
    env.iter()
        .flatten()
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) => (k.to_owned(), v.to_owned()),
            None => (kv.clone(), String::new()),
        })
        .collect()
}

/// Diffs two image configs and aligns their histories.
pub fn diff_config(a: &ImageConfig, b: &ImageConfig) -> ConfigDiff {
    let cc = (&a.config, &b.config);
    let ports = |c: &ImageConfig| -> Vec<String> {
        c.config
            .exposed_ports
            .iter()
            .flat_map(|m| m.keys().cloned())
            .collect()
    };
    let (pa, pb) = (ports(a), ports(b));
    let exposed_ports = SetDiff {
        added: pb.iter().filter(|p| !pa.contains(p)).cloned().collect(),
        removed: pa.iter().filter(|p| !pb.contains(p)).cloned().collect(),
        unchanged: pa.iter().filter(|p| pb.contains(p)).count(),
    };
    let empty = BTreeMap::new();
    ConfigDiff {
        platform: change(&platform(a), &platform(b)),
        user: change(&cc.0.user, &cc.1.user),
        working_dir: change(&cc.0.working_dir, &cc.1.working_dir),
        entrypoint: change(&cc.0.entrypoint, &cc.1.entrypoint),
        cmd: change(&cc.0.cmd, &cc.1.cmd),
        env: MapDiff::of(&env_map(&cc.0.env), &env_map(&cc.1.env)),
        labels: MapDiff::of(
            cc.0.labels.as_ref().unwrap_or(&empty),
            cc.1.labels.as_ref().unwrap_or(&empty),
        ),
        exposed_ports,
        history: diff_history(a, b),
    }
}

/// A history step with the layer (and its chain ID) it made.
struct Step<'a> {
    entry: &'a HistoryEntry,
    layer: Option<usize>,
    chain: Option<&'a Digest>,
    diff: Option<&'a Digest>,
}

fn steps<'a>(c: &'a ImageConfig, chains: &'a [Digest]) -> Vec<Step<'a>> {
    let mut layer = 0;
    c.history
        .iter()
        .map(|h| {
            let made = (!h.empty_layer).then(|| {
                let l = layer;
                layer += 1;
                l
            });
            Step {
                entry: h,
                layer: made,
                chain: made.and_then(|l| chains.get(l)),
                diff: made.and_then(|l| c.rootfs.diff_ids.get(l)),
            }
        })
        .collect()
}

fn command(h: &HistoryEntry) -> &str {
    h.created_by.as_deref().unwrap_or("")
}

fn row(status: StepStatus, a: Option<(usize, &Step)>, b: Option<(usize, &Step)>) -> HistoryRow {
    let shown = a.or(b).map(|(_, s)| s);
    HistoryRow {
        status,
        a: a.map(|(i, _)| i),
        b: b.map(|(i, _)| i),
        created_by: shown
            .map(|s| command(s.entry).to_owned())
            .unwrap_or_default(),
        empty_layer: shown.is_some_and(|s| s.entry.empty_layer),
        layer_a: a.and_then(|(_, s)| s.layer),
        layer_b: b.and_then(|(_, s)| s.layer),
    }
}

fn diff_history(a: &ImageConfig, b: &ImageConfig) -> HistoryDiff {
    let ca = chain_ids(&a.rootfs.diff_ids);
    let cb = chain_ids(&b.rootfs.diff_ids);
    let sa = steps(a, &ca);
    let sb = steps(b, &cb);
    let same_step = |x: &Step, y: &Step| {
        command(x.entry) == command(y.entry)
            && x.entry.empty_layer == y.entry.empty_layer
            && x.chain == y.chain
    };
    let shared = sa
        .iter()
        .zip(&sb)
        .take_while(|(x, y)| same_step(x, y))
        .count();
    let mut rows: Vec<HistoryRow> = (0..shared)
        .map(|i| row(StepStatus::Shared, Some((i, &sa[i])), Some((i, &sb[i]))))
        .collect();
    let (ra, rb) = (&sa[shared..], &sb[shared..]);
    for (i, j) in align_rest(ra, rb) {
        let ai = i.map(|i| (shared + i, &ra[i]));
        let bj = j.map(|j| (shared + j, &rb[j]));
        let status = match (ai, bj) {
            (Some((_, x)), Some((_, y))) => {
                if x.diff == y.diff {
                    StepStatus::Same
                } else {
                    StepStatus::Rebuilt
                }
            }
            (Some(_), None) => StepStatus::OnlyA,
            _ => StepStatus::OnlyB,
        };
        rows.push(row(status, ai, bj));
    }
    let first_difference = (shared < sa.len() || shared < sb.len()).then(|| {
        (
            (shared < sa.len()).then_some(shared),
            (shared < sb.len()).then_some(shared),
        )
    });
    HistoryDiff {
        shared_steps: shared,
        first_difference,
        rows,
    }
}

/// Pairs of indices (either may be `None`) in display order, matching equal commands
/// (same empty-layer kind) by LCS.
fn align_rest(a: &[Step], b: &[Step]) -> Vec<(Option<usize>, Option<usize>)> {
    let eq = |x: &Step, y: &Step| {
        command(x.entry) == command(y.entry) && x.entry.empty_layer == y.entry.empty_layer
    };
    let (n, m) = (a.len(), b.len());
    let mut out = Vec::with_capacity(n.max(m));
    if n.saturating_mul(m) > MAX_LCS_CELLS {
        for k in 0..n.max(m) {
            match (k < n, k < m) {
                (true, true) if eq(&a[k], &b[k]) => out.push((Some(k), Some(k))),
                (true, true) => {
                    out.push((Some(k), None));
                    out.push((None, Some(k)));
                }
                (true, false) => out.push((Some(k), None)),
                _ => out.push((None, Some(k))),
            }
        }
        return out;
    }
    // lcs[i][j] = LCS length of a[i..] and b[j..], flat (n+1)×(m+1)
    let w = m + 1;
    let mut lcs = vec![0u32; (n + 1) * w];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i * w + j] = if eq(&a[i], &b[j]) {
                lcs[(i + 1) * w + j + 1] + 1
            } else {
                lcs[(i + 1) * w + j].max(lcs[i * w + j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && eq(&a[i], &b[j]) {
            out.push((Some(i), Some(j)));
            i += 1;
            j += 1;
        } else if j >= m || (i < n && lcs[(i + 1) * w + j] >= lcs[i * w + j + 1]) {
            out.push((Some(i), None));
            i += 1;
        } else {
            out.push((None, Some(j)));
            j += 1;
        }
    }
    out
}
