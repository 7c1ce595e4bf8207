//! G2 (BAD-INPUTS): a 1,000,000-entry layer, generated while it is read (about 560 MB of
//! tar that never exists in memory), indexes with memory proportional to its entries:
//! peak and retained RSS per entry are measured (`VmHWM` reset through
//! `/proc/self/clear_refs`) and bounded at 250 bytes per entry. The process's RSS is only
//! this test's when nothing else runs in it, so the test re-runs itself alone in a child
//! process of the test binary (`STRATA_RSS_ALONE` set), which does the measuring.

use crate::limits_support::gen;

use app::layer::index_layer;
use app::limits::Limits;
use app::model::{Entry, EntryKind, LayerIndex};
use std::time::Instant;

const N: u64 = 1_000_000;
const BOUND_PER_ENTRY: u64 = 250;

/// Heap bytes the index owns, counted from its fields (no allocator overhead).
fn heap_bytes(index: &LayerIndex) -> u64 {
    let own = |e: &Entry| {
        e.path.len()
            + e.link.as_ref().map_or(0, |l| l.len())
            + e.flags.capacity() * std::mem::size_of::<app::model::EntryFlag>()
    };
    (index.entries.capacity() * std::mem::size_of::<Entry>()) as u64
        + index.entries.iter().map(own).sum::<usize>() as u64
}

#[test]
fn million_entry_layer_indexes_within_bounded_memory_per_entry() {
    if std::env::var_os("STRATA_RSS_ALONE").is_none() {
        let out = std::process::Command::new(std::env::current_exe().expect("test binary"))
            .args([
                "limits_rss_entries::million_entry_layer_indexes_within_bounded_memory_per_entry",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("STRATA_RSS_ALONE", "1")
            .output()
            .expect("run the test binary as a child");
        let stdout = String::from_utf8_lossy(&out.stdout);
        println!("{stdout}");
        assert!(
            out.status.success() && stdout.contains(" entries, "),
            "the measuring child failed: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        return;
    }
    gen::reset_peak_rss();
    let before = gen::status_bytes("VmRSS:");
    let started = Instant::now();
    let mut consumed = 0u64;
    let index = index_layer(
        gen::ManyEntries::new(N),
        None,
        &Limits::default(),
        &mut |n| consumed = n,
    )
    .expect("a 1M-entry layer is within the default limits");
    let elapsed = started.elapsed();
    let peak = gen::status_bytes("VmHWM:").saturating_sub(before);
    let retained = gen::status_bytes("VmRSS:").saturating_sub(before);

    assert_eq!(index.entries.len() as u64, N);
    assert_eq!(index.tar_size, consumed);
    let files = index
        .entries
        .iter()
        .filter(|e| e.kind == EntryKind::File)
        .count();
    assert_eq!(files as u64, N - N / 10 - N / 1000);
    let heap = heap_bytes(&index);
    println!(
        "{N} entries, {consumed} tar bytes in {elapsed:?}: peak RSS growth {peak} B \
         ({} B/entry), retained {retained} B ({} B/entry), index heap {heap} B \
         ({} B/entry; size_of::<Entry>() = {})",
        peak / N,
        retained / N,
        heap / N,
        std::mem::size_of::<Entry>()
    );
    assert!(
        peak / N <= BOUND_PER_ENTRY,
        "peak {} B/entry over {BOUND_PER_ENTRY}",
        peak / N
    );
    assert!(
        retained / N <= BOUND_PER_ENTRY,
        "retained {} B/entry over {BOUND_PER_ENTRY}",
        retained / N
    );
    drop(index);
}
