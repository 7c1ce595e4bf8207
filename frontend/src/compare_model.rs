//! Pure helpers of the compare and sharing pages: signed sizes and deltas as text, CSS
//! classes for layer sharing and change kinds, the heat of a sharing-matrix cell, and
//! the history rows worth showing, and the layer rows re-aligned so equal diff IDs share a
//! row. No DOM here, so everything is unit-tested natively.

use app::compare::{
    ChangeKind, DiffTotals, HistoryRow, LayerCell, LayerRow, LayerSharing, SizeDelta, StepStatus,
};

/// `+1.2 MB`, `-300 B`, `±0 B`.
pub fn signed_size(bytes: i64) -> String {
    match bytes {
        0 => "±0 B".to_owned(),
        b if b > 0 => format!("+{}", app::fmt::size(b.unsigned_abs())),
        b => format!("-{}", app::fmt::size(b.unsigned_abs())),
    }
}

/// `+1.2 MB (+12.5%)`; the percentage is left out when the baseline is empty.
pub fn delta_text(d: &SizeDelta) -> String {
    match d.pct {
        Some(p) if p.is_finite() => format!("{} ({}{:.1}%)", signed_size(d.bytes), sign(p), p),
        _ => signed_size(d.bytes),
    }
}

fn sign(p: f64) -> &'static str {
    if p > 0.0 {
        "+"
    } else {
        ""
    }
}

/// `grew`, `shrank` or `same`: the CSS class of a delta.
pub fn delta_class(bytes: i64) -> &'static str {
    match bytes {
        0 => "same",
        b if b > 0 => "grew",
        _ => "shrank",
    }
}

/// CSS class and legend text of a layer's sharing.
pub fn sharing_class(s: LayerSharing) -> (&'static str, &'static str) {
    match s {
        LayerSharing::CommonBase => ("common-base", "common base"),
        LayerSharing::SharedInPosition => ("shared", "shared"),
        LayerSharing::SharedOutOfPosition => ("moved", "same content elsewhere"),
        LayerSharing::Unique => ("unique", "unique"),
    }
}

/// Symbol, CSS class and label of a file change.
pub fn change_mark(c: ChangeKind) -> (&'static str, &'static str, &'static str) {
    match c {
        ChangeKind::Added => ("+", "added", "added"),
        ChangeKind::Removed => ("-", "removed", "removed"),
        ChangeKind::Changed => ("~", "modified", "changed"),
        ChangeKind::AttrsOnly => ("≈", "attrs", "attributes only"),
    }
}

/// Net byte change of a set of totals (`added + changed after - removed - changed before`).
pub fn net_bytes(t: &DiffTotals) -> i64 {
    let plus = i128::from(t.added_bytes) + i128::from(t.changed_bytes_after);
    let minus = i128::from(t.removed_bytes) + i128::from(t.changed_bytes_before);
    i64::try_from(plus - minus).unwrap_or(if plus > minus { i64::MAX } else { i64::MIN })
}

/// `3 files, 1.2 MB` (or `—` for none).
pub fn count_bytes(count: u64, bytes: u64) -> String {
    match count {
        0 => "—".to_owned(),
        1 => format!("1 file, {}", app::fmt::size(bytes)),
        n => format!("{n} files, {}", app::fmt::size(bytes)),
    }
}

/// Opacity 0.08–1.0 for a matrix cell of `bytes` out of the largest off-diagonal `max`
/// (0 for nothing shared).
pub fn heat(bytes: u64, max: u64) -> f64 {
    if bytes == 0 || max == 0 {
        return 0.0;
    }
    (0.08 + 0.92 * (bytes as f64 / max as f64)).clamp(0.08, 1.0)
}

/// CSS class and label of a history step's status.
pub fn step_class(s: StepStatus) -> (&'static str, &'static str) {
    match s {
        StepStatus::Shared => ("shared", "common base"),
        StepStatus::Same => ("same", "same"),
        StepStatus::Rebuilt => ("rebuilt", "rebuilt"),
        StepStatus::OnlyA => ("only-a", "only in A"),
        StepStatus::OnlyB => ("only-b", "only in B"),
    }
}

