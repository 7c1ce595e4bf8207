//! Several named Docker hosts in the browser: a server started with the real system
//! dockerd as `local` and a host that does not exist as `build-2`. The list gets a host
//! column whose links filter by host, the banner names the host that does not answer
//! (while the other's images stay listed), and the image page says which hosts hold it.

use anyhow::{ensure, Context, Result};
use e2e::{eventually, Harness, ServerOptions, TestImage};

const DOCKERFILE: &str = "FROM scratch
COPY busybox /bin/busybox
COPY app/ /app/
";

#[tokio::test]
async fn host_column_filter_banner_and_image_hosts() -> Result<()> {
    let image = TestImage::build("hosts", DOCKERFILE, &[("app/run.sh", b"echo hi\n")])?;
    let h = Harness::start_with_args(
        ServerOptions::default(),
        &[
            "--docker",
            "local=unix:///var/run/docker.sock",
            "--docker",
            "build-2=unix:///nonexistent/build-2.sock",
        ],
    )
    .await?;
    h.goto("/").await?;

    // The banner names the host that is down, with its address and reason.
    let banner = h.wait_testid("hosts-banner").await?.text().await?;
    ensure!(
        banner.contains("build-2")
            && banner.contains("unix:///nonexistent/build-2.sock")
            && banner.contains("No such file or directory"),
        "banner: {banner}"
    );
    ensure!(
        h.all("[data-testid=daemon-banner]").await?.is_empty(),
        "no 'daemon unavailable' banner while a host answers"
    );

    // Our image is listed, on `local`, in the host column.
    let row = eventually("our image on host local", || async {
        for r in h.all("[data-testid=image-row]").await? {
            if r.attr("data-name").await?.as_deref() == Some(image.tag.as_str()) {
                return Ok(Some(r));
            }
        }
        Ok(None)
    })
    .await
    .with_context(|| h.server_log())?;
    ensure!(row.attr("data-host").await?.as_deref() == Some("local"));
    let cell = row
        .find(fantoccini::Locator::Css("[data-testid=image-host] a"))
        .await?;
    ensure!(cell.text().await? == "local");
    h.screenshot("hosts-list").await?;

    // The host link filters the list to that host.
    cell.click().await?;
    eventually("the URL filters by host", || async {
        let url = h.client.current_url().await?;
        Ok(url.as_str().contains("host%3Dlocal").then_some(()))
    })
    .await?;
    let filter = h.wait_testid("filter-input").await?;
    ensure!(filter.prop("value").await?.as_deref() == Some("host=local"));
    for r in h.all("[data-testid=image-row]").await? {
        ensure!(r.attr("data-host").await?.as_deref() == Some("local"));
    }

    // The image page names the hosts holding the image.
    h.goto(&format!("/images/{}", image.id)).await?;
    let hosts = h.wait_testid("image-hosts").await?.text().await?;
    ensure!(hosts == "local", "image hosts: {hosts}");
    h.screenshot("hosts-image").await?;
    h.finish().await
}
