//! Browser flows of the layer explorer: a directory of 5000 files renders only the rows
//! in view (and scrolls to its "load more" row), the keyboard moves the focus and opens
//! directories, `/` focuses the path search, and a glob hit reveals itself in the tree.

use anyhow::{ensure, Context, Result};
use e2e::{eventually, Harness, ServerOptions, TestImage};
use fantoccini::key::Key;

const DOCKERFILE: &str = "FROM scratch
COPY busybox /bin/busybox
COPY many/ /many/
COPY lib/ /usr/lib/
";

const FILES: usize = 5000;

fn image() -> Result<TestImage> {
    let names: Vec<String> = (0..FILES).map(|i| format!("many/f{i:05}.txt")).collect();
    let mut files: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b"x"[..])).collect();
    files.push(("lib/x.so", b"elf"));
    files.push(("lib/deep/y.so", b"elf too"));
    files.push(("lib/deep/readme", b"text"));
    TestImage::build("explorer", DOCKERFILE, &files)
}

async fn js(h: &Harness, script: &str) -> Result<serde_json::Value> {
    h.client
        .execute(script, vec![])
        .await
        .with_context(|| format!("running {script}"))
}

async fn focused_name(h: &Harness) -> Result<Option<String>> {
    let v = js(
        h,
        "const r = document.querySelector('.tree-row.focused'); return r ? r.dataset.name : null;",
    )
    .await?;
    Ok(v.as_str().map(str::to_owned))
}

#[tokio::test]
async fn virtual_rows_keyboard_and_search() -> Result<()> {
    let image = image()?;
    let h = Harness::start(ServerOptions::default()).await?;
    h.goto(&format!("/images/{}/layers/1?view=layer", image.id))
        .await?;
    h.wait_testid("file-tree")
        .await
        .with_context(|| h.server_log())?;
    let many = eventually("the many/ row", || async {
        for row in h.all("[data-testid=tree-row]").await? {
            if row.attr("data-name").await?.as_deref() == Some("many") {
                return Ok(Some(row));
            }
        }
        Ok(None)
    })
    .await?;
    // Keyboard: focus the list, open the focused directory with Enter.
    many.click().await?; // focuses the row (and expands it)
    eventually("children of many/", || async {
        Ok((h.all("[data-testid=tree-row][data-kind=file]").await?.len() > 5).then_some(()))
    })
    .await?;
    let rendered = h.all("[data-testid=tree-row]").await?.len();
    ensure!(
        rendered < 120,
        "only the rows in view are rendered, got {rendered} of 2000+ loaded"
    );
    let height = js(
        &h,
        "return document.querySelector('[data-testid=tree-rows]').scrollHeight;",
    )
    .await?
    .as_f64()
    .unwrap_or(0.0);
    ensure!(
        height >= 2000.0 * 26.0,
        "the list is as tall as all rows: {height}px"
    );
    let list = h.wait_testid("tree-rows").await?;
    list.send_keys(&Key::Down.to_string()).await?;
    list.send_keys(&Key::Down.to_string()).await?;
    let now = eventually("focus moved by the arrow keys", || async {
        Ok(focused_name(&h).await?.filter(|n| n == "f00001.txt"))
    })
    .await?;
    ensure!(now == "f00001.txt", "{now}");
    list.send_keys(&Key::End.to_string()).await?;
    eventually("the load-more row scrolled into view", || async {
        Ok((!h.all("[data-testid=tree-load-more]").await?.is_empty()).then_some(()))
    })
    .await?;
    let rendered = h.all("[data-testid=tree-row]").await?.len();
    ensure!(
        rendered < 120,
        "still only visible rows at the end: {rendered}"
    );
    h.screenshot("explorer-virtual").await?;

    // A substring search over the layer's 5000 changes is paged.
    let input = h.wait_testid("tree-search").await?;
    input.send_keys("F0").await?;
    let summary = eventually("the search summary", || async {
        let s = h.wait_testid("search-summary").await?.text().await?;
        Ok(s.contains("matches").then_some(s))
    })
    .await?;
    ensure!(
        summary == "5000 matches, the first 200 shown",
        "summary: {summary}"
    );
    h.wait_testid("search-more").await?.click().await?;
    eventually("400 hits after show more", || async {
        Ok((h.all("[data-testid=search-hit]").await?.len() == 400).then_some(()))
    })
    .await?;
    input.send_keys(&Key::Escape.to_string()).await?;
    eventually("the search cleared by Escape", || async {
        Ok(h.all("[data-testid=search-results]")
            .await?
            .is_empty()
            .then_some(()))
    })
    .await?;

    // `/` focuses the search; a glob lists both .so files of the stacked filesystem.
    h.goto(&format!("/images/{}/layers/2?view=stacked", image.id))
        .await?;
    h.wait_testid("tree-search").await?;
    eventually("the tree rows", || async {
        Ok((!h.all("[data-testid=tree-row]").await?.is_empty()).then_some(()))
    })
    .await?;
    let body = h.client.find(fantoccini::Locator::Css("body")).await?;
    body.send_keys("/").await?;
    let active = js(&h, "return document.activeElement.dataset.testid || '';").await?;
    ensure!(
        active == "tree-search",
        "`/` focuses the search box: {active}"
    );
    let input = h.wait_testid("tree-search").await?;
    input.send_keys("*.so").await?;
    let hits = eventually("two .so hits", || async {
        let hits = h.all("[data-testid=search-hit]").await?;
        let mut paths = Vec::new();
        for hit in &hits {
            paths.push(hit.attr("data-path").await?.unwrap_or_default());
        }
        Ok((paths.len() == 2).then_some(paths))
    })
    .await?;
    ensure!(
        hits == ["/usr/lib/deep/y.so", "/usr/lib/x.so"],
        "glob hits: {hits:?}"
    );
    h.all("[data-testid=search-hit]").await?[0].click().await?;
    let revealed = eventually("the hit revealed and focused in the tree", || async {
        Ok(focused_name(&h).await?.filter(|n| n == "y.so"))
    })
    .await?;
    ensure!(revealed == "y.so", "{revealed}");
    h.screenshot("explorer-search").await?;
    h.finish().await
}
