//! Entry-name normalisation exactly as moby applies layers: strip leading `/`, `path.Clean`,
//! skip the root itself. Names are raw bytes; a name whose cleaned form starts with `..`
//! escapes the root.

/// A cleaned entry name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cleaned {
    /// `a/b/c`; `.` for the root; may start with `..` components when `escapes`.
    pub path: Vec<u8>,
    /// The name leaves the root (`../x`, `a/../../x`).
    pub escapes: bool,
    /// The name is the root itself (`.`, `/`, `./`).
    pub is_root: bool,
    /// Number of components.
    pub depth: usize,
    /// Longest component in bytes.
    pub longest: usize,
}

/// moby's `path.Clean(strings.TrimLeft(name, "/"))` on raw bytes.
pub fn clean(raw: &[u8]) -> Cleaned {
    let mut comps: Vec<&[u8]> = Vec::new();
    for c in raw.split(|&b| b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => match comps.last() {
                Some(&last) if last != b".." => {
                    comps.pop();
                }
                _ => comps.push(c),
            },
            _ => comps.push(c),
        }
    }
    let escapes = comps.first() == Some(&&b".."[..]);
    let is_root = comps.is_empty();
    let longest = comps.iter().map(|c| c.len()).max().unwrap_or(0);
    let path = if is_root {
        b".".to_vec()
    } else {
        comps.join(&b'/')
    };
    Cleaned {
        depth: comps.len(),
        path,
        escapes,
        is_root,
        longest,
    }
}

/// Backslashes or a drive-letter prefix: literal on Linux, but a sign of a Windows-built
/// archive.
pub fn windows_style(raw: &[u8]) -> bool {
    raw.contains(&b'\\') || matches!(raw, [d, b':', ..] if d.is_ascii_alphabetic())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(raw: &str) -> (String, bool, bool) {
        let c = clean(raw.as_bytes());
        (String::from_utf8(c.path).unwrap(), c.escapes, c.is_root)
    }

    #[test]
    fn d2_moby_normalisation() {
        assert_eq!(p("/abs/x"), ("abs/x".into(), false, false));
        assert_eq!(p("./a"), ("a".into(), false, false));
        assert_eq!(p("//a//b/"), ("a/b".into(), false, false));
        assert_eq!(p("a/./b/../c"), ("a/c".into(), false, false));
        assert_eq!(p("."), (".".into(), false, true));
        assert_eq!(p("./"), (".".into(), false, true));
        assert_eq!(p("/"), (".".into(), false, true));
        assert_eq!(p("a/.."), (".".into(), false, true));
    }

    #[test]
    fn d1_escaping_names() {
        assert_eq!(p("../x"), ("../x".into(), true, false));
        assert_eq!(p("a/../../x"), ("../x".into(), true, false));
        assert_eq!(p(".."), ("..".into(), true, false));
        assert_eq!(p("/../x"), ("../x".into(), true, false));
        assert_eq!(p("../../a/.."), ("../..".into(), true, false));
    }

    #[test]
    fn d8_windows_style() {
        assert!(windows_style(b"a\\b"));
        assert!(windows_style(b"C:x"));
        assert!(!windows_style(b"usr/bin"));
        assert!(!windows_style(b"1:x"));
    }
}
