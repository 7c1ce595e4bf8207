//! Images the integration tests of every crate build in, and remove from, the *system*
//! dockerd — the one daemon that all tests, all test processes and other checkouts'
//! test runs share. Test code cannot be a dependency, so `app`, `server` and `e2e`
//! each include this one file with `#[path]`.
//!
//! Tests build `FROM scratch` + busybox images with the legacy builder and share its
//! build cache: equal steps reuse the same untagged intermediate images. `docker rmi`
//! of one test's image also deletes ("prunes") its untagged parents once they have no
//! other child — including an intermediate that a concurrent build has just taken from
//! the cache, which then fails with `unknown parent image ID sha256:…`. So:
//! * every build holds a shared lock and every removal the exclusive one ([`DaemonLock`],
//!   a file lock per daemon, so threads and separate test processes of this suite agree):
//!   a removal never prunes while one of our builds runs, and a finished image keeps its
//!   parents alive as their child;
//! * images are removed by their own unique tag ([`unique_tag`]), never by an image ID,
//!   which other tags (other tests' images with the same content) may share;
//! * a build that still loses a parent to a removal outside the lock (an older checkout's
//!   tests on the same daemon) is retried from scratch.
//!
//! Private daemons (`server`'s `docker_support::private`) are per test and need none of
//! this.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

static SEQ: AtomicU32 = AtomicU32::new(0);

/// A tag unique to this process and call: `strata-test/<name>-<pid>-<n>:<tag>`.
pub fn unique_tag_with(name: &str, tag: &str) -> String {
    format!(
        "strata-test/{name}-{}-{}:{tag}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    )
}

/// [`unique_tag_with`] and tag `t`.
pub fn unique_tag(name: &str) -> String {
    unique_tag_with(name, "t")
}

/// `std::fs::copy` of `/bin/busybox` to `to` that also keeps its modification time. The
/// legacy builder's cache ignores mtimes but a new layer records them: with concurrent
/// runs the cache may hold several `COPY busybox` steps, and only equal mtimes make
/// every one of them the same layer (tests expect one shared busybox layer).
pub fn copy_busybox(to: &Path) -> std::io::Result<u64> {
    let from = Path::new("/bin/busybox");
    let n = std::fs::copy(from, to)?;
    let mtime = std::fs::metadata(from)?.modified()?;
    File::options().write(true).open(to)?.set_modified(mtime)?;
    Ok(n)
}

/// The lock file for the daemon `DOCKER_HOST` names (the default socket when unset).
fn lock_path() -> PathBuf {
    let host = std::env::var("DOCKER_HOST").unwrap_or_else(|_| "default".to_owned());
    let key: String = host
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    // Not `temp_dir()`: a run with another TMPDIR must still find the same lock.
    PathBuf::from(format!("/tmp/strata-test-docker-{key}.lock"))
}

/// A held lock on the system daemon's images; released on drop. Builds take it shared,
/// removals exclusive (`flock(2)`, so it also orders threads of one process, each
/// holding its own open file).
pub struct DaemonLock {
    _file: File,
}

impl DaemonLock {
    fn open() -> File {
        let path = lock_path();
        File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .unwrap_or_else(|e| panic!("opening {}: {e}", path.display()))
    }

    /// For builds (and loads): many at a time, never during a removal.
    pub fn shared() -> DaemonLock {
        let f = Self::open();
        f.lock_shared().expect("shared lock on the daemon");
        DaemonLock { _file: f }
    }

    /// For removals: waits until no build of this suite runs.
    pub fn exclusive() -> DaemonLock {
        let f = Self::open();
        f.lock().expect("exclusive lock on the daemon");
        DaemonLock { _file: f }
    }
}

/// Whether a failed build lost a cached parent image to someone else's removal.
fn lost_parent(out: &Output) -> bool {
    let err = String::from_utf8_lossy(&out.stderr);
    [
        "unknown parent image ID",
        "No such image",
        "image not known",
    ]
    .iter()
    .any(|s| err.contains(s))
}

/// `docker build -q -t <tag> <args…> <context>` with the legacy builder (so equal steps
/// share the build cache) under the shared lock; retried when it lost a parent image.
/// The output of the last attempt; its stdout is the image ID on success.
pub fn build(tag: &str, args: &[&str], context: &Path) -> std::io::Result<Output> {
    let mut attempt = 0;
    loop {
        let out = {
            let _lock = DaemonLock::shared();
            Command::new("docker")
                .args(["build", "-q", "-t", tag])
                .args(args)
                .arg(context)
                .env("DOCKER_BUILDKIT", "0")
                .output()?
        };
        attempt += 1;
        if out.status.success() || attempt == 4 || !lost_parent(&out) {
            return Ok(out);
        }
    }
}

/// `docker rmi -f <tags…>` under the exclusive lock; errors are ignored (cleanup).
pub fn remove(tags: &[&str]) {
    if tags.is_empty() {
        return;
    }
    let _lock = DaemonLock::exclusive();
    let _ = Command::new("docker")
        .arg("rmi")
        .arg("-f")
        .args(tags)
        .output();
}

/// An image in the system daemon under a tag of its own, removed (by that tag) on drop.
pub struct TestImage {
    pub tag: String,
    pub id: String,
}

impl Drop for TestImage {
    fn drop(&mut self) {
        remove(&[&self.tag]);
    }
}
