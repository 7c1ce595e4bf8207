//! A private `dockerd` for fault tests: its own data root, exec root, pid file and Unix
//! socket under a fresh directory in /tmp, its own bridge (`sfb<pid>x<n>`, never
//! `--bridge=none`: with that, dockerd deletes the host's `docker0`, breaking the system
//! daemon's `RUN` steps for every later test), no iptables,
//! debug logging (`-D`, every API call is logged as `Calling GET /v1.xx/...`) into a log
//! file that survives restarts. The tests stop, kill, pause and resume it at will; the
//! system daemon is never touched.
//!
//! Drop kills the daemon (and its managed containerd), unmounts whatever it left mounted
//! under its directory (the data root is bind-mounted, overlay2 mounts layers) and

//! removes the directory.

use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

static SEQ: AtomicU32 = AtomicU32::new(0);

/// How long a start may take before the test fails (it takes well under a second here).
pub const START_TIMEOUT: Duration = Duration::from_secs(30);

/// One private daemon (stopped until [`PrivateDaemon::start`]).
pub struct PrivateDaemon {
    dir: PathBuf,
    /// The daemon's own bridge interface (created at start, deleted on drop).
    bridge: Option<String>,
    child: Option<Child>,
    paused: bool,
    /// More dockerd arguments (another `-H` listener with its TLS files).
    extra: Vec<String>,
}

impl PrivateDaemon {
    /// Prepares the directories; nothing runs yet. The directory is short (/tmp/sfd-…)
    /// because a Unix socket path must fit in 108 bytes.
    pub fn new() -> PrivateDaemon {
        sweep_stale();
        let (pid, seq) = (std::process::id(), SEQ.fetch_add(1, Ordering::Relaxed));
        let dir = PathBuf::from(format!("/tmp/sfd-{pid}-{seq}"));
        let _ = std::fs::remove_dir_all(&dir);
        for sub in ["data", "exec"] {
            std::fs::create_dir_all(dir.join(sub)).expect("create private daemon dirs");
        }
        PrivateDaemon {
            dir,
            bridge: Some(make_bridge(pid, seq)),
            child: None,
            paused: false,
            extra: Vec::new(),
        }
    }

    /// Adds dockerd arguments for the next start (e.g. a TLS `-H tcp://…` listener).
    pub fn with_args(mut self, args: &[&str]) -> Self {
        self.extra.extend(args.iter().map(|a| (*a).to_owned()));
        self
    }

    /// `unix:///tmp/sfd-…/docker.sock`, valid whether or not the daemon runs.
    pub fn host(&self) -> String {
        format!("unix://{}", self.socket().display())
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.join("docker.sock")
    }

    pub fn data_root(&self) -> PathBuf {
        self.dir.join("data")
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.join("dockerd.log")
    }

