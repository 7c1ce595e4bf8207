//! The Registries page against a real registry (Debian's docker-registry on loopback)
//! and a real server started with `--registry`: the registry card, its repository, the
//! tag table with dates, sizes and the size trend, the platform picker of a
//! multi-platform tag, opening a tag onto its image page, and a comparison of that
//! registry image with a local daemon image that names the update cost; the tag table
//! once more in the dark theme.

use anyhow::{ensure, Context, Result};
use e2e::registry;
use e2e::{eventually, eventually_within, Harness, ServerOptions, TestImage};
use fantoccini::Locator;

const ONE: &str = "FROM scratch
COPY busybox /bin/busybox
COPY app/ /app/
";

const TWO: &str = "FROM scratch
COPY busybox /bin/busybox
COPY app/ /app/
COPY data/ /data/
";

/// A TCP proxy to `upstream` that passes at most `bytes_per_sec` towards the client, so
/// a download lasts long enough to watch its progress; returns its `127.0.0.1:PORT`.
fn throttled_proxy(upstream: &str, bytes_per_sec: usize) -> Result<String> {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?.to_string();
    let upstream = upstream.to_owned();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(server) = TcpStream::connect(&upstream) else {
                continue;
            };
            let (Ok(mut c_in), Ok(mut s_out)) = (client.try_clone(), server.try_clone()) else {
                continue;
            };
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut c_in, &mut s_out);
            });
            let (mut s_in, mut c_out) = (server, client);
            std::thread::spawn(move || {
                let mut buf = vec![0u8; bytes_per_sec / 10];
                while let Ok(n @ 1..) = s_in.read(&mut buf) {
                    if c_out.write_all(&buf[..n]).is_err() {
                        break;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                let _ = c_out.shutdown(std::net::Shutdown::Write);
            });
        }
    });
    Ok(addr)
}

/// Waits until the tag table shows `n` rows with their compressed size: rows are sorted
/// as their details arrive, so a click before that may land on another row.
async fn wait_sized_tags(h: &Harness, n: usize) -> Result<()> {
    eventually(&format!("{n} sized tags"), || async {
        let mut filled = 0;
        for s in h.all("[data-testid=tag-compressed]").await? {
            if !s.text().await?.trim().is_empty() {
                filled += 1;
            }
        }
        Ok((filled == n).then_some(()))
    })
    .await
    .with_context(|| h.server_log())
}

