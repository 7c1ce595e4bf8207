//! The file viewer of the layer explorer: a text file rewritten in one layer and deleted
//! in the next lists three versions and its deleted version still opens; the diff of two
//! versions shows added and removed lines; a binary shows as hex, a PNG as a preview, a
//! large text file in pages with line numbers that continue; a symlink is followed inside
//! the image and a hard link opens its target's bytes. Hostile content stays text: an `index.html` with a script and an SVG with
//! `onload` run nothing in the app, and the raw file URL opened directly runs nothing
//! either (CSP sandbox, nosniff).

mod png;

use anyhow::{ensure, Context, Result};
use e2e::{eventually, Harness, ServerOptions, TestImage};
use fantoccini::elements::Element;
use fantoccini::Locator;

const DOCKERFILE: &str = r#"FROM scratch
COPY busybox /bin/busybox
COPY v1/ /srv/
COPY v2/ /srv/
RUN ["/bin/busybox", "sh", "-c", "/bin/busybox rm /srv/config.txt && /bin/busybox ln -s logo.png /srv/current-logo && /bin/busybox ln /srv/tool.bin /srv/tool.bin.link"]
"#;

const CONFIG_V1: &str = "name=strata\nmode=debug\nport=8080\n";
const CONFIG_V2: &str = "name=strata\nmode=release\nport=8080\nworkers=4\n";
const INDEX_HTML: &str =
    "<!doctype html>\n<title>index</title>\n<script>window.__pwned=1;document.title='pwned'</script>\n";
const EVIL_SVG: &str = r#"<svg xmlns="http://www.w3.org/2000/svg" onload="window.__pwned=1" width="10" height="10"></svg>
"#;

/// Lines of `big.txt`, each [`big_line`] long: three pages.
const BIG_LINES: usize = 20_000;

fn big_line(i: usize) -> String {
    format!("line {i:06}: the quick brown fox\n")
}

fn binary() -> Vec<u8> {
    let mut b = b"\x7fELF\x02\x01\x01\0".to_vec();
    b.extend((0..=255u8).cycle().take(600));
    b
}

fn image() -> Result<TestImage> {
    let big: String = (1..=BIG_LINES).map(big_line).collect();
    let logo = png::checkerboard(64);
    let bin = binary();
    TestImage::build_with_args(
        "viewer",
        DOCKERFILE,
        &[
            ("v1/config.txt", CONFIG_V1.as_bytes()),
            ("v1/tool.bin", &bin),
            ("v1/logo.png", &logo),
            ("v1/index.html", INDEX_HTML.as_bytes()),
            ("v1/evil.svg", EVIL_SVG.as_bytes()),
            ("v1/big.txt", big.as_bytes()),
            ("v1/empty.txt", b""),
            ("v2/config.txt", CONFIG_V2.as_bytes()),
        ],
        &["--network", "none"],
    )
}

async fn js(h: &Harness, script: &str) -> Result<serde_json::Value> {
    h.client
        .execute(script, vec![])
        .await
        .with_context(|| format!("running {script}"))
}

/// The tree row named `name`, once it is shown.
async fn row(h: &Harness, name: &str) -> Result<Element> {
    eventually(&format!("the {name} row"), || async {
        for r in h.all("[data-testid=tree-row]").await? {
            if r.attr("data-name").await?.as_deref() == Some(name) {
                return Ok(Some(r));
            }
        }
        Ok(None)
    })
    .await
    .with_context(|| h.server_log())
}

/// Opens the explorer at `layer`/`view`, expands `/srv` and opens `/srv/<name>`.
async fn open(h: &Harness, image: &TestImage, layer: u32, view: &str, name: &str) -> Result<()> {
    let url = format!("/images/{}/layers/{layer}?view={view}", image.id);
    if h.client.current_url().await?.as_str() != format!("{}{url}", h.base) {
        h.goto(&url).await?;
    }
    let srv = row(h, "srv").await?;
    if srv.attr("aria-expanded").await?.as_deref() != Some("true") {
        srv.click().await?;
    }
    row(h, name).await?.click().await?;
    let want = format!("srv/{name}");
    eventually(&format!("the viewer of {want}"), || async {
        let path = h.wait_testid("viewer-path").await?.text().await?;
        Ok(path.ends_with(&want).then_some(()))
    })
    .await
}

async fn text_of(h: &Harness, testid: &str) -> Result<String> {
    eventually(&format!("[data-testid={testid}]"), || async {
        match h.all(&format!("[data-testid={testid}]")).await?.first() {
            Some(e) => Ok(Some(e.text().await?)),
            None => Ok(None),
        }
    })
    .await
}

