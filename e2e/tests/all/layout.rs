//! Layout and accessibility at the narrowest supported width (1024 px), in the light
//! and the dark theme: no page scrolls sideways, every control has an accessible name,
//! and the dark theme really is dark. Screenshots `layout-*.png`.

use anyhow::{ensure, Context, Result};
use e2e::{Harness, ServerOptions, TestImage};

const DOCKERFILE: &str = "FROM scratch
COPY busybox /bin/busybox
COPY data/ /data/
RUN [\"/bin/busybox\", \"sh\", \"-c\", \"/bin/busybox mkdir -p /srv && /bin/busybox cp /data/a.txt /srv/a.txt && /bin/busybox rm /data/b.txt\"]
";

/// Page facts gathered by one script: horizontal overflow, unnamed controls, and the
/// body's background luminance (0 black … 1 white).
const PROBE: &str = r#"
const doc = document.documentElement;
const overflow = doc.scrollWidth - window.innerWidth;
const unnamed = [];
for (const el of document.querySelectorAll('button, input, select, textarea, a[href], [role=button], [role=tab]')) {
  if (el.type === 'hidden' || el.offsetParent === null) continue;
  const labelled = (el.getAttribute('aria-label') || '').trim()
    || (el.getAttribute('aria-labelledby') || '').trim()
    || (el.getAttribute('title') || '').trim()
    || (el.textContent || '').trim()
    || (el.id && document.querySelector(`label[for="${el.id}"]`))
    || el.closest('label')
    || (el.getAttribute('placeholder') || '').trim();
  if (!labelled) unnamed.push(el.outerHTML.slice(0, 120));
}
const bg = getComputedStyle(document.body).backgroundColor.match(/[\d.]+/g).map(Number);
const lum = (0.2126 * bg[0] + 0.7152 * bg[1] + 0.0722 * bg[2]) / 255;
return { overflow, unnamed, lum };
"#;

struct Probe {
    overflow: i64,
    unnamed: Vec<String>,
    lum: f64,
}

async fn probe(h: &Harness) -> Result<Probe> {
    let v = h.client.execute(PROBE, vec![]).await?;
    Ok(Probe {
        overflow: v["overflow"].as_i64().context("overflow")?,
        unnamed: v["unnamed"]
            .as_array()
            .context("unnamed")?
            .iter()
            .filter_map(|x| x.as_str().map(str::to_owned))
            .collect(),
        lum: v["lum"].as_f64().context("luminance")?,
    })
}

async fn check_pages(h: &Harness, image: &TestImage, theme: &str) -> Result<()> {
    h.client.set_window_size(1024, 768).await?;
    let pages = [
        ("list", "/".to_owned(), "image-table"),
        ("image", format!("/images/{}", image.id), "analysis-summary"),
        (
            "layer",
            format!("/images/{}/layers/2?view=stacked", image.id),
            "file-tree",
        ),
    ];
    for (name, path, ready) in pages {
        h.goto(&path).await?;
        h.wait_testid(ready).await?;
        let p = probe(h).await?;
        h.screenshot(&format!("layout-{name}-1024-{theme}")).await?;
        ensure!(
            p.overflow <= 0,
            "{theme} {name} page scrolls sideways by {} px at 1024 px",
            p.overflow
        );
        ensure!(
            p.unnamed.is_empty(),
            "{theme} {name} page has controls without an accessible name: {:?}",
            p.unnamed
        );
        match theme {
            "dark" => ensure!(p.lum < 0.3, "dark theme background luminance {}", p.lum),
            _ => ensure!(p.lum > 0.7, "light theme background luminance {}", p.lum),
        }
    }
    Ok(())
}

#[tokio::test]
async fn pages_fit_1024px_in_both_themes_with_named_controls() -> Result<()> {
    let image = TestImage::build(
        "layout",
        DOCKERFILE,
        &[("data/a.txt", b"a\n"), ("data/b.txt", &[b'b'; 2048])],
    )?;
    let light = Harness::start(ServerOptions::default()).await?;
    let result = check_pages(&light, &image, "light").await;
    light.finish().await?;
    result?;
    let dark =
        Harness::start_with_browser(ServerOptions::default(), &[], &["--force-dark-mode"]).await?;
    let result = check_pages(&dark, &image, "dark").await;
    dark.finish().await?;
    result
}
