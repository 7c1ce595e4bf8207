//! Pure helpers of the compare and sharing pages: signed sizes and deltas as text, CSS
//! classes for layer sharing and change kinds, the heat of a sharing-matrix cell, and
//! the history rows worth showing. No DOM here, so everything is unit-tested natively.

use app::compare::{ChangeKind, DiffTotals, HistoryRow, LayerSharing, SizeDelta, StepStatus};

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
}
