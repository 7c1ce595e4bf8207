//! The analysis progress bar's Cancel button: on an image whose export takes seconds
//! (a large incompressible layer, `--no-layer-store --no-cache`), Cancel stops the job
//! ("Cancelled" with a Retry button, the server's job says `cancelled`), and Retry
//! starts it again and runs it to the end.

use anyhow::{ensure, Context, Result};
use e2e::{eventually_within, Harness, ServerOptions, TestImage};
use std::time::Duration;

/// Size of the incompressible file: the export lasts seconds.
const BIG: usize = 256 << 20;

/// Pseudo-random bytes (xorshift), which no compressor shrinks.
fn noise(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

async fn job_json(h: &Harness, job: &str) -> Result<serde_json::Value> {
    let script = format!(
        "const done = arguments[0]; fetch('/api/v1/jobs/{job}').then(r => r.json()).then(done, e => done(String(e)));"
    );
    h.client
        .execute_async(&script, vec![])
        .await
        .with_context(|| format!("fetching job {job}"))
}

#[tokio::test]
async fn cancel_button_stops_the_analysis_and_retry_restarts_it() -> Result<()> {
    let blob = noise(BIG);
    let image = TestImage::build(
        "cancel",
        "FROM scratch\nCOPY busybox /bin/busybox\nCOPY blob /blob\n",
        &[("blob", &blob)],
    )?;
    drop(blob);
    let h = Harness::start_with_args(
        ServerOptions::default(),
        &["--no-layer-store", "--no-cache"],
    )
    .await?;
    h.goto(&format!("/images/{}", image.id)).await?;
    let cancel = h
        .wait_testid("analysis-cancel")
        .await
        .with_context(|| h.server_log())?;
    ensure!(
        cancel.attr("aria-label").await?.as_deref() == Some("Cancel the analysis"),
        "the Cancel button has no accessible label"
    );
    cancel.click().await?;
    let note = h.wait_testid("analysis-cancelled").await?;
    let text = note.text().await?;
    ensure!(text.starts_with("Cancelled"), "after Cancel: {text:?}");
    let job = job_json(&h, "job-1").await?;
    ensure!(job["state"] == "cancelled", "job-1 after Cancel: {job}");
    h.client
        .execute(
            "document.querySelector('[data-testid=analysis-cancelled]').scrollIntoView({block: 'center'});",
            vec![],
        )
        .await?;
    h.screenshot("analysis-cancelled").await?;

    let retry = h.wait_testid("analysis-retry").await?;
    ensure!(
        retry.attr("aria-label").await?.as_deref() == Some("Retry the analysis"),
        "the Retry button has no accessible label"
    );
    retry.click().await?;
    // The restarted job runs to the end (it may take a while in a debug build).
    eventually_within(
        "the retried analysis to finish",
        Duration::from_secs(120),
        || async {
            let job = job_json(&h, "job-2").await?;
            ensure!(
                job["state"] != "failed" && job["state"] != "cancelled",
                "the retried job ended without a result: {job}"
            );
            Ok((job["state"] == "done").then_some(()))
        },
    )
    .await
    .with_context(|| h.server_log())?;
    ensure!(
        h.all("[data-testid=analysis-cancelled]").await?.is_empty(),
        "the Cancelled note stayed after Retry"
    );
    h.finish().await
}
