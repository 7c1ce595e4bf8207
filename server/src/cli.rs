//! The command line: `strata [serve|analyze|ci]`, parsed with clap, run on a tokio
//! runtime, with every failure reported as one line on stderr —
//! `strata: <what failed on what>; <what to do>` — and exit code 2 (1 is reserved for
//! a CI rule failure, 0 for success). No path here panics or prints a backtrace.

mod dive_ci;
mod report;

pub use dive_ci::{CiConfigError, CiFigures, CiRules, RuleResult, RuleStatus, Threshold};

use crate::engine::{Engine, EngineConfig, EngineError, LoadOptions, Loaded};
use crate::progress::{NoProgress, ProgressSink, TerminalBar};
use crate::source::Source;
use app::archive::Platform;
use clap::{Parser, Subcommand, ValueEnum};
use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Strata: explore Docker images layer by layer, find wasted space, gate CI on it.
#[derive(Debug, Parser)]
#[command(name = "strata", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub global: GlobalArgs,
}

/// Options shared by every subcommand.
#[derive(Debug, Clone, clap::Args)]
pub struct GlobalArgs {
    /// Docker daemon to use (unix:///path, tcp://host:port, https://host:port);
    /// default: $DOCKER_HOST, else unix:///var/run/docker.sock
    #[arg(long, global = true, value_name = "URL")]
    pub docker_host: Option<String>,
    /// Layer cache directory; default: $STRATA_CACHE_DIR, else $XDG_CACHE_HOME/strata,
    /// else ~/.cache/strata
    #[arg(long, global = true, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Do not read or write the on-disk layer cache
    #[arg(long, global = true)]
    pub no_cache: bool,
    /// Never read the daemon's layer store directly; always export (slower; for diagnosis)
    #[arg(long, global = true, hide = true)]
    pub no_layer_store: bool,
    /// Print where layers came from (cache, layer store, export) on stderr
    #[arg(long, short, global = true)]
    pub verbose: bool,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the web dashboard (the default when no subcommand is given)
    Serve(ServeArgs),
    /// Analyze one image and print a report
    Analyze(AnalyzeArgs),
    /// Check an image against efficiency rules (dive's .dive-ci); exit 0 pass, 1 fail, 2 error
    Ci(CiArgs),
}

#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on (loopback by default)
    #[arg(long, default_value = crate::http::DEFAULT_LISTEN, value_name = "ADDR")]
    pub listen: SocketAddr,
    /// Images to show first: docker:REF, REF, docker-archive:PATH, oci-archive:PATH, oci:DIR, or a path
    #[arg(value_name = "SOURCE")]
    pub sources: Vec<String>,
}

/// Report formats of `strata analyze`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A human-readable report
    Text,
    /// Strata's full analysis as JSON
    Json,
    /// The same JSON as `dive --json`
    DiveJson,
}

#[derive(Debug, Clone, clap::Args)]
pub struct AnalyzeArgs {
    /// The image: docker:REF, REF, docker-archive:PATH[:REF], oci-archive:PATH[:REF], oci:DIR[:REF], or a path
    #[arg(value_name = "SOURCE")]
    pub source: String,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Write the report to FILE instead of stdout
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Platform to pick from multi-platform archives (default: this host's, e.g. linux/amd64)
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    pub platform: Option<String>,
}

/// Which analysis the CI rules are evaluated on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RuleSet {
    /// dive's figures, so existing thresholds keep their meaning
    Dive,
    /// Strata's corrected figures
    Strata,
}

#[derive(Debug, Clone, clap::Args)]
pub struct CiArgs {
    /// The image: docker:REF, REF, docker-archive:PATH[:REF], oci-archive:PATH[:REF], oci:DIR[:REF], or a path
    #[arg(value_name = "SOURCE")]
    pub source: String,
    /// dive CI rules file (default: .dive-ci in the current directory, if present)
    #[arg(long, value_name = "FILE")]
    pub ci_config: Option<PathBuf>,
    /// Fail below this efficiency (0..1), or "disabled"
    #[arg(long, value_name = "RATIO")]
    pub lowest_efficiency: Option<String>,
    /// Fail above this many wasted bytes (e.g. 20MB, 1GiB), or "disabled"
    #[arg(long, value_name = "SIZE")]
    pub highest_wasted_bytes: Option<String>,
    /// Fail above this ratio of wasted bytes in user layers (0..1), or "disabled"
    #[arg(long, value_name = "RATIO")]
    pub highest_user_wasted_percent: Option<String>,
    /// Evaluate the rules on dive's figures or on Strata's
    #[arg(long, value_enum, default_value_t = RuleSet::Dive)]
    pub rules: RuleSet,
    /// Platform to pick from multi-platform archives
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    pub platform: Option<String>,
}

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
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => fail(&e),
    }
}

