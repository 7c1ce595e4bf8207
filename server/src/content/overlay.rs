//! Straight reads from the daemon's unpacked layer directory (overlay2 `diff/`), the
//! fast path for daemon images when this process can read Docker's store (root on the
//! daemon's host).
//!
//! Invariant: a path is opened relative to the layer directory with
//! `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)`, so neither `..` nor a symlink
//! anywhere on the way (a layer may hold `etc -> /`) can lead outside it; the file found
//! must be a regular file of the size the layer index records.

use super::ReadError;
use app::model::Entry;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;

/// Opens `entry`'s file under `dir`, positioned at `start`, limited to its recorded size.
pub fn open_at(dir: &Path, entry: &Entry, start: u64) -> Result<io::Take<File>, ReadError> {
    let shown = String::from_utf8_lossy(&entry.path).into_owned();
    let io = |e: io::Error| ReadError::Io {
        path: dir.join(&shown),
        source: Arc::new(e),
    };
    let mut file = open_beneath(dir, &entry.path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() || meta.len() != entry.size {
        return Err(ReadError::Mismatch {
            path: shown,
            expected: format!("a file of {} bytes", entry.size),
            found: if meta.is_file() {
                format!("a file of {} bytes", meta.len())
            } else {
                "something other than a regular file".to_owned()
            },
        });
    }
    file.seek(SeekFrom::Start(start)).map_err(io)?;
    Ok(file.take(entry.size - start))
}

#[cfg(target_os = "linux")]
fn open_beneath(dir: &Path, path: &[u8]) -> io::Result<File> {
    use rustix::fs::{openat2, Mode, OFlags, ResolveFlags, CWD};
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let root = openat2(
        CWD,
        dir,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
        ResolveFlags::empty(),
    )?;
    let fd = openat2(
        &root,
        OsStr::from_bytes(path),
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NOCTTY,
        Mode::empty(),
        ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS,
    )?;
    Ok(File::from(fd))
}

#[cfg(not(target_os = "linux"))]
fn open_beneath(_dir: &Path, _path: &[u8]) -> io::Result<File> {
    Err(io::Error::other(
        "direct layer reads need Linux openat2; use the export",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::model::EntryKind;

    fn entry(path: &str, size: u64) -> Entry {
        Entry {
            path: path.as_bytes().into(),
            kind: EntryKind::File,
            size,
            mode: 0o644,
            uid: 0,
            gid: 0,
            mtime: 0,
            link: None,
            crc64: None,
            flags: Vec::new(),
            offset: 0,
        }
    }

    fn read(dir: &Path, e: &Entry, start: u64) -> Result<Vec<u8>, ReadError> {
        let mut out = Vec::new();
        open_at(dir, e, start)?.read_to_end(&mut out).unwrap();
        Ok(out)
    }

    #[test]
    fn reads_inside_the_layer_and_refuses_every_way_out() {
        let host = tempfile::tempdir().unwrap();
        std::fs::write(host.path().join("passwd"), b"root:x:0:0").unwrap();
        let layer = host.path().join("diff");
        std::fs::create_dir_all(layer.join("etc")).unwrap();
        std::fs::write(layer.join("etc/hostname"), b"box\n").unwrap();
        std::os::unix::fs::symlink("../passwd", layer.join("etc/passwd")).unwrap();
        std::os::unix::fs::symlink(host.path(), layer.join("hostdir")).unwrap();
        std::os::unix::fs::symlink("/proc/self/environ", layer.join("environ")).unwrap();

        assert_eq!(
            read(&layer, &entry("etc/hostname", 4), 0).unwrap(),
            b"box\n"
        );
        assert_eq!(read(&layer, &entry("etc/hostname", 4), 2).unwrap(), b"x\n");
        for hostile in ["etc/passwd", "hostdir/passwd", "environ", "../passwd"] {
            let e = read(&layer, &entry(hostile, 10), 0).unwrap_err();
            assert!(matches!(e, ReadError::Io { .. }), "{hostile}: {e}");
        }
        // a size that disagrees with the index is refused
        let e = read(&layer, &entry("etc/hostname", 9), 0).unwrap_err();
        assert!(matches!(e, ReadError::Mismatch { .. }), "{e}");
        assert!(read(&layer, &entry("etc", 0), 0).is_err(), "a directory");
    }
}
