//! Daemon availability faults against a REAL dockerd that the test starts and stops
//! itself (a private one, see `docker_support/private.rs`; the system daemon is never
//! touched), with a real `strata serve` process driven over HTTP:
//! - the daemon is absent when strata starts: 503 + Retry-After naming the address, the
//!   health view says why, and the list works within 30 s of the daemon appearing,
//!   without restarting strata;
//! - the daemon stops (SIGTERM) or crashes (SIGKILL) while strata serves: 503 again,
//!   then recovery when it is back;
//! - the daemon hangs (SIGSTOP): health says down within seconds, the API answers 503
//!   naming the daemon after the client's API timeout (not the HTTP layer's bare 408);
//! - the layer-store fast path finds a non-default data root through `GET /info` (no
//!   export reaches the daemon), and gives the same analysis as the export path.

use crate::docker_support::private;
use crate::docker_support::serve;

use app::testkit::{ImageBuilder, LayerBuilder};
use private::PrivateDaemon;
use serve::Strata;
use std::time::{Duration, Instant};

/// Recovery must happen within this (the brief's bound; BAD-INPUTS L1).
const RECOVERY: Duration = Duration::from_secs(30);

/// Asserts the "no daemon" answers: list 503 with Retry-After and the address, health
/// down with a reason. Returns how long the list took to answer.
fn assert_unavailable(strata: &Strata, daemon: &PrivateDaemon) -> Duration {
    let detail = strata.get(&format!("/api/v1/images/sha256:{}", "0".repeat(64)));
    assert_eq!(detail.status, 503, "{}", detail.body);
    assert!(detail.body.contains(&daemon.host()), "{}", detail.body);
    let t = Instant::now();
    let r = strata.get("/api/v1/images");
    let took = t.elapsed();
    assert_eq!(r.status, 503, "{}", r.body);
    let retry: u64 = r
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no numeric Retry-After: {r:?}"));
    assert!(retry > 0 && retry <= 30, "Retry-After {retry}");
    let body = r.json();
    let message = body["message"].as_str().unwrap_or_default();
    assert!(message.contains(&daemon.host()), "{body}");
    assert!(!message.contains('\n'), "{message:?}");
    let h = strata.get("/api/v1/health");
    assert_eq!(h.status, 200, "{}", h.body);
    let h = h.json();
    assert_eq!(h["docker"]["up"], false, "{h}");
    assert_eq!(h["docker"]["address"], daemon.host(), "{h}");
    assert!(
        !h["docker"]["reason"]
            .as_str()
            .unwrap_or_default()
            .is_empty(),
        "{h}"
    );
    took
}

