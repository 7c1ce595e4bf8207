//! Formatting at the edge: human sizes and short digests. Everything inside the engine
//! stays in `u64` bytes; only reports and views call these.

/// `1204` → `1,204`.
pub fn thousands(n: u64) -> String {
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

/// Seconds since the Unix epoch of an RFC 3339 timestamp as Docker writes them
/// (`2024-05-01T12:00:00Z`, `2024-05-01T12:00:00.123456789+02:00`; no zone = UTC);
/// `None` when it is not one. Fractions are dropped.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    use time::format_description::well_known::Rfc3339;
    use time::OffsetDateTime;
    let text = text.trim();
    OffsetDateTime::parse(text, &Rfc3339)
        .or_else(|_| OffsetDateTime::parse(&format!("{text}Z"), &Rfc3339))
        .ok()
        .map(OffsetDateTime::unix_timestamp)
}

/// A short duration between two build steps: `+0 s`, `+42 s`, `+3 min`, `+2 h 5 min`,
/// `+3 d`; a negative gap (clock skew, reordered history) is `−12 s`.
pub fn gap(seconds: i64) -> String {
    let sign = if seconds < 0 { "\u{2212}" } else { "+" };
    let s = seconds.unsigned_abs();
    let body = match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min", s / 60),
        3600..=86_399 if (s % 3600) / 60 == 0 => format!("{} h", s / 3600),
        3600..=86_399 => format!("{} h {} min", s / 3600, (s % 3600) / 60),
        _ => format!("{} d", s / 86_400),
    };
    format!("{sign}{body}")
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

    #[test]
    fn rfc3339_timestamps_as_docker_writes_them() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("2024-05-01T12:00:00Z"), Some(1_714_564_800));
        assert_eq!(
            parse_rfc3339("2024-05-01T12:00:00.123456789Z"),
            Some(1_714_564_800)
        );
        assert_eq!(
            parse_rfc3339("2024-05-01T14:00:00+02:00"),
            Some(1_714_564_800)
        );
        assert_eq!(parse_rfc3339("2000-02-29T00:00:00Z"), Some(951_782_400));
        assert_eq!(parse_rfc3339("2024-05-01T12:00:00"), Some(1_714_564_800));
        assert_eq!(
            parse_rfc3339("2024-02-29T14:30:00+02:00"),
            Some(1_709_209_800)
        );
        for bad in [
            "",
            "2024-05-01",
            "2024-13-01T00:00:00Z",
            "2024-05-01T00:00:00.Z",
            "2024-05-01T00:00:00+0200",
            "yyyy-05-01T00:00:00Z",
            "2024-05-01T00:00:00Zjunk",
            "２０２４-05-01T00:00:00Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn gaps_between_steps() {
        assert_eq!(gap(0), "+0 s");
        assert_eq!(gap(42), "+42 s");
        assert_eq!(gap(185), "+3 min");
        assert_eq!(gap(7200), "+2 h");
        assert_eq!(gap(7500), "+2 h 5 min");
        assert_eq!(gap(3 * 86_400 + 5), "+3 d");
        assert_eq!(gap(-12), "\u{2212}12 s");
    }
}
