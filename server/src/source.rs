//! Where an image comes from: the SOURCE strings of the CLI and the API
//! (`docker:REF`, bare `REF`, `docker-archive:PATH[:REF]`, `oci-archive:PATH[:REF]`,
//! `oci:DIR[:REF]`, `registry:HOST/REPO[:TAG|@DIGEST]`, a bare file or directory path) parsed into a typed [`Source`], and the
//! IO that reads each kind ([`docker`] for the daemon, [`storage`] for the daemon's own
//! layer store, [`archive_file`] and [`oci_dir`] for files on disk).
//!
//! Invariant: a daemon source always carries a validated [`ImageRef`]; free text never
//! reaches the Engine API.

pub mod archive_file;
pub mod docker;
pub mod oci_dir;
pub mod reference;
pub mod sharing;
pub mod storage;

pub use reference::{ImageRef, NamedRef, RefError};

use crate::registry::RegistryRef;

use std::fmt;
use std::path::{Path, PathBuf};

/// A parsed SOURCE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// An image in the Docker (or Podman) daemon.
    Docker(ImageRef),
    /// A file written by `docker save` (classic or Docker ≥ 25 OCI style).
    DockerArchive {
        path: PathBuf,
        reference: Option<String>,
    },
    /// A tar of an OCI image layout.
    OciArchive {
        path: PathBuf,
        reference: Option<String>,
    },
    /// An OCI image layout directory.
    OciDir {
        path: PathBuf,
        reference: Option<String>,
    },
    /// A bare file path: `docker save` output or an OCI archive, told apart when read.
    ArchiveFile {
        path: PathBuf,
        reference: Option<String>,
    },
    /// An image in a registry, `registry:HOST[:PORT]/REPO[:TAG|@DIGEST]`.
    Registry(RegistryRef),
}

/// Why a SOURCE string could not be understood.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// The daemon reference is malformed.
    #[error(transparent)]
    Ref(#[from] RefError),
    /// A prefixed source without anything after the prefix.
    #[error("source {0:?} has no path after the prefix")]
    MissingPath(String),
    /// A path-like bare source that does not exist.
    #[error("{0}: no such file or directory")]
    NotFound(PathBuf),
    /// The selector after `PATH:` is malformed.
    #[error("image selector {0:?} in source is not a valid reference")]
    BadSelector(String),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let with_ref = |f: &mut fmt::Formatter<'_>, kind: &str, p: &Path, r: &Option<String>| {
            write!(f, "{kind}{}", p.display())?;
            match r {
                Some(r) => write!(f, ":{r}"),
                None => Ok(()),
            }
        };
        match self {
            Source::Docker(r) => write!(f, "docker:{r}"),
            Source::DockerArchive { path, reference } => {
                with_ref(f, "docker-archive:", path, reference)
            }
            Source::OciArchive { path, reference } => with_ref(f, "oci-archive:", path, reference),
            Source::OciDir { path, reference } => with_ref(f, "oci:", path, reference),
            Source::ArchiveFile { path, reference } => with_ref(f, "", path, reference),
            Source::Registry(r) => write!(f, "registry:{r}"),
        }
    }
}

impl Source {
    /// Parses a SOURCE string, consulting the file system to tell a bare path from a bare
    /// reference and `PATH:REF` from a path that itself contains `:`.
    pub fn parse(s: &str) -> Result<Self, SourceError> {
        Self::parse_with(s, &|p: &Path| {
            if p.is_dir() {
                PathKind::Dir
            } else if p.exists() {
                PathKind::File
            } else {
                PathKind::Missing
            }
        })
    }

    /// [`Source::parse`] with an injectable file-system probe (for tests).
    pub fn parse_with(s: &str, probe: &dyn Fn(&Path) -> PathKind) -> Result<Self, SourceError> {
        if let Some(r) = s.strip_prefix("docker:") {
            return Ok(Source::Docker(ImageRef::parse(r)?));
        }
        if let Some(r) = s.strip_prefix("registry:") {
            return Ok(Source::Registry(RegistryRef::parse(r)?));
        }
        for (prefix, make) in [
            ("docker-archive:", Kind::DockerArchive),
            ("oci-archive:", Kind::OciArchive),
            ("oci:", Kind::OciDir),
        ] {
            if let Some(rest) = s.strip_prefix(prefix) {
                if rest.is_empty() {
                    return Err(SourceError::MissingPath(s.to_owned()));
                }
                let (path, reference) = split_path_ref(rest, probe)?;
                return Ok(make.build(path, reference));
            }
        }
        match probe(Path::new(s)) {
            PathKind::Dir => {
                return Ok(Source::OciDir {
                    path: PathBuf::from(s),
                    reference: None,
                })
            }
            PathKind::File => {
                return Ok(Source::ArchiveFile {
                    path: PathBuf::from(s),
                    reference: None,
                })
            }
            PathKind::Missing => {}
        }
        if looks_like_path(s) {
            return Err(SourceError::NotFound(PathBuf::from(s)));
        }
        Ok(Source::Docker(ImageRef::parse(s)?))
    }

    /// True for the daemon source.
    pub fn is_docker(&self) -> bool {
        matches!(self, Source::Docker(_))
    }
}

/// What a path names on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathKind {
    File,
    Dir,
    Missing,
}

