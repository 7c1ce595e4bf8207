//! Image references as users type them (`busybox`, `ghcr.io/a/b:1.2@sha256:…`,
//! `sha256:<64 hex>`, `3f2a9c`), validated against the distribution reference grammar
//! before anything reaches the daemon.
//!
//! Invariant: a value of [`ImageRef`] contains only characters the grammar allows, so no
//! `?`, `#`, `%`, whitespace or `..` can ever be spliced into an Engine API URL path.
//! The daemon module goes further and resolves every reference to a full image ID
//! from the image list before naming it in a request.

use app::model::Digest;
use std::fmt;

/// The longest name (without tag or digest) the distribution grammar accepts.
const MAX_NAME: usize = 255;
/// The longest tag.
const MAX_TAG: usize = 128;

/// Why a string is not an image reference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RefError {
    /// Empty input.
    #[error("empty image reference")]
    Empty,
    /// A character that never appears in a reference (`?`, `#`, `%`, whitespace, ...).
    #[error("image reference {0:?} contains a character not allowed in references ({1:?})")]
    BadChar(String, char),
    /// A `..` sequence (path traversal attempt or malformed name).
    #[error("image reference {0:?} contains \"..\"")]
    DotDot(String),
    /// The name part does not follow the grammar.
    #[error("image reference {0:?} has an invalid repository name ({1})")]
    BadName(String, &'static str),
    /// The tag part does not follow the grammar.
    #[error(
        "image reference {0:?} has an invalid tag (expected [A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}})"
    )]
    BadTag(String),
    /// The digest part is not `sha256:<64 hex>`.
    #[error("image reference {0:?} has an invalid digest (expected sha256:<64 lowercase hex>)")]
    BadDigest(String),
}

/// A validated reference to an image in the daemon.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ImageRef {
    /// A full image ID, `sha256:<64 hex>`.
    Id(Digest),
    /// Lowercase hex digits (1..=63, optionally after `sha256:`): an image ID prefix,
    /// or — as the docker CLI does — a repository name when one matches first.
    IdPrefix(String),
    /// `[registry[:port]/]path[:tag][@sha256:…]`.
    Named(NamedRef),
}

/// The named form of a reference, kept as typed (not normalised).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NamedRef {
    /// `[registry[:port]/]path`, e.g. `ghcr.io/owner/app` or `busybox`.
    pub name: String,
    pub tag: Option<String>,
    pub digest: Option<Digest>,
}

impl NamedRef {
    /// The name as `docker image ls` shows it: `docker.io/` and `library/` dropped.
    pub fn familiar_name(&self) -> &str {
        familiar(&self.name)
    }

    /// `familiar_name:tag`, with `latest` when neither tag nor digest was given, as the
    /// docker CLI does; `None` when only a digest was given.
    pub fn familiar_tagged(&self) -> Option<String> {
        match (&self.tag, &self.digest) {
            (Some(t), _) => Some(format!("{}:{t}", self.familiar_name())),
            (None, None) => Some(format!("{}:latest", self.familiar_name())),
            (None, Some(_)) => None,
        }
    }
}

/// Strips Docker Hub's implicit `docker.io/` and `library/` prefixes.
pub fn familiar(name: &str) -> &str {
    let name = name
        .strip_prefix("docker.io/")
        .or_else(|| name.strip_prefix("index.docker.io/"))
        .unwrap_or(name);
    match name.strip_prefix("library/") {
        Some(rest) if !rest.contains('/') => rest,
        _ => name,
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageRef::Id(d) => write!(f, "{d}"),
            ImageRef::IdPrefix(p) => f.write_str(p),
            ImageRef::Named(n) => fmt::Display::fmt(n, f),
        }
    }
}

impl fmt::Display for NamedRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

impl ImageRef {
    /// Parses and validates a reference (see the module doc for the accepted forms).
    pub fn parse(s: &str) -> Result<Self, RefError> {
        if s.is_empty() {
            return Err(RefError::Empty);
        }
        let shown = || s.chars().take(80).collect::<String>();
        if let Some(c) = s.chars().find(|c| {
            !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/' | ':' | '@'))
        }) {
            return Err(RefError::BadChar(shown(), c));
        }
        if s.contains("..") {
            return Err(RefError::DotDot(shown()));
        }
        if let Some(hex) = s.strip_prefix("sha256:") {
            if is_lower_hex(hex) && hex.len() == 64 {
                return Digest::parse(s)
                    .map(ImageRef::Id)
                    .map_err(|_| RefError::BadDigest(shown()));
            }
            if is_lower_hex(hex) && !hex.is_empty() && hex.len() < 64 {
                return Ok(ImageRef::IdPrefix(hex.to_owned()));
            }
            return Err(RefError::BadDigest(shown()));
        }
        if is_lower_hex(s) && s.len() == 64 {
            return Digest::parse(&format!("sha256:{s}"))
                .map(ImageRef::Id)
                .map_err(|_| RefError::BadDigest(shown()));
        }
        if is_lower_hex(s) && s.len() < 64 {
            return Ok(ImageRef::IdPrefix(s.to_owned()));
        }
        parse_named(s).map(ImageRef::Named)
    }
}

