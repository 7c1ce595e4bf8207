//! Registry credentials the way the docker CLI finds them: `~/.docker/config.json`
//! (or `$DOCKER_CONFIG/config.json`, or `--registry-config FILE`), its `auths` entries
//! (`auth` = base64 `user:password`, separate `username`/`password`, `identitytoken`),
//! and the credential helpers it names (`credHelpers` per registry, `credsStore` for the
//! rest), run as `docker-credential-NAME get` with the server name on stdin.
//!
//! Invariants: secrets never appear in `Debug` output or error messages; a helper that
//! hangs is killed after [`HELPER_TIMEOUT`]; a missing config file means anonymous.

use base64::Engine as _;
use serde::Deserialize;
use std::collections::HashMap;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Longest a credential helper may take.
pub const HELPER_TIMEOUT: Duration = Duration::from_secs(20);
/// Largest config file read.
const MAX_CONFIG: u64 = 4 << 20;

/// What a registry is asked with.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// A user name and password (or personal access token).
    Basic { username: String, password: String },
    /// An OAuth2 refresh token (`identitytoken`), exchanged at the token endpoint.
    IdentityToken(String),
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::Basic { username, .. } => write!(f, "Basic({username}, ***)"),
            Credential::IdentityToken(_) => f.write_str("IdentityToken(***)"),
        }
    }
}

/// Why credentials could not be read.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CredentialError {
    #[error("cannot read docker config {path}: {message}")]
    Config { path: PathBuf, message: String },
    #[error("credential helper docker-credential-{helper} failed for {registry}: {message}")]
    Helper {
        helper: String,
        registry: String,
        message: String,
    },
}

#[derive(Debug, Default, Deserialize)]
struct ConfigFile {
    #[serde(default)]
    auths: HashMap<String, AuthEntry>,
    #[serde(rename = "credsStore", default)]
    creds_store: Option<String>,
    #[serde(rename = "credHelpers", default)]
    cred_helpers: HashMap<String, String>,
}

#[derive(Default, Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(rename = "identitytoken", default)]
    identity_token: Option<String>,
}

impl fmt::Debug for AuthEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuthEntry(***)")
    }
}

/// A loaded docker config.
#[derive(Debug, Default)]
pub struct DockerConfig {
    path: Option<PathBuf>,
    file: ConfigFile,
    /// Where helpers are looked up; `None` = `PATH`, as docker does.
    helper_dir: Option<PathBuf>,
}

impl DockerConfig {
    /// The config docker would use: `explicit`, else `$DOCKER_CONFIG/config.json`, else
    /// `~/.docker/config.json`. A missing file is an empty config; an unreadable or
    /// malformed one is an error (silently going anonymous would hide the cause).
    pub fn load(explicit: Option<&Path>) -> Result<Self, CredentialError> {
        let path = match explicit {
            Some(p) => Some(p.to_owned()),
            None => default_path(),
        };
        let Some(path) = path else {
            return Ok(DockerConfig::default());
        };
        let err = |message: String| CredentialError::Config {
            path: path.clone(),
            message,
        };
        let bytes = match std::fs::metadata(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && explicit.is_none() => {
                return Ok(DockerConfig::default())
            }
            Err(e) => return Err(err(e.to_string())),
            Ok(m) if m.len() > MAX_CONFIG => {
                return Err(err(format!("larger than {MAX_CONFIG} bytes")))
            }
            Ok(_) => std::fs::read(&path).map_err(|e| err(e.to_string()))?,
        };
        let file: ConfigFile =
            serde_json::from_slice(&bytes).map_err(|e| err(format!("not valid JSON: {e}")))?;
        Ok(DockerConfig {
            path: Some(path),
            file,
            helper_dir: None,
        })
    }

    /// Looks credential helpers up in `dir` instead of `PATH`.
    pub fn with_helper_dir(mut self, dir: PathBuf) -> Self {
        self.helper_dir = Some(dir);
        self
    }