fn fail(e: &CliError) -> ExitCode {
    let _ = writeln!(std::io::stderr(), "strata: {}", e.0);
    ExitCode::from(2)
}

fn init_tracing(verbose: bool) {
    let default = if verbose { "server=info,warn" } else { "warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("STRATA_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .try_init();
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> Result<ExitCode, CliError> {
    let global = cli.global;
    match cli.command {
        None => {
            serve(
                &global,
                ServeArgs {
                    listen: crate::http::DEFAULT_LISTEN
                        .parse()
                        .map_err(|e| CliError(format!("bad default listen address: {e}")))?,
                    sources: Vec::new(),
                },
            )
            .await
        }
        Some(Command::Serve(args)) => serve(&global, args).await,
        Some(Command::Analyze(args)) => analyze(&global, args).await,
        Some(Command::Ci(args)) => ci(&global, args).await,
    }
}

async fn serve(global: &GlobalArgs, args: ServeArgs) -> Result<ExitCode, CliError> {
    for s in &args.sources {
        Source::parse(s).map_err(|e| CliError(format!("{e}; {}", source_hint())))?;
    }
    let config = crate::http::ServeConfig {
        listen: args.listen,
        docker_host: global.docker_host.clone(),
        cache_dir: cache_dir(global),
        sources: args.sources,
        ..crate::http::ServeConfig::default()
    };
    crate::http::serve(config).await.map_err(|e| {
        CliError(format!(
            "{e}; choose another address with --listen 127.0.0.1:PORT"
        ))
    })?;
    Ok(ExitCode::SUCCESS)
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
        ..EngineConfig::default()
    });
    if let Some(e) = engine.cache_error() {
        tracing::warn!("layer cache disabled: {e}");
    }
    engine
}

fn source_hint() -> &'static str {
    "use docker:NAME[:TAG], an image ID, docker-archive:FILE, oci-archive:FILE or oci:DIR"
}

/// Parses the source and loads the image, drawing progress on a terminal.
async fn load(
    global: &GlobalArgs,
    source: &str,
    platform: Option<&str>,
) -> Result<Loaded, CliError> {
    let parsed = Source::parse(source).map_err(|e| CliError(format!("{e}; {}", source_hint())))?;
    let platform = platform.map(Platform::parse).transpose().map_err(|e| {
        CliError(format!(
            "{e}; pass --platform like linux/amd64 or linux/arm64/v8"
        ))
    })?;
    let engine = engine(global);
    let bar = std::io::stderr()
        .is_terminal()
        .then(|| Arc::new(TerminalBar::default()));
    let sink: Arc<dyn ProgressSink> = match &bar {
        Some(b) => b.clone(),
        None => Arc::new(NoProgress),
    };
    let cancel = CancellationToken::new();
    let options = LoadOptions { platform };
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
    let r = &loaded.report;
    let line = format!(
        "layers from cache: {}/{}, from layer store: {}, from export: {}, from archive: {}",
        r.from_cache, r.layers, r.from_layer_store, r.from_export, r.from_archive
    );
    if global.verbose {
        let _ = writeln!(std::io::stderr(), "strata: {line}");
    }
    tracing::debug!("{line}");
    Ok(loaded)
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
            format!("{e}; set DOCKER_HOST or --docker-host to unix:///PATH or tcp://HOST:PORT")
        }
        EngineError::Docker(DockerError::NotFound(_)) => {
            format!("{e}; check the name with `docker image ls`, or pull or build it first")
        }
        EngineError::Docker(DockerError::Ambiguous { .. }) => {
            format!("{e}; give more digits of the ID or use NAME:TAG")
        }
        EngineError::Docker(_) => format!("{e}; check the daemon's logs and retry"),
        EngineError::Source(_) => format!("{e}; {}", source_hint()),
        EngineError::Io(_) => format!("{e}; check the path and its permissions"),
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

