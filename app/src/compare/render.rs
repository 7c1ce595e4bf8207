//! Renderers of a [`Comparison`]: plain text in 100 columns (the CLI), pretty JSON
//! (the API's report, `--format json`), and Markdown for a pull-request comment
//! (tables + the summary). Also plain text for a [`SharingMap`]. Names and commands
//! from images are untrusted: text output escapes control characters, Markdown output
//! escapes table and code delimiters.

use super::files::{DiffGroup, DiffTotals, FileDiff};
use super::layers::{LayerCell, LayerSharing};
use super::sentences::pct;
use super::{Comparison, ImageSide, PairComparison, SharingMap};
use crate::fmt::thousands;
use crate::fmt::{display_path, size};
use std::fmt::Write as _;

/// Width of the text report.
const WIDTH: usize = 100;
/// Most directory rows per file diff in reports.
const MAX_GROUP_ROWS: usize = 12;
/// Most history rows per pair in reports.
const MAX_HISTORY_ROWS: usize = 40;

/// Pretty JSON of the whole comparison: the API's [`crate::api::CompareReport`].
pub fn render_json(c: &Comparison) -> Result<String, serde_json::Error> {
    serde_json::to_string_pretty(&crate::api::CompareReport::from(c))
}

/// Cuts `s` to `width` characters, ending in `…` when cut; control characters escaped.
fn fit(s: &str, width: usize) -> String {
    let clean = display_path(s.as_bytes());
    if clean.chars().count() <= width {
        return clean;
    }
    let mut out: String = clean.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

fn pad(s: &str, width: usize) -> String {
    let s = fit(s, width);
    let n = s.chars().count();
    format!("{s}{}", " ".repeat(width.saturating_sub(n)))
}

fn signed_size(bytes: i64) -> String {
    let sign = if bytes < 0 { "-" } else { "+" };
    format!("{sign}{}", size(bytes.unsigned_abs()))
}

fn delta_text(side: &ImageSide, is_base: bool) -> String {
    let d = side.content_delta;
    match d.pct {
        _ if is_base => "baseline".to_owned(),
        Some(p) => format!(
            "{}{} ({})",
            if d.bytes < 0 { "-" } else { "+" },
            pct(p),
            signed_size(d.bytes)
        ),
        None => signed_size(d.bytes),
    }
}

fn marker(s: LayerSharing) -> char {
    match s {
        LayerSharing::CommonBase => '=',
        LayerSharing::SharedInPosition => '+',
        LayerSharing::SharedOutOfPosition => '~',
        LayerSharing::Unique => '*',
    }
}

/// A history command without the classic builder's `/bin/sh -c #(nop)` noise.
fn short_command(c: &LayerCell) -> &str {
    let cmd = c.created_by.as_deref().unwrap_or("");
    let cmd = cmd.strip_prefix("/bin/sh -c ").unwrap_or(cmd);
    cmd.strip_prefix("#(nop) ").unwrap_or(cmd).trim()
}

fn cell_text(c: &LayerCell, width: usize) -> String {
    pad(
        &format!(
            "{} {:>8} {}",
            marker(c.sharing),
            size(c.content_bytes),
            short_command(c)
        ),
        width,
    )
}

fn totals_line(t: &DiffTotals) -> String {
    let mut parts = Vec::new();
    if t.removed > 0 {
        parts.push(format!(
            "removed {} files ({})",
            thousands(t.removed),
            size(t.removed_bytes)
        ));
    }
    if t.added > 0 {
        parts.push(format!(
            "added {} ({})",
            thousands(t.added),
            size(t.added_bytes)
        ));
    }
    if t.changed > 0 {
        parts.push(format!(
            "changed {} ({} → {})",
            thousands(t.changed),
            size(t.changed_bytes_before),
            size(t.changed_bytes_after)
        ));
    }
    if t.attrs_only > 0 {
        parts.push(format!("attributes only {}", thousands(t.attrs_only)));
    }
    parts.push(format!("identical {}", thousands(t.unchanged)));
    parts.join(" · ")
}

fn group_name(g: &DiffGroup) -> String {
    if g.rest {
        format!("{} (rest)", g.display)
    } else {
        g.display.clone()
    }
}

fn bytes_or_blank(n: u64, b: u64) -> String {
    if n == 0 {
        String::new()
    } else {
        format!("{} ({})", size(b), thousands(n))
    }
}

fn text_files(out: &mut String, d: &FileDiff) {
    let _ = writeln!(out, "\nFiles {} → {}", d.a.label, d.b.label);
    let _ = writeln!(out, "  {}", fit(&totals_line(&d.totals), WIDTH - 2));
    if d.groups.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "  {} {:>18} {:>18} {:>18}",
        pad("directory", 40),
        "removed (files)",
        "added (files)",
        "changed (files)"
    );
    for g in d.groups.iter().take(MAX_GROUP_ROWS) {
        let t = &g.totals;
        let line = format!(
            "  {} {:>18} {:>18} {:>18}",
            pad(&group_name(g), 40),
            bytes_or_blank(t.removed, t.removed_bytes),
            bytes_or_blank(t.added, t.added_bytes),
            bytes_or_blank(t.changed, t.changed_bytes_after),
        );
        let _ = writeln!(out, "{}", line.trim_end());
    }
}

