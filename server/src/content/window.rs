//! A byte range of a file as its own seekable file: an archive member or a blob.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

/// Bytes `start..start + len` of a file; reads stop at the window's end.
#[derive(Debug)]
pub struct Window {
    file: File,
    start: u64,
    len: u64,
    pos: u64,
}

impl Window {
    /// Opens `path` and positions at the window's first byte.
    pub fn open(path: &Path, start: u64, len: u64) -> io::Result<Window> {
        let mut file = File::open(path)?;
        let end = start.saturating_add(len);
        if file.metadata()?.len() < end {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("the file is shorter than {end} bytes: it changed since it was read"),
            ));
        }
        file.seek(SeekFrom::Start(start))?;
        Ok(Window {
            file,
            start,
            len,
            pos: 0,
        })
    }
}

impl Read for Window {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.len - self.pos;
        let want = (buf.len() as u64).min(left) as usize;
        if want == 0 {
            return Ok(0);
        }
        let n = self.file.read(&mut buf[..want])?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for Window {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
        };
        let target = target
            .filter(|t| *t <= self.len)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek outside the blob"))?;
        self.file.seek(SeekFrom::Start(self.start + target))?;
        self.pos = target;
        Ok(target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_seeks_inside_the_window_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"0123456789").unwrap();
        let mut w = Window::open(&path, 2, 5).unwrap();
        let mut s = String::new();
        w.read_to_string(&mut s).unwrap();
        assert_eq!(s, "23456");
        assert_eq!(w.seek(SeekFrom::Start(3)).unwrap(), 3);
        let mut rest = String::new();
        w.read_to_string(&mut rest).unwrap();
        assert_eq!(rest, "56");
        assert!(w.seek(SeekFrom::Start(6)).is_err());
        assert!(Window::open(&path, 8, 5).is_err(), "window past the end");
    }
}
