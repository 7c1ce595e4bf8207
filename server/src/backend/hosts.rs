//! [`HostsBackend`]: several named Docker hosts (`strata serve --docker NAME=URL`, each a
//! [`DaemonBackend`] over unix, tcp, tcp+TLS or ssh) shown as one catalogue.
//!
//! Policy:
//! - The list asks every host at once; each row carries its host's name, so the same
//!   image on two hosts is two rows (tags and sizes are per host). A host that does not
//!   answer is left out of the list and reported by [`Backend::health`] (the banner)
//!   instead of failing the whole list; only when no host answers does the list fail.
//! - An image ID names the same bytes wherever it lives (it is the config's digest), so
//!   any host holding it may serve its detail and layers. The hosts holding an image are
//!   remembered from the lists and probed (one inspect each) when not yet known; the
//!   first one in command-line order that answers serves it, and its name comes first
//!   in [`ImageDetail::hosts`].
//! - Every host's engine writes the same on-disk layer cache, so a layer read through
//!   one host is not read again through another.

use super::{
    Backend, BackendError, BackendErrorKind, DaemonBackend, ImageFilters, ProgressFn, SharingInputs,
};
use crate::content::LayerBytes;
use app::api::{DockerHealth, HostHealth, ImageDetail, ImageSummary};
use app::model::{Digest, Image};
use futures_util::future::{join_all, BoxFuture, FutureExt as _};
use parking_lot::RwLock;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// A named Docker host as given on the command line: `--docker NAME=URL`, with the TLS
/// directory of `--docker-cert-path NAME=DIR`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostSpec {
    pub name: String,
    /// `unix://PATH`, `tcp://HOST:PORT`, `https://HOST:PORT` or `ssh://[USER@]HOST[:PORT]`.
    pub address: String,
    pub cert_path: Option<std::path::PathBuf>,
}

impl HostSpec {
    /// Parses `NAME=URL`; the URL is checked as the Docker client will use it.
    pub fn parse(arg: &str) -> Result<Self, String> {
        let (name, address) = arg
            .split_once('=')
            .ok_or_else(|| format!("--docker {arg:?}: expected NAME=URL"))?;
        check_name(name)?;
        crate::source::docker::DockerClient::new(Some(address))
            .map_err(|e| format!("--docker {name}: {e}"))?;
        Ok(HostSpec {
            name: name.to_owned(),
            address: address.to_owned(),
            cert_path: None,
        })
    }

    /// Parses every `--docker` and attaches each `--docker-cert-path NAME=DIR`.
    pub fn parse_all(hosts: &[String], cert_paths: &[String]) -> Result<Vec<Self>, String> {
        let mut specs = hosts
            .iter()
            .map(|h| Self::parse(h))
            .collect::<Result<Vec<_>, _>>()?;
        for (i, s) in specs.iter().enumerate() {
            if specs[..i].iter().any(|o| o.name == s.name) {
                return Err(format!("--docker {}: the name is given twice", s.name));
            }
        }
        for arg in cert_paths {
            let (name, dir) = arg
                .split_once('=')
                .ok_or_else(|| format!("--docker-cert-path {arg:?}: expected NAME=DIR"))?;
            let spec = specs.iter_mut().find(|s| s.name == name).ok_or_else(|| {
                format!("--docker-cert-path {name}: no --docker {name}=URL is given")
            })?;
            if !std::path::Path::new(dir).is_dir() {
                return Err(format!(
                    "--docker-cert-path {name}: {dir} is not a directory (it holds ca.pem, cert.pem and key.pem)"
                ));
            }
            spec.cert_path = Some(dir.into());
        }
        Ok(specs)
    }
}

fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "--docker {name:?}: a host name is 1 to 64 letters, digits, '-', '_' or '.'"
        ))
    }
}

/// One named Docker host.
pub struct Host {
    /// The NAME of `--docker NAME=URL`.
    pub name: String,
    pub backend: Arc<DaemonBackend>,
}

/// Several Docker hosts as one [`Backend`].
pub struct HostsBackend {
    hosts: Vec<Host>,
    /// Indexes (into `hosts`) of the hosts last seen holding each image.
    seen: RwLock<HashMap<Digest, Vec<usize>>>,
}