fn text_config(out: &mut String, c: &Comparison, p: &PairComparison) {
    let (a, b) = (&c.images[p.baseline].label, &c.images[p.other].label);
    let rows = config_rows(p);
    if !rows.is_empty() {
        let _ = writeln!(out, "\nConfig {a} → {b}");
        for (k, x, y) in rows {
            let _ = writeln!(
                out,
                "  {} {} → {}",
                pad(&k, 30),
                fit(if x.is_empty() { "(none)" } else { &x }, 32),
                fit(if y.is_empty() { "(none)" } else { &y }, 32)
            );
        }
    }
    let h = &p.config.history;
    let _ = writeln!(
        out,
        "\nHistory {a} → {b} ({} shared; ≈ same step, ≠ rebuilt, - only {a}, + only {b})",
        if h.shared_steps == 1 {
            "1 step".to_owned()
        } else {
            format!("{} steps", thousands(h.shared_steps as u64))
        }
    );
    for r in h.rows.iter().skip(h.shared_steps).take(MAX_HISTORY_ROWS) {
        let m = match r.status {
            super::StepStatus::Shared => '=',
            super::StepStatus::Same => '≈',
            super::StepStatus::Rebuilt => '≠',
            super::StepStatus::OnlyA => '-',
            super::StepStatus::OnlyB => '+',
        };
        let _ = writeln!(out, "  {m} {}", fit(&r.created_by, WIDTH - 4));
    }
}

/// The comparison as a 100-column text report.
pub fn render_text(c: &Comparison) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Comparing {} images (A is the baseline)",
        c.images.len()
    );
    for (i, s) in c.images.iter().enumerate() {
        let _ = writeln!(
            out,
            "  {}  {} {}  {:>3} layers  {:>8}  {}{}",
            s.label,
            pad(&s.name, 36),
            s.id.short(),
            s.layer_count,
            size(s.content_bytes),
            fit(&delta_text(s, i == 0), 22),
            s.download_bytes
                .map(|d| format!("  {} compressed", size(d)))
                .unwrap_or_default()
        );
    }
    let _ = writeln!(out, "\nSummary");
    for line in c.summary() {
        let _ = writeln!(out, "  - {}", fit(&line, WIDTH - 4));
    }
    let n = c.images.len().max(1);
    let col = (WIDTH - 6) / n - 1;
    let _ = writeln!(
        out,
        "\nLayers (= common base, + shared in position, ~ shared elsewhere, * only here)"
    );
    let mut head = format!("  {:>3} ", "#");
    for s in &c.images {
        let _ = write!(head, "{} ", pad(&format!("{} {}", s.label, s.name), col));
    }
    let _ = writeln!(out, "{}", head.trim_end());
    for row in &c.layers.rows {
        let mut line = format!("  {:>3} ", row.position);
        for cell in &row.cells {
            let text = match cell {
                Some(cell) => cell_text(cell, col),
                None => pad("", col),
            };
            let _ = write!(line, "{text} ");
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
    for p in &c.pairs {
        if let Some(d) = &p.files {
            text_files(&mut out, d);
        }
        text_config(&mut out, c, p);
    }
    out
}

fn md(s: &str) -> String {
    crate::fmt::markdown_cell(s)
}

fn md_files(out: &mut String, d: &FileDiff) {
    let _ = writeln!(out, "\n#### Files {} → {}\n", d.a.label, d.b.label);
    let _ = writeln!(out, "{}\n", md(&totals_line(&d.totals)));
    if d.groups.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "| Directory | Removed (files) | Added (files) | Changed (files) | Net |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|");
    for g in d.groups.iter().take(MAX_GROUP_ROWS) {
        let t = &g.totals;
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            md(&group_name(g)),
            bytes_or_blank(t.removed, t.removed_bytes),
            bytes_or_blank(t.added, t.added_bytes),
            bytes_or_blank(t.changed, t.changed_bytes_after),
            signed_size(t.delta())
        );
    }
}

