//! The report of `strata compare`: app's comparison renderers, plus the `--layers` diff
//! and the `--fail-if-larger` result when asked for. JSON is the comparison object with
//! `layer_diff` and `size_check` members added; names from images are untrusted, so
//! text escapes control characters (via `app::fmt::display_path`) and Markdown also
//! escapes table and code delimiters.

use super::Outcome;
use crate::cli::args::CompareFormat;
use app::compare::{ChangeKind, DiffTotals, FileDiff, SizeCheck};
use app::fmt::{display_path, size};
use std::fmt::Write as _;

/// Most directory rows and largest changes listed for a layer diff.
const MAX_ROWS: usize = 12;

/// Renders the whole outcome in `format`.
pub fn render(o: &Outcome, format: CompareFormat) -> Result<String, serde_json::Error> {
    match format {
        CompareFormat::Json => {
            let mut v = serde_json::to_value(app::api::CompareReport::from(&o.comparison))?;
            if let serde_json::Value::Object(map) = &mut v {
                if let Some(d) = &o.layer_diff {
                    map.insert("layer_diff".to_owned(), serde_json::to_value(d)?);
                }
                if let Some(c) = &o.check {
                    map.insert("size_check".to_owned(), serde_json::to_value(c)?);
                }
            }
            let mut s = serde_json::to_string_pretty(&v)?;
            s.push('\n');
            Ok(s)
        }
        CompareFormat::Text => {
            let mut s = app::compare::render_text(&o.comparison);
            if let Some(d) = &o.layer_diff {
                text_layer_diff(&mut s, d);
            }
            if let Some(c) = &o.check {
                text_check(&mut s, c);
            }
            Ok(s)
        }
        CompareFormat::Markdown => {
            let mut s = app::compare::render_markdown(&o.comparison);
            if let Some(d) = &o.layer_diff {
                md_layer_diff(&mut s, d);
            }
            if let Some(c) = &o.check {
                md_check(&mut s, c);
            }
            Ok(s)
        }
    }
}

fn side(d: &FileDiff, a: bool) -> String {
    let s = if a { &d.a } else { &d.b };
    match s.layer {
        Some(k) => format!("{} layer {k}", s.label),
        None => s.label.clone(),
    }
}

fn totals_line(t: &DiffTotals) -> String {
    format!(
        "removed {} ({}) · added {} ({}) · changed {} ({} → {}) · attributes only {} · identical {}",
        count(t.removed),
        size(t.removed_bytes),
        count(t.added),
        size(t.added_bytes),
        count(t.changed),
        size(t.changed_bytes_before),
        size(t.changed_bytes_after),
        count(t.attrs_only),
        count(t.unchanged)
    )
}

/// `12,345`.
fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// Escaped `s` cut to `width` characters (ending in `…` when cut), padded to `width`.
fn fit(s: &str, width: usize) -> String {
    let clean = display_path(s.as_bytes());
    let n = clean.chars().count();
    if n <= width {
        return format!("{clean}{}", " ".repeat(width - n));
    }
    let mut out: String = clean.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

fn signed(bytes: i64) -> String {
    format!(
        "{}{}",
        if bytes < 0 { "-" } else { "+" },
        size(bytes.unsigned_abs())
    )
}

fn group_name(display: &str, rest: bool) -> String {
    let name = display_path(display.as_bytes());
    if rest {
        format!("{name} (rest)")
    } else {
        name
    }
}

fn text_layer_diff(out: &mut String, d: &FileDiff) {
    let _ = writeln!(out, "\nLayers {} → {}", side(d, true), side(d, false));
    let _ = writeln!(out, "  {}", totals_line(&d.totals));
    for g in d.groups.iter().take(MAX_ROWS) {
        let _ = writeln!(
            out,
            "  {} {:>10}",
            fit(&group_name(&g.display, g.rest), 60),
            signed(g.totals.delta())
        );
    }
    for c in d.changes.iter().take(MAX_ROWS) {
        let kind = match c.change {
            ChangeKind::Added => "added",
            ChangeKind::Removed => "removed",
            ChangeKind::Changed => "changed",
            ChangeKind::AttrsOnly => "attrs",
        };
        let _ = writeln!(
            out,
            "  {kind:<8} {} {:>10}",
            fit(&c.display, 60),
            signed(c.delta())
        );
    }
}

fn text_check(out: &mut String, c: &SizeCheck) {
    let _ = writeln!(
        out,
        "\nSize check (limit +{:.1}%): {}",
        c.limit_pct,
        if c.failed { "FAIL" } else { "PASS" }
    );
    for line in &c.lines {
        let _ = writeln!(out, "  {}", display_path(line.as_bytes()));
    }
}

fn md(s: &str) -> String {
    app::fmt::markdown_cell(s)
}

fn md_layer_diff(out: &mut String, d: &FileDiff) {
    let _ = writeln!(
        out,
        "\n#### Layers {} → {}\n\n{}\n",
        md(&side(d, true)),
        md(&side(d, false)),
        md(&totals_line(&d.totals))
    );
    if d.groups.is_empty() {
        return;
    }
    let _ = writeln!(out, "| Directory | Removed | Added | Changed | Δ |");
    let _ = writeln!(out, "|---|---:|---:|---:|---:|");
    for g in d.groups.iter().take(MAX_ROWS) {
        let t = &g.totals;
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            md(&group_name(&g.display, g.rest)),
            size(t.removed_bytes),
            size(t.added_bytes),
            size(t.changed_bytes_after),
            signed(t.delta())
        );
    }
}

