//! The command-line grammar (clap derive): `strata [serve|analyze|ci|compare|sharing]` and the options
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
    /// Docker config holding registry credentials; default: $DOCKER_CONFIG/config.json,
    /// else ~/.docker/config.json (auths, credsStore and credHelpers are honoured)
    #[arg(long, global = true, value_name = "FILE")]
    pub registry_config: Option<PathBuf>,
    /// Also trust this CA certificate (PEM) for registries (repeatable)
    #[arg(long, global = true, value_name = "FILE")]
    pub registry_ca: Vec<PathBuf>,
    /// Allow plain HTTP for this registry (repeatable; loopback registries always may)
    #[arg(long, global = true, value_name = "HOST[:PORT]")]
    pub insecure_registry: Vec<String>,
    /// Fail a registry read after SECS seconds of silence (default 30; tests use a short one)
    #[arg(long, global = true, hide = true, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    pub registry_timeout: Option<u64>,
}

impl GlobalArgs {
    /// How registries are reached, from the registry flags.
    pub fn registry_settings(&self) -> crate::registry::RegistrySettings {
        let mut s = crate::registry::RegistrySettings {
            config_file: self.registry_config.clone(),
            ca_files: self.registry_ca.clone(),
            insecure: self.insecure_registry.clone(),
            ..Default::default()
        };
        if let Some(secs) = self.registry_timeout {
            s.stall_timeout = std::time::Duration::from_secs(secs);
        }
        s
    }
}

/// The subcommands.
#[derive(Debug, Subcommand)]
// Parsed once per process; boxing the serve flags would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum Command {
    /// Start the web dashboard (the default when no subcommand is given)
    Serve(ServeArgs),
    /// Analyze one image and print a report
    Analyze(AnalyzeArgs),
    /// Check an image against efficiency rules (dive's .dive-ci); exit 0 pass, 1 fail, 2 error
    Ci(CiArgs),
    /// Compare 2–4 images side by side (the first is the baseline); exit 1 when
    /// --fail-if-larger trips, 2 on error
    Compare(CompareArgs),
    /// Show which layers the local daemon's images share and what sharing saves
    Sharing(SharingArgs),
    /// Write the bytes of a file in the image to stdout (the final filesystem, or the
    /// version stored in one layer), or diff two layers' versions
    Cat(CatArgs),
    /// Find secrets and build leftovers in every layer (deleted files still ship), with
    /// the fix for each; exit 0 pass, 1 findings at or above --fail-on, 2 error
    Check(CheckArgs),
}

#[derive(Debug, Clone, clap::Args)]
pub struct CheckArgs {
    /// The image: docker:REF, REF, docker-archive:PATH[:REF], oci-archive:PATH[:REF], oci:DIR[:REF], registry:HOST/REPO[:TAG|@DIGEST], or a path
    #[arg(value_name = "SOURCE")]
    pub source: String,
    /// Report format
    #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
    pub format: CheckFormat,
    /// Exit 1 when a finding has this severity or a higher one: low, medium or high
    #[arg(long, default_value = "high", value_name = "SEVERITY")]
    pub fail_on: String,
    /// Write the report here instead of stdout
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Platform to pick from multi-platform archives
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    pub platform: Option<String>,
}

/// Report formats of `strata check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    /// A human-readable report
    Text,
    /// The findings as JSON
    Json,
}

#[derive(Debug, Clone, clap::Args)]
pub struct CatArgs {
    /// The image: docker:REF, REF, docker-archive:PATH[:REF], oci-archive:PATH[:REF], oci:DIR[:REF], registry:HOST/REPO[:TAG|@DIGEST], or a path
    #[arg(value_name = "SOURCE")]
    pub source: String,
    /// The file's path inside the image, e.g. /etc/os-release
    #[arg(value_name = "PATH")]
    pub path: String,
    /// The version stored in layer N (0 = bottom), even if a later layer deletes it
    #[arg(long, value_name = "N", conflicts_with = "diff")]
    pub layer: Option<u32>,
    /// Print a unified diff of the versions stored in two layers
    #[arg(long, num_args = 2, value_names = ["LAYER_A", "LAYER_B"])]
    pub diff: Option<Vec<u32>>,
    /// Platform to pick from multi-platform archives (default: this host's, e.g. linux/amd64)
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    pub platform: Option<String>,
}

