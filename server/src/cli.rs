//! The command line: `strata [serve|analyze|ci|compare|sharing|cat]`, parsed with clap, run on a tokio
//! runtime, with every failure reported as one line on stderr —
//! `strata: <what failed on what>; <what to do>` — and exit code 2 (1 is reserved for
//! a CI rule failure, 0 for success). No path here panics or prints a backtrace.

mod args;
mod cat;
mod check;
mod ci;
mod compare;
mod report;
mod serve;
mod serve_args;
mod sharing;

pub use args::{
    AnalyzeArgs, CatArgs, CiArgs, Cli, Command, CompareArgs, CompareFormat, Format, GlobalArgs,
    LayerRef, RuleSet, ServeArgs, SharingArgs, SharingFormat,
};
pub use serve::{serve, ServeConfig, ServeError};
pub use serve_args::{AuthModeArg, JobsArgs, SecurityArgs, UploadArgs};

use crate::engine::{Engine, EngineConfig, EngineError, LoadOptions, Loaded};
use crate::progress::{NoProgress, ProgressSink, TerminalBar};
use crate::source::Source;
use app::archive::Platform;
use clap::Parser;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// A CLI failure: the one line to print (without the `strata: ` prefix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliError(pub String);

/// Runs the CLI and maps the outcome to an exit code (0 ok, 1 rule failure, 2 error).
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            // clap prints help/version itself (exit 0) and usage errors (exit 2).
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    init_tracing(cli.global.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return fail(&CliError(format!("cannot start the async runtime: {e}"))),
    };
    let outcome = runtime.block_on(run(cli));
    // Work still running (jobs after the serve shutdown grace) must not hold the exit.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    match outcome {
        Ok(code) => code,
        Err(e) => fail(&e),
    }
}

fn fail(e: &CliError) -> ExitCode {
    let _ = writeln!(std::io::stderr(), "strata: {}", e.0);
    ExitCode::from(2)
}