    /// The dockerd process ID while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Starts dockerd and waits until `/_ping` answers; returns how long that took.
    pub fn start(&mut self) -> Duration {
        assert!(self.child.is_none(), "private dockerd already running");
        // A killed daemon leaves its pid file and socket behind; dockerd refuses to start
        // over a pid file.
        let _ = std::fs::remove_file(self.dir.join("dockerd.pid"));
        let _ = std::fs::remove_file(self.socket());
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("open dockerd log");
        let err = log.try_clone().expect("clone dockerd log handle");
        let started = Instant::now();
        let child = Command::new("dockerd")
            .arg("--data-root")
            .arg(self.data_root())
            .arg("--exec-root")
            .arg(self.dir.join("exec"))
            .arg("--pidfile")
            .arg(self.dir.join("dockerd.pid"))
            .arg("-H")
            .arg(self.host())
            .arg(format!(
                "--bridge={}",
                self.bridge.as_deref().unwrap_or("none")
            ))
            .args(["--iptables=false", "--ip-masq=false", "-D"])
            .args(&self.extra)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .spawn()
            .expect("spawn dockerd");
        self.child = Some(child);
        while started.elapsed() < START_TIMEOUT {
            if self.ping() {
                return started.elapsed();
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                self.child = None;
                panic!(
                    "private dockerd exited at start ({status}); log:\n{}",
                    self.log_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "private dockerd did not answer /_ping within {START_TIMEOUT:?}; log:\n{}",
            self.log_tail()
        );
    }

    /// Whether `GET /_ping` answers 200 right now (2 s budget).
    pub fn ping(&self) -> bool {
        let Ok(mut s) = UnixStream::connect(self.socket()) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
        if s.write_all(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            .is_err()
        {
            return false;
        }
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out.starts_with("HTTP/1.1 200") || out.starts_with("HTTP/1.0 200")
    }

    /// SIGTERM and wait for the exit (SIGKILL after 20 s).
    pub fn stop(&mut self) {
        self.resume();
        if let Some(mut child) = self.child.take() {
            signal(child.id(), "TERM");
            let t = Instant::now();
            while t.elapsed() < Duration::from_secs(20) {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGKILL, as a crash: no cleanup by the daemon.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.paused = false;
        self.kill_containerd();
    }

    /// SIGSTOP: the daemon keeps its sockets open and answers nothing.
    pub fn pause(&mut self) {
        if let Some(pid) = self.pid() {
            signal(pid, "STOP");
            self.paused = true;
        }
    }

    /// SIGCONT after [`PrivateDaemon::pause`].
    pub fn resume(&mut self) {
        if let (Some(pid), true) = (self.pid(), self.paused) {
            signal(pid, "CONT");
            self.paused = false;
        }
    }

    /// `docker -H <this daemon> ARGS...`.
    pub fn docker(&self, args: &[&str]) -> Output {
        Command::new("docker")
            .arg("-H")
            .arg(self.host())
            .args(args)
            .output()
            .expect("run docker")
    }

    /// `docker load -i ARCHIVE`, asserting success.
    pub fn load(&self, archive: &Path) {
        let archive = archive.to_str().expect("utf-8 archive path");
        let out = self.docker(&["load", "-q", "-i", archive]);
        assert!(
            out.status.success(),
            "docker load failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The whole debug log so far (all starts).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// The last lines of the log, for failure messages.
    pub fn log_tail(&self) -> String {
        let log = self.log();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// Export requests the daemon received so far: `GET /v1.xx/images/{name}/get` or
    /// `GET /v1.xx/images/get?names=…`, as logged by `-D`.
    pub fn export_calls(&self) -> usize {
        self.log()
            .lines()
            .filter(|l| l.contains("Calling GET /") && is_export_path(l))
            .count()
    }

    /// Kills a leftover daemon of a test process that died without running Drop.
    fn kill_leftover(&self) {
        if let Ok(pid) = std::fs::read_to_string(self.dir.join("dockerd.pid")) {
            if let Ok(pid) = pid.trim().parse::<u32>() {
                if is_ours(pid, &self.dir) {
                    signal(pid, "CONT");
                    signal(pid, "KILL");
                }
            }
        }
        self.kill_containerd();
    }

    fn kill_containerd(&self) {
        let pidfile = self.dir.join("exec/containerd/containerd.pid");
        if let Ok(pid) = std::fs::read_to_string(&pidfile) {
            if let Ok(pid) = pid.trim().parse::<u32>() {
                if is_ours(pid, &self.dir) {
                    signal(pid, "KILL");
                    // A restarted dockerd would adopt a containerd it finds alive by its
                    // pid file, then time out when that one dies: wait until it is gone.
                    let t = Instant::now();
                    while is_alive(pid) && t.elapsed() < Duration::from_secs(10) {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                }
            }
        }
        let _ = std::fs::remove_file(pidfile);
    }

    /// Unmounts everything mounted under the private directory, deepest first.
    fn unmount_all(&self) {
        let prefix = self.dir.to_string_lossy().into_owned();
        for _ in 0..3 {
            let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
            let mut points: Vec<String> = info
                .lines()
                .filter_map(|l| l.split(' ').nth(4))
                .filter(|p| *p == prefix || p.starts_with(&format!("{prefix}/")))
                .map(str::to_owned)
                .collect();
            if points.is_empty() {
                return;
            }
            points.sort_by_key(|p| std::cmp::Reverse(p.len()));
            for p in points {
                let _ = Command::new("umount").args(["-l", &p]).output();
            }
        }
    }
}

impl Default for PrivateDaemon {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for PrivateDaemon {
    fn drop(&mut self) {
        self.resume();
        self.kill();
        self.unmount_all();
        let _ = std::fs::remove_dir_all(&self.dir);
        if let Some(bridge) = self.bridge.take() {
            let _ = ip(&["link", "del", &bridge]);
        }
    }
}

/// `ip ARGS...`; whether it succeeded.
fn ip(args: &[&str]) -> bool {
    Command::new("ip")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Creates the bridge `sfb<pid>x<seq>` with a private /24 and brings it up.
fn make_bridge(pid: u32, seq: u32) -> String {
    let name = format!("sfb{}x{}", pid % 10_000_000, seq % 100);
    let _ = ip(&["link", "del", &name]);
    let net = (pid.wrapping_mul(7).wrapping_add(seq) % 250) + 1;
    assert!(
        ip(&["link", "add", &name, "type", "bridge"])
            && ip(&["addr", "add", &format!("10.213.{net}.1/24"), "dev", &name])
            && ip(&["link", "set", &name, "up"]),
        "cannot create bridge {name} for the private dockerd (needs root and iproute2)"
    );
    name
}

/// Cleans up /tmp/sfd-<pid>-<n> directories of test processes that no longer run (a
/// test binary killed by a CI timeout never runs Drop).
fn sweep_stale() {
    let Ok(rd) = std::fs::read_dir("/tmp") else {
        return;
    };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix("sfd-")
            .and_then(|r| r.split('-').next())
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == std::process::id() || is_alive(pid) {
            continue;
        }
        let stale = PrivateDaemon {
            dir: e.path(),
            bridge: None,
            child: None,
            paused: false,
            extra: Vec::new(),
        };
        stale.kill_leftover();
        // Drop unmounts and removes the directory.
    }
    // Bridges `sfb<pid>x<n>` of processes that no longer run.
    for e in std::fs::read_dir("/sys/class/net")
        .into_iter()
        .flatten()
        .flatten()
    {
        let name = e.file_name().to_string_lossy().into_owned();
        let pid = name
            .strip_prefix("sfb")
            .and_then(|r| r.split('x').next())
            .and_then(|p| p.parse::<u32>().ok());
        if pid.is_some_and(|p| p != std::process::id() % 10_000_000 && !is_alive(p)) {
            let _ = ip(&["link", "del", &name]);
        }
    }
}

/// True for the export endpoints in a logged request line.
fn is_export_path(line: &str) -> bool {
    let Some(rest) = line.split("Calling GET ").nth(1) else {
        return false;
    };
    let path = rest.split(['"', ' ', '?']).next().unwrap_or("");
    path.ends_with("/images/get") || (path.contains("/images/") && path.ends_with("/get"))
}

/// Whether process `pid` runs with our private directory on its command line (so a
/// recycled pid of someone else's process is never signalled).
fn is_ours(pid: u32, dir: &Path) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|c| String::from_utf8_lossy(&c).contains(&*dir.to_string_lossy()))
        .unwrap_or(false)
}

/// Whether `pid` exists and is not a zombie.
fn is_alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            let state = s.rsplit(')').next().unwrap_or("").trim_start();
            !state.starts_with('Z') && !state.starts_with('X')
        })
        .unwrap_or(false)
}

fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .output();
}

#[test]
fn export_lines_are_recognised() {
    assert!(is_export_path(
        "time=\"x\" level=debug msg=\"Calling GET /v1.41/images/sha256:ab/get\""
    ));
    assert!(is_export_path(
        "level=debug msg=\"Calling GET /v1.41/images/get?names=x\""
    ));
    assert!(!is_export_path(
        "level=debug msg=\"Calling GET /v1.41/images/sha256:ab/json\""
    ));
}
