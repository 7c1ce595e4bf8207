//! Browser flows against a real server and dockerd: list → filter → image → history →
//! layer tree → expand → mark filter, and the daemon-down banner.

use anyhow::{ensure, Context, Result};
use e2e::{eventually, Harness, ServerOptions, TestImage};
use fantoccini::Locator;

const DOCKERFILE: &str = "FROM scratch
COPY busybox /bin/busybox
ENV E2E_FLOW=1
COPY data/ /data/
LABEL org.example.e2e=flow
RUN [\"/bin/busybox\", \"rm\", \"/data/old.txt\"]
COPY more/ /data/
CMD [\"/bin/busybox\", \"sh\"]
";

fn flow_image(name: &str) -> Result<TestImage> {
    TestImage::build(
        name,
        DOCKERFILE,
        &[
            ("data/old.txt", b"old contents\n"),
            ("data/keep.txt", b"kept\n"),
            ("data/sub/deep.txt", &[b'x'; 4096]),
            ("more/new.txt", b"new file\n"),
            ("more/keep.txt", b"kept, but rewritten\n"),
        ],
    )
}

async fn row_names(h: &Harness) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for row in h.all("[data-testid=image-row]").await? {
        names.push(row.attr("data-name").await?.unwrap_or_default());
    }
    Ok(names)
}

#[tokio::test]
async fn list_filter_open_image_and_history() -> Result<()> {
    let image = flow_image("list")?;
    let h = Harness::start(ServerOptions::default()).await?;
    h.goto("/").await?;
    h.wait_testid("image-table").await?;
    // The page runs under `script-src 'self'`: no inline script may exist.
    let source = h.client.source().await?;
    ensure!(
        !source.contains("<script>") && !source.contains("<script type=\"module\">"),
        "inline script in the page"
    );
    let names = eventually("our image in the list", || async {
        let names = row_names(&h).await?;
        Ok(names.iter().any(|n| n == &image.tag).then_some(names))
    })
    .await?;
    ensure!(!names.is_empty(), "list shows rows");
    h.screenshot("list").await?;

    // Server-side docker filter: only our image is left.
    let input = h.wait_testid("filter-input").await?;
    // Our image's own repository: other test runs' `e2e-list-*` images may be listed too.
    let repository = image.tag.split(':').next().unwrap_or_default();
    input.send_keys(&format!("reference={repository}*")).await?;
    h.wait_testid("filter-apply").await?.click().await?;
    let filtered = eventually("the filtered list", || async {
        let names = row_names(&h).await?;
        Ok((names.len() == 1).then_some(names))
    })
    .await?;
    ensure!(
        filtered == vec![image.tag.clone()],
        "filter result {filtered:?}"
    );
    let totals = h.wait_testid("image-totals").await?.text().await?;
    ensure!(totals.starts_with("1 image ·"), "totals: {totals}");
    h.screenshot("list-filtered").await?;

    // Open the image: summary, config as text, every history step incl. empty ones.
    h.wait_testid("image-link").await?.click().await?;
    let title = h.wait_testid("image-title").await?.text().await?;
    ensure!(title == image.tag, "title {title:?}");
    h.wait_testid("history-timeline").await?;
    let steps = h.all("[data-testid=history-step]").await?;
    ensure!(
        steps.len() == 7,
        "7 build steps (FROM scratch adds none), got {}",
        steps.len()
    );
    let mut empty = 0;
    for s in &steps {
        if s.attr("data-empty").await?.as_deref() == Some("true") {
            empty += 1;
        }
    }
    ensure!(
        empty == 3,
        "ENV, LABEL and CMD are metadata-only steps, got {empty}"
    );
    // The time since the previous step: blank for the first, `+N s`-style after it.
    let mut gaps = Vec::new();
    for g in h.all("[data-testid=step-gap]").await? {
        gaps.push(g.text().await?);
    }
    ensure!(gaps.len() == 7, "a gap cell per step: {gaps:?}");
    ensure!(gaps[0].is_empty(), "no gap before the first step: {gaps:?}");
    ensure!(
        gaps[1..]
            .iter()
            .all(|g| g.starts_with('+') && (g.ends_with(" s") || g.ends_with(" min"))),
        "gaps read like +3 s: {gaps:?}"
    );
    let layers = h.all("[data-testid=layer-row]").await?;
    ensure!(layers.len() == 4, "4 layers, got {}", layers.len());
    let config = h.wait_testid("config-view").await?.text().await?;
    ensure!(config.contains("E2E_FLOW=1"), "config shows env: {config}");
    ensure!(
        config.contains("org.example.e2e=flow"),
        "config shows labels: {config}"
    );
    h.screenshot("image-page").await?;

    // The analysis runs on its own; then the waste list blames the RUN rm step.
    h.wait_testid("analysis-summary").await?;
    let wasted = eventually("wasted rows", || async {
        let rows = h.all("[data-testid=wasted-row]").await?;
        let mut texts = Vec::new();
        for r in rows {
            texts.push(r.text().await?);
        }
        Ok((!texts.is_empty()).then_some(texts))
    })
    .await?;
    let old = wasted
        .iter()
        .find(|t| t.contains("/data/old.txt"))
        .with_context(|| format!("old.txt is wasted: {wasted:?}"))?;
    ensure!(
        old.contains("deleted by layer 2"),
        "blame names the deleting layer: {old}"
    );
    ensure!(
        wasted
            .iter()
            .any(|t| t.contains("/data/keep.txt") && t.contains("overwritten by layer 3")),
        "keep.txt overwritten: {wasted:?}"
    );
    let reclaimable = h.wait_testid("reclaimable").await?.text().await?;
    ensure!(
        reclaimable.starts_with("18 B"),
        "13 + 5 bytes reclaimable: {reclaimable}"
    );
    h.client
        .execute(
            "document.querySelector('[data-testid=analysis-panel]').scrollIntoView()",
            vec![],
        )
        .await?;
    h.screenshot("image-analysis").await?;
    h.finish().await
}

#[tokio::test]
async fn layer_tree_expand_and_mark_filter() -> Result<()> {
    let image = flow_image("tree")?;
    let h = Harness::start(ServerOptions::default()).await?;
    // Layers: 0 busybox, 1 `COPY data/`, 2 `RUN rm` (a whiteout), 3 `COPY more/`.
    // From the image page, follow history step #2's layer link (layer 1, `COPY data/`).
    h.goto(&format!("/images/{}", image.id)).await?;
    h.wait_testid("history-timeline").await?;
    let links = h.all("[data-testid=step-layer-link]").await?;
    ensure!(
        links.len() == 4,
        "one link per layer-making step, got {}",
        links.len()
    );
    links[1].click().await?;
    h.wait_testid("file-tree")
        .await
        .with_context(|| h.server_log())?;
    let url = h.client.current_url().await?;
    ensure!(url.path().ends_with("/layers/1"), "explorer URL {url}");
    let data = eventually("the data dir row", || async {
        for row in h.all("[data-testid=tree-row]").await? {
            if row.attr("data-name").await?.as_deref() == Some("data") {
                return Ok(Some(row));
            }
        }
        Ok(None)
    })
    .await?;
    data.click().await?;
    let names = eventually("the children of /data", || async {
        let mut names = Vec::new();
        for row in h.all("[data-testid=tree-row]").await? {
            names.push(row.attr("data-name").await?.unwrap_or_default());
        }
        Ok(names.iter().any(|n| n == "old.txt").then_some(names))
    })
    .await?;
    ensure!(names.contains(&"keep.txt".to_owned()), "{names:?}");
    h.screenshot("tree-layer").await?;

    // Layer 2 (`RUN rm /data/old.txt`) shows only the deletion, marked removed.
    h.wait_testid("layer-select").await?;
    h.goto(&format!("/images/{}/layers/2?view=layer", image.id))
        .await?;
    let data = eventually("the data dir row (layer 2)", || async {
        for row in h.all("[data-testid=tree-row]").await? {
            if row.attr("data-name").await?.as_deref() == Some("data") {
                return Ok(Some(row));
            }
        }
        Ok(None)
    })
    .await?;
    data.click().await?;
    let removed = eventually("the removed file", || async {
        let mut found = Vec::new();
        for row in h.all("[data-testid=tree-row][data-kind=file]").await? {
            let name = row.attr("data-name").await?.unwrap_or_default();
            let mark = row.attr("data-mark").await?.unwrap_or_default();
            found.push((name, mark));
        }
        Ok((!found.is_empty()).then_some(found))
    })
    .await?;
    ensure!(
        removed == vec![("old.txt".to_owned(), "removed".to_owned())],
        "layer 2 only deletes old.txt: {removed:?}"
    );
    h.screenshot("tree-removed").await?;

    // Stacked view of the last layer: old.txt is gone, keep.txt modified, new.txt added.
    h.goto(&format!("/images/{}/layers/3?view=stacked", image.id))
        .await?;
    h.wait_testid("file-tree").await?;
    let data = eventually("the data dir row (stacked)", || async {
        for row in h.all("[data-testid=tree-row]").await? {
            if row.attr("data-name").await?.as_deref() == Some("data") {
                return Ok(Some(row));
            }
        }
        Ok(None)
    })
    .await?;
    data.click().await?;
    let marks = eventually("marks under /data", || async {
        let mut marks = Vec::new();
        for row in h.all("[data-testid=tree-row]").await? {
            let name = row.attr("data-name").await?.unwrap_or_default();
            let mark = row.attr("data-mark").await?.unwrap_or_default();
            marks.push((name, mark));
        }
        Ok(marks.iter().any(|(n, _)| n == "new.txt").then_some(marks))
    })
    .await?;
    let mark_of = |n: &str| {
        marks
            .iter()
            .find(|(name, _)| name == n)
            .map(|(_, m)| m.clone())
    };
    ensure!(mark_of("new.txt").as_deref() == Some("added"), "{marks:?}");
    ensure!(
        mark_of("keep.txt").as_deref() == Some("modified"),
        "{marks:?}"
    );
    ensure!(
        mark_of("old.txt").is_none(),
        "old.txt is deleted in the stacked view: {marks:?}"
    );
    h.screenshot("tree-stacked").await?;

    // Hide unchanged and added files: only the modified file stays under /data.
    h.wait_testid("mark-filter-added").await?.click().await?;
    h.wait_testid("mark-filter-unchanged")
        .await?
        .click()
        .await?;
    let left = eventually("filtered rows", || async {
        let mut files = Vec::new();
        for row in h.all("[data-testid=tree-row][data-kind=file]").await? {
            files.push(row.attr("data-name").await?.unwrap_or_default());
        }
        Ok((!files.contains(&"new.txt".to_owned())).then_some(files))
    })
    .await?;
    ensure!(
        left == vec!["keep.txt".to_owned()],
        "only the modified file is left: {left:?}"
    );
    h.screenshot("tree-filtered").await?;
    h.finish().await
}

#[tokio::test]
async fn daemon_down_shows_banner() -> Result<()> {
    let h = Harness::start(ServerOptions {
        docker_host: Some("unix:///nonexistent.sock".into()),
    })
    .await?;
    h.goto("/").await?;
    let banner = h.wait_testid("daemon-banner").await?;
    let text = banner.text().await?;
    ensure!(
        text.contains("unix:///nonexistent.sock"),
        "banner names the address: {text}"
    );
    let notice = h.wait_testid("error-notice").await?.text().await?;
    ensure!(
        notice.contains("unavailable"),
        "list explains the failure: {notice}"
    );
    let rows = h
        .client
        .find_all(Locator::Css("[data-testid=image-row]"))
        .await?;
    ensure!(rows.is_empty(), "no rows without a daemon");
    h.screenshot("daemon-down").await?;
    h.finish().await
}