fn init_tracing(verbose: bool) {
    let default = if verbose {
        "server=info,audit=info,warn"
    } else {
        "audit=info,warn"
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("STRATA_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colours only on a terminal: logs written to files and journals stay plain.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .without_time()
        .try_init();
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> Result<ExitCode, CliError> {
    let global = cli.global;
    match cli.command {
        None => serve::run(&global, ServeArgs::defaults()).await,
        Some(Command::Serve(args)) => serve::run(&global, args).await,
        Some(Command::Analyze(args)) => analyze(&global, args).await,
        Some(Command::Ci(args)) => ci::ci(&global, args).await,
        Some(Command::Compare(args)) => compare::compare(&global, args).await,
        Some(Command::Sharing(args)) => sharing::sharing(&global, args).await,
        Some(Command::Cat(args)) => cat::cat(&global, args).await,
        Some(Command::Check(args)) => check::check(&global, args).await,
    }
}

fn cache_dir(global: &GlobalArgs) -> Option<PathBuf> {
    if global.no_cache {
        None
    } else {
        crate::cache::default_dir(global.cache_dir.as_deref())
    }
}

fn engine(global: &GlobalArgs) -> Engine {
    let engine = Engine::new(EngineConfig {
        docker_host: global.docker_host.clone(),
        cache_dir: cache_dir(global),
        use_layer_store: !global.no_layer_store,
        registry: global.registry_settings(),
        ..EngineConfig::default()
    });
    if let Some(e) = engine.cache_error() {
        tracing::warn!("layer cache disabled: {e}");
    }
    engine
}

fn source_hint() -> &'static str {
    "use docker:NAME[:TAG], an image ID, docker-archive:FILE, oci-archive:FILE, oci:DIR or registry:HOST/REPO:TAG"
}

/// A loaded image with what the reports need besides it.
pub(crate) struct Prepared {
    pub source: Source,
    pub loaded: Loaded,
    /// Base-image layer count when another local image is the base.
    pub base_layers: Option<u32>,
}

/// Parses the source and loads the image, drawing progress on a terminal.
pub(crate) async fn load(
    global: &GlobalArgs,
    source: &str,
    platform: Option<&str>,
) -> Result<Prepared, CliError> {
    let parsed = Source::parse(source).map_err(|e| CliError(format!("{e}; {}", source_hint())))?;
    let platform = platform.map(Platform::parse).transpose().map_err(|e| {
        CliError(format!(
            "{e}; pass --platform like linux/amd64 or linux/arm64/v8"
        ))
    })?;
    let engine = engine(global);
    let bar = std::io::stderr()
        .is_terminal()
        .then(|| TerminalBar::new(vec![String::new()]));
    let sink: Arc<dyn ProgressSink> = match &bar {
        Some(b) => Arc::new(b.slot(0)),
        None => Arc::new(NoProgress),
    };
    let cancel = CancellationToken::new();
    let options = LoadOptions { platform };
    let started = std::time::Instant::now();
    let result = tokio::select! {
        r = engine.load(&parsed, &options, sink, cancel.clone()) => r,
        _ = tokio::signal::ctrl_c() => {
            cancel.cancel();
            Err(EngineError::Cancelled)
        }
    };
    if let Some(b) = &bar {
        b.clear();
    }
    let loaded = result.map_err(|e| load_error(&e, &parsed, global))?;
    let line = format!(
        "{} (engine {} ms)",
        loaded.report,
        started.elapsed().as_millis()
    );
    if global.verbose {
        let _ = writeln!(std::io::stderr(), "strata: {line}");
    }
    tracing::debug!("{line}");
    let base = if parsed.is_docker() {
        engine.base_layers(&loaded.image).await
    } else {
        None
    };
    if let (true, Some(b)) = (global.verbose, base) {
        let _ = writeln!(std::io::stderr(), "strata: base image: layers 0..{b}");
    }
    Ok(Prepared {
        source: parsed,
        loaded,
        base_layers: base,
    })
}

/// The one-line message for a load failure: what failed on what; what to do.
fn load_error(e: &EngineError, source: &Source, global: &GlobalArgs) -> CliError {
    use crate::source::docker::DockerError;
    let msg = match e {
        EngineError::Docker(DockerError::Unavailable { .. }) => format!(
            "{e}; start dockerd or set DOCKER_HOST{}, or analyze an archive: strata analyze docker-archive:FILE",
            if global.docker_host.is_some() { " / --docker-host" } else { "" }
        ),
        EngineError::Docker(DockerError::Config { .. }) => {
            format!(
                "{e}; set DOCKER_HOST or --docker-host to unix:///PATH or tcp://HOST:PORT \
                 (with TLS: ca.pem, cert.pem and key.pem in DOCKER_CERT_PATH)"
            )
        }
        EngineError::Docker(DockerError::NotFound(_)) => {
            format!("{e}; check the name with `docker image ls`, or pull or build it first")
        }
        EngineError::Docker(DockerError::Ambiguous { .. }) => {
            format!("{e}; give more digits of the ID or use NAME:TAG")
        }
        EngineError::Docker(_) => format!("{e}; check the daemon's logs and retry"),
        EngineError::Registry(r) => registry_hint(e, r),
        EngineError::Source(_) => format!("{e}; {}", source_hint()),
        EngineError::Io { .. } => format!("{e}; check the path and its permissions"),
        EngineError::NotALayout { .. } => {
            format!("{e}; give the layout directory itself (the one holding oci-layout and index.json)")
        }
        EngineError::Archive { error, .. } => {
            use app::archive::ArchiveError as A;
            match error {
                A::SeveralImages { .. } | A::NoMatch { .. } => {
                    format!("{e}; select one with {}", selector_example(source))
                }
                A::PlatformRequired { .. } | A::NoPlatformMatch { .. } => {
                    format!("{e}; pass --platform OS/ARCH")
                }
                _ => format!("{e}; the image data is unusable; re-create the archive or re-pull the image"),
            }
        }
        EngineError::Inconsistent { .. } => {
            format!("{e}; the image may have changed while reading; retry")
        }
        EngineError::Cancelled => "cancelled".to_owned(),
        EngineError::Internal(_) => format!("{e}; please report this bug"),
    };
    CliError(msg)
}

/// Registry errors mostly carry their own advice; a few get the command to run.
fn registry_hint(e: &EngineError, r: &crate::registry::RegistryError) -> String {
    use crate::registry::RegistryError as R;
    use app::distribution::DistributionError as D;
    match r {
        R::NotFound { .. } => {
            format!("{e}; check the repository and tag (skopeo list-tags docker://REPO lists them)")
        }
        R::Distribution {
            error: D::NoPlatform { .. },
            ..
        } => format!("{e}; pass --platform OS/ARCH"),
        R::Unreachable { .. } | R::Stalled { .. } | R::Status { .. } => {
            format!("{e}; check the address and that the registry is up, then retry")
        }
        _ => e.to_string(),
    }
}

fn selector_example(source: &Source) -> String {
    match source {
        Source::OciDir { path, .. } => format!("oci:{}:REF", path.display()),
        Source::OciArchive { path, .. } => format!("oci-archive:{}:REF", path.display()),
        Source::DockerArchive { path, .. } | Source::ArchiveFile { path, .. } => {
            format!("docker-archive:{}:NAME:TAG", path.display())
        }
        Source::Docker(_) => "docker:NAME:TAG".to_owned(),
        Source::Registry(r) => format!("registry:{}/{}@sha256:DIGEST", r.registry, r.repository),
    }
}

async fn analyze(global: &GlobalArgs, args: AnalyzeArgs) -> Result<ExitCode, CliError> {
    let Prepared {
        source,
        loaded,
        base_layers,
    } = load(global, &args.source, args.platform.as_deref()).await?;
    let members = match (&source, args.format) {
        (
            Source::DockerArchive { path, .. } | Source::ArchiveFile { path, .. },
            Format::DiveJson,
        ) => {
            let (path, id) = (path.clone(), loaded.image.id.clone());
            let max_json = app::limits::Limits::default().max_json;
            tokio::task::spawn_blocking(move || {
                crate::source::archive_file::layer_members(&path, &id, max_json)
            })
            .await
            .ok()
            .flatten()
        }
        (Source::Docker(_), Format::DiveJson) => {
            // dive reads `docker save` output: its layer IDs are the export's member names.
            engine(global)
                .export_layer_members(&loaded.image.id)
                .await
                .map_err(|e| load_error(&e, &source, global))?
        }
        (Source::OciDir { .. } | Source::OciArchive { .. }, Format::DiveJson) => Some(
            loaded
                .image
                .layers
                .iter()
                .map(|l| format!("blobs/sha256/{}", l.diff_id.hex()))
                .collect(),
        ),
        _ => None,
    };
    let image = loaded.image.clone();
    let format = args.format;
    let started = std::time::Instant::now();
    let bytes =
        tokio::task::spawn_blocking(move || report::render(&image, format, members, base_layers))
            .await
            .map_err(|e| {
                CliError(format!("analysis task failed: {e}; please report this bug"))
            })??;
    if global.verbose {
        let _ = writeln!(
            std::io::stderr(),
            "strata: analysis and report {} ms",
            started.elapsed().as_millis()
        );
    }
    write_output(args.output.as_deref(), &bytes)?;
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn write_output(path: Option<&Path>, text: &[u8]) -> Result<(), CliError> {
    match path {
        Some(p) => std::fs::write(p, text).map_err(|e| {
            CliError(format!(
                "cannot write {}: {e}; choose a writable path with -o",
                p.display()
            ))
        }),
        None => {
            let mut out = std::io::stdout().lock();
            // A closed pipe (`| head`) is not an error worth reporting.
            let _ = out.write_all(text).and_then(|_| out.flush());
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ci::ci_rules;
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn parses_subcommands() {
        let c = Cli::try_parse_from([
            "strata",
            "analyze",
            "busybox",
            "--format",
            "dive-json",
            "-o",
            "x.json",
        ])
        .unwrap();
        assert!(matches!(
            c.command,
            Some(Command::Analyze(AnalyzeArgs {
                format: Format::DiveJson,
                ..
            }))
        ));
        let c = Cli::try_parse_from([
            "strata",
            "ci",
            "x.tar",
            "--highest-wasted-bytes",
            "20MB",
            "--rules",
            "strata",
        ])
        .unwrap();
        assert!(matches!(
            c.command,
            Some(Command::Ci(CiArgs {
                rules: RuleSet::Strata,
                ..
            }))
        ));
        let c = Cli::try_parse_from(["strata"]).unwrap();
        assert!(c.command.is_none());
        let c = Cli::try_parse_from([
            "strata",
            "serve",
            "--listen",
            "127.0.0.1:9000",
            "--docker-host",
            "unix:///x.sock",
        ])
        .unwrap();
        assert_eq!(c.global.docker_host.as_deref(), Some("unix:///x.sock"));
    }

    #[test]
    fn parses_compare_and_sharing() {
        let c = Cli::try_parse_from([
            "strata",
            "compare",
            "a:1",
            "docker-archive:b.tar",
            "--format",
            "markdown",
            "--fail-if-larger",
            "12.5%",
            "--layers",
            "a:2",
            "B:0",
        ])
        .unwrap();
        let Some(Command::Compare(args)) = c.command else {
            panic!("compare")
        };
        assert_eq!(args.sources, ["a:1", "docker-archive:b.tar"]);
        assert_eq!(args.format, CompareFormat::Markdown);
        assert_eq!(args.fail_if_larger, Some(12.5));
        assert_eq!(
            args.layers,
            Some(vec![
                LayerRef { image: 0, layer: 2 },
                LayerRef { image: 1, layer: 0 }
            ])
        );
        for bad in [
            &["strata", "compare", "a"][..],
            &["strata", "compare", "a", "b", "c", "d", "e"],
            &["strata", "compare", "a", "b", "--fail-if-larger", "-3"],
            &["strata", "compare", "a", "b", "--layers", "E:1", "A:0"],
            &["strata", "compare", "a", "b", "--layers", "A:x", "A:0"],
            &["strata", "compare", "a", "b", "--layers", "A:1"],
        ] {
            assert!(Cli::try_parse_from(bad).is_err(), "{bad:?}");
        }
        let c = Cli::try_parse_from(["strata", "sharing", "--format", "json"]).unwrap();
        assert!(matches!(
            c.command,
            Some(Command::Sharing(SharingArgs {
                format: SharingFormat::Json,
                ..
            }))
        ));
    }

    #[test]
    fn flags_override_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ci.yaml");
        std::fs::write(
            &p,
            "rules:\n  lowestEfficiency: 0.5\n  highestWastedBytes: 1KB\n",
        )
        .unwrap();
        let c = Cli::try_parse_from([
            "strata",
            "ci",
            "x",
            "--ci-config",
            p.to_str().unwrap(),
            "--highest-wasted-bytes",
            "disabled",
        ])
        .unwrap();
        let Some(Command::Ci(args)) = c.command else {
            panic!("ci")
        };
        let r = ci_rules(&args).unwrap();
        assert_eq!(r.lowest_efficiency, "0.5");
        assert_eq!(r.highest_wasted_bytes, "disabled");
        let c = Cli::try_parse_from(["strata", "ci", "x", "--lowest-efficiency", "high"]).unwrap();
        let Some(Command::Ci(args)) = c.command else {
            panic!("ci")
        };
        let err = ci_rules(&args).unwrap_err().0;
        assert!(
            err.starts_with("CI rule lowestEfficiency: invalid config value"),
            "{err}"
        );
    }
}
