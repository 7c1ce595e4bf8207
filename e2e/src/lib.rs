//! Shared harness for the browser tests: starts chromedriver, a strata server and a
//! headless Chromium session with a fresh profile, and builds throwaway test images.
//!
//! Builds nothing: it expects `dist/` (run `trunk build --release` in the repository
//! root) and a `strata` binary (`STRATA_BIN`, else `target/{release,debug}/strata`
//! under the workspace or `$CARGO_TARGET_DIR`), and fails with a hint when either is
//! missing. Every process it starts is killed when the harness is dropped.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use anyhow::{bail, Context, Result};
use fantoccini::{Client, ClientBuilder, Locator};
use std::future::Future;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long to wait for a process to listen or an element to appear.
pub const TIMEOUT: Duration = Duration::from_secs(30);

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// The workspace root (parent of this crate).
pub fn workspace_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent().unwrap_or(here).to_path_buf()
}

/// The built UI directory, or an error saying how to build it.
pub fn dist_dir() -> Result<PathBuf> {
    let dist = std::env::var_os("STRATA_DIST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("dist"));
    if !dist.join("index.html").is_file() {
        bail!(
            "no built UI at {}: run `trunk build --release` in {} first (or set STRATA_DIST_DIR)",
            dist.display(),
            workspace_root().display()
        );
    }
    Ok(dist)
}

/// The `strata` binary, or an error saying how to build it.
pub fn strata_bin() -> Result<PathBuf> {
    if let Some(bin) = std::env::var_os("STRATA_BIN") {
        let bin = PathBuf::from(bin);
        if bin.is_file() {
            return Ok(bin);
        }
        bail!("STRATA_BIN={} does not exist", bin.display());
    }
    let mut targets = vec![workspace_root().join("target")];
    if let Some(t) = std::env::var_os("CARGO_TARGET_DIR") {
        targets.insert(0, PathBuf::from(t));
    }
    for t in &targets {
        for profile in ["release", "debug"] {
            let bin = t.join(profile).join("strata");
            if bin.is_file() {
                return Ok(bin);
            }
        }
    }
    bail!(
        "no strata binary in {:?}: run `cargo build -p server --release` first (or set STRATA_BIN)",
        targets
    )
}

/// A free loopback TCP port.
pub fn free_port() -> Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0").context("binding a probe socket")?;
    Ok(l.local_addr()?.port())
}