#[tokio::test]
async fn registries_page_lists_tags_picks_platforms_and_opens_images() -> Result<()> {
    let files: [(&str, &[u8]); 2] = [
        ("app/run.sh", b"#!/bin/sh\necho app\n"),
        ("data/blob.bin", &[7u8; 200_000]),
    ];
    let one = TestImage::build("reg-one", ONE, &files)?;
    let two = TestImage::build("reg-two", TWO, &files)?;
    let reg = registry::plain();
    let repo = format!("e2e/app-{}", std::process::id());
    reg.push_daemon_image(&one.tag, &format!("{repo}:1"));
    reg.push_daemon_image(&two.tag, &format!("{repo}:2"));
    reg.push_index(
        &repo,
        &[("linux/amd64", "1"), ("linux/arm64", "2")],
        "multi",
    );
    // A tag whose top layer blob is gone from the registry: opening it fails, clearly.
    let broken_text = format!("broken {}\n", std::process::id());
    let broken_files: [(&str, &[u8]); 1] = [("app/run.sh", broken_text.as_bytes())];
    let broken = TestImage::build("reg-broken", ONE, &broken_files)?;
    reg.push_daemon_image(&broken.tag, &format!("{repo}:broken"));
    reg.delete_top_layer_blob(&repo, "broken");

    let h = Harness::start_with_args(
        ServerOptions::default(),
        &["--registry", &format!("team={}", reg.addr)],
    )
    .await?;
    h.goto("/registries").await?;
    h.wait_testid("registry-card").await?.click().await?;
    let link = eventually("the repository link", || async {
        for a in h.all("[data-testid=repository-link]").await? {
            if a.text().await? == repo {
                return Ok(Some(a));
            }
        }
        Ok(None)
    })
    .await
    .with_context(|| h.server_log())?;
    link.click().await?;

    // Every tag with its detail; the trend has a bar per dated tag.
    let rows = eventually("three tags with sizes", || async {
        let rows = h.all("[data-testid=tag-row]").await?;
        let sized = h.all("[data-testid=tag-compressed]").await?;
        let mut filled = 0;
        for s in &sized {
            if !s.text().await?.trim().is_empty() {
                filled += 1;
            }
        }
        Ok((rows.len() == 4 && filled == 4).then_some(rows))
    })
    .await
    .with_context(|| h.server_log())?;
    let mut names = Vec::new();
    for r in &rows {
        names.push(r.attr("data-tag").await?.unwrap_or_default());
    }
    names.sort();
    ensure!(names == ["1", "2", "broken", "multi"], "tags: {names:?}");
    let bars = h.all("[data-testid=trend-bar]").await?;
    ensure!(bars.len() == 4, "one trend bar per tag: {}", bars.len());
    h.screenshot("registries-tags").await?;

    // The multi-platform tag offers both platforms; arm64 is the second image.
    let picker = h
        .client
        .find(Locator::Css(
            "[data-testid=tag-row][data-tag=multi] [data-testid=platform-picker]",
        ))
        .await
        .context("the platform picker of the multi tag")?;
    picker.select_by_value("linux/arm64").await?;
    h.client
        .find(Locator::Css(
            "[data-testid=tag-row][data-tag=multi] [data-testid=open-tag]",
        ))
        .await?
        .click()
        .await?;
    let url = eventually("the image page of the opened tag", || async {
        let url = h.client.current_url().await?;
        Ok(url.path().starts_with("/images/").then_some(url))
    })
    .await
    .with_context(|| h.server_log())?;
    ensure!(
        url.path().ends_with(&two.id.replace(':', "%3A")) || url.path().ends_with(&two.id),
        "linux/arm64 opens the second image: {url}"
    );
    h.wait_testid("layer-list")
        .await
        .context("the image page")?;
    h.screenshot("registries-image").await?;

    // The registry image against the local daemon image: the update cost is named.
    h.goto(&format!("/compare?ids={},{}", one.id, two.id))
        .await?;
    let summary = h.wait_testid("compare-summary").await?.text().await?;
    ensure!(
        summary.contains("updating from A to B downloads") && summary.contains("1 layer"),
        "summary: {summary}"
    );
    h.screenshot("registries-compare").await?;
    h.finish().await?;

    // The same tag table in the dark theme: really dark, every tag still sized.
    let slow = throttled_proxy(&reg.addr, 256 * 1024)?;
    let dark = Harness::start_with_browser(
        ServerOptions::default(),
        &[
            "--registry",
            &format!("team={}", reg.addr),
            "--registry",
            &format!("slow={slow}"),
            // Nothing read before: the slow open downloads every layer.
            "--no-cache",
        ],
        &["--force-dark-mode"],
    )
    .await?;
    dark.goto(&format!("/registries?registry=team&repository={repo}"))
        .await?;
    wait_sized_tags(&dark, 4).await?;
    let lum = dark
        .client
        .execute(
            "const c = getComputedStyle(document.body).backgroundColor.match(/[\\d.]+/g).map(Number);
             return (0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]) / 255;",
            vec![],
        )
        .await?
        .as_f64()
        .context("luminance")?;
    ensure!(lum < 0.3, "dark theme background luminance {lum}");
    dark.screenshot("registries-tags-dark").await?;

    // Through the slow registry: a bar per layer while it downloads, then the image page.
    dark.goto(&format!("/registries?registry=slow&repository={repo}"))
        .await?;
    wait_sized_tags(&dark, 4).await?;
    eventually("the tag 1 row", || async {
        Ok(dark
            .all("[data-testid=tag-row][data-tag='1'] [data-testid=open-tag]")
            .await?
            .pop())
    })
    .await?
    .click()
    .await?;
    let bars = eventually("layer download bars", || async {
        let bars = dark.all("[data-testid=layer-download]").await?;
        Ok((!bars.is_empty()).then_some(bars))
    })
    .await
    .with_context(|| dark.server_log())?;
    let first = bars[0].text().await?;
    ensure!(
        first.starts_with("Layer ") && first.contains(" of "),
        "download row: {first}"
    );
    let text = dark
        .wait_testid("analysis-progress-text")
        .await?
        .text()
        .await?;
    ensure!(text.starts_with("Downloading layers: "), "progress: {text}");
    dark.screenshot("registries-opening").await?;
    eventually_within(
        "the image page after the slow download",
        std::time::Duration::from_secs(60),
        || async {
            let url = dark.client.current_url().await?;
            Ok(url.path().starts_with("/images/").then_some(()))
        },
    )
    .await
    .with_context(|| dark.server_log())?;
    dark.wait_testid("layer-list").await?;

    // Open on the tag without blobs: the opening panel names the registry's answer.
    dark.goto(&format!("/registries?registry=team&repository={repo}"))
        .await?;
    wait_sized_tags(&dark, 4).await?;
    eventually("the broken tag row", || async {
        Ok(dark
            .all("[data-testid=tag-row][data-tag=broken] [data-testid=open-tag]")
            .await?
            .pop())
    })
    .await?
    .click()
    .await?;
    let failed = dark
        .wait_testid("analysis-failed")
        .await
        .with_context(|| dark.server_log())?
        .text()
        .await?;
    ensure!(
        failed.starts_with("Opening the tag failed: ") && failed.contains("blob"),
        "failure: {failed}"
    );
    let opening = dark.wait_testid("opening").await?.text().await?;
    ensure!(opening.contains("Opening broken"), "panel: {opening}");
    dark.screenshot("registries-open-failed").await?;

    dark.finish().await
}
