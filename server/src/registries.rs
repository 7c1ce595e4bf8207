//! The registries `strata serve --registry NAME=HOST` was given: the only registries the
//! server ever contacts on a user's behalf (SSRF: requests name a configured registry by
//! its NAME; repositories and tags are validated as reference parts and joined onto
//! that host only). Catalog and tag pages, what one tag is (manifest and config only,
//! kept for a minute), and opening a tag as an image through the engine.

use crate::engine::{registry as engine_registry, Engine, EngineError, LoadOptions};
use crate::registry::{RegistryClient, RegistryError, RegistryRef};
use app::api::{NamePage, RegistryInfo, TagDetail};
use app::archive::Platform;
use app::distribution;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Largest page a client may ask for.
pub const MAX_PAGE: usize = 1000;
/// How long a tag's detail is reused.
const DETAIL_TTL: Duration = Duration::from_secs(60);
/// Tag details kept.
const MAX_DETAILS: usize = 10_000;

/// Why a `--registry` value is unusable.
#[derive(Debug, Clone, thiserror::Error)]
#[error("--registry {0:?}: {1}")]
pub struct BadRegistryArg(pub String, pub &'static str);

/// One configured registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Configured {
    pub name: String,
    /// `host[:port]`.
    pub host: String,
    /// Given as `http://…`: plain HTTP allowed.
    pub plain: bool,
}

impl Configured {
    /// Parses `NAME=HOST[:PORT]` or `NAME=http(s)://HOST[:PORT]`.
    pub fn parse(arg: &str) -> Result<Self, BadRegistryArg> {
        let bad = |why| BadRegistryArg(arg.to_owned(), why);
        let (name, url) = arg
            .split_once('=')
            .ok_or(bad("expected NAME=HOST[:PORT]"))?;
        let name_ok = !name.is_empty()
            && name.len() <= 64
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if !name_ok {
            return Err(bad("NAME must be letters, digits, '-', '_' or '.'"));
        }
        let (plain, host) = match url.split_once("://") {
            Some(("http", h)) => (true, h),
            Some(("https", h)) => (false, h),
            Some(_) => return Err(bad("the URL scheme must be http or https")),
            None => (false, url),
        };
        let host = host.trim_end_matches('/');
        if !crate::registry::reference::valid_host(host) {
            return Err(bad(
                "HOST must be a host name or IPv4 address with an optional port",
            ));
        }
        Ok(Configured {
            name: name.to_owned(),
            host: host.to_owned(),
            plain,
        })
    }
}

/// Tag details by (registry name, repository, tag), with when they were read.
type Details = HashMap<(String, String, String), (Instant, TagDetail)>;

/// The configured registries and what was learnt about their tags.
pub struct Registries {
    list: Vec<Configured>,
    engine: Engine,
    details: Mutex<Details>,
}