/// The history rows to show: every row after the common base; the base itself is
/// summarised by its count.
pub fn visible_history(rows: &[HistoryRow]) -> (usize, Vec<&HistoryRow>) {
    let shared = rows
        .iter()
        .take_while(|r| r.status == StepStatus::Shared)
        .count();
    (shared, rows[shared..].iter().collect())
}

/// A short form of a digest string for tables: the first 12 hex digits.
pub fn short_digest(d: &str) -> String {
    let hex = d.strip_prefix("sha256:").unwrap_or(d);
    hex.chars().take(12).collect()
}

/// One row of the side-by-side layer view: a cell per image (`None` = no layer there).
pub type AlignedRow = Vec<Option<LayerCell>>;

/// The layers of `images` images (given by position in `rows`) re-aligned so that a layer
/// with the same diff ID sits in the same row in every image that has it: each image in
/// turn is merged into the rows so far by a longest common subsequence of diff IDs, and
/// layers without a match get rows of their own, in stack order.
pub fn align_by_diff_id(rows: &[LayerRow], images: usize) -> Vec<AlignedRow> {
    let seq = |i: usize| -> Vec<LayerCell> {
        rows.iter()
            .filter_map(|r| r.cells.get(i).cloned().flatten())
            .collect()
    };
    let mut aligned: Vec<AlignedRow> = seq(0)
        .into_iter()
        .map(|c| {
            let mut row = vec![None; images];
            row[0] = Some(c);
            row
        })
        .collect();
    for i in 1..images {
        let layers = seq(i);
        let matches = |row: &AlignedRow, l: &LayerCell| {
            row[i].is_none() && row.iter().flatten().any(|c| c.diff_id == l.diff_id)
        };
        let (r, n) = (aligned.len(), layers.len());
        // dp[a][b]: common subsequence length of aligned[a..] and layers[b..].
        let mut dp = vec![vec![0u32; n + 1]; r + 1];
        for a in (0..r).rev() {
            for b in (0..n).rev() {
                dp[a][b] = if matches(&aligned[a], &layers[b]) {
                    dp[a + 1][b + 1] + 1
                } else {
                    dp[a + 1][b].max(dp[a][b + 1])
                };
            }
        }
        let mut merged: Vec<AlignedRow> = Vec::with_capacity(r + n);
        let (mut a, mut b) = (0, 0);
        let mut old = std::mem::take(&mut aligned).into_iter();
        let mut current = old.next();
        while a < r || b < n {
            let take_both = a < r
                && b < n
                && current.as_ref().is_some_and(|row| matches(row, &layers[b]))
                && dp[a][b] == dp[a + 1][b + 1] + 1;
            if take_both {
                if let Some(mut row) = current.take() {
                    row[i] = Some(layers[b].clone());
                    merged.push(row);
                }
                current = old.next();
                a += 1;
                b += 1;
            } else if a < r && (b == n || dp[a + 1][b] >= dp[a][b + 1]) {
                if let Some(row) = current.take() {
                    merged.push(row);
                }
                current = old.next();
                a += 1;
            } else {
                let mut row = vec![None; images];
                row[i] = Some(layers[b].clone());
                merged.push(row);
                b += 1;
            }
        }
        aligned = merged;
    }
    aligned
}

