//! OCI image layouts on disk (a directory with `oci-layout`, `index.json`, `blobs/`):
//! walked iteratively and fed file by file to `app::archive::Assembler`, the same joiner
//! that reads archives, so both agree on every rule.
//!
//! Invariants: the walk never follows symlinks on disk (a symlink is handed to the
//! assembler, which resolves it inside the layout only); only regular files are read;
//! the number of files and the directory depth are capped.

use crate::progress::ChunkProgress;
use app::archive::{Archive, ArchiveError, Assembler};
use app::limits::Limits;
use std::path::{Path, PathBuf};

/// Most files a layout may hold.
pub const MAX_FILES: usize = 100_000;
/// Deepest directory nesting walked (a layout needs 3: `blobs/sha256/<hex>`).
pub const MAX_DEPTH: usize = 16;

/// Why a layout directory could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OciDirError {
    /// A directory or file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Too many files or too deep.
    #[error("{path}: {what}; not an OCI image layout?")]
    TooBig { path: PathBuf, what: String },
    /// The contents are not a readable layout.
    #[error("{path}: {source}")]
    Archive { path: PathBuf, source: ArchiveError },
}

/// Reads every image in the OCI layout at `dir`.
pub fn read_dir(
    dir: &Path,
    limits: &Limits,
    progress: &mut ChunkProgress<'_>,
) -> Result<Archive, OciDirError> {
    let io = |path: &Path, source| OciDirError::Io {
        path: path.to_owned(),
        source,
    };
    let files = list_files(dir)?;
    let total: u64 = files.iter().map(|f| f.size).sum();
    progress.set_total(Some(total));
    let mut noop = |_: u64| {};
    let mut asm = Assembler::new(limits, &mut noop);
    for f in &files {
        let path = dir.join(&f.name);
        match &f.link {
            Some(target) => asm.add_symlink(&f.name, target),
            None => {
                let file = std::fs::File::open(&path).map_err(|e| io(&path, e))?;
                let mut r = std::io::BufReader::with_capacity(1 << 20, progress.wrap(file));
                asm.add_file(&f.name, f.size, &mut r)
                    .map_err(|source| OciDirError::Archive {
                        path: dir.to_owned(),
                        source,
                    })?;
            }
        }
    }
    asm.finish().map_err(|source| OciDirError::Archive {
        path: dir.to_owned(),
        source,
    })
}

struct Found {
    /// `/`-separated path relative to the layout root.
    name: String,
    size: u64,
    link: Option<String>,
}

/// Lists regular files and symlinks under `root` (sorted, without following symlinks),
/// metadata first so `index.json` is read before the blobs.
fn list_files(root: &Path) -> Result<Vec<Found>, OciDirError> {
    let mut out = Vec::new();
    let mut stack: Vec<(PathBuf, String, usize)> = vec![(root.to_owned(), String::new(), 0)];
    while let Some((dir, prefix, depth)) = stack.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|source| OciDirError::Io {
            path: dir.clone(),
            source,
        })?;
        for entry in entries {
            let entry = entry.map_err(|source| OciDirError::Io {
                path: dir.clone(),
                source,
            })?;
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                continue; // a non-UTF-8 name cannot be referenced by JSON
            };
            let rel = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            let path = entry.path();
            let meta = std::fs::symlink_metadata(&path).map_err(|source| OciDirError::Io {
                path: path.clone(),
                source,
            })?;
            let ft = meta.file_type();
            if ft.is_dir() {
                if depth + 1 > MAX_DEPTH {
                    return Err(OciDirError::TooBig {
                        path: path.clone(),
                        what: format!("nested deeper than {MAX_DEPTH} directories"),
                    });
                }
                stack.push((path, rel, depth + 1));
            } else if ft.is_symlink() {
                let target = std::fs::read_link(&path).map_err(|source| OciDirError::Io {
                    path: path.clone(),
                    source,
                })?;
                out.push(Found {
                    name: rel,
                    size: 0,
                    link: Some(target.to_string_lossy().into_owned()),
                });
            } else if ft.is_file() {
                out.push(Found {
                    name: rel,
                    size: meta.len(),
                    link: None,
                });
            }
            if out.len() > MAX_FILES {
                return Err(OciDirError::TooBig {
                    path: root.to_owned(),
                    what: format!("more than {MAX_FILES} files"),
                });
            }
        }
    }
    out.sort_by(|a, b| {
        (a.name.starts_with("blobs/"), &a.name).cmp(&(b.name.starts_with("blobs/"), &b.name))
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_without_following_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("blobs/sha256")).unwrap();
        std::fs::write(root.join("index.json"), b"{}").unwrap();
        std::fs::write(root.join("blobs/sha256/aa"), b"xyz").unwrap();
        std::os::unix::fs::symlink("/etc", root.join("blobs/escape")).unwrap();
        let files = list_files(root).unwrap();
        let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["index.json", "blobs/escape", "blobs/sha256/aa"]);
        assert_eq!(files[1].link.as_deref(), Some("/etc"));
        assert_eq!(files[2].size, 3);
    }
}
