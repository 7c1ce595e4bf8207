//! `registry:HOST[:PORT]/REPO[:TAG|@DIGEST]` references: the daemon reference grammar
//! ([`crate::source::reference`]) with a mandatory registry host in front, so a value of
//! [`RegistryRef`] can only name a path under `/v2/` of that host.

use crate::source::reference::{ImageRef, RefError};
use app::model::Digest;
use std::fmt;

/// Docker Hub's API host for the `docker.io` name.
const HUB_API: &str = "registry-1.docker.io";

/// A validated image reference in a registry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RegistryRef {
    /// `host[:port]` as typed (`docker.io` stays `docker.io`; see [`Self::api_host`]).
    pub registry: String,
    /// The repository path (`team/api`; `library/busybox` for Docker Hub's short names).
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<Digest>,
}

impl RegistryRef {
    /// Parses `HOST[:PORT]/REPO[:TAG|@DIGEST]` (without the `registry:` prefix). The host
    /// is required; a reference with neither tag nor digest means `:latest`.
    pub fn parse(s: &str) -> Result<Self, RefError> {
        let shown = || s.chars().take(80).collect::<String>();
        let ImageRef::Named(named) = ImageRef::parse(s)? else {
            return Err(RefError::BadName(
                shown(),
                "expected HOST[:PORT]/REPOSITORY",
            ));
        };
        let Some((host, repo)) = named.name.split_once('/') else {
            return Err(RefError::BadName(
                shown(),
                "expected HOST[:PORT]/REPOSITORY",
            ));
        };
        let host_like = host.contains('.') || host.contains(':') || host == "localhost";
        if !host_like || !valid_host(host) {
            return Err(RefError::BadName(
                shown(),
                "the part before the first '/' must be a registry host such as 127.0.0.1:5000 or ghcr.io",
            ));
        }
        let repository = if is_hub(host) && !repo.contains('/') {
            format!("library/{repo}")
        } else {
            repo.to_owned()
        };
        Ok(RegistryRef {
            registry: host.to_owned(),
            repository,
            tag: named.tag,
            digest: named.digest,
        })
    }

    /// The host the HTTP API is reached at (`docker.io` → `registry-1.docker.io`).
    pub fn api_host(&self) -> &str {
        api_host(&self.registry)
    }

    /// What `/v2/<repo>/manifests/<this>` asks for: the digest when given, else the tag,
    /// else `latest`.
    pub fn manifest_ref(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(d), _) => d.to_string(),
            (None, Some(t)) => t.clone(),
            (None, None) => "latest".into(),
        }
    }

    /// `host/repo` as image tags name it.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// The tag shown for the image (`latest` when nothing was given).
    pub fn shown_tag(&self) -> Option<String> {
        match (&self.tag, &self.digest) {
            (Some(t), _) => Some(t.clone()),
            (None, None) => Some("latest".into()),
            (None, Some(_)) => None,
        }
    }
}

impl fmt::Display for RegistryRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

fn is_hub(host: &str) -> bool {
    matches!(host, "docker.io" | "index.docker.io")
}

/// The API host for a registry name.
pub fn api_host(registry: &str) -> &str {
    if is_hub(registry) {
        HUB_API
    } else {
        registry
    }
}

/// `name[:port]` with a DNS-style name or an IPv4 address and a numeric port.
pub fn valid_host(host: &str) -> bool {
    let (name, port) = match host.rsplit_once(':') {
        Some((n, p)) => (n, Some(p)),
        None => (host, None),
    };
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.parse::<u16>().is_ok());
    let name_ok = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    port_ok && name_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hosts_ports_tags_and_digests() {
        let r = RegistryRef::parse("127.0.0.1:5000/team/api:1.4").unwrap();
        assert_eq!(r.registry, "127.0.0.1:5000");
        assert_eq!(r.repository, "team/api");
        assert_eq!(r.manifest_ref(), "1.4");
        assert_eq!(r.to_string(), "127.0.0.1:5000/team/api:1.4");
        let d = format!("sha256:{}", "a".repeat(64));
        let r = RegistryRef::parse(&format!("ghcr.io/o/app@{d}")).unwrap();
        assert_eq!(r.manifest_ref(), d);
        assert_eq!(r.shown_tag(), None);
        let r = RegistryRef::parse("localhost/app").unwrap();
        assert_eq!(r.manifest_ref(), "latest");
        let hub = RegistryRef::parse("docker.io/busybox").unwrap();
        assert_eq!(hub.repository, "library/busybox");
        assert_eq!(hub.api_host(), "registry-1.docker.io");
    }

    #[test]
    fn refuses_what_is_not_a_registry_reference() {
        for bad in [
            "busybox",
            "team/api:1",
            "127.0.0.1:5000",
            "127.0.0.1:99999/x",
            "-bad.host/x",
            "host.io/../x",
            "host.io/x?y",
            "host.io/x#y",
            "",
        ] {
            assert!(RegistryRef::parse(bad).is_err(), "{bad}");
        }
    }
}