/// Polls the list until it answers 200 and (when given) lists image `id`; returns the
/// time that took.
fn wait_listed(strata: &Strata, id: Option<&str>) -> Duration {
    let t = Instant::now();
    loop {
        let r = strata.get("/api/v1/images");
        if r.status == 200 {
            let images = r.json()["images"].clone();
            assert!(images.is_array(), "{}", r.body);
            let listed = id.is_none_or(|id| {
                images
                    .as_array()
                    .is_some_and(|a| a.iter().any(|i| i["id"] == id))
            });
            if listed {
                return t.elapsed();
            }
        } else {
            assert_eq!(r.status, 503, "{}", r.body);
        }
        assert!(
            t.elapsed() < RECOVERY,
            "list still failing {RECOVERY:?} after the daemon came back: {}",
            r.body
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn small_image(marker: &str) -> ImageBuilder {
    ImageBuilder::new()
        .layer(
            "ADD base",
            &LayerBuilder::new()
                .dir("etc")
                .file("etc/os-release", b"ID=strata-fault\n")
                .file("etc/big", vec![7u8; 200_000]),
        )
        .layer(
            "RUN rewrite",
            &LayerBuilder::new()
                .dir("etc")
                .file("etc/big", vec![8u8; 200_000])
                .file("etc/marker", marker),
        )
        .tag(&format!("strata-fault/small:{marker}"))
}

fn load_builder(daemon: &PrivateDaemon, image: &ImageBuilder) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("image.tar");
    std::fs::write(&path, image.docker_save()).expect("write archive");
    daemon.load(&path);
    image.image_id().to_string()
}

/// Runs one analysis to the end and returns its summary.
fn analyse_ok(strata: &Strata, id: &str) -> serde_json::Value {
    let job = strata.analyse(id);
    let end = strata.wait_job(&job, Duration::from_secs(60));
    assert_eq!(end["state"], "done", "{end}");
    let r = strata.get(&format!("/api/v1/images/{id}/analysis"));
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

#[test]
fn an_absent_or_stopped_daemon_is_503_and_recovers_without_restart() {
    let mut daemon = PrivateDaemon::new();
    let strata = Strata::start(&daemon.host(), &["--no-layer-store"], &[]);

    // 1. No daemon at all when strata starts.
    let took = assert_unavailable(&strata, &daemon);
    assert!(took < Duration::from_secs(5), "503 took {took:?}");
    let started = daemon.start();
    let recovered = wait_listed(&strata, None);
    println!(
        "absent at start: 503 in {:.3} s; private dockerd up in {:.2} s; list OK {:.2} s after",
        took.as_secs_f64(),
        started.as_secs_f64(),
        recovered.as_secs_f64()
    );
    assert!(
        started < Duration::from_secs(10),
        "dockerd start {started:?}"
    );
    let image = small_image("a");
    let id = load_builder(&daemon, &image);
    let listed = strata.get("/api/v1/images").json();
    assert!(
        listed["images"]
            .as_array()
            .is_some_and(|a| a.iter().any(|i| i["id"] == id.as_str())),
        "{listed}"
    );
    let summary = analyse_ok(&strata, &id);
    assert_eq!(daemon.export_calls(), 1, "{}", daemon.log_tail());

    // 2. Stopped (SIGTERM) while serving, then back.
    daemon.stop();
    let took = assert_unavailable(&strata, &daemon);
    let started = daemon.start();
    let recovered = wait_listed(&strata, Some(&id));
    println!(
        "stopped while serving: 503 in {:.3} s; back {:.2} s after dockerd was up ({:.2} s)",
        took.as_secs_f64(),
        recovered.as_secs_f64(),
        started.as_secs_f64()
    );
    let detail = strata.get(&format!("/api/v1/images/{id}"));
    assert_eq!(detail.status, 200, "{}", detail.body);

    // 3. Crashed (SIGKILL: the socket file stays, connections are refused), then back.
    daemon.kill();
    let took = assert_unavailable(&strata, &daemon);
    daemon.start();
    let recovered = wait_listed(&strata, Some(&id));
    println!(
        "killed while serving: 503 in {:.3} s; back {:.2} s after restart",
        took.as_secs_f64(),
        recovered.as_secs_f64()
    );

    // 4. Hung (SIGSTOP: the socket accepts, nothing answers): a 503 naming the daemon
    // after the API timeout, not the HTTP layer's bare 408; health answers sooner.
    daemon.pause();
    let t = Instant::now();
    let h = strata.get("/api/v1/health");
    let health_took = t.elapsed();
    assert_eq!(h.status, 200, "{}", h.body);
    assert_eq!(h.json()["docker"]["up"], false, "{}", h.body);
    let took = assert_unavailable(&strata, &daemon);
    daemon.resume();
    let recovered = wait_listed(&strata, Some(&id));
    println!(
        "hung (SIGSTOP): health down in {:.1} s; list 503 in {:.1} s; back {:.2} s after SIGCONT",
        health_took.as_secs_f64(),
        took.as_secs_f64(),
        recovered.as_secs_f64()
    );
    assert!(health_took < Duration::from_secs(10), "{health_took:?}");
    assert!(took < Duration::from_secs(25), "{took:?}");

    // 5. The layer-store fast path on this non-default data root: a second server
    // without --no-layer-store reads the layers from /tmp/sfd-*/data (found through
    // GET /info) and asks for no export, with the same figures as the export path.
    let exports_before = daemon.export_calls();
    let fast = Strata::start(&daemon.host(), &[], &[]);
    let fast_summary = analyse_ok(&fast, &id);
    assert_eq!(
        daemon.export_calls(),
        exports_before,
        "the layer store was not used: {}",
        fast.log()
    );
    assert_eq!(fast_summary, summary);
    println!(
        "layer store on data root {}: 0 exports, same analysis",
        daemon.data_root().display()
    );
}
