//! The command-line grammar (clap derive): `strata [serve|analyze|ci]` and the options
//! shared by every subcommand. Parsing only; running is in [`super`].

use clap::{Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Strata: explore Docker images layer by layer, find wasted space, gate CI on it.
#[derive(Debug, Parser)]
#[command(name = "strata", version, propagate_version = true)]
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