    /// Where the config was read from.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The credential for `registry` (`host[:port]`), `Ok(None)` for anonymous.
    pub fn credential(&self, registry: &str) -> Result<Option<Credential>, CredentialError> {
        let keys = candidate_keys(registry);
        let helper = keys
            .iter()
            .find_map(|k| self.file.cred_helpers.get(k))
            .or(self.file.creds_store.as_ref());
        if let Some(helper) = helper.filter(|h| !h.is_empty()) {
            if let Some(c) = run_helper(self.helper_dir.as_deref(), helper, &keys[0])? {
                return Ok(Some(c));
            }
        }
        let entry = self
            .file
            .auths
            .iter()
            .find(|(k, _)| keys.iter().any(|c| normalize_key(k) == *c))
            .map(|(_, v)| v);
        Ok(entry.and_then(entry_credential))
    }
}

fn default_path() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir).join("config.json"));
    }
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|h| PathBuf::from(h).join(".docker/config.json"))
}

/// The names a registry may be stored under: itself, and Docker Hub's legacy URL.
fn candidate_keys(registry: &str) -> Vec<String> {
    match registry {
        "docker.io" | "index.docker.io" | "registry-1.docker.io" => vec![
            "https://index.docker.io/v1/".into(),
            "docker.io".into(),
            "index.docker.io".into(),
        ],
        other => vec![other.to_owned()],
    }
}

/// `https://host:5000/v2/` → `host:5000` (docker accepts both spellings in `auths`).
fn normalize_key(key: &str) -> String {
    if key == "https://index.docker.io/v1/" {
        return key.to_owned();
    }
    let k = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    k.split('/').next().unwrap_or(k).to_owned()
}

fn entry_credential(e: &AuthEntry) -> Option<Credential> {
    if let Some(t) = e.identity_token.as_ref().filter(|t| !t.is_empty()) {
        return Some(Credential::IdentityToken(t.clone()));
    }
    if let Some(auth) = e.auth.as_ref().filter(|a| !a.is_empty()) {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(auth.trim())
            .ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let (username, password) = text.split_once(':')?;
        return Some(Credential::Basic {
            username: username.to_owned(),
            password: password.to_owned(),
        });
    }
    match (&e.username, &e.password) {
        (Some(u), Some(p)) if !u.is_empty() => Some(Credential::Basic {
            username: u.clone(),
            password: p.clone(),
        }),
        _ => None,
    }
}

#[derive(Deserialize)]
struct HelperAnswer {
    #[serde(rename = "Username", default)]
    username: String,
    #[serde(rename = "Secret", default)]
    secret: String,
}