impl HostsBackend {
    /// The hosts in command-line order (the first is preferred for shared images).
    pub fn new(hosts: Vec<Host>) -> Self {
        HostsBackend {
            hosts,
            seen: RwLock::new(HashMap::new()),
        }
    }

    /// The hosts to ask for `filters.host` (all when empty); an unknown name is refused.
    fn selected(&self, names: &[String]) -> Result<Vec<usize>, BackendError> {
        if names.is_empty() {
            return Ok((0..self.hosts.len()).collect());
        }
        names
            .iter()
            .map(|n| {
                self.hosts.iter().position(|h| &h.name == n).ok_or_else(|| {
                    BackendError::Invalid(format!(
                        "filter host: no Docker host is named {n:?} (hosts: {})",
                        self.names().join(", ")
                    ))
                })
            })
            .collect()
    }

    fn names(&self) -> Vec<&str> {
        self.hosts.iter().map(|h| h.name.as_str()).collect()
    }

    async fn list(&self, mut filters: ImageFilters) -> Result<Vec<ImageSummary>, BackendError> {
        let mut chosen = self.selected(&filters.host)?;
        chosen.dedup();
        filters.host.clear();
        let complete = filters == ImageFilters::default();
        let answers = join_all(chosen.iter().map(|&i| {
            let filters = filters.clone();
            async move { (i, self.hosts[i].backend.list_images(filters).await) }
        }))
        .await;
        let mut out = Vec::new();
        let mut first_error = None;
        let mut answered = false;
        let mut seen = self.seen.write();
        for (i, answer) in answers {
            match answer {
                Ok(list) => {
                    answered = true;
                    if complete {
                        for hosts in seen.values_mut() {
                            hosts.retain(|h| *h != i);
                        }
                    }
                    for mut row in list {
                        let holders = seen.entry(row.id.clone()).or_default();
                        if !holders.contains(&i) {
                            holders.push(i);
                            holders.sort_unstable();
                        }
                        row.host = Some(self.hosts[i].name.clone());
                        out.push(row);
                    }
                }
                Err(e) => {
                    tracing::debug!("host {} left out of the list: {e}", self.hosts[i].name);
                    // A bad filter is the caller's mistake on every host; say so.
                    if e.kind() == BackendErrorKind::Invalid {
                        return Err(e);
                    }
                    first_error.get_or_insert(e);
                }
            }
        }
        seen.retain(|_, hosts| !hosts.is_empty());
        match first_error {
            Some(e) if !answered => Err(e),
            _ => Ok(out),
        }
    }

    /// The hosts holding `id`, in preference order: as last seen, else asked (one
    /// inspect per host, all at once).
    async fn holders(&self, id: &Digest) -> Result<Vec<usize>, BackendError> {
        if let Some(h) = self.seen.read().get(id).filter(|h| !h.is_empty()) {
            return Ok(h.clone());
        }
        let answers = join_all(
            self.hosts
                .iter()
                .enumerate()
                .map(|(i, h)| async move { (i, h.backend.holds(id).await) }),
        )
        .await;
        let mut holders = Vec::new();
        let mut first_error = None;
        for (i, answer) in answers {
            match answer {
                Ok(true) => holders.push(i),
                Ok(false) => {}
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        if holders.is_empty() {
            // Not found anywhere that answered; if some host is down, that may be why.
            return Err(match first_error {
                Some(e) => e,
                None => BackendError::NoSuchImage(id.clone()),
            });
        }
        self.seen.write().insert(id.clone(), holders.clone());
        Ok(holders)
    }

    /// Tries `run` on each holder of `id` in turn while they are unreachable.
    async fn on_holder<T, F>(&self, id: &Digest, run: F) -> Result<(usize, T), BackendError>
    where
        F: Fn(Arc<DaemonBackend>) -> BoxFuture<'static, Result<T, BackendError>>,
    {
        let holders = self.holders(id).await?;
        let mut last = None;
        for i in holders {
            match run(self.hosts[i].backend.clone()).await {
                Ok(v) => return Ok((i, v)),
                Err(e) if e.kind() == BackendErrorKind::Unavailable => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| BackendError::NoSuchImage(id.clone())))
    }
}

impl Backend for HostsBackend {
    fn health(&self) -> BoxFuture<'_, DockerHealth> {
        async move {
            let each = join_all(self.hosts.iter().map(|h| h.backend.health())).await;
            let hosts: Vec<HostHealth> = self
                .hosts
                .iter()
                .zip(each)
                .map(|(h, d)| HostHealth {
                    name: h.name.clone(),
                    up: d.up,
                    address: d.address,
                    version: d.version,
                    reason: d.reason,
                })
                .collect();
            let up = hosts.iter().filter(|h| h.up).count();
            DockerHealth {
                up: up > 0,
                address: self.names().join(", "),
                version: None,
                api_version: None,
                reason: (up < hosts.len()).then(|| {
                    format!(
                        "{} of {} Docker hosts do not answer",
                        hosts.len() - up,
                        hosts.len()
                    )
                }),
                hosts,
            }
        }
        .boxed()
    }

    fn list_images(
        &self,
        filters: ImageFilters,
    ) -> BoxFuture<'_, Result<Vec<ImageSummary>, BackendError>> {
        self.list(filters).boxed()
    }

