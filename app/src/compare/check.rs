//! The CI size gate behind `strata compare --fail-if-larger PCT`: fails when any image
//! after the baseline grew by more than PCT percent of the baseline's content bytes.

use super::Comparison;
use serde::{Deserialize, Serialize};

/// The outcome of [`fail_if_larger`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SizeCheck {
    /// True when some image grew more than allowed.
    pub failed: bool,
    /// The allowed growth, percent.
    pub limit_pct: f64,
    /// The largest growth seen, percent (`None` when the baseline is empty and nothing
    /// grew, or when only the baseline was given).
    pub worst_pct: Option<f64>,
    /// One line per image after the baseline, e.g. `B is 12.0% larger than A (+1.2 MB),
    /// limit 10.0%: fail`.
    pub lines: Vec<String>,
}

/// Checks every image after the baseline against `max_growth_pct`. Growth from an empty
/// baseline to a non-empty image counts as infinite.
pub fn fail_if_larger(comparison: &Comparison, max_growth_pct: f64) -> SizeCheck {
    let mut failed = false;
    let mut worst: Option<f64> = None;
    let mut lines = Vec::new();
    let Some(base) = comparison.images.first() else {
        return SizeCheck {
            failed,
            limit_pct: max_growth_pct,
            worst_pct: worst,
            lines,
        };
    };
    for img in comparison.images.iter().skip(1) {
        let d = img.content_delta;
        let growth = match d.pct {
            Some(p) => p,
            None if d.bytes > 0 => f64::INFINITY,
            None => 0.0,
        };
        worst = Some(worst.map_or(growth, |w| w.max(growth)));
        let bad = growth > max_growth_pct;
        failed |= bad;
        let sign = if d.bytes >= 0 { "+" } else { "-" };
        let how = if growth.is_infinite() {
            format!("{} grew from an empty {}", img.label, base.label)
        } else if d.bytes >= 0 {
            format!("{} is {growth:.1}% larger than {}", img.label, base.label)
        } else {
            format!(
                "{} is {:.1}% smaller than {}",
                img.label, -growth, base.label
            )
        };
        lines.push(format!(
            "{how} ({sign}{}), limit {max_growth_pct:.1}%: {}",
            crate::fmt::size(d.bytes.unsigned_abs()),
            if bad { "fail" } else { "pass" }
        ));
    }
    SizeCheck {
        failed,
        limit_pct: max_growth_pct,
        worst_pct: worst,
        lines,
    }
}