/// Setting, A's value, B's value for every config difference.
fn config_rows(p: &PairComparison) -> Vec<(String, String, String)> {
    let cfg = &p.config;
    let mut rows: Vec<(String, String, String)> = Vec::new();
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    let list = |v: &Option<Vec<String>>| v.as_ref().map(|v| v.join(" ")).unwrap_or_default();
    if let Some(x) = &cfg.platform {
        rows.push(("Platform".into(), x.before.clone(), x.after.clone()));
    }
    if let Some(x) = &cfg.user {
        rows.push(("User".into(), opt(&x.before), opt(&x.after)));
    }
    if let Some(x) = &cfg.working_dir {
        rows.push(("WorkingDir".into(), opt(&x.before), opt(&x.after)));
    }
    if let Some(x) = &cfg.entrypoint {
        rows.push(("Entrypoint".into(), list(&x.before), list(&x.after)));
    }
    if let Some(x) = &cfg.cmd {
        rows.push(("Cmd".into(), list(&x.before), list(&x.after)));
    }
    for (what, m) in [("Env", &cfg.env), ("Label", &cfg.labels)] {
        for (k, v) in &m.removed {
            rows.push((format!("{what} {k}"), v.clone(), String::new()));
        }
        for (k, v) in &m.added {
            rows.push((format!("{what} {k}"), String::new(), v.clone()));
        }
        for (k, v) in &m.changed {
            rows.push((format!("{what} {k}"), v.before.clone(), v.after.clone()));
        }
    }
    for port in &cfg.exposed_ports.removed {
        rows.push(("ExposedPort".into(), port.clone(), String::new()));
    }
    for port in &cfg.exposed_ports.added {
        rows.push(("ExposedPort".into(), String::new(), port.clone()));
    }
    rows
}

fn md_config(out: &mut String, c: &Comparison, p: &PairComparison) {
    let (a, b) = (&c.images[p.baseline].label, &c.images[p.other].label);
    let rows = config_rows(p);
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n#### Config {a} → {b}\n");
    let _ = writeln!(out, "| Setting | {a} | {b} |");
    let _ = writeln!(out, "|---|---|---|");
    for (k, x, y) in rows {
        let _ = writeln!(out, "| {} | {} | {} |", md(&k), md(&x), md(&y));
    }
}

/// The comparison as Markdown for a pull-request comment.
pub fn render_markdown(c: &Comparison) -> String {
    let mut out = String::from("### Image comparison\n\n");
    let _ = writeln!(out, "| | Image | ID | Layers | Size | Change |");
    let _ = writeln!(out, "|---|---|---|---:|---:|---:|");
    for (i, s) in c.images.iter().enumerate() {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            s.label,
            md(&s.name),
            s.id.short(),
            s.layer_count,
            match s.download_bytes {
                Some(d) => format!("{} ({} compressed)", size(s.content_bytes), size(d)),
                None => size(s.content_bytes),
            },
            md(&delta_text(s, i == 0))
        );
    }
    let _ = writeln!(out, "\n**Summary**\n");
    for line in c.summary() {
        let _ = writeln!(out, "- {}", md(&line));
    }
    let _ = writeln!(out, "\n<details><summary>Layers</summary>\n");
    let mut head = String::from("| # |");
    let mut rule = String::from("|---:|");
    for s in &c.images {
        let _ = write!(head, " {} |", s.label);
        rule.push_str("---|");
    }
    let _ = writeln!(out, "{head}\n{rule}");
    for row in &c.layers.rows {
        let mut line = format!("| {} |", row.position);
        for cell in &row.cells {
            match cell {
                Some(cell) => {
                    let _ = write!(
                        line,
                        " {} {} {} |",
                        marker(cell.sharing),
                        size(cell.content_bytes),
                        md(&fit(short_command(cell), 60))
                    );
                }
                None => line.push_str(" |"),
            }
        }
        let _ = writeln!(out, "{line}");
    }
    let _ = writeln!(
        out,
        "\n`=` common base, `+` shared in position, `~` shared elsewhere, `*` only here\n\n</details>"
    );
    for p in &c.pairs {
        if let Some(d) = &p.files {
            md_files(&mut out, d);
        }
        md_config(&mut out, c, p);
    }
    out
}

/// The sharing map as a text report.
pub fn render_sharing_text(m: &SharingMap) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} images, {} distinct layers: {} virtual, {} stored, {} saved by sharing",
        thousands(m.images.len() as u64),
        thousands(m.layers.len() as u64),
        size(m.total_virtual),
        size(m.total_stored),
        size(m.savings)
    );
    if m.duplicate_content > 0 {
        let _ = writeln!(
            out,
            "{} stored again because equal layers sit on different parents",
            size(m.duplicate_content)
        );
    }
    let _ = writeln!(
        out,
        "\n  {} {} {:>10} {:>10} {:>10}",
        pad("image", 44),
        pad("id", 12),
        "size",
        "shared",
        "unique"
    );
    for img in &m.images {
        let name = img.tags.first().map_or("<none>", |t| t.as_str());
        let _ = writeln!(
            out,
            "  {} {} {:>10} {:>10} {:>10}",
            pad(name, 44),
            img.id.short(),
            size(img.size),
            size(img.shared_size),
            size(img.unique_size)
        );
    }
    out
}