    fn image_detail(&self, id: Digest) -> BoxFuture<'_, Result<ImageDetail, BackendError>> {
        async move {
            let (first, mut detail) = self
                .on_holder(&id, |b| {
                    let id = id.clone();
                    async move { b.image_detail(id).await }.boxed()
                })
                .await?;
            let holders = self.holders(&id).await.unwrap_or_default();
            detail.summary.host = Some(self.hosts[first].name.clone());
            detail.hosts = std::iter::once(first)
                .chain(holders.into_iter().filter(|h| *h != first))
                .map(|i| self.hosts[i].name.clone())
                .collect();
            Ok(detail)
        }
        .boxed()
    }

    fn load_image(
        &self,
        id: Digest,
        progress: ProgressFn,
        cancel: CancellationToken,
    ) -> BoxFuture<'static, Result<Arc<Image>, BackendError>> {
        // 'static: the hosts' backends are cloned into the future before it starts.
        let holders = self.seen.read().get(&id).cloned();
        let backends: Vec<Arc<DaemonBackend>> = match holders {
            Some(h) if !h.is_empty() => h.iter().map(|&i| self.hosts[i].backend.clone()).collect(),
            _ => self.hosts.iter().map(|h| h.backend.clone()).collect(),
        };
        async move {
            let mut last = None;
            for b in backends {
                match b
                    .load_image(id.clone(), progress.clone(), cancel.clone())
                    .await
                {
                    Ok(image) => return Ok(image),
                    Err(e)
                        if matches!(
                            e.kind(),
                            BackendErrorKind::Unavailable | BackendErrorKind::NotFound
                        ) =>
                    {
                        last = Some(e)
                    }
                    Err(e) => return Err(e),
                }
            }
            Err(last.unwrap_or(BackendError::NoSuchImage(id)))
        }
        .boxed()
    }

    fn sharing_inputs(&self) -> BoxFuture<'_, Result<SharingInputs, BackendError>> {
        async move {
            let answers = join_all(self.hosts.iter().map(|h| h.backend.sharing_inputs())).await;
            let mut inputs = Vec::new();
            let mut notes = Vec::new();
            let mut ids = HashSet::new();
            let mut answered = false;
            let mut first_error = None;
            for (h, answer) in self.hosts.iter().zip(answers) {
                match answer {
                    Ok((i, n)) => {
                        answered = true;
                        inputs.extend(i.into_iter().filter(|s| ids.insert(s.id.clone())));
                        notes.extend(n);
                    }
                    Err(e) => {
                        notes.push(format!("host {} left out: {e}", h.name));
                        first_error.get_or_insert(e);
                    }
                }
            }
            match first_error {
                Some(e) if !answered => Err(e),
                _ => Ok((inputs, notes)),
            }
        }
        .boxed()
    }

    fn layer_bytes(
        &self,
        image: Arc<Image>,
        layer: u32,
    ) -> BoxFuture<'_, Result<LayerBytes, BackendError>> {
        async move {
            let id = image.id.clone();
            self.on_holder(&id, move |b| {
                let image = image.clone();
                async move { b.layer_bytes(image, layer).await }.boxed()
            })
            .await
            .map(|(_, bytes)| bytes)
        }
        .boxed()
    }
}