#[derive(Clone, Copy)]
enum Kind {
    DockerArchive,
    OciArchive,
    OciDir,
}

impl Kind {
    fn build(self, path: PathBuf, reference: Option<String>) -> Source {
        match self {
            Kind::DockerArchive => Source::DockerArchive { path, reference },
            Kind::OciArchive => Source::OciArchive { path, reference },
            Kind::OciDir => Source::OciDir { path, reference },
        }
    }
}

/// `PATH[:REF]`: the whole string is the path if it exists; otherwise the part after the
/// last `:` is a selector when the part before it exists. A missing path is kept whole
/// so the error names what the user typed.
fn split_path_ref(
    rest: &str,
    probe: &dyn Fn(&Path) -> PathKind,
) -> Result<(PathBuf, Option<String>), SourceError> {
    if probe(Path::new(rest)) != PathKind::Missing {
        return Ok((PathBuf::from(rest), None));
    }
    // The selector may itself hold a ':' (name:tag), so try each split point from the left.
    for (i, _) in rest.match_indices(':') {
        let (path, sel) = (&rest[..i], &rest[i + 1..]);
        if path.is_empty() || probe(Path::new(path)) == PathKind::Missing {
            continue;
        }
        if sel.is_empty() {
            return Ok((PathBuf::from(path), None));
        }
        if !valid_selector(sel) {
            return Err(SourceError::BadSelector(sel.chars().take(80).collect()));
        }
        return Ok((PathBuf::from(path), Some(sel.to_owned())));
    }
    Err(SourceError::NotFound(PathBuf::from(rest)))
}

/// Selectors name an image inside an archive: a reference (`name:tag`), an OCI
/// `ref.name` annotation (a bare tag like `latest`), or a digest / index.
fn valid_selector(sel: &str) -> bool {
    ImageRef::parse(sel).is_ok()
        || (sel.len() <= 128
            && sel.bytes().all(|b| {
                b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b':' | b'/' | b'@')
            }))
}

fn looks_like_path(s: &str) -> bool {
    s.starts_with('/')
        || s.starts_with("./")
        || s.starts_with("../")
        || s.starts_with('~')
        || s == "."
        || s.contains('\\')
        || [".tar", ".tar.gz", ".tgz", ".oci"]
            .iter()
            .any(|ext| s.ends_with(ext))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(p: &Path) -> PathKind {
        match p.to_str() {
            Some("img.tar") | Some("/tmp/a:b.tar") | Some("/x/y.tar") => PathKind::File,
            Some("layout") | Some("/x/layout") => PathKind::Dir,
            _ => PathKind::Missing,
        }
    }

    fn parse(s: &str) -> Result<Source, SourceError> {
        Source::parse_with(s, &probe)
    }

    #[test]
    fn parses_every_form() {
        assert!(matches!(
            parse("busybox:1.36"),
            Ok(Source::Docker(ImageRef::Named(_)))
        ));
        assert!(matches!(parse("docker:busybox"), Ok(Source::Docker(_))));
        assert_eq!(
            parse("docker-archive:img.tar").ok(),
            Some(Source::DockerArchive {
                path: "img.tar".into(),
                reference: None
            })
        );
        assert_eq!(
            parse("docker-archive:/x/y.tar:app:v1").ok(),
            Some(Source::DockerArchive {
                path: "/x/y.tar".into(),
                reference: Some("app:v1".into())
            })
        );
        assert_eq!(
            parse("oci-archive:/tmp/a:b.tar").ok(),
            Some(Source::OciArchive {
                path: "/tmp/a:b.tar".into(),
                reference: None
            })
        );
        assert_eq!(
            parse("oci:/x/layout:latest").ok(),
            Some(Source::OciDir {
                path: "/x/layout".into(),
                reference: Some("latest".into())
            })
        );
        assert_eq!(
            parse("layout").ok(),
            Some(Source::OciDir {
                path: "layout".into(),
                reference: None
            })
        );
        assert_eq!(
            parse("img.tar").ok(),
            Some(Source::ArchiveFile {
                path: "img.tar".into(),
                reference: None
            })
        );
    }

    #[test]
    fn reports_missing_paths_and_bad_refs() {
        assert!(matches!(parse("./nope.tar"), Err(SourceError::NotFound(_))));
        assert!(matches!(parse("/abs/nope"), Err(SourceError::NotFound(_))));
        assert!(matches!(
            parse("docker-archive:nope.tar"),
            Err(SourceError::NotFound(_))
        ));
        assert!(matches!(parse("oci:"), Err(SourceError::MissingPath(_))));
        assert!(matches!(
            parse("docker-archive:img.tar:a?b"),
            Err(SourceError::NotFound(_)) | Err(SourceError::BadSelector(_))
        ));
        for bad in [
            "x/../../containers/json",
            "a?force=true",
            "%2e%2e/x",
            "docker:a b",
        ] {
            assert!(matches!(parse(bad), Err(SourceError::Ref(_))), "{bad}");
        }
    }

    #[test]
    fn display_round_trips() {
        for s in [
            "registry:127.0.0.1:5000/team/api:1.4",
            "docker:busybox:1",
            "docker-archive:/x/y.tar:app:v1",
            "oci:/x/layout",
        ] {
            assert_eq!(parse(s).map(|x| x.to_string()).ok().as_deref(), Some(s));
        }
    }
}