#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on (loopback by default)
    #[arg(long, default_value = crate::http::DEFAULT_LISTEN, value_name = "ADDR")]
    pub listen: SocketAddr,
    /// Built UI directory (trunk's dist/); overrides $STRATA_DIST_DIR
    #[arg(long, value_name = "DIR")]
    pub dist_dir: Option<PathBuf>,
    /// Also accept this Host header name (repeatable; loopback names are always
    /// accepted), e.g. when reached through a proxy or another host name
    #[arg(long = "allowed-host", value_name = "HOST")]
    pub allowed_hosts: Vec<String>,
    #[command(flatten)]
    pub security: super::SecurityArgs,
    #[command(flatten)]
    pub jobs: super::JobsArgs,
    #[command(flatten)]
    pub uploads: super::UploadArgs,
    /// Fail an export when the daemon sends no data for SECS seconds (default 60; tests
    /// use a short one)
    #[arg(long, hide = true, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    pub export_idle_timeout: Option<u64>,
    /// A registry to browse on the Registries page, NAME=HOST[:PORT] (https) or
    /// NAME=http://HOST[:PORT] (repeatable; credentials from the docker config). Only
    /// these registries are ever contacted for users
    #[arg(long = "registry", value_name = "NAME=HOST")]
    pub registries: Vec<String>,
    /// A Docker host to list and browse, NAME=URL (repeatable): unix://PATH,
    /// tcp://HOST:PORT, https://HOST:PORT (TLS) or ssh://USER@HOST[:PORT] (runs `ssh …
    /// docker system dial-stdio`, as the docker CLI does). With it, only these hosts are
    /// used (add local=unix:///var/run/docker.sock for this machine's daemon)
    #[arg(long = "docker", value_name = "NAME=URL")]
    pub docker_hosts: Vec<String>,
    /// TLS files (ca.pem, cert.pem, key.pem) of one --docker host, NAME=DIR (repeatable;
    /// default: $DOCKER_CERT_PATH, else ~/.docker, for https:// hosts)
    #[arg(long = "docker-cert-path", value_name = "NAME=DIR")]
    pub docker_cert_paths: Vec<String>,
    /// Images to open at start and list first, beside the daemon's: docker-archive:PATH,
    /// oci-archive:PATH, oci:DIR, a path, docker:REF or REF
    #[arg(value_name = "SOURCE")]
    pub sources: Vec<String>,
}

impl ServeArgs {
    /// The flags of a bare `strata` (no subcommand): every default.
    pub fn defaults() -> ServeArgs {
        #[derive(Parser)]
        struct Bare {
            #[command(flatten)]
            serve: ServeArgs,
        }
        Bare::parse_from(["strata"]).serve
    }
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
    /// The image: docker:REF, REF, docker-archive:PATH[:REF], oci-archive:PATH[:REF], oci:DIR[:REF], registry:HOST/REPO[:TAG|@DIGEST], or a path
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
    /// The image: docker:REF, REF, docker-archive:PATH[:REF], oci-archive:PATH[:REF], oci:DIR[:REF], registry:HOST/REPO[:TAG|@DIGEST], or a path
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

/// Report formats of `strata compare`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompareFormat {
    /// A human-readable report
    Text,
    /// The full comparison as JSON
    Json,
    /// Markdown for a pull-request comment
    Markdown,
}

#[derive(Debug, Clone, clap::Args)]
pub struct CompareArgs {
    /// 2 to 4 images, the baseline first: docker:REF, REF, docker-archive:PATH[:REF],
    /// oci-archive:PATH[:REF], oci:DIR[:REF], or a path
    #[arg(value_name = "SOURCE", num_args = 2..=4, required = true)]
    pub sources: Vec<String>,
    /// Output format
    #[arg(long, value_enum, default_value_t = CompareFormat::Text)]
    pub format: CompareFormat,
    /// Write the report to FILE instead of stdout
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Platform to pick from multi-platform archives (default: this host's)
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    pub platform: Option<String>,
    /// Exit 1 when an image after the first is more than PCT percent larger than the first
    #[arg(long, value_name = "PCT", value_parser = parse_pct)]
    pub fail_if_larger: Option<f64>,
    /// Also diff two chosen layers: image label (A, B, ...) and 0-based layer index,
    /// e.g. --layers A:2 B:3
    #[arg(long, value_name = "IMAGE:LAYER", num_args = 2, value_parser = parse_layer_ref)]
    pub layers: Option<Vec<LayerRef>>,
}

/// One side of `--layers`: image `image` (0 = A) as of layer `layer`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayerRef {
    pub image: usize,
    pub layer: u32,
}

/// Parses `A:3` (or `a:3`) into image 0, layer 3.
fn parse_layer_ref(s: &str) -> Result<LayerRef, String> {
    let bad = || format!("{s:?} is not IMAGE:LAYER (e.g. A:0, B:3)");
    let (label, layer) = s.split_once(':').ok_or_else(bad)?;
    let image = match label.as_bytes() {
        [c @ (b'A'..=b'D' | b'a'..=b'd')] => usize::from(c.to_ascii_uppercase() - b'A'),
        _ => return Err(format!("{s:?}: the image is a label A, B, C or D")),
    };
    let layer = layer.parse::<u32>().map_err(|_| bad())?;
    Ok(LayerRef { image, layer })
}

/// Parses a growth limit in percent: `10`, `2.5`, `10%`.
fn parse_pct(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .trim_end_matches('%')
        .parse()
        .map_err(|_| format!("{s:?} is not a percentage (e.g. 10 or 2.5%)"))?;
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err(format!("{s:?}: the percentage must be 0 or more"))
    }
}

/// Report formats of `strata sharing`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SharingFormat {
    /// A human-readable report
    Text,
    /// The full sharing map as JSON
    Json,
}

#[derive(Debug, Clone, clap::Args)]
pub struct SharingArgs {
    /// Output format
    #[arg(long, value_enum, default_value_t = SharingFormat::Text)]
    pub format: SharingFormat,
    /// Write the report to FILE instead of stdout
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}
