//! Pictures of an image: the history timeline shows a `RUN a && b; c` step as its
//! instruction and one line per command (the original one click away), and the layer
//! explorer's treemap draws the filesystem as of a layer, zooms into a directory on
//! click (kept in the URL) and back out through its breadcrumb. The daemon-down
//! banner's reason ends its sentence before the hint.

use anyhow::{ensure, Context, Result};
use e2e::{eventually, Harness, ServerOptions, TestImage};
use fantoccini::key::Key;

const DOCKERFILE: &str = r#"FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
COPY app/ /app/
RUN mkdir -p /data/cache && echo "a && b; c" > /data/cache/note.txt && dd if=/dev/zero of=/data/blob bs=1024 count=300 2>/dev/null; ls /data
ENV MODE=pictures
"#;

fn image() -> Result<TestImage> {
    let big = vec![b'j'; 200_000];
    let small = vec![b'c'; 40_000];
    // `--network none`: RUN steps need no network, and the daemon may lack a bridge
    TestImage::build_with_args(
        "pictures",
        DOCKERFILE,
        &[
            ("app/bundle.js", &big),
            ("app/style.css", &small),
            ("app/index.html", b"<!doctype html>"),
        ],
        &["--network", "none"],
    )
}

async fn texts(h: &Harness, css: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for e in h.all(css).await? {
        out.push(e.text().await?);
    }
    Ok(out)
}

async fn node_paths(h: &Harness) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for e in h.all("[data-testid=treemap-node]").await? {
        if let Some(p) = e.attr("data-path").await? {
            out.push(p);
        }
    }
    Ok(out)
}

