//! Formatting at the edge: human sizes and short digests. Everything inside the engine
//! stays in `u64` bytes; only reports and views call these.

/// `1.2 MB`-style size with decimal units, as `docker image ls` and dive print sizes.
pub fn size(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "kB", "MB", "GB", "TB", "PB"];
    if bytes < 1000 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if value >= 100.0 {
        format!("{value:.0} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// A percentage with one decimal, e.g. `12.5%`.
pub fn percent(ratio: f64) -> String {
    format!("{:.1}%", ratio * 100.0)
}

/// Raw path bytes as a display string: lossy UTF-8 with control and bidi characters
/// escaped, so names can never reorder or hide text in a terminal or page.
pub fn display_path(raw: &[u8]) -> String {
    let lossy = String::from_utf8_lossy(raw);
    let mut out = String::with_capacity(lossy.len());
    for c in lossy.chars() {
        if c.is_control()
            || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

/// Escapes text for a Markdown table cell or inline code: control and bidi characters as
/// in [`display_path`], pipes, backticks, angle brackets and emphasis/link markers.
pub fn markdown_cell(s: &str) -> String {
    let clean = display_path(s.as_bytes());
    let mut out = String::with_capacity(clean.len());
    for ch in clean.chars() {
        match ch {
            '|' => out.push_str("\\|"),
            '`' => out.push('\''),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '*' | '_' | '[' | ']' | '\\' => {
                out.push('\\');
                out.push(ch);
            }
            _ => out.push(ch),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_docker() {
        assert_eq!(size(0), "0 B");
        assert_eq!(size(999), "999 B");
        assert_eq!(size(1_500), "1.5 kB");
        assert_eq!(size(123_456_789), "123 MB");
        assert_eq!(size(1_200_000_000), "1.2 GB");
    }

    #[test]
    fn paths_escape_controls_and_bidi() {
        assert_eq!(display_path(b"a\nb"), "a\\u{a}b");
        assert_eq!(display_path("x\u{202e}y".as_bytes()), "x\\u{202e}y");
        assert_eq!(display_path(b"\xffz"), "\u{fffd}z");
    }
}
