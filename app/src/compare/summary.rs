//! Plain-language sentences computed from a pair comparison, most important first:
//! size change, common base, layers of their own, files kept, the directories that
//! explain the file diff, and what a container starts with differently.

use super::files::{DiffGroup, FileDiff};
use super::{ImageSide, PairComparison};
use crate::fmt::size;
use crate::model::Image;

/// Label the OCI annotation spec reserves for the base image name.
const BASE_NAME_LABEL: &str = "org.opencontainers.image.base.name";

/// Most directory sentences (removed, then added) per pair.
const MAX_GROUP_SENTENCES: usize = 3;

/// `1,204`.
pub(crate) fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `62%`, or `4.5%` below 10, or `0.3%`.
pub(crate) fn pct(p: f64) -> String {
    let p = p.abs();
    if p >= 10.0 {
        format!("{p:.0}%")
    } else {
        format!("{p:.1}%")
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{} {many}", count(n))
    }
}

fn size_sentence(a: &ImageSide, b: &ImageSide) -> String {
    let (x, y) = (a.content_bytes, b.content_bytes);
    let sizes = format!("({} → {})", size(x), size(y));
    match b.content_delta.pct {
        _ if x == y => format!("{} is the same size as {} ({})", b.label, a.label, size(x)),
        Some(p) if y < x => format!("{} is {} smaller than {} {sizes}", b.label, pct(p), a.label),
        Some(p) => format!("{} is {} larger than {} {sizes}", b.label, pct(p), a.label),
        None => format!("{} is empty; {} has {}", a.label, b.label, size(y)),
    }
}

fn layer_sentences(
    a: &ImageSide,
    b: &ImageSide,
    pair: &PairComparison,
    img_b: &Image,
) -> Vec<String> {
    let mut out = Vec::new();
    let p = pair.shared_prefix;
    if p.layers > 0 {
        let what = if p.layers == 1 {
            "the first layer".to_owned()
        } else {
            format!("the first {} layers", p.layers)
        };
        let verb = if p.layers == 1 { "is" } else { "are" };
        out.push(format!(
            "{what} ({}) {verb} shared: the common base",
            size(p.content_bytes)
        ));
    } else if pair.moved.is_empty() {
        let base = img_b
            .config
            .config
            .labels
            .as_ref()
            .and_then(|l| l.get(BASE_NAME_LABEL));
        out.push(match base {
            Some(name) => format!("no layers shared: {} starts FROM {name}", b.label),
            None => format!(
                "no layers shared: {} does not start from {}'s base (a different FROM, or FROM scratch)",
                b.label, a.label
            ),
        });
    }
    if !pair.moved.is_empty() {
        let bytes: u64 = pair.moved.iter().map(|m| m.content_bytes).sum();
        let n = pair.moved.len() as u64;
        out.push(format!(
            "{} of {} ({}) also {} in {} on different parents (stored again)",
            plural(n, "layer", "layers"),
            b.label,
            size(bytes),
            if n == 1 { "appears" } else { "appear" },
            a.label
        ));
    }
    let own = b.content_bytes.saturating_sub(p.content_bytes);
    if p.layers > 0 && own > 0 {
        out.push(format!(
            "{} adds {} in {} of its own on top",
            b.label,
            size(own),
            plural((b.layer_count - p.layers) as u64, "layer", "layers")
        ));
    }
    out
}

fn group_sentence(g: &DiffGroup, a: &str, b: &str) -> Option<String> {
    let t = &g.totals;
    let dir = &g.display;
    if t.removed_bytes * 2 >= t.churn() && t.removed > 0 {
        let what = format!(
            "{}, {}",
            size(t.removed_bytes),
            plural(t.removed, "file", "files")
        );
        Some(if g.rest {
            format!("{b} drops {what} across the rest of {a}'s {dir}")
        } else if !g.in_b {
            format!("{a}'s {dir} ({what}) is not in {b}")
        } else {
            format!("{b} drops {what} of {a}'s {dir}")
        })
    } else if t.added_bytes * 2 >= t.churn() && t.added > 0 {
        let what = format!(
            "{}, {}",
            size(t.added_bytes),
            plural(t.added, "file", "files")
        );
        Some(if g.rest {
            format!("{b} adds {what} across the rest of {dir}")
        } else if !g.in_a {
            format!("{b} adds {dir} ({what})")
        } else {
            format!("{b} adds {what} to {dir}")
        })
    } else if t.changed > 0 {
        Some(format!(
            "{} changed in {dir} ({} → {})",
            plural(t.changed, "file", "files"),
            size(t.changed_bytes_before),
            size(t.changed_bytes_after)
        ))
    } else {
        None
    }
}

