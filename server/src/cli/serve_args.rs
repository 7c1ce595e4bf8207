//! The `strata serve` flags of the HTTP edge (security, analysis jobs, uploads) as clap
//! derives, each converted into the plain settings [`crate::http`] takes
//! (`From<SecurityArgs> for SecurityConfig`, ...), so `http` does not depend on clap.
//! Parsing and validation of single values (seconds, sizes) happen here; the settings
//! structs own their defaults.

use crate::http::{
    AuthMode, Cidr, JobsConfig, SecurityConfig, UploadConfig, DEFAULT_BURST, DEFAULT_GRACE_SECS,
    DEFAULT_MAX_JOBS_PER_USER, DEFAULT_MAX_JOB_SECS, DEFAULT_PROXY_HEADER, DEFAULT_RATE,
    DEFAULT_UPLOAD_IDLE_SECS,
};
use clap::ValueEnum;
use std::path::PathBuf;

/// How callers prove who they are (`--auth`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum AuthModeArg {
    /// No authentication; only a loopback listen address is allowed
    #[default]
    None,
    /// Static bearer tokens from --tokens-file (browsers: open the URL with ?token=TOKEN once)
    Token,
    /// A user name header (--auth-proxy-header) set by a reverse proxy in --trusted-proxy
    ProxyHeader,
}

impl From<AuthModeArg> for AuthMode {
    fn from(a: AuthModeArg) -> AuthMode {
        match a {
            AuthModeArg::None => AuthMode::None,
            AuthModeArg::Token => AuthMode::Token,
            AuthModeArg::ProxyHeader => AuthMode::ProxyHeader,
        }
    }
}

/// Auth mode, write gate and rate limits.
#[derive(Debug, Clone, clap::Args)]
pub struct SecurityArgs {
    /// Authentication: none (loopback only), token (--tokens-file) or proxy-header
    #[arg(long = "auth", value_enum, default_value_t = AuthModeArg::None)]
    pub auth: AuthModeArg,
    /// With --auth token: lines `ROLE TOKEN [NAME]` or `ROLE sha256:HEX [NAME]`, roles
    /// viewer|admin; without it one admin token is generated and printed as a URL
    #[arg(long, value_name = "FILE")]
    pub tokens_file: Option<PathBuf>,
    /// With --auth proxy-header: the header holding the user name
    #[arg(long, value_name = "HEADER", default_value = DEFAULT_PROXY_HEADER)]
    pub auth_proxy_header: String,
    /// Peers whose user header and X-Forwarded-For are believed (repeatable)
    #[arg(long = "trusted-proxy", value_name = "CIDR")]
    pub trusted_proxies: Vec<Cidr>,
    /// With --auth proxy-header: users that get the admin role (repeatable; others are viewers)
    #[arg(long = "admin-user", value_name = "USER")]
    pub admin_users: Vec<String>,
    /// Enable write operations (admins only); without it the server is read-only
    #[arg(long)]
    pub allow_write: bool,
    /// Requests per second per client (0 = unlimited)
    #[arg(long, value_name = "N", default_value_t = DEFAULT_RATE)]
    pub rate_limit: u32,
    /// Burst size per client
    #[arg(long, value_name = "N", default_value_t = DEFAULT_BURST)]
    pub rate_burst: u32,
}

impl From<SecurityArgs> for SecurityConfig {
    fn from(a: SecurityArgs) -> SecurityConfig {
        SecurityConfig {
            auth: a.auth.into(),
            tokens_file: a.tokens_file,
            auth_proxy_header: a.auth_proxy_header,
            trusted_proxies: a.trusted_proxies,
            admin_users: a.admin_users,
            allow_write: a.allow_write,
            rate_limit: a.rate_limit,
            rate_burst: a.rate_burst,
        }
    }
}

/// Analysis jobs: grace period with nobody waiting, per-user cap, time limit.
#[derive(Debug, Clone, clap::Args)]
pub struct JobsArgs {
    /// Cancel a running analysis nobody has watched or polled for SECS seconds
    #[arg(long = "job-grace-secs", hide = true, value_name = "SECS", default_value_t = DEFAULT_GRACE_SECS, value_parser = parse_secs)]
    pub grace_secs: f64,
    /// Analyses one user (or client address without auth) may have running at once;
    /// joining an analysis someone else started does not count (0 = no cap)
    #[arg(long = "max-jobs-per-user", value_name = "N", default_value_t = DEFAULT_MAX_JOBS_PER_USER)]
    pub max_per_user: u32,
    /// Stop an analysis (export, parsing and all) that runs longer than SECS seconds,
    /// time in the export queue included; nothing of it is cached
    #[arg(long = "max-job-secs", value_name = "SECS", default_value_t = DEFAULT_MAX_JOB_SECS, value_parser = parse_secs)]
    pub max_secs: f64,
}

