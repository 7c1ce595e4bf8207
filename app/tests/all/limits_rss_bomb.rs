//! L20 / B1 / C3 (BAD-INPUTS): peak memory while failing on decompression and header
//! bombs stays small and independent of the bomb's size. Each bomb runs in a fresh child
//! process (this test binary re-run with `STRATA_RSS_PHASE`), whose peak RSS (`VmHWM`,
//! reset through `/proc/self/clear_refs` just before) measures only that bomb.

use crate::limits_support::gen;

use app::layer::index_layer;
use app::limits::Limits;
use std::process::Command;

const MIB: u64 = 1 << 20;
const PHASE_VAR: &str = "STRATA_RSS_PHASE";
const BOUND: u64 = 16 * MIB;

/// Runs one bomb in this process and prints `peak=<bytes> rss_before=<bytes>`.
fn run_phase(phase: &str) {
    let (blob, limits) = match phase {
        // B1: 8 GiB of zeros in ~8 MB of gzip, default limits (fails on the ratio cap).
        "ratio" => (gen::gzip_bomb(8192).0, Limits::default()),
        // The same bomb with the ratio cap off, failing at max_layer_bytes instead.
        "absolute" => (
            gen::gzip_bomb(8192).0,
            Limits {
                max_compression_ratio: u64::MAX,
                max_layer_bytes: 256 * MIB,
                ..Limits::default()
            },
        ),
        // C3: a GNU long-name header declaring (and carrying) 256 MiB, gzip'd to ~256 KB:
        // refused from its declared size before any of it is buffered.
        "long_name" => {
            let long = gen::ustar_header(b"././@LongLink", 256 * MIB, b'L', b"");
            (gen::gzip_filled(&long, b'a', 256), Limits::default())
        }
        other => panic!("unknown phase {other}"),
    };
    gen::reset_peak_rss();
    let before = gen::status_bytes("VmRSS:");
    let err = index_layer(blob, None, &limits, &mut |_| {}).expect_err("bomb must fail");
    let peak = gen::status_bytes("VmHWM:");
    assert!(err.to_string().contains("limit exceeded"), "{err}");
    println!("peak={peak} rss_before={before}");
}

/// Runs `phase` in a child process; returns (peak RSS, RSS before the bomb) in bytes.
fn measure(phase: &str) -> (u64, u64) {
    let exe = std::env::current_exe().expect("test binary path");
    let out = Command::new(exe)
        .args([
            "limits_rss_bomb::bombs_fail_in_bounded_memory",
            "--exact",
            "--nocapture",
        ])
        .env(PHASE_VAR, phase)
        .output()
        .expect("run the test binary as a child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "phase {phase} failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let field = |name: &str| -> u64 {
        stdout
            .split_whitespace()
            .find_map(|w| w.strip_prefix(name))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {stdout}"))
    };
    (field("peak="), field("rss_before="))
}

#[test]
fn bombs_fail_in_bounded_memory() {
    if let Ok(phase) = std::env::var(PHASE_VAR) {
        return run_phase(&phase);
    }
    for (phase, what) in [
        ("ratio", "8 GiB gzip bomb, default limits (ratio cap)"),
        ("absolute", "8 GiB gzip bomb, ratio off, 256 MiB layer cap"),
        ("long_name", "256 MiB GNU long-name header, gzip'd"),
    ] {
        let (peak, before) = measure(phase);
        let growth = peak.saturating_sub(before);
        println!("{what}: peak RSS {peak} B, {growth} B above the RSS before it");
        assert!(
            growth < BOUND,
            "{what}: peak RSS grew by {growth} B (bound {BOUND})"
        );
        assert!(peak < 64 * MIB, "{what}: process peak RSS {peak} B");
    }
}