fn selector_example(source: &Source) -> String {
    match source {
        Source::OciDir { path, .. } => format!("oci:{}:REF", path.display()),
        Source::OciArchive { path, .. } => format!("oci-archive:{}:REF", path.display()),
        Source::DockerArchive { path, .. } | Source::ArchiveFile { path, .. } => {
            format!("docker-archive:{}:NAME:TAG", path.display())
        }
        Source::Docker(_) => "docker:NAME:TAG".to_owned(),
    }
}

async fn analyze(global: &GlobalArgs, args: AnalyzeArgs) -> Result<ExitCode, CliError> {
    let loaded = load(global, &args.source, args.platform.as_deref()).await?;
    let text = report::render(&loaded.image, args.format)?;
    write_output(args.output.as_deref(), &text)?;
    Ok(ExitCode::SUCCESS)
}

fn write_output(path: Option<&Path>, text: &str) -> Result<(), CliError> {
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
            let _ = out.write_all(text.as_bytes()).and_then(|_| out.flush());
            Ok(())
        }
    }
}

async fn ci(global: &GlobalArgs, args: CiArgs) -> Result<ExitCode, CliError> {
    let rules = ci_rules(&args)?;
    let loaded = load(global, &args.source, args.platform.as_deref()).await?;
    let figures = report::ci_figures(&loaded.image, args.rules)?;
    let results = rules.evaluate(&figures);
    let mut out = String::new();
    out.push_str(&format!(
        "strata ci: {} ({} rules)\n",
        loaded
            .image
            .tags
            .first()
            .cloned()
            .unwrap_or_else(|| loaded.image.id.to_string()),
        match args.rules {
            RuleSet::Dive => "dive",
            RuleSet::Strata => "strata",
        }
    ));
    for r in &results {
        out.push_str(&format!("  {}: {}: {}\n", r.status, r.name, r.detail));
    }
    let failed = results.iter().any(|r| r.status == RuleStatus::Fail);
    out.push_str(if failed {
        "result: FAIL\n"
    } else {
        "result: PASS\n"
    });
    write_output(None, &out)?;
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The rules: dive's defaults, then the `.dive-ci` file, then the flags.
fn ci_rules(args: &CiArgs) -> Result<CiRules, CliError> {
    let mut rules = CiRules::default();
    let file = match &args.ci_config {
        Some(p) => Some(p.clone()),
        None => Some(PathBuf::from(".dive-ci")).filter(|p| p.is_file()),
    };
    if let Some(p) = file {
        let text = std::fs::read_to_string(&p).map_err(|e| {
            CliError(format!(
                "cannot read CI config {}: {e}; check --ci-config",
                p.display()
            ))
        })?;
        rules.apply_file(&text).map_err(|e| {
            CliError(format!(
                "CI config {}: {e}; fix the file (dive's .dive-ci format)",
                p.display()
            ))
        })?;
    }
    let flag_err = |e: CiConfigError| CliError(format!("{e}; fix the command-line flag"));
    if let Some(v) = &args.lowest_efficiency {
        rules.lowest_efficiency = dive_ci::ratio("--lowest-efficiency", v).map_err(flag_err)?;
    }
    if let Some(v) = &args.highest_wasted_bytes {
        rules.highest_wasted_bytes =
            dive_ci::size("--highest-wasted-bytes", v).map_err(flag_err)?;
    }
    if let Some(v) = &args.highest_user_wasted_percent {
        rules.highest_user_wasted_percent =
            dive_ci::ratio("--highest-user-wasted-percent", v).map_err(flag_err)?;
    }
    Ok(rules)
}

#[cfg(test)]
mod tests {
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
        assert_eq!(r.lowest_efficiency, Threshold::Value(0.5));
        assert_eq!(r.highest_wasted_bytes, Threshold::Disabled);
    }
}