/// Runs `docker-credential-<helper> get`; `Ok(None)` when it knows no credentials.
fn run_helper(
    dir: Option<&Path>,
    helper: &str,
    server: &str,
) -> Result<Option<Credential>, CredentialError> {
    let fail = |message: String| CredentialError::Helper {
        helper: helper.to_owned(),
        registry: server.to_owned(),
        message,
    };
    if !helper
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return Err(fail("invalid helper name".into()));
    }
    let program = format!("docker-credential-{helper}");
    let program = dir.map_or_else(|| PathBuf::from(&program), |d| d.join(&program));
    let mut child = std::process::Command::new(program)
        .arg("get")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| fail(format!("cannot run it: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A helper that exits without reading its input is answered by its exit status.
        let _ = stdin.write_all(server.as_bytes());
    }
    let started = std::time::Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if started.elapsed() > HELPER_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(fail(format!(
                    "no answer within {} s",
                    HELPER_TIMEOUT.as_secs()
                )));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(fail(e.to_string())),
        }
    }
    let out = child.wait_with_output().map_err(|e| fail(e.to_string()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        // docker treats "credentials not found" as anonymous.
        if stdout.contains("credentials not found") {
            return Ok(None);
        }
        let why = stdout.lines().next().unwrap_or("").trim().to_owned();
        return Err(fail(if why.is_empty() {
            format!("exit status {}", out.status)
        } else {
            why
        }));
    }
    let answer: HelperAnswer = serde_json::from_str(stdout.trim())
        .map_err(|e| fail(format!("answer is not JSON: {e}")))?;
    if answer.secret.is_empty() {
        return Ok(None);
    }
    Ok(Some(if answer.username == "<token>" {
        Credential::IdentityToken(answer.secret)
    } else {
        Credential::Basic {
            username: answer.username,
            password: answer.secret,
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(dir: &Path, json: &str) -> DockerConfig {
        let p = dir.join("config.json");
        std::fs::write(&p, json).unwrap();
        DockerConfig::load(Some(&p)).unwrap()
    }

    #[test]
    fn reads_auth_user_password_and_identity_tokens() {
        let dir = tempfile::tempdir().unwrap();
        let b64 = base64::engine::general_purpose::STANDARD.encode("alice:s3cret:x");
        let c = config(
            dir.path(),
            &format!(
                r#"{{"auths": {{
                    "https://reg.example:5000/v2/": {{"auth": "{b64}"}},
                    "plain.example": {{"username": "bob", "password": "pw"}},
                    "tok.example": {{"identitytoken": "refresh"}}
                }}}}"#
            ),
        );
        assert_eq!(
            c.credential("reg.example:5000").unwrap(),
            Some(Credential::Basic {
                username: "alice".into(),
                password: "s3cret:x".into()
            })
        );
        assert!(matches!(
            c.credential("plain.example").unwrap(),
            Some(Credential::Basic { .. })
        ));
        assert_eq!(
            c.credential("tok.example").unwrap(),
            Some(Credential::IdentityToken("refresh".into()))
        );
        assert_eq!(c.credential("other.example").unwrap(), None);
        let shown = format!("{:?}", c.credential("reg.example:5000").unwrap());
        assert!(!shown.contains("s3cret"), "{shown}");
    }

    #[test]
    fn runs_credential_helpers_and_names_their_failures() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        let helper = |name: &str, body: &str| {
            let p = bin.join(format!("docker-credential-{name}"));
            std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        };
        helper(
            "good",
            r#"read server; echo "{\"ServerURL\":\"$server\",\"Username\":\"u-$server\",\"Secret\":\"pw\"}""#,
        );
        helper("token", r#"echo '{"Username":"<token>","Secret":"rt"}'"#);
        helper(
            "none",
            "echo 'credentials not found in native keychain'; exit 1",
        );
        helper("broken", "echo 'keychain locked' ; exit 3");
        let c = config(
            dir.path(),
            r#"{"credsStore": "good", "credHelpers": {"tok.example": "token",
                "none.example": "none", "broken.example": "broken"}}"#,
        )
        .with_helper_dir(bin.clone());
        assert_eq!(
            c.credential("reg.example").unwrap(),
            Some(Credential::Basic {
                username: "u-reg.example".into(),
                password: "pw".into()
            })
        );
        assert_eq!(
            c.credential("tok.example").unwrap(),
            Some(Credential::IdentityToken("rt".into()))
        );
        assert_eq!(c.credential("none.example").unwrap(), None);
        let e = c.credential("broken.example").unwrap_err().to_string();
        assert_eq!(
            e,
            "credential helper docker-credential-broken failed for broken.example: keychain locked"
        );
    }

    #[test]
    fn a_missing_default_config_is_anonymous_but_a_bad_one_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.json");
        assert!(DockerConfig::load(Some(&missing)).is_err());
        let p = dir.path().join("bad.json");
        std::fs::write(&p, "{").unwrap();
        let e = DockerConfig::load(Some(&p)).unwrap_err().to_string();
        assert!(e.contains("not valid JSON"), "{e}");
    }
}
