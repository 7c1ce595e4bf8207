//! A client that disconnects mid-export, against the REAL system dockerd and a real
//! `strata serve` (`--no-layer-store`, so layers come from `GET /images/{id}/get`;
//! `--job-grace-secs 1`): an image with a large incompressible layer makes the export
//! last seconds. The analysis is started, its event stream opened and read until bytes
//! flow, then dropped. After the grace period the job is cancelled ("cancelled: nobody
//! was waiting"), and then:
//! - the server stops working on it (its CPU time stays flat: no export pump or parser
//!   left running);
//! - its open file descriptors return to the baseline (the daemon connection is gone);
//! - its private TMPDIR holds no file and nothing was cached;
//! - an explicit `POST /jobs/{id}/cancel` of a restarted job works the same way and is
//!   audit-logged, and a third start runs to completion;
//! - SIGTERM mid-export with a watcher cancels the job, ends its stream with the reason
//!   and exits at once (not after the 30 s grace), leaving nothing behind.

use crate::docker_support::big_image;
use crate::docker_support::serve;

use serve::Strata;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

/// Size of the incompressible layer: the export and parse take seconds.
const BIG: u64 = 320 << 20;
const DOCKER_HOST: &str = "unix:///var/run/docker.sock";
/// Bytes an export must have delivered before the client goes away.
const MID_EXPORT: u64 = 16 << 20;

/// User + system CPU time of a process, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("read stat");
    // Fields after the command name (which is in parentheses): utime is the 14th field.
    let rest = &stat[stat.rfind(')').expect("stat format") + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    f[11].parse::<u64>().unwrap_or(0) + f[12].parse::<u64>().unwrap_or(0)
}

/// Opens the job's event stream and reads it until the export has delivered
/// `MID_EXPORT` bytes; returns the open connection.
fn watch_until_exporting(s: &Strata, job: &str) -> TcpStream {
    let mut conn = TcpStream::connect(("127.0.0.1", s.port)).expect("connect");
    conn.set_read_timeout(Some(Duration::from_secs(120)))
        .expect("timeout");
    write!(
        conn,
        "GET /api/v1/jobs/{job}/events HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nAccept: text/event-stream\r\n\r\n",
        s.port
    )
    .expect("send");
    let mut reader = BufReader::new(conn.try_clone().expect("clone stream"));
    let mut line = String::new();
    loop {
        line.clear();
        let n = reader.read_line(&mut line).expect("read events");
        assert!(n > 0, "event stream ended early\n{}", s.log());
        let Some(data) = line.strip_prefix("data:") else {
            continue;
        };
        let v: serde_json::Value = serde_json::from_str(data.trim()).expect("event json");
        assert_eq!(v["type"], "progress", "job ended early: {v}\n{}", s.log());
        if v["stage"] == "exporting" && v["bytes"].as_u64().unwrap_or(0) >= MID_EXPORT {
            return conn;
        }
    }
}