/// Why a registry request failed.
#[derive(Debug, thiserror::Error)]
pub enum RegistriesError {
    #[error("no registry named {0:?} is configured (strata serve --registry NAME=HOST)")]
    Unknown(String),
    #[error("invalid {what}: {message}")]
    Invalid { what: &'static str, message: String },
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl From<RegistryError> for RegistriesError {
    fn from(e: RegistryError) -> Self {
        RegistriesError::Engine(e.into())
    }
}

impl Registries {
    /// `list` as configured; `engine` must allow plain HTTP for the `http://` ones
    /// (see [`insecure_hosts`]).
    pub fn new(list: Vec<Configured>, engine: Engine) -> Self {
        Registries {
            list,
            engine,
            details: Mutex::new(HashMap::new()),
        }
    }

    /// What clients see of the configuration.
    pub fn infos(&self) -> Vec<RegistryInfo> {
        self.list
            .iter()
            .map(|c| RegistryInfo {
                name: c.name.clone(),
                host: c.host.clone(),
            })
            .collect()
    }

    fn host(&self, name: &str) -> Result<&str, RegistriesError> {
        self.list
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.host.as_str())
            .ok_or_else(|| RegistriesError::Unknown(name.chars().take(64).collect()))
    }

    fn client(&self) -> Result<&RegistryClient, RegistriesError> {
        Ok(self.engine.registry()?)
    }

    /// `host/repository[:tag]` validated as a registry reference.
    pub fn reference(
        &self,
        name: &str,
        repository: &str,
        tag: Option<&str>,
    ) -> Result<RegistryRef, RegistriesError> {
        let host = self.host(name)?;
        let text = match tag {
            Some(t) => format!("{host}/{repository}:{t}"),
            None => format!("{host}/{repository}"),
        };
        let r = RegistryRef::parse(&text).map_err(|e| RegistriesError::Invalid {
            what: "repository or tag",
            message: e.to_string(),
        })?;
        if r.digest.is_some() || r.tag.as_deref() != tag {
            return Err(RegistriesError::Invalid {
                what: "repository or tag",
                message: format!("{repository:?} is not a repository name"),
            });
        }
        Ok(r)
    }

    /// One page of the catalog.
    pub async fn repositories(
        &self,
        name: &str,
        n: usize,
        last: Option<&str>,
    ) -> Result<NamePage, RegistriesError> {
        let host = self.host(name)?;
        let page = self
            .client()?
            .catalog(host, n.clamp(1, MAX_PAGE), last)
            .await?;
        Ok(NamePage {
            items: page.items,
            next: page.next,
        })
    }

    /// One page of a repository's tags.
    pub async fn tags(
        &self,
        name: &str,
        repository: &str,
        n: usize,
        last: Option<&str>,
    ) -> Result<NamePage, RegistriesError> {
        let r = self.reference(name, repository, None)?;
        let page = self
            .client()?
            .tags(&r.registry, &r.repository, n.clamp(1, MAX_PAGE), last)
            .await?;
        Ok(NamePage {
            items: page.items,
            next: page.next,
        })
    }

    /// What a tag is, from its manifest and config (kept for [`DETAIL_TTL`]).
    pub async fn tag(
        &self,
        name: &str,
        repository: &str,
        tag: &str,
    ) -> Result<TagDetail, RegistriesError> {
        let key = (name.to_owned(), repository.to_owned(), tag.to_owned());
        if let Some((at, d)) = self.details.lock().get(&key) {
            if at.elapsed() < DETAIL_TTL {
                return Ok(d.clone());
            }
        }
        let r = self.reference(name, repository, Some(tag))?;
        let client = self.client()?;
        let resolved = engine_registry::resolve(client, &r, &LoadOptions::default()).await?;
        let store = self.engine.blob_store()?;
        let config_raw = engine_registry::config_blob(
            client,
            &store,
            &r,
            &resolved.manifest.config,
            app::limits::Limits::default().max_json,
        )
        .await?;
        let config = distribution::parse_config(&config_raw).map_err(|error| {
            RegistryError::Distribution {
                registry: r.registry.clone(),
                error,
            }
        })?;
        let size = config
            .rootfs
            .diff_ids
            .iter()
            .map(|d| self.engine.cached_size(d))
            .sum::<Option<u64>>();
        let detail = TagDetail {
            repository: repository.to_owned(),
            tag: tag.to_owned(),
            digest: resolved.origin.manifest_digest.clone(),
            platforms: resolved.platforms.iter().map(ToString::to_string).collect(),
            platform: (!config.os.is_empty()).then(|| {
                Platform::new(&config.os, &config.architecture, config.variant.as_deref())
                    .to_string()
            }),
            created: config.created.clone(),
            layer_count: resolved.manifest.layers.len(),
            compressed_size: resolved.manifest.compressed_size(),
            size,
        };
        let mut m = self.details.lock();
        if m.len() >= MAX_DETAILS {
            m.retain(|_, (at, _)| at.elapsed() < DETAIL_TTL);
        }
        m.insert(key, (Instant::now(), detail.clone()));
        Ok(detail)
    }
}

/// A tag resolved to the image it names, ready to load ([`Registries::prepare`]).
#[derive(Debug, Clone)]
pub struct PreparedTag {
    pub source: crate::source::Source,
    pub options: LoadOptions,
    /// The image's ID: its config's digest, known from the manifest before any layer is read.
    pub image_id: app::model::Digest,
}

impl Registries {
    /// Resolves a tag (through an index by `platform`) to the image it names, reading
    /// only manifests: the load itself is [`Registries::load`], run by a job.
    pub async fn prepare(
        &self,
        name: &str,
        repository: &str,
        tag: &str,
        platform: Option<&str>,
    ) -> Result<PreparedTag, RegistriesError> {
        let r = self.reference(name, repository, Some(tag))?;
        let platform =
            platform
                .map(Platform::parse)
                .transpose()
                .map_err(|e| RegistriesError::Invalid {
                    what: "platform",
                    message: e.to_string(),
                })?;
        let options = LoadOptions { platform };
        let resolved = engine_registry::resolve(self.client()?, &r, &options).await?;
        Ok(PreparedTag {
            source: crate::source::Source::Registry(r),
            options,
            image_id: resolved.manifest.config.digest.clone(),
        })
    }

    /// Loads a prepared tag (downloading what the cache lacks), reporting to `progress`.
    pub async fn load(
        &self,
        tag: &PreparedTag,
        progress: std::sync::Arc<dyn crate::progress::ProgressSink>,
        cancel: tokio_util::sync::CancellationToken,
    ) -> Result<crate::backend::OpenedSource, RegistriesError> {
        let loaded = self
            .engine
            .load(&tag.source, &tag.options, progress, cancel)
            .await?;
        Ok(crate::backend::OpenedSource {
            source: tag.source.to_string(),
            image: loaded.image,
        })
    }
}

/// The hosts of `http://` registries: the engine's `--insecure-registry` list grows by them.
pub fn insecure_hosts(list: &[Configured]) -> Vec<String> {
    list.iter()
        .filter(|c| c.plain)
        .map(|c| c.host.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_registry_arguments() {
        assert_eq!(
            Configured::parse("team=127.0.0.1:5000").unwrap(),
            Configured {
                name: "team".into(),
                host: "127.0.0.1:5000".into(),
                plain: false
            }
        );
        assert!(Configured::parse("lab=http://reg.lab:5000/").unwrap().plain);
        for bad in [
            "noequals",
            "=host",
            "a b=host",
            "x=ftp://host",
            "x=host/path",
            "x=http://user@host",
        ] {
            assert!(Configured::parse(bad).is_err(), "{bad}");
        }
    }
}