#[tokio::test]
async fn history_commands_and_layer_treemap() -> Result<()> {
    let image = image()?;
    let h = Harness::start(ServerOptions::default()).await?;

    // History: the RUN chain reads as one command per line.
    h.goto(&format!("/images/{}", image.id)).await?;
    h.wait_testid("history-timeline")
        .await
        .with_context(|| h.server_log())?;
    let run = eventually("the RUN step with a chain", || async {
        for step in h.all("[data-testid=history-step]").await? {
            let text = step.text().await?;
            if text.contains("mkdir -p /data/cache") {
                return Ok(Some(step));
            }
        }
        Ok(None)
    })
    .await?;
    let instruction = run
        .find(fantoccini::Locator::Css("[data-testid=step-instruction]"))
        .await?
        .text()
        .await?;
    ensure!(instruction == "RUN", "instruction badge: {instruction:?}");
    let mut lines = Vec::new();
    for l in run
        .find_all(fantoccini::Locator::Css("[data-testid=step-cmd] .cmd-text"))
        .await?
    {
        lines.push(l.text().await?);
    }
    ensure!(
        lines
            == [
                "mkdir -p /data/cache",
                "echo \"a && b; c\" > /data/cache/note.txt",
                "dd if=/dev/zero of=/data/blob bs=1024 count=300 2>/dev/null",
                "ls /data",
            ],
        "one line per command, quotes respected: {lines:?}"
    );
    let env_steps = texts(&h, "[data-testid=step-instruction]").await?;
    ensure!(
        env_steps.iter().any(|i| i == "ENV") && env_steps.iter().any(|i| i == "COPY"),
        "metadata and COPY steps are named: {env_steps:?}"
    );
    run.find(fantoccini::Locator::Css(".cmd-original summary"))
        .await?
        .click()
        .await?;
    h.client
        .execute(
            "arguments[0].scrollIntoView({block: 'center'});",
            vec![serde_json::to_value(&run)?],
        )
        .await?;
    h.screenshot("pictures-history").await?;

    // Treemap of the last layer: the filesystem as of it, coloured by what it changed.
    h.goto(&format!("/images/{}/layers/3?view=stacked", image.id))
        .await?;
    h.wait_testid("file-tree")
        .await
        .with_context(|| h.server_log())?;
    h.wait_testid("show-treemap").await?.click().await?;
    h.wait_testid("treemap-svg").await?;
    let url = h.client.current_url().await?;
    ensure!(
        url.query().unwrap_or_default().contains("show=treemap"),
        "the treemap is in the URL: {url}"
    );
    let top = eventually("top-level treemap nodes", || async {
        let paths = node_paths(&h).await?;
        Ok(paths.contains(&"/data".to_owned()).then_some(paths))
    })
    .await?;
    for want in ["/bin", "/app", "/data", "/app/bundle.js", "/data/blob"] {
        ensure!(top.iter().any(|p| p == want), "{want} drawn: {top:?}");
    }
    let data = h
        .client
        .find(fantoccini::Locator::Css(
            "[data-testid=treemap-node][data-path='/data']",
        ))
        .await?;
    ensure!(
        data.attr("data-mark").await?.as_deref() == Some("added"),
        "the RUN layer added /data"
    );
    let app_dir = h
        .client
        .find(fantoccini::Locator::Css(
            "[data-testid=treemap-node][data-path='/app']",
        ))
        .await?;
    ensure!(
        app_dir.attr("data-mark").await?.as_deref() == Some("unchanged"),
        "/app came from a lower layer"
    );
    let legend = h.wait_testid("treemap-legend").await?.text().await?;
    ensure!(legend.contains("added in this layer"), "legend: {legend}");
    h.screenshot("pictures-treemap").await?;

    // Zoom into /data from the keyboard (its children cover its middle, so a mouse
    // would aim at its label); the breadcrumb and the URL follow.
    h.client
        .execute("arguments[0].focus();", vec![serde_json::to_value(&data)?])
        .await?;
    data.send_keys(&Key::Enter.to_string()).await?;
    let crumbs = eventually("the breadcrumb of /data", || async {
        let c = texts(&h, "[data-testid=treemap-crumb]").await?;
        Ok((c.len() == 2).then_some(c))
    })
    .await?;
    ensure!(crumbs == ["/", "data"], "breadcrumb: {crumbs:?}");
    let inside = eventually("nodes of /data", || async {
        let paths = node_paths(&h).await?;
        Ok(paths.contains(&"/data/blob".to_owned()).then_some(paths))
    })
    .await?;
    ensure!(
        inside.iter().all(|p| p.starts_with("/data/")),
        "only /data is drawn: {inside:?}"
    );
    let url = h.client.current_url().await?;
    ensure!(
        url.query().unwrap_or_default().contains("path_raw=ZGF0YQ"),
        "the zoom is in the URL: {url}"
    );
    h.screenshot("pictures-treemap-zoomed").await?;

    // Reload keeps the zoom; the root crumb zooms back out.
    h.client.refresh().await?;
    let crumbs = eventually("the breadcrumb after reload", || async {
        let c = texts(&h, "[data-testid=treemap-crumb]").await?;
        Ok((c.len() == 2).then_some(c))
    })
    .await?;
    ensure!(
        crumbs == ["/", "data"],
        "breadcrumb after reload: {crumbs:?}"
    );
    let root = eventually("the root crumb", || async {
        for c in h.all("[data-testid=treemap-crumb]").await? {
            if c.text().await? == "/" {
                return Ok(Some(c));
            }
        }
        Ok(None)
    })
    .await?;
    root.click().await?;
    eventually("the root treemap again", || async {
        let paths = node_paths(&h).await?;
        Ok(paths.contains(&"/bin".to_owned()).then_some(()))
    })
    .await?;
    h.finish().await
}

#[tokio::test]
async fn daemon_banner_reason_ends_its_sentence() -> Result<()> {
    let h = Harness::start(ServerOptions {
        docker_host: Some("unix:///nonexistent.sock".into()),
    })
    .await?;
    h.goto("/").await?;
    let text = h.wait_testid("daemon-banner").await?.text().await?;
    ensure!(
        text.contains("No such file or directory. Start Docker"),
        "the reason ends with a period before the hint: {text}"
    );
    h.finish().await
}
