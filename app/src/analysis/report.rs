//! The plain-text report (`strata analyze --format text`): summary, layers, top wasted
//! paths with blame, attribute-only rewrites, duplicate content, and dive's figures beside
//! Strata's. Every line fits in 100 columns; sizes go through [`crate::fmt::size`].

use super::dive::DiveAnalysis;
use super::strata::Analysis;
use crate::filetree::HideCause;
use crate::fmt::{percent, size};
use std::fmt::Write as _;

/// Report width in columns.
pub const WIDTH: usize = 100;
const TOP: usize = 20;

fn fit(s: &str, width: usize) -> String {
    let clean: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if clean.chars().count() <= width {
        return clean;
    }
    let mut out: String = clean.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

fn cause(c: HideCause) -> &'static str {
    match c {
        HideCause::Overwritten => "overwritten",
        HideCause::AttrsOnly => "attrs-only rewrite",
        HideCause::Whiteout => "deleted",
        HideCause::DirWhiteout => "dir deleted",
        HideCause::Opaque => "opaque dir",
        HideCause::ParentReplaced => "parent replaced",
        HideCause::DuplicateInLayer => "duplicate in layer",
    }
}

fn heading(out: &mut String, title: &str) {
    let _ = writeln!(
        out,
        "\n== {title} {}",
        "=".repeat(WIDTH.saturating_sub(title.len() + 4))
    );
}

/// Renders the report. `commands[k]` is the history command of layer k, if known.
pub fn render_text(a: &Analysis, dive: &DiveAnalysis, commands: &[Option<String>]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Strata image report");
    heading(&mut out, "Summary");
    let download: Option<u64> = a.layers.iter().map(|l| l.compressed_bytes).sum();
    let mut rows = vec![
        ("Layers", a.layers.len().to_string()),
        ("Stored in layers", size(a.stored_bytes)),
        ("Visible in final image", size(a.final_bytes)),
        (
            "Reclaimable",
            format!(
                "{} ({} of stored)",
                size(a.reclaimable_bytes),
                percent(if a.stored_bytes == 0 {
                    0.0
                } else {
                    a.reclaimable_bytes as f64 / a.stored_bytes as f64
                })
            ),
        ),
        ("Efficiency", percent(a.efficiency)),
        (
            "Base layers",
            format!(
                "0..{}: {} stored, {} hidden by them",
                a.split.base_layers,
                size(a.split.base_bytes),
                size(a.split.base_wasted)
            ),
        ),
        (
            "User layers",
            format!(
                "{} stored, {} hidden by them",
                size(a.split.user_bytes),
                size(a.split.user_wasted)
            ),
        ),
    ];
    if let Some(d) = download.filter(|_| !a.layers.is_empty()) {
        rows.insert(2, ("Download (compressed)", size(d)));
    }
    for (k, v) in rows {
        let _ = writeln!(out, "  {k:<24}{}", fit(&v, WIDTH - 26));
    }

    heading(&mut out, "Layers");
    let _ = writeln!(
        out,
        "  {:>3}  {:>9}  {:>9}  {:>9}  Command",
        "#", "Size", "Wasted", "Hides"
    );
    for l in &a.layers {
        let cmd = commands
            .get(l.index as usize)
            .cloned()
            .flatten()
            .unwrap_or_else(|| "(no history)".to_owned());
        let _ = writeln!(
            out,
            "  {:>3}  {:>9}  {:>9}  {:>9}  {}",
            l.index,
            size(l.content_bytes),
            size(l.wasted_added),
            size(l.wasted_caused),
            fit(&cmd, WIDTH - 42)
        );
    }

    heading(&mut out, "Top wasted paths");
    if a.wasted.is_empty() {
        let _ = writeln!(out, "  none");
    } else {
        let _ = writeln!(
            out,
            "  {:>9}  Path / blame: stored in layer -> hidden by layer",
            "Wasted"
        );
        for w in a.wasted.iter().take(TOP) {
            let _ = writeln!(out, "  {:>9}  {}", size(w.bytes), fit(&w.path, WIDTH - 13));
            for c in w.copies.iter().take(4) {
                let _ = writeln!(
                    out,
                    "  {:>9}    L{} -> L{}  {} ({})",
                    "",
                    c.added_layer,
                    c.hidden_layer,
                    cause(c.cause),
                    size(c.bytes)
                );
            }
            if w.copies.len() > 4 {
                let _ = writeln!(out, "  {:>9}    ... {} more copies", "", w.copies.len() - 4);
            }
        }
        if a.wasted.len() > TOP {
            let _ = writeln!(out, "  ... {} more paths", a.wasted.len() - TOP);
        }
    }

    heading(
        &mut out,
        "Attribute-only rewrites (same content stored again)",
    );
    if a.attrs_only.is_empty() {
        let _ = writeln!(out, "  none");
    }
    for r in a.attrs_only.iter().take(TOP) {
        let _ = writeln!(
            out,
            "  {:>9}  {:<68}  L{} -> L{}",
            size(r.bytes),
            fit(&r.path, 68),
            r.original_layer,
            r.rewritten_layer
        );
    }

    heading(&mut out, "Duplicate content at different paths");
    if a.duplicates.is_empty() {
        let _ = writeln!(out, "  none");
    }
    for d in a.duplicates.iter().take(TOP) {
        let _ = writeln!(
            out,
            "  {:>9} wasted, {} copies of {}:",
            size(d.wasted_bytes),
            d.paths.len(),
            size(d.size)
        );
        for p in d.paths.iter().take(5) {
            let _ = writeln!(out, "      {}", fit(p, WIDTH - 6));
        }
        if d.paths.len() > 5 {
            let _ = writeln!(out, "      ... {} more", d.paths.len() - 5);
        }
    }

    let pct2 = |r: f64| format!("{:.2}%", r * 100.0);
    heading(&mut out, "dive-compatible figures");
    let _ = writeln!(out, "  {:<24}{:>16}  {:>16}", "", "dive 0.13.1", "Strata");
    let _ = writeln!(
        out,
        "  {:<24}{:>16}  {:>16}",
        "Efficiency",
        pct2(dive.efficiency),
        pct2(a.efficiency)
    );
    let _ = writeln!(
        out,
        "  {:<24}{:>16}  {:>16}",
        "Wasted bytes",
        size(dive.wasted_bytes),
        size(a.reclaimable_bytes)
    );
    let user_pct = if dive.wasted_user_percent.is_finite() {
        pct2(dive.wasted_user_percent)
    } else {
        "n/a".to_owned()
    };
    let strata_user = if a.split.user_bytes == 0 {
        "n/a".to_owned()
    } else {
        pct2(a.split.user_wasted as f64 / a.split.user_bytes as f64)
    };
    let _ = writeln!(
        out,
        "  {:<24}{:>16}  {:>16}",
        "User wasted / user size", user_pct, strata_user
    );
    let _ = writeln!(
        out,
        "  They differ because dive counts every copy of a path seen in two or more layers (the\n  \
         copy kept too) and misses deleted directories and opaque directories, while Strata counts\n  \
         exactly the stored copies the final image can no longer see."
    );
    out
}