impl From<JobsArgs> for JobsConfig {
    fn from(a: JobsArgs) -> JobsConfig {
        JobsConfig {
            grace_secs: a.grace_secs,
            max_per_user: a.max_per_user,
            max_secs: a.max_secs,
        }
    }
}

fn parse_secs(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v <= 86_400.0 => Ok(v),
        _ => Err(format!(
            "{s:?} is not a number of seconds above 0 and at most 86400 (e.g. 15 or 0.5)"
        )),
    }
}

/// Archive uploads from the UI.
#[derive(Debug, Clone, clap::Args)]
pub struct UploadArgs {
    /// Turn off archive uploads from the UI (POST /api/v1/uploads then answers 403)
    #[arg(long)]
    pub no_upload: bool,
    /// Largest archive accepted by upload (e.g. 500MB, 4GiB)
    #[arg(long, value_name = "SIZE", default_value = "4GiB", value_parser = parse_upload_size)]
    pub max_upload_size: u64,
    /// Seconds an upload may send no bytes before it is abandoned with 408
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_UPLOAD_IDLE_SECS)]
    pub upload_idle_timeout: u64,
    /// Directory for uploads in progress (default: a private directory under $TMPDIR)
    #[arg(long, value_name = "DIR")]
    pub upload_dir: Option<PathBuf>,
}

impl From<UploadArgs> for UploadConfig {
    fn from(a: UploadArgs) -> UploadConfig {
        UploadConfig {
            no_upload: a.no_upload,
            max_upload_size: a.max_upload_size,
            upload_idle_timeout: a.upload_idle_timeout,
            upload_dir: a.upload_dir,
        }
    }
}

/// `--max-upload-size`: a size like `500MB` or `4GiB`, more than zero.
fn parse_upload_size(s: &str) -> Result<u64, String> {
    match app::analysis::dive::parse_size(s) {
        Ok(0) => Err(format!(
            "{s:?} is not a positive size; use e.g. 500MB or 4GiB"
        )),
        Ok(n) => Ok(n),
        Err(e) => Err(format!("{s:?} is not a size ({e}); use e.g. 500MB or 4GiB")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Flags {
        #[command(flatten)]
        security: SecurityArgs,
        #[command(flatten)]
        jobs: JobsArgs,
        #[command(flatten)]
        uploads: UploadArgs,
    }

    #[test]
    fn flag_defaults_are_the_settings_defaults() {
        let f = Flags::parse_from(["strata"]);
        let s = SecurityConfig::from(f.security);
        let d = SecurityConfig::default();
        assert_eq!(
            (s.auth, s.auth_proxy_header, s.rate_limit, s.rate_burst),
            (d.auth, d.auth_proxy_header, d.rate_limit, d.rate_burst)
        );
        let j = JobsConfig::from(f.jobs);
        let dj = JobsConfig::default();
        assert_eq!(
            (j.grace_secs, j.max_per_user, j.max_secs),
            (dj.grace_secs, dj.max_per_user, dj.max_secs)
        );
        let u = UploadConfig::from(f.uploads);
        let du = UploadConfig::default();
        assert_eq!(
            (u.no_upload, u.max_upload_size, u.upload_idle_timeout),
            (du.no_upload, du.max_upload_size, du.upload_idle_timeout)
        );
    }

    #[test]
    fn bad_values_are_refused() {
        assert!(parse_secs("0").is_err() && parse_secs("nan").is_err());
        assert_eq!(parse_secs("0.5"), Ok(0.5));
    }

    #[test]
    fn upload_sizes_parse_and_zero_is_refused() {
        assert_eq!(parse_upload_size("4GiB"), Ok(4 << 30));
        assert_eq!(parse_upload_size("500MB"), Ok(500_000_000));
        assert!(parse_upload_size("0").is_err());
        assert!(parse_upload_size("lots").is_err());
    }
}