/// Waits until the server's log contains `needle` (reading the log is not a request,
/// so it does not count as interest in the job).
fn wait_log(s: &Strata, needle: &str, timeout: Duration) -> Duration {
    let t = Instant::now();
    while !plain(&s.log()).contains(needle) {
        assert!(
            t.elapsed() < timeout,
            "no {needle:?} in the log after {timeout:?}:\n{}",
            s.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    t.elapsed()
}

/// The log without terminal colour codes.
fn plain(log: &str) -> String {
    let mut out = String::with_capacity(log.len());
    let mut chars = log.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Waits for the fd count to come back to `baseline`; returns the last count.
fn settle_fds(s: &Strata, baseline: usize) -> usize {
    let t = Instant::now();
    let mut fds = s.fd_count();
    while fds > baseline && t.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(100));
        fds = s.fd_count();
    }
    fds
}

/// CPU ticks the server burns over one second.
fn cpu_over_a_second(s: &Strata) -> u64 {
    let before = cpu_ticks(s.pid());
    std::thread::sleep(Duration::from_secs(1));
    cpu_ticks(s.pid()) - before
}

#[test]
fn a_client_that_disconnects_mid_export_leaves_nothing_behind() {
    let work = tempfile::tempdir().expect("tempdir");
    let tag = format!("strata-test/jobs-cancel-{}:1", std::process::id());
    let t = Instant::now();
    let loaded = big_image::load_into_system_daemon(work.path(), "big", &tag, BIG, "jobs");
    let big = &loaded.image;
    println!(
        "{} MiB image written and loaded in {:.1} s",
        BIG >> 20,
        t.elapsed().as_secs_f64()
    );

    let s = Strata::start(
        DOCKER_HOST,
        &["--no-layer-store", "--verbose"],
        &["--job-grace-secs", "1"],
    );
    // Warm up (the listing opens pooled daemon connections), then take the baseline.
    let r = s.get("/api/v1/images");
    assert_eq!(r.status, 200, "{}", r.body);
    std::thread::sleep(Duration::from_millis(300));
    let baseline = s.fd_count();
    let idle_cpu = cpu_over_a_second(&s);

    // 1. Start, watch until bytes flow, then disconnect.
    let job = s.analyse(&big.id);
    let conn = watch_until_exporting(&s, &job);
    let busy_cpu = cpu_over_a_second(&s);
    let busy_fds = s.fd_count();
    assert!(busy_fds > baseline, "no daemon connection open mid-export?");
    drop(conn);
    let gone = Instant::now();
    let waited = wait_log(&s, serve_nobody_waiting(), Duration::from_secs(30));
    println!(
        "cancelled {:.2} s after the client disconnected (grace 1 s)",
        gone.elapsed().as_secs_f64().min(waited.as_secs_f64())
    );
    let info = s.job(&job);
    assert_eq!(info["state"], "cancelled", "{info}");
    assert_eq!(info["error"], serve_nobody_waiting(), "{info}");
    // The work stopped: no pump or parser burning CPU any more.
    std::thread::sleep(Duration::from_millis(500));
    let after_cpu = cpu_over_a_second(&s);
    println!(
        "cpu ticks per second: idle {idle_cpu}, exporting {busy_cpu}, after cancel {after_cpu}"
    );
    assert!(
        after_cpu <= idle_cpu + 10 && after_cpu * 4 < busy_cpu.max(1) * 3,
        "still working after the cancel: {after_cpu} ticks/s (idle {idle_cpu}, busy {busy_cpu})"
    );
    let fds = settle_fds(&s, baseline);
    println!("fds: baseline {baseline}, mid-export {busy_fds}, after cancel {fds}");
    assert!(fds <= baseline, "fd count {fds} above baseline {baseline}");
    let left = s.tmp_files();
    assert!(left.is_empty(), "temp files left: {left:?}");
    let cached = s.cached_layer_files();
    assert!(cached.is_empty(), "a cancelled export cached {cached:?}");

    // 2. A new start restarts it; an explicit cancel (no stream open) stops it too.
    let job2 = s.analyse(&big.id);
    assert_ne!(job2, job);
    let t = Instant::now();
    loop {
        let v = s.job(&job2);
        assert_eq!(v["state"], "running", "{v}");
        if v["progress"]["bytes"].as_u64().unwrap_or(0) >= MID_EXPORT {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(120), "no export: {v}");
        std::thread::sleep(Duration::from_millis(50));
    }
    let r = s.post(&format!("/api/v1/jobs/{job2}/cancel"));
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["state"], "cancelled", "{v}");
    assert_eq!(v["error"], "cancelled by a local user", "{v}");
    wait_log(
        &s,
        &format!("path=\"/api/v1/jobs/{job2}/cancel\" status=200"),
        Duration::from_secs(5),
    );
    let fds = settle_fds(&s, baseline);
    println!("fds: baseline {baseline}, after explicit cancel {fds}");
    assert!(fds <= baseline, "fd count {fds} above baseline {baseline}");
    assert!(s.tmp_files().is_empty());
    assert!(s.cached_layer_files().is_empty());

    // 3. A third start, watched by polling, completes and caches the layers.
    let job3 = s.analyse(&big.id);
    let end = s.wait_job(&job3, Duration::from_secs(300));
    assert_eq!(end["state"], "done", "{end}\n{}", s.log());
    assert!(!s.cached_layer_files().is_empty());
    assert!(s.tmp_files().is_empty());
    drop(s);

    // 4. SIGTERM while the export streams to a watching browser: the job is cancelled
    // (its event stream ends with the reason, so graceful shutdown need not wait for
    // it), the process exits well inside the 30 s grace, nothing is cached or left.
    let mut s = Strata::start(DOCKER_HOST, &["--no-layer-store"], &[]);
    let job4 = s.analyse(&big.id);
    let mut conn = watch_until_exporting(&s, &job4);
    conn.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let term = Instant::now();
    let killed = Command::new("kill")
        .args(["-TERM", &s.pid().to_string()])
        .status()
        .expect("run kill");
    assert!(killed.success());
    let mut rest = String::new();
    let _ = std::io::Read::read_to_string(&mut conn, &mut rest);
    assert!(
        rest.contains(server::http::SHUTTING_DOWN),
        "the stream did not say why it ended: {rest:?}\n{}",
        s.log()
    );
    let status = s.wait_exit(Duration::from_secs(10));
    let took = term.elapsed();
    println!(
        "SIGTERM mid-export with a watcher: exited in {:.2} s",
        took.as_secs_f64()
    );
    assert!(
        status.is_some_and(|st| st.success()),
        "{status:?}\n{}",
        s.log()
    );
    let left = s.tmp_files();
    assert!(left.is_empty(), "temp files left: {left:?}");
    let cached = s.cached_layer_files();
    assert!(cached.is_empty(), "a cancelled export cached {cached:?}");
}

fn serve_nobody_waiting() -> &'static str {
    server::http::NOBODY_WAITING
}
