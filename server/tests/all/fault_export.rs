//! Faults during an export from a REAL dockerd (a private one the test starts, kills,
//! pauses and resumes; see `docker_support/private.rs`), with a real `strata serve`
//! (`--no-layer-store`, so layers come from `GET /images/{id}/get`) driven over HTTP.
//! One image with a large incompressible layer makes each export last seconds. One
//! daemon serves every case, in order, inside one test; each case gets a fresh strata
//! process (empty cache, private TMPDIR):
//! - 20 concurrent analyses of one uncached image reach the daemon as ONE export;
//! - the daemon killed mid-export: the job fails with one clear line, nothing is
//!   cached, and after a daemon restart the next request re-exports and succeeds;
//! - the daemon stopped (SIGSTOP) mid-export: the job fails once the idle watchdog
//!   (`--export-idle-timeout`) fires, saying the daemon stopped sending data; after
//!   SIGCONT the next request succeeds;
//! - the image removed (`docker rmi -f`) mid-export: a correct result or a clear
//!   failure, nothing corrupt cached, then a clear not-found;
//! - after each fault the server's TMPDIR is empty and its fd count is back near the
//!   baseline.

use crate::docker_support::big_image;
use crate::docker_support::private;
use crate::docker_support::serve;

use private::PrivateDaemon;
use serde_json::Value;
use serve::Strata;
use std::time::{Duration, Instant};

/// Size of the incompressible layer: big enough that an export takes seconds.
const BIG: u64 = 96 << 20;
/// Generous bound for one complete export + analysis (debug build, shared CI box).
const FULL_LOAD: Duration = Duration::from_secs(240);
/// `--export-idle-timeout` of the stall case, in seconds.
const IDLE_SECS: u64 = 3;
/// File descriptors a server may hold above its baseline after a fault (pooled daemon
/// connections come and go).
const FD_SLACK: usize = 8;

/// A strata server plus the fd count it settled at before any fault.
struct Server {
    strata: Strata,
    baseline_fds: usize,
}

impl Server {
    fn start(daemon: &PrivateDaemon, serve: &[&str]) -> Server {
        let strata = Strata::start(&daemon.host(), &["--no-layer-store"], serve);
        let r = strata.get("/api/v1/images");
        assert_eq!(r.status, 200, "{}", r.body);
        let baseline_fds = strata.fd_count();
        Server {
            strata,
            baseline_fds,
        }
    }

    /// No temp files left, fds back near the baseline (polled: closing is async).
    fn assert_clean(&self, case: &str) {
        let left = self.strata.tmp_files();
        assert!(left.is_empty(), "{case}: temp files left: {left:?}");
        let t = Instant::now();
        let mut fds = self.strata.fd_count();
        while fds > self.baseline_fds + FD_SLACK && t.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(200));
            fds = self.strata.fd_count();
        }
        println!(
            "{case}: strata fds {fds} (baseline {}), TMPDIR empty",
            self.baseline_fds
        );
        assert!(
            fds <= self.baseline_fds + FD_SLACK,
            "{case}: fd count {fds}, baseline {}",
            self.baseline_fds
        );
    }
}

/// Asserts a failed job's message: one line, non-empty, and containing `needle`.
fn assert_failed(end: &Value, needle: &str) -> String {
    assert_eq!(end["state"], "failed", "{end}");
    let msg = end["error"].as_str().unwrap_or_default().to_owned();
    assert!(!msg.is_empty() && !msg.contains('\n'), "{msg:?}");
    assert!(msg.contains(needle), "{msg:?} lacks {needle:?}");
    msg
}

