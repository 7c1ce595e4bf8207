//! Words for [`Fact`]s: the plain-language sentences of a comparison, rendered at the
//! edge (text and Markdown reports, the API's [`crate::api::CompareReport`]) from the
//! typed facts the domain computes.

use super::facts::{Fact, Setting};
use crate::fmt::{size, thousands};

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
        format!("{} {many}", thousands(n))
    }
}

fn show_list(v: &Option<Vec<String>>) -> String {
    match v {
        Some(v) => format!("{v:?}"),
        None => "none".to_owned(),
    }
}

fn show_user(u: &Option<String>) -> String {
    match u.as_deref() {
        None | Some("") => "root (default)".to_owned(),
        Some(u) => u.to_owned(),
    }
}

fn size_sentence(a: &str, b: &str, x: u64, y: u64, p: Option<f64>) -> String {
    let sizes = format!("({} → {})", size(x), size(y));
    match p {
        _ if x == y => format!("{b} is the same size as {a} ({})", size(x)),
        Some(p) if y < x => format!("{b} is {} smaller than {a} {sizes}", pct(p)),
        Some(p) => format!("{b} is {} larger than {a} {sizes}", pct(p)),
        None => format!("{a} is empty; {b} has {}", size(y)),
    }
}

fn settings_sentence(b: &str, what: Setting, counts: [(usize, &str); 3]) -> String {
    let what = match what {
        Setting::Env => "environment variable",
        Setting::Label => "label",
    };
    let parts: Vec<String> = counts
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, verb)| format!("{verb} {}", plural(*n as u64, what, &format!("{what}s"))))
        .collect();
    format!("{b} {}", parts.join(", "))
}

fn ports_sentence(b: &str, added: &[String], removed: &[String]) -> String {
    let mut parts = Vec::new();
    if !added.is_empty() {
        parts.push(format!("exposes {}", added.join(", ")));
    }
    if !removed.is_empty() {
        parts.push(format!("no longer exposes {}", removed.join(", ")));
    }
    format!("{b} {}", parts.join(" and "))
}

fn files_of(files: u64, bytes: u64) -> String {
    format!("{}, {}", size(bytes), plural(files, "file", "files"))
}

/// The sentence for `fact`, where `a` is the baseline's label and `b` the other's.
pub fn sentence(fact: &Fact, a: &str, b: &str) -> String {
    match fact {
        Fact::Size { before, after, pct } => size_sentence(a, b, *before, *after, *pct),
        Fact::SharedBase { layers, bytes } => {
            let (what, verb) = match layers {
                1 => ("the first layer".to_owned(), "is"),
                n => (format!("the first {n} layers"), "are"),
            };
            format!("{what} ({}) {verb} shared: the common base", size(*bytes))
        }
        Fact::NoSharedBase { base_name: Some(name) } => {
            format!("no layers shared: {b} starts FROM {name}")
        }
        Fact::NoSharedBase { base_name: None } => format!(
            "no layers shared: {b} does not start from {a}'s base (a different FROM, or FROM scratch)"
        ),
        Fact::Moved { layers, bytes } => format!(
            "{} of {b} ({}) also {} in {a} on different parents (stored again)",
            plural(*layers, "layer", "layers"),
            size(*bytes),
            if *layers == 1 { "appears" } else { "appear" },
        ),
        Fact::UpdateCost {
            bytes: 0,
            of_bytes,
            ..
        } => format!(
            "a client holding {a} downloads nothing to get {b} (of {} compressed)",
            size(*of_bytes)
        ),
        Fact::UpdateCost {
            bytes,
            layers,
            of_bytes,
        } => format!(
            "updating from {a} to {b} downloads {} compressed in {} (of {} for all of {b})",
            size(*bytes),
            plural(*layers as u64, "layer", "layers"),
            size(*of_bytes)
        ),
        Fact::OwnLayers { layers, bytes } => format!(
            "{b} adds {} in {} of its own on top",
            size(*bytes),
            plural(*layers as u64, "layer", "layers")
        ),
        Fact::FilesKept { kept, of } => {
            format!("{b} keeps {} of {a}'s {} files", thousands(*kept), thousands(*of))
        }
        Fact::FilesAdded { files, bytes } => format!(
            "{b} adds {} ({})",
            plural(*files, "file", "files"),
            size(*bytes)
        ),
        Fact::Relocated { files, bytes } => format!(
            "{} of {a}'s removed files ({}) are in {b} at other paths (moved or renamed)",
            thousands(*files),
            size(*bytes)
        ),
        Fact::AttrsOnly { files } => format!(
            "{} only changed attributes (mode, owner or mtime)",
            plural(*files, "file", "files")
        ),
        Fact::DirDropped { dir, rest: true, files, bytes, .. } => format!(
            "{b} drops {} across the rest of {a}'s {dir}",
            files_of(*files, *bytes)
        ),
        Fact::DirDropped { dir, gone: true, files, bytes, .. } => {
            format!("{a}'s {dir} ({}) is not in {b}", files_of(*files, *bytes))
        }
        Fact::DirDropped { dir, files, bytes, .. } => {
            format!("{b} drops {} of {a}'s {dir}", files_of(*files, *bytes))
        }
        Fact::DirAdded { dir, rest: true, files, bytes, .. } => format!(
            "{b} adds {} across the rest of {dir}",
            files_of(*files, *bytes)
        ),
        Fact::DirAdded { dir, new: true, files, bytes, .. } => {
            format!("{b} adds {dir} ({})", files_of(*files, *bytes))
        }
        Fact::DirAdded { dir, files, bytes, .. } => {
            format!("{b} adds {} to {dir}", files_of(*files, *bytes))
        }
        Fact::DirChanged { dir, files, bytes_before, bytes_after } => format!(
            "{} changed in {dir} ({} → {})",
            plural(*files, "file", "files"),
            size(*bytes_before),
            size(*bytes_after)
        ),
        Fact::Platform(p) => format!("{b} is for {} ({a}: {})", p.after, p.before),
        Fact::User(u) => format!(
            "{b} runs as {} ({a}: {})",
            show_user(&u.after),
            show_user(&u.before)
        ),
        Fact::Entrypoint(e) => format!(
            "{b}'s entrypoint is {} ({a}: {})",
            show_list(&e.after),
            show_list(&e.before)
        ),
        Fact::Cmd(e) => format!(
            "{b}'s command is {} ({a}: {})",
            show_list(&e.after),
            show_list(&e.before)
        ),
        Fact::WorkingDir(w) => {
            let show = |w: &Option<String>| w.clone().unwrap_or_else(|| "/".to_owned());
            format!("{b} works in {} ({a}: {})", show(&w.after), show(&w.before))
        }
        Fact::Settings { what, added, removed, changed } => settings_sentence(
            b,
            *what,
            [(*added, "adds"), (*removed, "drops"), (*changed, "changes")],
        ),
        Fact::Ports { added, removed } => ports_sentence(b, added, removed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_have_thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(4_120), "4,120");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn percentages_round_like_prose() {
        assert_eq!(pct(-62.4), "62%");
        assert_eq!(pct(4.56), "4.6%");
    }
}
