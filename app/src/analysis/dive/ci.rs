//! dive's CI rules (`.dive-ci`, `rules:` with `lowestEfficiency`, `highestWastedBytes`,
//! `highestUserWastedPercent`) as pure functions: the same parsing (`strconv.ParseFloat`,
//! go-humanize `ParseBytes`), the same validation, the same strict comparisons and so the
//! same pass/fail as dive 0.13.1.

use super::gojson::go_v;
use serde::{Deserialize, Serialize};

/// Why a `.dive-ci` file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CiError {
    /// A line that is neither a comment, a key, nor a `key: value` pair.
    #[error("dive ci config line {line}: cannot parse {text:?}")]
    Syntax { line: usize, text: String },
}

/// The rule values found in a `.dive-ci` file (as viper would hand them to dive).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiveCiFile {
    pub lowest_efficiency: Option<String>,
    pub highest_wasted_bytes: Option<String>,
    pub highest_user_wasted_percent: Option<String>,
}

/// The three rule values, as strings exactly like dive keeps them (`"disabled"` turns a
/// rule off).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiveCiRules {
    pub lowest_efficiency: String,
    pub highest_wasted_bytes: String,
    pub highest_user_wasted_percent: String,
}

impl Default for DiveCiRules {
    /// dive's flag defaults: `0.9`, `disabled`, `0.1`.
    fn default() -> Self {
        DiveCiRules {
            lowest_efficiency: "0.9".to_owned(),
            highest_wasted_bytes: "disabled".to_owned(),
            highest_user_wasted_percent: "0.1".to_owned(),
        }
    }
}

impl DiveCiRules {
    /// Values from the file override the defaults (explicit command-line flags, applied
    /// by the caller afterwards, override both, as viper does).
    pub fn with_file(mut self, file: &DiveCiFile) -> Self {
        if let Some(v) = &file.lowest_efficiency {
            self.lowest_efficiency = v.clone();
        }
        if let Some(v) = &file.highest_wasted_bytes {
            self.highest_wasted_bytes = v.clone();
        }
        if let Some(v) = &file.highest_user_wasted_percent {
            self.highest_user_wasted_percent = v.clone();
        }
        self
    }
}

/// Reads the `rules:` block of a `.dive-ci` YAML file (block mappings with scalar
/// values; other top-level keys such as `plugins` are skipped). YAML numbers come back the
/// way viper prints them; `null`/`~`/empty values leave the default in place.
pub fn parse_dive_ci(text: &str) -> Result<DiveCiFile, CiError> {
    let mut out = DiveCiFile::default();
    let mut in_rules = false;
    for (i, raw) in text.lines().enumerate() {
        let line = strip_comment(raw);
        if line.trim().is_empty() || line.trim() == "---" {
            continue;
        }
        let indented = line.starts_with(' ') || line.starts_with('\t');
        let body = line.trim();
        if body.starts_with("- ") || body == "-" {
            continue;
        }
        let Some((key, value)) = body.split_once(':') else {
            return Err(CiError::Syntax {
                line: i + 1,
                text: raw.to_owned(),
            });
        };
        let key = unquote(key.trim());
        if !indented {
            in_rules = key == "rules";
            continue;
        }
        if !in_rules {
            continue;
        }
        let value = yaml_scalar(value.trim());
        let slot = match key.as_str() {
            "lowestEfficiency" => &mut out.lowest_efficiency,
            "highestWastedBytes" => &mut out.highest_wasted_bytes,
            "highestUserWastedPercent" => &mut out.highest_user_wasted_percent,
            _ => continue,
        };
        *slot = value;
    }
    Ok(out)
}

fn strip_comment(line: &str) -> &str {
    let mut quote: Option<char> = None;
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '#') if i == 0 || line[..i].ends_with([' ', '\t']) => return &line[..i],
            _ => {}
        }
    }
    line
}

fn unquote(s: &str) -> String {
    let b = s.as_bytes();
    if b.len() >= 2
        && ((b[0] == b'"' && b[b.len() - 1] == b'"') || (b[0] == b'\'' && b[b.len() - 1] == b'\''))
    {
        s[1..s.len() - 1].to_owned()
    } else {
        s.to_owned()
    }
}

/// A plain or quoted YAML scalar as viper's `GetString` returns it.
fn yaml_scalar(v: &str) -> Option<String> {
    if v.is_empty() || v == "~" || v.eq_ignore_ascii_case("null") {
        return None;
    }
    if v.starts_with('"') || v.starts_with('\'') {
        return Some(unquote(v));
    }
    let int = if let Some(h) = v.strip_prefix("0x") {
        i64::from_str_radix(h, 16).ok()
    } else if let Some(o) = v.strip_prefix("0o") {
        i64::from_str_radix(o, 8).ok()
    } else {
        None
    };
    Some(int.map_or_else(|| v.to_owned(), |n| n.to_string()))
}

