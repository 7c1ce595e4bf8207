//! dive's `.dive-ci` file and CI thresholds: the three rules (`lowestEfficiency`,
//! `highestWastedBytes`, `highestUserWastedPercent`) read from the file as dive writes
//! it, overridden by command-line flags, and evaluated the way dive does (defaults 0.9,
//! disabled, 0.1; a rule fails on a strict `<` / `>`).
//!
//! The file is a tiny flat YAML document; it is parsed here line by line (comments,
//! quotes, `disabled` values) rather than with a YAML library.

use std::fmt;

/// dive's defaults.
pub const DEFAULT_LOWEST_EFFICIENCY: f64 = 0.9;
pub const DEFAULT_HIGHEST_USER_WASTED_PERCENT: f64 = 0.1;

/// Why a `.dive-ci` file or a threshold could not be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum CiConfigError {
    /// A line that is not `key: value`.
    #[error("line {line}: expected `key: value`, found {text:?}")]
    Syntax { line: usize, text: String },
    /// A rule value that is not a number (or `disabled`).
    #[error("{key}: {value:?} is not a number or \"disabled\"")]
    BadNumber { key: String, value: String },
    /// A size that cannot be parsed (`20MB`, `1.5 GiB`, `1048576`).
    #[error("{key}: {value:?} is not a size (e.g. 20MB, 1.5GiB, 1048576)")]
    BadSize { key: String, value: String },
}

/// One threshold: a value, or explicitly disabled.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Threshold<T> {
    Disabled,
    Value(T),
}

/// The CI rules in force.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CiRules {
    pub lowest_efficiency: Threshold<f64>,
    pub highest_wasted_bytes: Threshold<u64>,
    pub highest_user_wasted_percent: Threshold<f64>,
}

impl Default for CiRules {
    fn default() -> Self {
        CiRules {
            lowest_efficiency: Threshold::Value(DEFAULT_LOWEST_EFFICIENCY),
            highest_wasted_bytes: Threshold::Disabled,
            highest_user_wasted_percent: Threshold::Value(DEFAULT_HIGHEST_USER_WASTED_PERCENT),
        }
    }
}

/// The figures the rules test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CiFigures {
    /// In `[0, 1]`.
    pub efficiency: f64,
    pub wasted_bytes: u64,
    /// A ratio (0.1 = 10 %).
    pub user_wasted_percent: f64,
}

/// The outcome of one rule.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleResult {
    /// dive's rule name, e.g. `lowestEfficiency`.
    pub name: &'static str,
    pub status: RuleStatus,
    /// What was measured against what, e.g. `efficiency 0.8500 < 0.9000`.
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleStatus {
    Pass,
    Fail,
    Skipped,
}

impl fmt::Display for RuleStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RuleStatus::Pass => "PASS",
            RuleStatus::Fail => "FAIL",
            RuleStatus::Skipped => "SKIP",
        })
    }
}

impl CiRules {
    /// Applies a `.dive-ci` document on top of `self`.
    pub fn apply_file(&mut self, text: &str) -> Result<(), CiConfigError> {
        let mut in_rules = false;
        let mut rules_indent = 0usize;
        for (n, raw) in text.lines().enumerate() {
            let line = strip_comment(raw);
            if line.trim().is_empty() || line.trim() == "---" {
                continue;
            }
            let indent = line.len() - line.trim_start().len();
            let Some((key, value)) = line.trim().split_once(':') else {
                return Err(CiConfigError::Syntax {
                    line: n + 1,
                    text: raw.chars().take(80).collect(),
                });
            };
            let (key, value) = (key.trim(), unquote(value.trim()));
            if indent == 0 {
                in_rules = key == "rules" && value.is_empty();
                rules_indent = 0;
                continue;
            }
            if !in_rules {
                continue;
            }
            if rules_indent == 0 {
                rules_indent = indent;
            }
            if indent != rules_indent {
                continue;
            }
            match key {
                "lowestEfficiency" => self.lowest_efficiency = ratio(key, value)?,
                "highestWastedBytes" => self.highest_wasted_bytes = size(key, value)?,
                "highestUserWastedPercent" => self.highest_user_wasted_percent = ratio(key, value)?,
                // dive ignores unknown keys too.
                _ => {}
            }
        }
        Ok(())
    }

    /// Evaluates every rule.
    pub fn evaluate(&self, f: &CiFigures) -> Vec<RuleResult> {
        let mut out = Vec::new();
        out.push(match self.lowest_efficiency {
            Threshold::Disabled => skipped("lowestEfficiency"),
            Threshold::Value(min) => RuleResult {
                name: "lowestEfficiency",
                status: if f.efficiency < min {
                    RuleStatus::Fail
                } else {
                    RuleStatus::Pass
                },
                detail: format!(
                    "image efficiency {:.4} (lowest allowed {min:.4})",
                    f.efficiency
                ),
            },
        });
        out.push(match self.highest_wasted_bytes {
            Threshold::Disabled => skipped("highestWastedBytes"),
            Threshold::Value(max) => RuleResult {
                name: "highestWastedBytes",
                status: if f.wasted_bytes > max {
                    RuleStatus::Fail
                } else {
                    RuleStatus::Pass
                },
                detail: format!(
                    "wasted {} (highest allowed {})",
                    app::fmt::size(f.wasted_bytes),
                    app::fmt::size(max)
                ),
            },
        });
        out.push(match self.highest_user_wasted_percent {
            Threshold::Disabled => skipped("highestUserWastedPercent"),
            Threshold::Value(max) => RuleResult {
                name: "highestUserWastedPercent",
                status: if f.user_wasted_percent > max {
                    RuleStatus::Fail
                } else {
                    RuleStatus::Pass
                },
                detail: format!(
                    "user wasted {:.4} (highest allowed {max:.4})",
                    f.user_wasted_percent
                ),
            },
        });
        out
    }
}