fn wait_for_port(port: u16, what: &str, child: &mut Child) -> Result<()> {
    let start = Instant::now();
    while start.elapsed() < TIMEOUT {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        if let Some(status) = child.try_wait()? {
            bail!("{what} exited with {status} before listening on port {port}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    bail!("{what} did not listen on port {port} within {TIMEOUT:?}")
}

/// A process killed on drop.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// How to start the server.
#[derive(Debug, Clone, Default)]
pub struct ServerOptions {
    /// `DOCKER_HOST` for the server (e.g. `unix:///nonexistent.sock`); `None` = inherit.
    pub docker_host: Option<String>,
}

/// A running server + chromedriver + browser session.
pub struct Harness {
    pub client: Client,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    _server: Killed,
    _driver: Killed,
    _profile: tempfile::TempDir,
    _logs: tempfile::TempDir,
    server_log: PathBuf,
}

impl Harness {
    /// Starts everything; fails with a hint when dist/ or the binary is missing.
    pub async fn start(options: ServerOptions) -> Result<Harness> {
        Self::start_with_args(options, &[]).await
    }

    /// Like [`Harness::start`], with extra arguments after `strata serve` (global flags
    /// such as `--no-cache` are accepted there too).
    pub async fn start_with_args(options: ServerOptions, extra: &[&str]) -> Result<Harness> {
        Self::start_with_browser(options, extra, &[]).await
    }

    /// Like [`Harness::start_with_args`], with extra Chromium switches (e.g.
    /// `--force-dark-mode`, which makes `prefers-color-scheme: dark` match).
    pub async fn start_with_browser(
        options: ServerOptions,
        extra: &[&str],
        browser_args: &[&str],
    ) -> Result<Harness> {
        let dist = dist_dir()?;
        let bin = strata_bin()?;
        let logs = tempfile::tempdir().context("creating a log dir")?;
        let port = free_port()?;
        let server_log = logs.path().join("server.log");
        let log = std::fs::File::create(&server_log)
            .with_context(|| format!("creating {}", server_log.display()))?;
        let mut cmd = Command::new(&bin);
        cmd.args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(extra)
            .env("STRATA_DIST_DIR", &dist)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        if let Some(host) = &options.docker_host {
            cmd.env("DOCKER_HOST", host);
        }
        let mut server = cmd
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        wait_for_port(port, "strata serve", &mut server).with_context(|| {
            format!(
                "server log {}:\n{}",
                server_log.display(),
                std::fs::read_to_string(&server_log).unwrap_or_default()
            )
        })?;
        let server = Killed(server);

        let driver_port = free_port()?;
        let mut driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={driver_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {CHROMEDRIVER}"))?;
        wait_for_port(driver_port, "chromedriver", &mut driver)?;
        let driver = Killed(driver);

        let profile = tempfile::tempdir().context("creating a browser profile dir")?;
        let args = vec![
            "--headless".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--window-size=1280,900".to_owned(),
            format!("--user-data-dir={}", profile.path().display()),
        ]
        .into_iter()
        .chain(browser_args.iter().map(|a| (*a).to_owned()))
        .collect::<Vec<_>>();
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".to_owned(),
            serde_json::json!({ "binary": CHROMIUM, "args": args }),
        );
        // Both rustls providers are compiled in the workspace build; name one, or rustls
        // refuses to choose. An error only means another test installed it first.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = ClientBuilder::rustls()
            .context("creating the webdriver client")?
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{driver_port}"))
            .await
            .context("opening a chromium session through chromedriver")?;
        Ok(Harness {
            client,
            base: format!("http://127.0.0.1:{port}"),
            _server: server,
            _driver: driver,
            _profile: profile,
            _logs: logs,
            server_log,
        })
    }

    /// Navigates to `path` on the server.
    pub async fn goto(&self, path: &str) -> Result<()> {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .with_context(|| format!("opening {path}"))
    }

    /// Waits for an element by `data-testid`.
    pub async fn wait_testid(&self, id: &str) -> Result<fantoccini::elements::Element> {
        self.client
            .wait()
            .at_most(TIMEOUT)
            .for_element(Locator::Css(&format!("[data-testid=\"{id}\"]")))
            .await
            .with_context(|| format!("waiting for [data-testid={id}]"))
    }

    /// All elements matching a CSS selector, now.
    pub async fn all(&self, css: &str) -> Result<Vec<fantoccini::elements::Element>> {
        Ok(self.client.find_all(Locator::Css(css)).await?)
    }

    /// Saves a PNG of the page under `target/e2e-screenshots/<name>.png`.
    pub async fn screenshot(&self, name: &str) -> Result<PathBuf> {
        let png = self
            .client
            .screenshot()
            .await
            .context("taking a screenshot")?;
        let path = screenshot_dir()?.join(format!("{name}.png"));
        std::fs::write(&path, png).with_context(|| format!("writing {}", path.display()))?;
        Ok(path)
    }

    /// The server's output so far (for failure messages).
    pub fn server_log(&self) -> String {
        std::fs::read_to_string(&self.server_log).unwrap_or_default()
    }

    /// Ends the browser session (processes die on drop).
    pub async fn finish(self) -> Result<()> {
        self.client
            .clone()
            .close()
            .await
            .context("closing the browser")?;
        Ok(())
    }
}

/// `target/e2e-screenshots/` in the workspace (created).
pub fn screenshot_dir() -> Result<PathBuf> {
    let dir = workspace_root().join("target").join("e2e-screenshots");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

/// Polls `check` until it returns `Some`, or fails after [`TIMEOUT`] naming `what`.
pub async fn eventually<T, F, Fut>(what: &str, check: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>>>,
{
    eventually_within(what, TIMEOUT, check).await
}

/// [`eventually`] with a bound of its own, for work whose length is the machine's speed
/// (a whole export in a debug build on a loaded machine), not the UI's.
pub async fn eventually_within<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>>>,
{
    let start = Instant::now();
    let mut last_err = None;
    while start.elapsed() < limit {
        match check().await {
            Ok(Some(v)) => return Ok(v),
            Ok(None) => {}
            Err(e) => last_err = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    match last_err {
        Some(e) => Err(e.context(format!("timed out waiting for {what}"))),
        None => bail!("timed out waiting for {what}"),
    }
}

#[path = "../../testsupport/system_docker.rs"]
pub mod system_docker;

/// Real registries (Debian's docker-registry) shared by the tests of this process.
#[path = "../../testsupport/registry.rs"]
pub mod registry;

/// A test image built from a FROM-scratch Dockerfile with `/bin/busybox` in its context;
/// removed on drop (see [`system_docker`] for why builds and removals go through it).
pub use system_docker::TestImage;

impl TestImage {
    /// Builds `strata-test/e2e-<name>-<pid>-<n>:latest` (unique, as other test runs may
    /// share the daemon). `files` are written into the build context (relative path,
    /// contents); the context also holds `busybox`.
    pub fn build(name: &str, dockerfile: &str, files: &[(&str, &[u8])]) -> Result<TestImage> {
        Self::build_with_args(name, dockerfile, files, &[])
    }

    /// [`TestImage::build`] with extra `docker build` arguments, e.g. `["--network",
    /// "none"]` so `RUN` steps work on a daemon without a usable bridge network.
    pub fn build_with_args(
        name: &str,
        dockerfile: &str,
        files: &[(&str, &[u8])],
        args: &[&str],
    ) -> Result<TestImage> {
        let ctx = tempfile::tempdir().context("creating a build context")?;
        system_docker::copy_busybox(&ctx.path().join("busybox"))
            .context("copying /bin/busybox (apt-get install busybox-static)")?;
        std::fs::write(ctx.path().join("Dockerfile"), dockerfile)?;
        for (rel, data) in files {
            let p = ctx.path().join(rel);
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&p, data)?;
        }
        let tag = system_docker::unique_tag_with(&format!("e2e-{name}"), "latest");
        let out = system_docker::build(&tag, args, ctx.path()).context("running docker build")?;
        if !out.status.success() {
            bail!(
                "docker build of {tag} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let id = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        Ok(TestImage { tag, id })
    }
}