/// go-humanize `ParseBytes`: `20MB`, `20 mb`, `1.5GiB`, `1,000 kB`, plain numbers.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let end = s
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_digit() || *c == '.' || *c == ','))
        .map_or(s.len(), |(i, _)| i);
    let num: String = s[..end].chars().filter(|c| *c != ',').collect();
    let f: f64 = parse_go_float(&num)
        .ok_or_else(|| format!("strconv.ParseFloat: parsing {num:?}: invalid syntax"))?;
    let extra = s[end..].trim().to_lowercase();
    let mult: u64 = match extra.as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "ki" | "kib" => 1 << 10,
        "m" | "mb" => 1_000_000,
        "mi" | "mib" => 1 << 20,
        "g" | "gb" => 1_000_000_000,
        "gi" | "gib" => 1 << 30,
        "t" | "tb" => 1_000_000_000_000,
        "ti" | "tib" => 1 << 40,
        "p" | "pb" => 1_000_000_000_000_000,
        "pi" | "pib" => 1 << 50,
        "e" | "eb" => 1_000_000_000_000_000_000,
        "ei" | "eib" => 1 << 60,
        _ => return Err(format!("unhandled size name: {extra}")),
    };
    let v = f * mult as f64;
    if v >= u64::MAX as f64 {
        return Err(format!("too large: {s}"));
    }
    Ok(v as u64)
}

/// `strconv.ParseFloat(s, 64)` for the inputs dive passes (decimal, exponent, inf, nan).
fn parse_go_float(s: &str) -> Option<f64> {
    let t = s.trim_start_matches(['+', '-']);
    let lower = t.to_ascii_lowercase();
    let special = matches!(lower.as_str(), "inf" | "infinity" | "nan");
    let plain = !t.is_empty()
        && t.bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'));
    if !(special || plain) {
        return None;
    }
    s.parse::<f64>().ok()
}

/// Outcome of one rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RuleStatus {
    Pass,
    Fail,
    /// The rule is `disabled` (dive prints SKIP).
    Disabled,
    Misconfigured,
}

/// One rule's result with dive's message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleResult {
    /// `lowestEfficiency`, `highestWastedBytes` or `highestUserWastedPercent`.
    pub rule: String,
    pub status: RuleStatus,
    pub message: String,
}

/// The evaluation of all rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CiOutcome {
    pub pass: bool,
    /// A rule value was invalid: dive fails without evaluating anything.
    pub misconfigured: bool,
    pub results: Vec<RuleResult>,
}

/// dive's `CiEvaluator.Evaluate` over its three figures.
pub fn evaluate_ci(
    rules: &DiveCiRules,
    efficiency: f64,
    wasted_bytes: u64,
    wasted_user_percent: f64,
) -> CiOutcome {
    let ratio = |value: &str, name: &str| -> Result<f64, String> {
        let f = parse_go_float(value)
            .ok_or_else(|| format!("invalid config value ('{value}'): strconv.ParseFloat: parsing {value:?}: invalid syntax"))?;
        if !(0.0..=1.0).contains(&f) && !f.is_nan() {
            return Err(format!(
                "{name} config value is outside allowed range (0-1), given '{value}'"
            ));
        }
        Ok(f)
    };
    let checks: [(&str, &str); 3] = [
        ("lowestEfficiency", &rules.lowest_efficiency),
        ("highestWastedBytes", &rules.highest_wasted_bytes),
        (
            "highestUserWastedPercent",
            &rules.highest_user_wasted_percent,
        ),
    ];
    let mut results = Vec::new();
    let mut misconfigured = false;
    for (name, value) in checks {
        if value == "disabled" {
            results.push(RuleResult {
                rule: name.to_owned(),
                status: RuleStatus::Disabled,
                message: "rule disabled".to_owned(),
            });
            continue;
        }
        let outcome: Result<(bool, String), String> = match name {
            "lowestEfficiency" => ratio(value, name).map(|t| {
                let fail = t > efficiency;
                (fail, format!("image efficiency is too low (efficiency={} < threshold={})", go_v(efficiency), go_v(t)))
            }),
            "highestWastedBytes" => parse_size(value)
                .map_err(|e| format!("invalid config value ('{value}'): {e}"))
                .map(|t| (wasted_bytes > t, format!("too many bytes wasted (wasted-bytes={wasted_bytes} > threshold={t})"))),
            _ => ratio(value, name).map(|t| {
                let fail = t < wasted_user_percent;
                (
                    fail,
                    format!(
                        "too many bytes wasted, relative to the user bytes added (%-user-wasted-bytes={} > threshold={})",
                        go_v(wasted_user_percent),
                        go_v(t)
                    ),
                )
            }),
        };
        results.push(match outcome {
            Err(message) => {
                misconfigured = true;
                RuleResult {
                    rule: name.to_owned(),
                    status: RuleStatus::Misconfigured,
                    message,
                }
            }
            Ok((true, message)) => RuleResult {
                rule: name.to_owned(),
                status: RuleStatus::Fail,
                message,
            },
            Ok((false, _)) => RuleResult {
                rule: name.to_owned(),
                status: RuleStatus::Pass,
                message: String::new(),
            },
        });
    }
    if misconfigured {
        // dive stops here: nothing is evaluated and the run fails
        results.retain(|r| matches!(r.status, RuleStatus::Misconfigured | RuleStatus::Disabled));
        return CiOutcome {
            pass: false,
            misconfigured: true,
            results,
        };
    }
    let pass = results.iter().all(|r| r.status != RuleStatus::Fail);
    CiOutcome {
        pass,
        misconfigured: false,
        results,
    }
}
