//! Browser flows of the compare and sharing pages against a real server and dockerd: a
//! single-stage image (build tools left in) against its multistage rebuild (tools in a
//! discarded stage) — picked with the list's checkboxes, then read on the compare page
//! (summary, common base, the removed directory) — the sharing map that shows the
//! busybox layer both share, and the content diff of a file changed between two builds.

use anyhow::{ensure, Context, Result};
use e2e::{eventually, Harness, ServerOptions, TestImage};
use fantoccini::Locator;

const SINGLE: &str = "FROM scratch
COPY busybox /bin/busybox
COPY build/ /build/
COPY app/ /app/
CMD [\"/bin/busybox\", \"sh\"]
";

const MULTI: &str = "FROM scratch AS build
COPY busybox /bin/busybox
COPY build/ /build/
RUN [\"/bin/busybox\", \"cp\", \"/build/tool.bin\", \"/tool.bin\"]

FROM scratch
COPY busybox /bin/busybox
COPY app/ /app/
CMD [\"/bin/busybox\", \"sh\"]
";

fn images(name: &str) -> Result<(TestImage, TestImage)> {
    let tool = vec![b't'; 300_000];
    let files: [(&str, &[u8]); 3] = [
        ("build/tool.bin", &tool),
        ("build/notes.txt", b"compiler notes\n"),
        ("app/run.sh", b"#!/bin/sh\necho app\n"),
    ];
    let single = TestImage::build(&format!("{name}-single"), SINGLE, &files)?;
    let multi = TestImage::build(&format!("{name}-multi"), MULTI, &files)?;
    Ok((single, multi))
}

/// Ticks the list checkbox of the row showing `tag`.
async fn tick(h: &Harness, tag: &str) -> Result<()> {
    let css = format!("[data-testid=image-row][data-name=\"{tag}\"] [data-testid=compare-check]");
    let check = eventually(&format!("row of {tag}"), || async {
        Ok(h.client
            .find_all(Locator::Css(&css))
            .await?
            .into_iter()
            .next())
    })
    .await?;
    check
        .click()
        .await
        .with_context(|| format!("ticking {tag}"))
}

#[tokio::test]
async fn compare_single_stage_with_multistage() -> Result<()> {
    let (single, multi) = images("cmp")?;
    let h = Harness::start(ServerOptions::default()).await?;
    h.goto("/").await?;
    h.wait_testid("image-table").await?;
    tick(&h, &single.tag).await?;
    tick(&h, &multi.tag).await?;
    let button = h.wait_testid("compare-button").await?;
    ensure!(
        button.text().await?.contains("Compare (2)"),
        "button counts the ticked images"
    );
    button.click().await?;
    let url = eventually("the compare URL", || async {
        let url = h.client.current_url().await?;
        Ok(url.path().eq("/compare").then_some(url))
    })
    .await?;
    let ids = url
        .query_pairs()
        .find(|(k, _)| k == "ids")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    ensure!(
        ids == format!("{},{}", single.id, multi.id),
        "baseline first in the URL: {ids}"
    );

    let summary = h.wait_testid("compare-summary").await?.text().await?;
    ensure!(
        summary.contains("B is") && summary.contains("smaller than A"),
        "summary says B is smaller: {summary}"
    );
    ensure!(
        summary.contains("/build") && summary.contains("not in B"),
        "summary names the dropped directory: {summary}"
    );
    let base = h
        .all("[data-testid=layer-cell][data-sharing=common-base]")
        .await?;
    ensure!(
        base.len() == 2,
        "the busybox layer is the common base of both ({} cells)",
        base.len()
    );
    let base_note = h.wait_testid("common-base").await?.text().await?;
    ensure!(base_note.contains("Common base: 1 layer"), "{base_note}");
    let removed = h
        .all("[data-testid=diff-group][data-group=\"/build\"][data-whole=removed]")
        .await?;
    ensure!(removed.len() == 1, "the /build group is marked removed");
    let removed_text = removed[0].text().await?;
    ensure!(
        removed_text.contains("not in B") && removed_text.contains("2 files"),
        "removed group row: {removed_text}"
    );
    let totals = h.wait_testid("compare-totals").await?.text().await?;
    ensure!(
        totals.contains('%'),
        "totals show the delta in percent: {totals}"
    );
    h.screenshot("compare").await?;

    // Opening the same comparison by URL works without the list.
    h.goto(&format!("/compare?ids={},{}", multi.id, single.id))
        .await?;
    let summary = h.wait_testid("compare-summary").await?.text().await?;
    ensure!(summary.contains("larger than A"), "reversed: {summary}");
    // "Compare with…" on the image page makes that image the baseline.
    h.goto(&format!("/images/{}", multi.id)).await?;
    let pick = h.wait_testid("compare-with").await?;
    pick.select_by_value(&single.id).await?;
    let summary = h.wait_testid("compare-summary").await?.text().await?;
    ensure!(
        summary.contains("larger than A"),
        "from the image page: {summary}"
    );
    let url = h.client.current_url().await?;
    ensure!(
        url.query()
            .unwrap_or_default()
            .contains(&multi.id.replace(':', "%3A")),
        "baseline from the image page: {url}"
    );
    h.goto("/compare").await?;
    h.wait_testid("compare-empty").await?;
    h.screenshot("compare-empty").await?;
    h.finish().await
}

#[tokio::test]
async fn sharing_map_shows_the_shared_busybox_layer() -> Result<()> {
    let (single, multi) = images("shr")?;
    let h = Harness::start(ServerOptions::default()).await?;
    h.goto("/").await?;
    h.wait_testid("nav-sharing").await?.click().await?;
    h.wait_testid("sharing-matrix").await?;
    let savings = h.wait_testid("sharing-savings").await?.text().await?;
    ensure!(!savings.contains(" 0 B"), "sharing saves bytes: {savings}");
    let names: Vec<String> = {
        let mut v = Vec::new();
        for th in h.all(".sharing-matrix th.matrix-row").await? {
            v.push(th.text().await?);
        }
        v
    };
    let find = |tag: &str| names.iter().position(|n| n.ends_with(tag));
    let (Some(i), Some(j)) = (find(&single.tag), find(&multi.tag)) else {
        anyhow::bail!("both test images are in the matrix: {names:?}");
    };
    let rows = h.all(".sharing-matrix tbody tr").await?;
    let cells = rows[i].find_all(Locator::Css("td")).await?;
    let bytes: u64 = cells[j]
        .attr("data-bytes")
        .await?
        .unwrap_or_default()
        .parse()
        .unwrap_or(0);
    let busybox = std::fs::metadata("/bin/busybox")?.len();
    ensure!(
        bytes >= busybox,
        "the two share at least busybox ({busybox} B), matrix says {bytes}"
    );
    h.screenshot("sharing").await?;
    h.finish().await
}

const CONFIGURED: &str = "FROM scratch
COPY busybox /bin/busybox
COPY app/ /app/
";

/// A file changed between two builds opens its content diff on the compare page: the
/// removed and the added line, with the verdict.
#[tokio::test]
async fn a_changed_file_opens_its_content_diff_between_two_images() -> Result<()> {
    let old = TestImage::build(
        "cmp-conf-old",
        CONFIGURED,
        &[("app/app.conf", b"name=demo\nport=80\nmode=dev\n")],
    )?;
    let new = TestImage::build(
        "cmp-conf-new",
        CONFIGURED,
        &[("app/app.conf", b"name=demo\nport=8080\nmode=dev\n")],
    )?;
    let h = Harness::start(ServerOptions::default()).await?;
    h.goto(&format!("/compare?ids={},{}", old.id, new.id))
        .await?;
    let button = eventually("the diff button of /app/app.conf", || async {
        for row in h
            .all("[data-testid=file-change][data-change=modified]")
            .await?
        {
            if row.text().await?.contains("/app/app.conf") {
                return Ok(row
                    .find(Locator::Css("[data-testid=change-diff]"))
                    .await
                    .ok());
            }
        }
        Ok(None)
    })
    .await
    .with_context(|| h.server_log())?;
    button.click().await?;
    let panel = h.wait_testid("change-diff-panel").await?;
    let lines = eventually("the diff lines", || async {
        let lines = h
            .all("[data-testid=change-diff-panel] [data-testid=diff-line]")
            .await?;
        Ok((!lines.is_empty()).then_some(lines))
    })
    .await
    .with_context(|| h.server_log())?;
    let mut changed = Vec::new();
    for l in &lines {
        let kind = l.attr("data-kind").await?.unwrap_or_default();
        if kind != "context" {
            changed.push((kind, l.text().await?));
        }
    }
    ensure!(
        changed.len() == 2
            && changed[0].0 == "removed"
            && changed[0].1.contains("port=80")
            && changed[1].0 == "added"
            && changed[1].1.contains("port=8080"),
        "diff lines: {changed:?}"
    );
    let heading = panel.text().await?;
    ensure!(heading.contains("/app/app.conf: A → B"), "panel: {heading}");
    h.client
        .execute(
            "document.querySelector('[data-testid=change-diff-panel]').scrollIntoView({block: 'center'});",
            vec![],
        )
        .await?;
    h.screenshot("compare-file-diff").await?;
    h.finish().await
}