/// `typeof window.__pwned` and `document.title` of the current page.
async fn pwned(h: &Harness) -> Result<(String, String)> {
    let v = js(h, "return [typeof window.__pwned, document.title];").await?;
    Ok((
        v[0].as_str().unwrap_or_default().to_owned(),
        v[1].as_str().unwrap_or_default().to_owned(),
    ))
}

async fn versions(h: &Harness) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for v in h.all("[data-testid=version]").await? {
        out.push((
            v.attr("data-layer").await?.unwrap_or_default(),
            v.attr("data-change").await?.unwrap_or_default(),
        ));
    }
    Ok(out)
}

async fn pick_version(h: &Harness, layer: u32) -> Result<()> {
    h.client
        .find(Locator::Css(&format!(
            "[data-testid=version][data-layer='{layer}']"
        )))
        .await?
        .click()
        .await?;
    Ok(())
}

/// The deleted file: three versions, the deleted one says so, the older ones open; the
/// diff of layers 1 and 2 shows removed and added lines.
async fn versions_and_diff(h: &Harness, image: &TestImage) -> Result<()> {
    open(h, image, 3, "layer", "config.txt").await?;
    let vs = eventually("three versions of config.txt", || async {
        let vs = versions(h).await?;
        Ok((vs.len() == 3).then_some(vs))
    })
    .await?;
    let want = [("1", "added"), ("2", "modified"), ("3", "deleted")];
    ensure!(
        vs.iter().map(|(l, c)| (l.as_str(), c.as_str())).eq(want),
        "versions: {vs:?}"
    );
    let deleted = text_of(h, "viewer-deleted").await?;
    ensure!(deleted.contains("Deleted in layer 3"), "{deleted}");
    let notes = h.wait_testid("version-picker").await?.text().await?;
    ensure!(
        notes.contains("hidden by layer 2") && notes.contains("deleted in layer 3"),
        "replaced notes: {notes}"
    );
    pick_version(h, 2).await?;
    let text = eventually("the text of the deleted version", || async {
        let t = text_of(h, "viewer-text-lines").await?;
        Ok(t.contains("workers=4").then_some(t))
    })
    .await?;
    ensure!(text == CONFIG_V2.trim_end(), "text: {text:?}");
    let layer = text_of(h, "viewer-layer").await?;
    ensure!(layer == "bytes from layer 2", "{layer}");
    h.screenshot("viewer-deleted-version").await?;

    h.wait_testid("viewer-compare")
        .await?
        .select_by_value("1")
        .await?;
    let header = text_of(h, "diff-hunk-header").await?;
    ensure!(header == "@@ -1,3 +1,4 @@", "hunk header: {header}");
    let mut lines = Vec::new();
    for l in h.all("[data-testid=diff-line]").await? {
        lines.push((
            l.attr("data-kind").await?.unwrap_or_default(),
            l.text().await?,
        ));
    }
    let has = |kind: &str, text: &str| {
        lines
            .iter()
            .any(|(k, t)| k == kind && t.trim_start_matches(['+', '-', ' ']).trim() == text)
    };
    ensure!(
        has("removed", "mode=debug") && has("added", "mode=release") && has("added", "workers=4"),
        "diff lines: {lines:?}"
    );
    let verdict = text_of(h, "diff-verdict").await?;
    ensure!(verdict == "different", "{verdict}");
    h.screenshot("viewer-diff").await?;
    Ok(())
}

/// Binary as hex, the PNG as a preview from a typed blob.
async fn hex_and_picture(h: &Harness, image: &TestImage) -> Result<()> {
    open(h, image, 1, "layer", "tool.bin").await?;
    let notice = text_of(h, "viewer-notice").await?;
    ensure!(notice.contains("Not UTF-8 text — shown as hex"), "{notice}");
    let hex = h.wait_testid("viewer-hex").await?.text().await?;
    ensure!(
        hex.contains("00000000") && hex.contains("7f 45 4c 46 02 01 01 00") && hex.contains(".ELF"),
        "hex dump: {}",
        hex.chars().take(300).collect::<String>()
    );
    h.screenshot("viewer-hex").await?;

    open(h, image, 1, "layer", "logo.png").await?;
    let shown = eventually("the decoded preview", || async {
        let v = js(
            h,
            "const i = document.querySelector('[data-testid=viewer-picture]');
             return i && i.complete && i.naturalWidth ? [i.naturalWidth, i.src, i.dataset.mime] : null;",
        )
        .await?;
        Ok((!v.is_null()).then_some(v))
    })
    .await?;
    ensure!(shown[0] == 64, "the 64 px picture decoded: {shown}");
    ensure!(
        shown[1].as_str().unwrap_or_default().starts_with("blob:"),
        "shown from a blob, not the server URL: {shown}"
    );
    ensure!(shown[2] == "image/png", "{shown}");
    let size = text_of(h, "viewer-picture-size").await?;
    ensure!(size == "image/png, 64 × 64 pixels", "{size}");
    h.screenshot("viewer-picture").await?;
    Ok(())
}