fn skipped(name: &'static str) -> RuleResult {
    RuleResult {
        name,
        status: RuleStatus::Skipped,
        detail: "disabled".into(),
    }
}

fn strip_comment(line: &str) -> &str {
    // A '#' starts a comment at line start or after whitespace (YAML), not inside a word.
    let bytes = line.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'#' && (i == 0 || bytes[i - 1].is_ascii_whitespace()) {
            return &line[..i];
        }
    }
    line
}

fn unquote(v: &str) -> &str {
    let v = v.trim();
    for q in ['"', '\''] {
        if let Some(inner) = v.strip_prefix(q).and_then(|s| s.strip_suffix(q)) {
            return inner;
        }
    }
    v
}

/// A ratio rule value (`0.95`, or `disabled`).
pub fn ratio(key: &str, value: &str) -> Result<Threshold<f64>, CiConfigError> {
    if value.eq_ignore_ascii_case("disabled") {
        return Ok(Threshold::Disabled);
    }
    value
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .map(Threshold::Value)
        .ok_or_else(|| CiConfigError::BadNumber {
            key: key.into(),
            value: value.chars().take(40).collect(),
        })
}

/// A size rule value as dive parses it (go-humanize: `20MB` = 20×10⁶, `20MiB` = 20×2²⁰,
/// a bare number is bytes), or `disabled`.
pub fn size(key: &str, value: &str) -> Result<Threshold<u64>, CiConfigError> {
    if value.eq_ignore_ascii_case("disabled") {
        return Ok(Threshold::Disabled);
    }
    parse_size(value)
        .map(Threshold::Value)
        .ok_or_else(|| CiConfigError::BadSize {
            key: key.into(),
            value: value.chars().take(40).collect(),
        })
}

fn parse_size(value: &str) -> Option<u64> {
    let v = value.trim();
    let split = v
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(v.len());
    let (num, unit) = v.split_at(split);
    let num: f64 = num.parse().ok()?;
    let unit = unit.trim().to_ascii_lowercase();
    let mult: f64 = match unit.as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "m" | "mb" => 1e6,
        "g" | "gb" => 1e9,
        "t" | "tb" => 1e12,
        "ki" | "kib" => 1024.0,
        "mi" | "mib" => 1024.0 * 1024.0,
        "gi" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "ti" | "tib" => 1024.0f64.powi(4),
        _ => return None,
    };
    let bytes = num * mult;
    (bytes.is_finite() && bytes >= 0.0 && bytes < u64::MAX as f64).then_some(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_dives_own_example() {
        let text = "rules:\n  # If the efficiency is measured below X%, mark as failed.\n  lowestEfficiency: 0.95\n\n  highestWastedBytes: 20MB\n  highestUserWastedPercent: \"disabled\"\n";
        let mut r = CiRules::default();
        r.apply_file(text).unwrap();
        assert_eq!(r.lowest_efficiency, Threshold::Value(0.95));
        assert_eq!(r.highest_wasted_bytes, Threshold::Value(20_000_000));
        assert_eq!(r.highest_user_wasted_percent, Threshold::Disabled);
    }

    #[test]
    fn ignores_other_sections_and_rejects_garbage() {
        let mut r = CiRules::default();
        r.apply_file("other:\n  lowestEfficiency: 0.1\nrules:\n  highestWastedBytes: 1MiB # c\n")
            .unwrap();
        assert_eq!(r.lowest_efficiency, Threshold::Value(0.9));
        assert_eq!(r.highest_wasted_bytes, Threshold::Value(1 << 20));
        assert!(matches!(
            CiRules::default().apply_file("rules:\n  lowestEfficiency: high\n"),
            Err(CiConfigError::BadNumber { .. })
        ));
        assert!(matches!(
            CiRules::default().apply_file("rules:\n  highestWastedBytes: 3 parsecs\n"),
            Err(CiConfigError::BadSize { .. })
        ));
        assert!(matches!(
            CiRules::default().apply_file("rules\n"),
            Err(CiConfigError::Syntax { line: 1, .. })
        ));
    }

    #[test]
    fn rules_fail_on_strict_comparisons() {
        let r = CiRules {
            lowest_efficiency: Threshold::Value(0.9),
            highest_wasted_bytes: Threshold::Value(100),
            highest_user_wasted_percent: Threshold::Value(0.1),
        };
        let at_limit = CiFigures {
            efficiency: 0.9,
            wasted_bytes: 100,
            user_wasted_percent: 0.1,
        };
        assert!(r
            .evaluate(&at_limit)
            .iter()
            .all(|x| x.status == RuleStatus::Pass));
        let over = CiFigures {
            efficiency: 0.89,
            wasted_bytes: 101,
            user_wasted_percent: 0.11,
        };
        assert!(r
            .evaluate(&over)
            .iter()
            .all(|x| x.status == RuleStatus::Fail));
        let d = CiRules::default().evaluate(&over);
        assert_eq!(d[1].status, RuleStatus::Skipped);
    }

    #[test]
    fn sizes_follow_go_humanize() {
        assert_eq!(parse_size("1048576"), Some(1_048_576));
        assert_eq!(parse_size("1.5GB"), Some(1_500_000_000));
        assert_eq!(parse_size("2 KiB"), Some(2048));
        assert_eq!(parse_size("-1"), None);
        assert_eq!(parse_size("x"), None);
    }
}