/// A complete successful analysis on `s`; returns its summary.
fn analyse_ok(s: &Strata, id: &str) -> Value {
    let job = s.analyse(id);
    let end = s.wait_job(&job, FULL_LOAD);
    assert_eq!(end["state"], "done", "{end}\n{}", s.log());
    let r = s.get(&format!("/api/v1/images/{id}/analysis"));
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

#[test]
fn export_faults_fail_cleanly_cache_nothing_and_recover() {
    let mut daemon = PrivateDaemon::new();
    let up = daemon.start();
    println!("private dockerd up in {:.2} s", up.as_secs_f64());
    let work = tempfile::tempdir().expect("tempdir");
    let t = Instant::now();
    let big = big_image::write_archive(work.path(), "big", "strata-fault/big:1", BIG, "one");
    let archive = work.path().join("big.tar");
    daemon.load(&archive);
    let _ = std::fs::remove_file(&archive);
    println!(
        "{} MiB image written and loaded in {:.1} s",
        BIG >> 20,
        t.elapsed().as_secs_f64()
    );
    let id = big.id.clone();

    // 5. Twenty concurrent analyses (and job polls) of one uncached image: one export.
    let server = Server::start(&daemon, &[]);
    let before = daemon.export_calls();
    let t = Instant::now();
    let ends: Vec<(String, Value)> = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..20)
            .map(|_| {
                scope.spawn(|| {
                    let job = server.strata.analyse(&id);
                    let end = server.strata.wait_job(&job, FULL_LOAD);
                    (job, end)
                })
            })
            .collect();
        threads
            .into_iter()
            .map(|th| th.join().expect("client thread"))
            .collect()
    });
    let secs = t.elapsed().as_secs_f64();
    for (job, end) in &ends {
        assert_eq!(end["state"], "done", "{job}: {end}");
    }
    let exports = daemon.export_calls() - before;
    println!(
        "20 concurrent analyses: {exports} export(s) reached the daemon; done in {secs:.1} s ({:.0} MiB/s)",
        (BIG >> 20) as f64 / secs
    );
    assert_eq!(exports, 1, "{}", daemon.log_tail());
    let reference = server
        .strata
        .get(&format!("/api/v1/images/{id}/analysis"))
        .json();
    assert_eq!(server.strata.cached_layer_files().len(), 2);
    server.assert_clean("concurrent");
    drop(server);

    // 2. The daemon killed mid-export.
    let server = Server::start(&daemon, &[]);
    let s = &server.strata;
    let job = s.analyse(&id);
    let at = s.wait_exporting(&job, 1, FULL_LOAD);
    daemon.kill();
    let t = Instant::now();
    let end = s.wait_job(&job, Duration::from_secs(60));
    let msg = assert_failed(&end, "connection to the Docker daemon");
    assert!(msg.contains(&daemon.host()) && msg.contains(&id), "{msg}");
    println!(
        "killed at {} bytes: job failed {:.2} s later: {msg}",
        at["progress"]["bytes"],
        t.elapsed().as_secs_f64()
    );
    let events = s.events(&job, Duration::from_secs(10));
    assert!(
        events
            .last()
            .is_some_and(|(e, d)| e == "failed" && d.contains(&daemon.host())),
        "{events:?}"
    );
    assert_eq!(s.cached_layer_files(), Vec::<String>::new());
    daemon.start();
    let before = daemon.export_calls();
    assert_eq!(analyse_ok(s, &id), reference);
    assert_eq!(daemon.export_calls() - before, 1, "layers were not re-read");
    assert_eq!(s.cached_layer_files().len(), 2);
    server.assert_clean("killed mid-export");
    drop(server);

    // 4. The daemon stalls (SIGSTOP) mid-export: the idle watchdog ends the job.
    let idle = IDLE_SECS.to_string();
    let server = Server::start(&daemon, &["--export-idle-timeout", &idle]);
    let s = &server.strata;
    let job = s.analyse(&id);
    s.wait_exporting(&job, 1, FULL_LOAD);
    daemon.pause();
    let t = Instant::now();
    let end = s.wait_job(&job, Duration::from_secs(60));
    let waited = t.elapsed();
    daemon.resume();
    let msg = assert_failed(&end, "stopped sending data");
    println!(
        "stalled: job failed {:.2} s after SIGSTOP (idle timeout {IDLE_SECS} s): {msg}",
        waited.as_secs_f64()
    );
    assert!(
        waited >= Duration::from_secs(IDLE_SECS - 1),
        "failed before the watchdog: {waited:?}"
    );
    assert_eq!(s.cached_layer_files(), Vec::<String>::new());
    assert_eq!(analyse_ok(s, &id), reference);
    server.assert_clean("stalled export");
    drop(server);

    // 3. The image removed while it streams.
    let server = Server::start(&daemon, &[]);
    let s = &server.strata;
    let job = s.analyse(&id);
    s.wait_exporting(&job, 1, FULL_LOAD);
    let rmi = daemon.docker(&["rmi", "-f", &id]);
    assert!(
        rmi.status.success(),
        "{}",
        String::from_utf8_lossy(&rmi.stderr)
    );
    let end = s.wait_job(&job, FULL_LOAD);
    if end["state"] == "done" {
        let got = s.get(&format!("/api/v1/images/{id}/analysis")).json();
        assert_eq!(got, reference, "a result after rmi must be the correct one");
        assert_eq!(s.cached_layer_files().len(), 2);
        println!("removed mid-export: the export completed; verified result equals the reference");
    } else {
        let msg = assert_failed(&end, "");
        assert_eq!(s.cached_layer_files(), Vec::<String>::new());
        println!("removed mid-export: job failed: {msg}");
    }
    let r = s.get(&format!("/api/v1/images/{id}"));
    assert_eq!(r.status, 404, "{}", r.body);
    assert!(r.json()["message"]
        .as_str()
        .is_some_and(|m| m.contains("not found") || m.contains("no such image")));
    let other =
        big_image::write_archive(work.path(), "gone", "strata-fault/gone:1", 1 << 20, "gone");
    let r = s.post(&format!("/api/v1/images/{}/analysis", other.id));
    // Never loaded: either refused at once or a job that fails with not-found.
    if r.status == 202 {
        let job = r.json()["id"].as_str().unwrap_or_default().to_owned();
        let end = s.wait_job(&job, Duration::from_secs(30));
        let msg = assert_failed(&end, "not found");
        println!("unknown image: job failed: {msg}");
    } else {
        assert_eq!(r.status, 404, "{}", r.body);
    }
    server.assert_clean("removed mid-export");
}