/// A 660 kB text in pages; line numbers continue on the next page. An empty file.
async fn paging(h: &Harness, image: &TestImage) -> Result<()> {
    open(h, image, 1, "layer", "big.txt").await?;
    let total = BIG_LINES * big_line(1).len();
    let range = text_of(h, "viewer-range").await?;
    let total_text = e2e_thousands(total);
    ensure!(
        range == format!("showing bytes 0–262,144 of {total_text}"),
        "{range}"
    );
    h.wait_testid("viewer-next").await?.click().await?;
    let range = eventually("the second page", || async {
        let r = text_of(h, "viewer-range").await?;
        Ok(r.contains("262,144–524,288").then_some(r))
    })
    .await?;
    ensure!(range.ends_with(&total_text), "{range}");
    let gutter = js(
        h,
        "return document.querySelector('.code-gutter').textContent.split('\\n')[0];",
    )
    .await?;
    let first = 262_144 / big_line(1).len() + 1;
    ensure!(
        gutter.as_str() == Some(first.to_string().as_str()),
        "the second page starts at line {first}: {gutter}"
    );
    let lines = text_of(h, "viewer-text-lines").await?;
    ensure!(
        lines
            .lines()
            .nth(1)
            .is_some_and(|l| l == big_line(first + 1).trim_end()),
        "the line after the cut one"
    );
    h.screenshot("viewer-paged").await?;

    // An empty file: the range asked for is past its end (416), and the viewer says so.
    open(h, image, 1, "layer", "empty.txt").await?;
    let empty = text_of(h, "viewer-empty").await?;
    ensure!(empty == "The file is empty.", "{empty}");
    let size = text_of(h, "viewer-size").await?;
    ensure!(size == "0 B (0 bytes)", "{size}");
    Ok(())
}

