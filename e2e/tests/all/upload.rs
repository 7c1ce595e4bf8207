//! "Open archive…" in real Chromium: a `docker save` archive of an image that is then
//! removed from the daemon is picked in the file input, uploaded, read by the server and
//! opened on its image page (so it cannot have come from the daemon); a garbage file
//! shows the server's one-line error under the control.

use anyhow::{ensure, Context, Result};
use e2e::{eventually, Harness, ServerOptions, TestImage};
use std::process::Command;

const DOCKERFILE: &str = "FROM scratch
COPY busybox /bin/busybox
COPY hello.txt /hello.txt
CMD [\"/bin/busybox\", \"cat\", \"/hello.txt\"]
";

/// Builds a two-layer image, saves it to `dir/e2e-upload.tar` and removes it from the
/// daemon again. Returns the archive path and the image ID.
fn saved_archive(dir: &std::path::Path) -> Result<(std::path::PathBuf, String)> {
    // A label of its own makes the image ID unique, so no other test run holds it.
    let label = e2e::system_docker::unique_tag("upload");
    let image = TestImage::build(
        "upload",
        &format!("{DOCKERFILE}LABEL strata.test=\"{label}\"\n"),
        &[("hello.txt", b"hello from an uploaded archive\n")],
    )?;
    let path = dir.join("e2e-upload.tar");
    let out = Command::new("docker")
        .args(["save", "-o"])
        .arg(&path)
        .arg(&image.tag)
        .output()
        .context("running docker save")?;
    ensure!(
        out.status.success(),
        "docker save failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = image.id.clone();
    drop(image);
    let still = Command::new("docker")
        .args(["image", "inspect", &id])
        .output()
        .context("running docker image inspect")?;
    ensure!(
        !still.status.success(),
        "the test image must be gone from the daemon"
    );
    Ok((path, id))
}

#[tokio::test]
async fn an_uploaded_archive_opens_its_image_page() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let (archive, id) = saved_archive(dir.path())?;
    let h = Harness::start(ServerOptions::default()).await?;
    h.goto("/").await?;
    h.wait_testid("image-list-page").await?;
    let label = h
        .client
        .find(fantoccini::Locator::Css("label[for=upload-archive-input]"))
        .await?;
    ensure!(
        label.text().await?.contains("Open archive"),
        "the file input has a visible label"
    );
    h.screenshot("upload-list-before").await?;

    let input = h.wait_testid("upload-input").await?;
    input
        .send_keys(&archive.display().to_string())
        .await
        .context("choosing the archive in the file input")?;

    h.wait_testid("image-page")
        .await
        .with_context(|| format!("image page after upload; server log:\n{}", h.server_log()))?;
    let url = h.client.current_url().await?;
    ensure!(
        url.path() == format!("/images/{id}"),
        "navigated to the uploaded image: {url}"
    );
    let shown_id = h.wait_testid("image-id").await?.text().await?;
    ensure!(
        id.contains(
            shown_id
                .trim_start_matches("sha256:")
                .get(..12)
                .unwrap_or("?")
        ),
        "image ID shown: {shown_id} (expected {id})"
    );
    let layers = eventually("layer rows", || async {
        let rows = h.all("[data-testid=layer-row]").await?;
        Ok((!rows.is_empty()).then_some(rows.len()))
    })
    .await?;
    ensure!(layers == 2, "2 layers (busybox, hello.txt), got {layers}");
    h.wait_testid("analysis-summary")
        .await
        .with_context(|| format!("analysis of the upload; server log:\n{}", h.server_log()))?;
    h.screenshot("upload-image-page").await?;

    // Back on the list, the upload is listed with where it came from.
    h.goto("/").await?;
    let source = eventually("the uploaded row", || async {
        for row in h.all("[data-testid=image-row]").await? {
            if row.attr("data-id").await?.as_deref() == Some(id.as_str()) {
                let text = row.text().await?;
                return Ok(Some(text));
            }
        }
        Ok(None)
    })
    .await?;
    ensure!(
        source.contains("upload:e2e-upload.tar"),
        "row names the upload: {source}"
    );
    h.screenshot("upload-list-after").await?;
    h.finish().await
}

#[tokio::test]
async fn a_garbage_file_shows_the_servers_error() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let junk = dir.path().join("junk.tar");
    std::fs::write(&junk, b"this is not an image archive\n".repeat(100))?;
    let h = Harness::start(ServerOptions::default()).await?;
    h.goto("/").await?;
    let input = h.wait_testid("upload-input").await?;
    input.send_keys(&junk.display().to_string()).await?;
    let error = h.wait_testid("upload-error").await?.text().await?;
    ensure!(
        error.starts_with("Cannot open junk.tar: junk.tar: "),
        "one-line server error: {error}"
    );
    ensure!(
        !error.contains("/tmp/"),
        "no server path in the message: {error}"
    );
    let url = h.client.current_url().await?;
    ensure!(url.path() == "/", "stayed on the list: {url}");
    h.screenshot("upload-error").await?;

    // Dropping a file on the list uploads it the same way.
    h.client
        .execute(
            "const dt = new DataTransfer();
             dt.items.add(new File(['not a tar either'], 'dropped.tar'));
             document.querySelector('[data-testid=image-list-page]')
               .dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));",
            vec![],
        )
        .await?;
    let dropped = eventually("the dropped file's error", || async {
        let text = h.wait_testid("upload-error").await?.text().await?;
        Ok(text.contains("dropped.tar").then_some(text))
    })
    .await?;
    ensure!(
        dropped.starts_with("Cannot open dropped.tar: dropped.tar: "),
        "{dropped}"
    );
    h.finish().await
}