fn file_sentences(d: &FileDiff) -> Vec<String> {
    let (a, b) = (&d.a.label, &d.b.label);
    let t = &d.totals;
    let mut out = vec![format!(
        "{b} keeps {} of {a}'s {} files",
        count(t.kept()),
        count(d.a.files)
    )];
    if t.added > 0 {
        out.push(format!(
            "{b} adds {} ({})",
            plural(t.added, "file", "files"),
            size(t.added_bytes)
        ));
    }
    if d.relocated.files > 0 {
        out.push(format!(
            "{} of {a}'s removed files ({}) are in {b} at other paths (moved or renamed)",
            count(d.relocated.files),
            size(d.relocated.bytes)
        ));
    }
    if t.attrs_only > 0 {
        out.push(format!(
            "{} only changed attributes (mode, owner or mtime)",
            plural(t.attrs_only, "file", "files")
        ));
    }
    out.extend(
        d.groups
            .iter()
            .filter(|g| !(g.rest && g.path.is_empty() && d.groups.len() > 1))
            .filter_map(|g| group_sentence(g, a, b))
            .take(MAX_GROUP_SENTENCES),
    );
    out
}

fn show_list(v: &Option<Vec<String>>) -> String {
    match v {
        Some(v) => format!("{v:?}"),
        None => "none".to_owned(),
    }
}

fn config_sentences(a: &str, b: &str, pair: &PairComparison) -> Vec<String> {
    let c = &pair.config;
    let mut out = Vec::new();
    if let Some(p) = &c.platform {
        out.push(format!("{b} is for {} ({a}: {})", p.after, p.before));
    }
    if let Some(u) = &c.user {
        let show = |u: &Option<String>| match u.as_deref() {
            None | Some("") => "root (default)".to_owned(),
            Some(u) => u.to_owned(),
        };
        out.push(format!(
            "{b} runs as {} ({a}: {})",
            show(&u.after),
            show(&u.before)
        ));
    }
    if let Some(e) = &c.entrypoint {
        out.push(format!(
            "{b}'s entrypoint is {} ({a}: {})",
            show_list(&e.after),
            show_list(&e.before)
        ));
    }
    if let Some(e) = &c.cmd {
        out.push(format!(
            "{b}'s command is {} ({a}: {})",
            show_list(&e.after),
            show_list(&e.before)
        ));
    }
    if let Some(w) = &c.working_dir {
        let show = |w: &Option<String>| w.clone().unwrap_or_else(|| "/".to_owned());
        out.push(format!(
            "{b} works in {} ({a}: {})",
            show(&w.after),
            show(&w.before)
        ));
    }
    for (what, m) in [("environment variable", &c.env), ("label", &c.labels)] {
        if m.is_empty() {
            continue;
        }
        let mut parts = Vec::new();
        for (n, verb) in [
            (m.added.len(), "adds"),
            (m.removed.len(), "drops"),
            (m.changed.len(), "changes"),
        ] {
            if n > 0 {
                parts.push(format!(
                    "{verb} {}",
                    plural(n as u64, what, &format!("{what}s"))
                ));
            }
        }
        out.push(format!("{b} {}", parts.join(", ")));
    }
    let ports = &c.exposed_ports;
    if !ports.is_empty() {
        let mut parts = Vec::new();
        if !ports.added.is_empty() {
            parts.push(format!("exposes {}", ports.added.join(", ")));
        }
        if !ports.removed.is_empty() {
            parts.push(format!("no longer exposes {}", ports.removed.join(", ")));
        }
        out.push(format!("{b} {}", parts.join(" and ")));
    }
    out
}

pub(super) fn sentences(
    a: &ImageSide,
    b: &ImageSide,
    pair: &PairComparison,
    img_b: &Image,
) -> Vec<String> {
    let mut out = vec![size_sentence(a, b)];
    out.extend(layer_sentences(a, b, pair, img_b));
    if let Some(d) = &pair.files {
        out.extend(file_sentences(d));
    }
    out.extend(config_sentences(&a.label, &b.label, pair));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_have_thousands_separators() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(4_120), "4,120");
        assert_eq!(count(1_234_567), "1,234,567");
    }

    #[test]
    fn percentages_round_like_prose() {
        assert_eq!(pct(-62.4), "62%");
        assert_eq!(pct(4.56), "4.6%");
    }
}