fn e2e_thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// index.html and evil.svg show as text and run nothing, in the app and opened raw.
async fn hostile_content(h: &Harness, image: &TestImage) -> Result<()> {
    let title = js(h, "return document.title;").await?;
    open(h, image, 1, "layer", "index.html").await?;
    let text = text_of(h, "viewer-text-lines").await?;
    ensure!(
        text.contains("<script>window.__pwned=1;document.title='pwned'</script>"),
        "the script shows as text: {text}"
    );
    ensure!(
        pwned(h).await?
            == (
                "undefined".to_owned(),
                title.as_str().unwrap_or_default().to_owned()
            ),
        "no script ran in the app"
    );
    h.screenshot("viewer-html").await?;
    open(h, image, 1, "layer", "evil.svg").await?;
    let text = text_of(h, "viewer-text-lines").await?;
    ensure!(text.contains(r#"onload="window.__pwned=1""#), "{text}");
    ensure!(
        h.all("[data-testid=viewer-picture]").await?.is_empty(),
        "SVG is never shown as a picture"
    );
    ensure!(pwned(h).await?.0 == "undefined", "the SVG ran nothing");
    h.screenshot("viewer-svg").await?;

    // The Download link is an attachment; the raw URL carries the sandbox.
    let href = h
        .wait_testid("viewer-download")
        .await?
        .attr("href")
        .await?
        .unwrap_or_default();
    ensure!(href.contains("download=true"), "{href}");
    let raw = format!(
        "/api/v1/images/{}/layers/1/file?path=%2Fsrv%2Findex.html",
        image.id
    );
    let headers = h
        .client
        .execute_async(
            "const [url, done] = arguments;
             fetch(url).then(r => done([r.status, r.headers.get('content-security-policy'),
                 r.headers.get('x-content-type-options'), r.headers.get('content-type')]));",
            vec![serde_json::json!(raw)],
        )
        .await?;
    ensure!(headers[0] == 200, "{headers}");
    ensure!(
        headers[1].as_str().unwrap_or_default().contains("sandbox"),
        "CSP sandbox: {headers}"
    );
    ensure!(headers[2] == "nosniff", "{headers}");
    let disposition = h
        .client
        .execute_async(
            "const [url, done] = arguments;
             fetch(url).then(r => done(r.headers.get('content-disposition')));",
            vec![serde_json::json!(href)],
        )
        .await?;
    ensure!(
        disposition
            .as_str()
            .unwrap_or_default()
            .starts_with("attachment"),
        "download is an attachment: {disposition}"
    );

    h.goto(&format!("{raw}&as=text")).await?;
    let body = eventually("the raw file shown", || async {
        let b = js(h, "return document.body ? document.body.innerText : '';").await?;
        let b = b.as_str().unwrap_or_default().to_owned();
        Ok(b.contains("__pwned").then_some(b))
    })
    .await?;
    ensure!(body.contains("<script>"), "shown as text: {body}");
    let (kind, title) = pwned(h).await?;
    ensure!(
        kind == "undefined" && title != "pwned",
        "the raw file ran its script: {kind} {title}"
    );
    h.screenshot("viewer-raw-html").await?;
    Ok(())
}

/// The symlink added in layer 3 shows its target and follows it to the picture.
async fn symlink(h: &Harness, image: &TestImage) -> Result<()> {
    open(h, image, 3, "stacked", "current-logo").await?;
    let target = text_of(h, "viewer-link-target").await?;
    ensure!(target == "logo.png", "{target}");
    h.screenshot("viewer-symlink").await?;
    h.wait_testid("viewer-follow").await?.click().await?;
    let followed = text_of(h, "viewer-followed").await?;
    ensure!(followed.contains("as of layer 3"), "{followed}");
    eventually("the followed picture", || async {
        let v = js(
            h,
            "const i = document.querySelector('[data-testid=viewer-picture]');
             return !!(i && i.complete && i.naturalWidth === 64);",
        )
        .await?;
        Ok((v == true).then_some(()))
    })
    .await?;
    let layer = text_of(h, "viewer-layer").await?;
    ensure!(layer == "bytes from layer 1", "{layer}");
    h.screenshot("viewer-symlink-followed").await?;

    // The hard link made in layer 3 opens the bytes of tool.bin (copied up into layer 3).
    open(h, image, 3, "layer", "tool.bin.link").await?;
    let said = text_of(h, "viewer-hardlink").await?;
    ensure!(said.contains("srv/tool.bin"), "{said}");
    let hex = eventually("the hard link's bytes", || async {
        let t = text_of(h, "viewer-hex").await?;
        Ok(t.contains("7f 45 4c 46").then_some(t))
    })
    .await?;
    ensure!(hex.contains(".ELF"), "hex of the target");
    let size = text_of(h, "viewer-size").await?;
    ensure!(
        size == format!("608 B ({} bytes)", binary().len()),
        "{size}"
    );
    h.screenshot("viewer-hardlink").await?;
    Ok(())
}

/// The open file is in the URL: a fresh load of that link shows it, and closing the
/// viewer takes it out again.
async fn linked_file(h: &Harness, image: &TestImage) -> Result<()> {
    open(h, image, 2, "layer", "config.txt").await?;
    let url = h.client.current_url().await?;
    let file = url
        .query_pairs()
        .find(|(k, _)| k == "file")
        .map(|(_, v)| v.into_owned());
    ensure!(
        file.as_deref() == Some("c3J2L2NvbmZpZy50eHQ="),
        "the URL names the file: {url}"
    );
    h.goto(&format!(
        "{}?{}",
        url.path(),
        url.query().unwrap_or_default()
    ))
    .await?;
    let shown = h.wait_testid("viewer-path").await?.text().await?;
    ensure!(
        shown.ends_with("srv/config.txt"),
        "the link opens the viewer: {shown}"
    );
    h.wait_testid("viewer-close").await?.click().await?;
    eventually("the file out of the URL", || async {
        let url = h.client.current_url().await?;
        Ok(url.query_pairs().all(|(k, _)| k != "file").then_some(()))
    })
    .await?;
    ensure!(
        h.all("[data-testid=viewer-path]").await?.is_empty(),
        "the viewer closed"
    );
    Ok(())
}

#[tokio::test]
async fn viewer_versions_content_and_hostile_files() -> Result<()> {
    let image = image()?;
    let h = Harness::start(ServerOptions::default()).await?;
    versions_and_diff(&h, &image).await?;
    hex_and_picture(&h, &image).await?;
    paging(&h, &image).await?;
    symlink(&h, &image).await?;
    hostile_content(&h, &image).await?;
    linked_file(&h, &image).await?;
    h.finish().await?;

    // The same diff in the dark theme, at the narrowest supported width.
    let dark =
        Harness::start_with_browser(ServerOptions::default(), &[], &["--force-dark-mode"]).await?;
    dark.client.set_window_size(1024, 768).await?;
    open(&dark, &image, 2, "layer", "config.txt").await?;
    text_of(&dark, "viewer-text-lines").await?;
    dark.wait_testid("viewer-compare")
        .await?
        .select_by_value("1")
        .await?;
    text_of(&dark, "diff-hunk-header").await?;
    let overflow = js(
        &dark,
        "return document.documentElement.scrollWidth - window.innerWidth;",
    )
    .await?;
    ensure!(
        overflow.as_i64().is_some_and(|o| o <= 0),
        "the page scrolls sideways at 1024 px with the viewer open: {overflow}"
    );
    dark.screenshot("viewer-diff-dark-1024").await?;
    dark.finish().await
}