fn is_lower_hex(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn parse_named(s: &str) -> Result<NamedRef, RefError> {
    let shown = || s.chars().take(80).collect::<String>();
    let (rest, digest) = match s.split_once('@') {
        Some((rest, d)) => {
            let d = Digest::parse(d).map_err(|_| RefError::BadDigest(shown()))?;
            (rest, Some(d))
        }
        None => (s, None),
    };
    // A tag follows the last ':' that comes after the last '/' (a registry port is before it).
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match rest[last_slash..].rfind(':') {
        Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
        None => (rest, None),
    };
    if let Some(t) = tag {
        if !valid_tag(t) {
            return Err(RefError::BadTag(shown()));
        }
    }
    validate_name(name).map_err(|why| RefError::BadName(shown(), why))?;
    Ok(NamedRef {
        name: name.to_owned(),
        tag: tag.map(str::to_owned),
        digest,
    })
}

fn valid_tag(t: &str) -> bool {
    let mut bytes = t.bytes();
    match bytes.next() {
        Some(b) if b.is_ascii_alphanumeric() || b == b'_' => {}
        _ => return false,
    }
    t.len() <= MAX_TAG
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

fn validate_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("empty name");
    }
    if name.len() > MAX_NAME {
        return Err("longer than 255 characters");
    }
    let mut parts: Vec<&str> = name.split('/').collect();
    // The first component is a registry when it looks like a host, as the reference
    // library decides: it has a '.' or a ':', or is `localhost`, or has uppercase.
    if parts.len() > 1 {
        let first = parts[0];
        if first.contains('.')
            || first.contains(':')
            || first == "localhost"
            || first.bytes().any(|b| b.is_ascii_uppercase())
        {
            validate_domain(first)?;
            parts.remove(0);
        }
    }
    for p in parts {
        if !valid_path_component(p) {
            return Err("path components must match [a-z0-9]+([._-][a-z0-9]+)*");
        }
    }
    Ok(())
}

fn validate_domain(d: &str) -> Result<(), &'static str> {
    let (host, port) = match d.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (d, None),
    };
    if let Some(p) = port {
        if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return Err("registry port must be digits");
        }
    }
    let ok = !host.is_empty()
        && host.split('.').all(|c| {
            !c.is_empty()
                && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !c.starts_with('-')
                && !c.ends_with('-')
        });
    if ok {
        Ok(())
    } else {
        Err("registry host must be dot-separated [A-Za-z0-9-] labels")
    }
}

/// `[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*`
fn valid_path_component(p: &str) -> bool {
    let b = p.as_bytes();
    if b.is_empty() || !is_alnum_lower(b[0]) || !is_alnum_lower(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if is_alnum_lower(b[i]) {
            i += 1;
            continue;
        }
        // A separator run: '.', '_', '__', or one or more '-'.
        let start = i;
        while i < b.len() && !is_alnum_lower(b[i]) {
            i += 1;
        }
        let sep = &p[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|c| c == b'-');
        if !ok {
            return false;
        }
    }
    true
}

fn is_alnum_lower(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(s: &str) -> NamedRef {
        match ImageRef::parse(s) {
            Ok(ImageRef::Named(n)) => n,
            other => panic!("{s}: {other:?}"),
        }
    }

    #[test]
    fn accepts_the_usual_forms() {
        let n = named("busybox");
        assert_eq!((n.name.as_str(), n.tag, n.digest), ("busybox", None, None));
        let n = named("localhost:5000/team/app:1.2-rc_3");
        assert_eq!(n.name, "localhost:5000/team/app");
        assert_eq!(n.tag.as_deref(), Some("1.2-rc_3"));
        let d = format!("sha256:{}", "b".repeat(64));
        let n = named(&format!("ghcr.io/o/a:v1@{d}"));
        assert_eq!(n.digest.map(String::from), Some(d.clone()));
        assert_eq!(
            named("strata-test/x__y.z:latest")
                .familiar_tagged()
                .as_deref(),
            Some("strata-test/x__y.z:latest")
        );
        assert_eq!(
            named("docker.io/library/busybox")
                .familiar_tagged()
                .as_deref(),
            Some("busybox:latest")
        );
        assert!(matches!(ImageRef::parse(&d), Ok(ImageRef::Id(_))));
        assert!(matches!(
            ImageRef::parse(&"c".repeat(64)),
            Ok(ImageRef::Id(_))
        ));
        assert_eq!(
            ImageRef::parse("3f2a9c"),
            Ok(ImageRef::IdPrefix("3f2a9c".into()))
        );
        assert_eq!(
            ImageRef::parse("sha256:3f2a"),
            Ok(ImageRef::IdPrefix("3f2a".into()))
        );
    }

    #[test]
    fn rejects_traversal_and_injection() {
        for bad in [
            "x/../../containers/json",
            "a?force=true",
            "%2e%2e/x",
            "a#frag",
            "a b",
            "a\tb",
            "a\n",
            "..",
            "../x",
            "a/..",
            "",
            "UPPER",
            "a:",
            "a:-tag",
            "a@sha256:xyz",
            "a@md5:00",
            "sha256:zz",
            "a//b",
            "/a",
            "a/",
            "-a",
            "a--",
            "a___b",
            "sha256:../../x",
        ] {
            assert!(ImageRef::parse(bad).is_err(), "{bad:?} must be rejected");
        }
        assert!(matches!(
            ImageRef::parse("x/../../containers/json"),
            Err(RefError::DotDot(_))
        ));
        assert!(matches!(
            ImageRef::parse("a?force=true"),
            Err(RefError::BadChar(_, '?'))
        ));
        assert!(matches!(
            ImageRef::parse("%2e%2e/x"),
            Err(RefError::BadChar(_, '%'))
        ));
    }

    #[test]
    fn tag_length_is_capped() {
        assert!(ImageRef::parse(&format!("a:{}", "t".repeat(128))).is_ok());
        assert!(ImageRef::parse(&format!("a:{}", "t".repeat(129))).is_err());
        assert!(ImageRef::parse(&"a".repeat(256)).is_err());
    }
}
