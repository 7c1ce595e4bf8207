//! Names inside an archive namespace: member names and the paths manifests use to point
//! at members are cleaned the way moby does (`path.Clean` of a path rooted in the archive),
//! so `./blobs/..//x` is `x` and `/etc/passwd` is the member `etc/passwd`, never a host file.
//! A path that climbs above the archive root (`../../etc/passwd`) or uses Windows syntax
//! (`C:\x`) is rejected: the host file system is never consulted.

/// Why a path inside an archive was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("path {0:?} escapes the archive root")]
    Escapes(String),
    #[error("path {0:?} is empty or names the archive root")]
    Empty(String),
    #[error("path {0:?} uses windows syntax (backslash or drive letter)")]
    Windows(String),
    #[error("path {0:?} contains a nul byte")]
    Nul(String),
}

fn shown(s: &str) -> String {
    s.chars().take(200).collect()
}

/// Cleans `path` as a path rooted at the archive root: leading `/` and `.` components
/// dropped, `..` applied, repeated slashes collapsed. Never returns an empty string.
pub fn clean(path: &str) -> Result<String, PathError> {
    if path.contains('\0') {
        return Err(PathError::Nul(shown(path)));
    }
    let b = path.as_bytes();
    if path.contains('\\') || (b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':') {
        return Err(PathError::Windows(shown(path)));
    }
    let mut parts: Vec<&str> = Vec::new();
    for comp in path.split('/') {
        match comp {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(PathError::Escapes(shown(path)));
                }
            }
            other => parts.push(other),
        }
    }
    if parts.is_empty() {
        return Err(PathError::Empty(shown(path)));
    }
    Ok(parts.join("/"))
}

/// Resolves a symlink `target` found at member `link` (relative targets are relative to
/// the link's directory, absolute ones to the archive root), then cleans the result.
pub fn join_link(link: &str, target: &str) -> Result<String, PathError> {
    if target.starts_with('/') {
        return clean(target);
    }
    let dir = link.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
    if dir.is_empty() {
        clean(target)
    } else {
        // Clean the target first on its own only for the error text; the joined form
        // decides containment.
        clean(&format!("{dir}/{target}")).map_err(|e| match e {
            PathError::Escapes(_) => PathError::Escapes(shown(target)),
            other => other,
        })
    }
}

/// The member name for a blob digest, `blobs/<algorithm>/<hex>`.
pub fn blob_path(digest: &crate::model::Digest) -> String {
    format!("blobs/sha256/{}", digest.hex())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleans_like_moby() {
        assert_eq!(clean("./blobs/..//x").unwrap(), "x");
        assert_eq!(clean("/etc/passwd").unwrap(), "etc/passwd");
        assert_eq!(clean("a/./b/").unwrap(), "a/b");
        assert_eq!(clean("a/b/../c").unwrap(), "a/c");
    }

    #[test]
    fn refuses_escapes_and_windows() {
        assert!(matches!(
            clean("../../etc/passwd"),
            Err(PathError::Escapes(_))
        ));
        assert!(matches!(clean("a/../../b"), Err(PathError::Escapes(_))));
        assert!(matches!(clean("C:\\x"), Err(PathError::Windows(_))));
        assert!(matches!(clean("c:x"), Err(PathError::Windows(_))));
        assert!(matches!(clean("./"), Err(PathError::Empty(_))));
        assert!(matches!(clean("a\0b"), Err(PathError::Nul(_))));
    }

    #[test]
    fn joins_link_targets() {
        assert_eq!(
            join_link("a/layer.tar", "../b/layer.tar").unwrap(),
            "b/layer.tar"
        );
        assert_eq!(join_link("a/layer.tar", "/b/x").unwrap(), "b/x");
        assert!(join_link("a/layer.tar", "../../x").is_err());
        assert_eq!(join_link("top", "other").unwrap(), "other");
    }
}