fn md_check(out: &mut String, c: &SizeCheck) {
    let _ = writeln!(
        out,
        "\n**Size check** (limit +{:.1}%): {}\n",
        c.limit_pct,
        if c.failed { "❌ fail" } else { "✅ pass" }
    );
    for line in &c.lines {
        let _ = writeln!(out, "- {}", md(line));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_cells_escape_delimiters() {
        assert_eq!(md("a|b`c<x>"), "a\\|b'c&lt;x&gt;");
        assert_eq!(md("x\ny"), md(&display_path(b"x\ny")));
        assert!(!md("x\ny").contains('\n'));
    }

    #[test]
    fn counts_and_fitting() {
        assert_eq!(count(0), "0");
        assert_eq!(count(1234567), "1,234,567");
        assert_eq!(fit("abc", 5), "abc  ");
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("a\u{1b}b", 20).trim_end(), "a\\u{1b}b");
    }

    /// Two images on one base built in memory; B adds a build step and a bigger config.
    fn outcome() -> Outcome {
        use app::limits::Limits;
        use app::testkit::{ImageBuilder, LayerBuilder};
        use std::sync::Arc;
        let base = || {
            ImageBuilder::new().layer(
                "/bin/sh -c #(nop) ADD file:base in / ",
                &LayerBuilder::new()
                    .dir("etc")
                    .file("etc/os-release", vec![b'o'; 120])
                    .dir("lib")
                    .file("lib/libc.so", vec![b'c'; 40_000]),
            )
        };
        let a = base()
            .tag("app:1.0")
            .layer(
                "COPY app /srv",
                &LayerBuilder::new()
                    .dir("srv")
                    .file("srv/app", vec![b'a'; 10_000])
                    .file("srv/config.toml", vec![b't'; 300]),
            )
            .cmd(&["/srv/app"]);
        let b = base()
            .tag("app:1.1")
            .layer(
                "COPY app /srv",
                &LayerBuilder::new()
                    .dir("srv")
                    .file("srv/app", vec![b'b'; 12_500])
                    .file("srv/config.toml", vec![b'u'; 450])
                    .file("srv/plugins/extra.so", vec![b'x'; 3_000]),
            )
            .env("MODE=prod")
            .cmd(&["/srv/app", "--serve"]);
        let load = |b: ImageBuilder| {
            let tar = b.docker_save();
            let archive = app::archive::read_archive(&tar[..], &Limits::default(), &mut |_| {})
                .expect("archive");
            Arc::new(archive.select(None, None).expect("image"))
        };
        let layers = Some((
            super::super::LayerRef { image: 0, layer: 1 },
            super::super::LayerRef { image: 1, layer: 1 },
        ));
        super::super::run(&[load(a), load(b)], layers, Some(5.0)).expect("compare")
    }

    #[test]
    fn text_snapshot() {
        insta::assert_snapshot!(render(&outcome(), CompareFormat::Text).unwrap());
    }

    #[test]
    fn markdown_snapshot() {
        insta::assert_snapshot!(render(&outcome(), CompareFormat::Markdown).unwrap());
    }

    #[test]
    fn json_snapshot() {
        insta::assert_snapshot!(render(&outcome(), CompareFormat::Json).unwrap());
    }
}