/// Rows from the top that are the common base of every image (all cells present and
/// marked [`LayerSharing::CommonBase`]).
pub fn common_base_rows(rows: &[AlignedRow]) -> usize {
    rows.iter()
        .take_while(|r| {
            r.iter().all(|c| {
                c.as_ref()
                    .is_some_and(|c| c.sharing == LayerSharing::CommonBase)
            })
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deltas_read_naturally() {
        assert_eq!(signed_size(0), "±0 B");
        assert_eq!(signed_size(-300), "-300 B");
        assert!(
            signed_size(1_500_000).starts_with('+'),
            "{}",
            signed_size(1_500_000)
        );
        let d = SizeDelta::between(1000, 1125);
        assert_eq!(delta_text(&d), "+125 B (+12.5%)");
        let d = SizeDelta::between(1000, 500);
        assert_eq!(delta_text(&d), "-500 B (-50.0%)");
        assert_eq!(delta_text(&SizeDelta::between(0, 7)), "+7 B");
        assert_eq!(delta_class(-1), "shrank");
        assert_eq!(delta_class(0), "same");
    }

    #[test]
    fn totals_and_heat() {
        let t = DiffTotals {
            added: 1,
            added_bytes: 10,
            removed: 2,
            removed_bytes: 100,
            changed: 1,
            changed_bytes_before: 5,
            changed_bytes_after: 50,
            ..DiffTotals::default()
        };
        assert_eq!(net_bytes(&t), -45);
        assert_eq!(count_bytes(0, 0), "—");
        assert_eq!(count_bytes(2, 100), "2 files, 100 B");
        assert_eq!(heat(0, 10), 0.0);
        assert_eq!(heat(10, 10), 1.0);
        assert!(heat(1, 1000) >= 0.08);
    }

    #[test]
    fn history_base_is_summarised() {
        let row = |status| HistoryRow {
            status,
            a: Some(0),
            b: Some(0),
            created_by: "x".into(),
            empty_layer: false,
            layer_a: None,
            layer_b: None,
        };
        let rows = vec![
            row(StepStatus::Shared),
            row(StepStatus::Shared),
            row(StepStatus::OnlyA),
            row(StepStatus::OnlyB),
        ];
        let (base, rest) = visible_history(&rows);
        assert_eq!(base, 2);
        assert_eq!(rest.len(), 2);
        assert_eq!(short_digest("sha256:0123456789abcdef"), "0123456789ab");
        assert_eq!(sharing_class(LayerSharing::CommonBase).0, "common-base");
        assert_eq!(change_mark(ChangeKind::Removed).1, "removed");
        assert_eq!(step_class(StepStatus::Rebuilt).0, "rebuilt");
    }

    fn cell(i: usize, id: &[u8], sharing: LayerSharing) -> LayerCell {
        let d = app::model::Digest::of(id);
        LayerCell {
            index: i,
            diff_id: d.clone(),
            chain_id: d,
            content_bytes: 1,
            tar_bytes: 1,
            created_by: None,
            sharing,
            shared_with: vec![],
        }
    }

    #[test]
    fn equal_diff_ids_share_a_row() {
        use LayerSharing::{CommonBase, SharedOutOfPosition as Moved, Unique};
        // A: base, tools, app · B: base, app (the same app layer one position lower).
        let rows = vec![
            LayerRow {
                position: 0,
                cells: vec![
                    Some(cell(0, b"base", CommonBase)),
                    Some(cell(0, b"base", CommonBase)),
                ],
            },
            LayerRow {
                position: 1,
                cells: vec![
                    Some(cell(1, b"tools", Unique)),
                    Some(cell(1, b"app", Moved)),
                ],
            },
            LayerRow {
                position: 2,
                cells: vec![Some(cell(2, b"app", Moved)), None],
            },
        ];
        let aligned = align_by_diff_id(&rows, 2);
        let ids: Vec<(Option<usize>, Option<usize>)> = aligned
            .iter()
            .map(|r| {
                (
                    r[0].as_ref().map(|c| c.index),
                    r[1].as_ref().map(|c| c.index),
                )
            })
            .collect();
        assert_eq!(
            ids,
            vec![(Some(0), Some(0)), (Some(1), None), (Some(2), Some(1))]
        );
        assert_eq!(common_base_rows(&aligned), 1);
        // Nothing in common: B's layers follow A's.
        let apart = vec![LayerRow {
            position: 0,
            cells: vec![Some(cell(0, b"a", Unique)), Some(cell(0, b"b", Unique))],
        }];
        let aligned = align_by_diff_id(&apart, 2);
        assert_eq!(aligned.len(), 2);
        assert_eq!(common_base_rows(&aligned), 0);
    }
}
