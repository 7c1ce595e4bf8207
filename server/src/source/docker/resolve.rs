//! Resolving a validated reference to a full image ID from `GET /images/json`, the way the
//! docker CLI matches: a tag (`latest` implied) or `name@digest`, then an ID prefix; a hex
//! string that is also a tagged name resolves to the name, like docker.

use super::DockerError;
use crate::source::reference::{familiar, ImageRef};
use app::model::Digest;
use bollard::models::ImageSummary;

/// What resolving needs of one listed image (from the daemon's list or the API's).
pub struct Listed<'a> {
    /// `sha256:<64 hex>` (anything else is skipped).
    pub id: &'a str,
    /// `name:tag` as listed.
    pub tags: &'a [String],
    /// `name@sha256:…` as listed.
    pub digests: &'a [String],
}

/// Resolves `r` against the daemon's image list (see [`DockerClient::resolve`]).
pub fn resolve_in(r: &ImageRef, images: &[ImageSummary]) -> Result<Digest, DockerError> {
    let listed: Vec<Listed<'_>> = images
        .iter()
        .map(|s| Listed {
            id: &s.id,
            tags: &s.repo_tags,
            digests: &s.repo_digests,
        })
        .collect();
    resolve_listed(r, &listed)
}

/// Resolves `r` against any image list.
pub fn resolve_listed(r: &ImageRef, images: &[Listed<'_>]) -> Result<Digest, DockerError> {
    let id_of = |s: &Listed<'_>| Digest::parse(s.id).ok();
    let by_prefix = |prefix: &str| -> Result<Digest, DockerError> {
        let hits: Vec<Digest> = images
            .iter()
            .filter_map(id_of)
            .filter(|d| d.hex().starts_with(prefix))
            .collect();
        unique(hits, prefix)
    };
    match r {
        ImageRef::Id(d) => images
            .iter()
            .filter_map(id_of)
            .find(|i| i == d)
            .ok_or_else(|| DockerError::NotFound(d.to_string())),
        ImageRef::IdPrefix(p) => {
            // A hex string may also be a repository name; a tag match wins, like docker.
            let tagged = format!("{p}:latest");
            let named: Vec<Digest> = images
                .iter()
                .filter(|s| s.tags.iter().any(|t| t == &tagged))
                .filter_map(id_of)
                .collect();
            if !named.is_empty() {
                return unique(named, p);
            }
            by_prefix(p)
        }
        ImageRef::Named(n) => {
            let shown = n.to_string();
            let mut hits: Vec<Digest> = images
                .iter()
                .filter(|s| {
                    let tag_ok = match n.familiar_tagged() {
                        Some(t) => s.tags.iter().any(|rt| familiar_tag(rt) == t),
                        None => true,
                    };
                    let digest_ok = match &n.digest {
                        Some(d) => s.digests.iter().any(|rd| {
                            rd.rsplit_once('@').is_some_and(|(name, dg)| {
                                familiar(name) == n.familiar_name() && dg == d.as_str()
                            })
                        }),
                        None => true,
                    };
                    tag_ok && digest_ok
                })
                .filter_map(id_of)
                .collect();
            hits.dedup();
            // Podman stores unqualified local images as `localhost/NAME`, and its CLI
            // finds them by the short name: so do we.
            let first = n.name.split('/').next().unwrap_or("");
            let qualified = n.name.contains('/')
                && (first.contains('.') || first.contains(':') || first == "localhost");
            if hits.is_empty() && !qualified {
                let local = ImageRef::Named(crate::source::reference::NamedRef {
                    name: format!("localhost/{}", n.name),
                    tag: n.tag.clone(),
                    digest: n.digest.clone(),
                });
                return resolve_listed(&local, images)
                    .map_err(|_| DockerError::NotFound(shown.clone()));
            }
            unique(hits, &shown)
        }
    }
}

fn familiar_tag(repo_tag: &str) -> String {
    match repo_tag.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') => format!("{}:{tag}", familiar(name)),
        _ => repo_tag.to_owned(),
    }
}

fn unique(mut hits: Vec<Digest>, shown: &str) -> Result<Digest, DockerError> {
    hits.sort();
    hits.dedup();
    match hits.len() {
        0 => Err(DockerError::NotFound(shown.to_owned())),
        1 => Ok(hits.remove(0)),
        count => Err(DockerError::Ambiguous {
            reference: shown.to_owned(),
            count,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn podman_short_names_find_localhost_images() {
        let id = format!("sha256:{}", "c".repeat(64));
        let tags = vec!["localhost/team/app:1".to_owned()];
        let listed = [Listed {
            id: &id,
            tags: &tags,
            digests: &[],
        }];
        let r = ImageRef::parse("team/app:1").unwrap();
        assert_eq!(resolve_listed(&r, &listed).unwrap().as_str(), id);
        let other = ImageRef::parse("ghcr.io/team/app:1").unwrap();
        assert!(resolve_listed(&other, &listed).is_err());
    }

    fn summary(id_hex: char, tags: &[&str], digests: &[&str]) -> ImageSummary {
        ImageSummary {
            id: format!("sha256:{}", id_hex.to_string().repeat(64)),
            repo_tags: tags.iter().map(|s| s.to_string()).collect(),
            repo_digests: digests.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    fn resolve(s: &str, list: &[ImageSummary]) -> Result<Digest, DockerError> {
        resolve_in(
            &ImageRef::parse(s).map_err(|e| DockerError::NotFound(e.to_string()))?,
            list,
        )
    }

    #[test]
    fn resolves_names_digests_and_prefixes() {
        let dg = format!("sha256:{}", "9".repeat(64));
        let list = vec![
            summary('a', &["busybox:latest", "strata-test/x:1"], &[]),
            summary(
                'b',
                &["ghcr.io/o/app:v2"],
                &[&format!("ghcr.io/o/app@{dg}")],
            ),
            summary('c', &[], &[]),
            summary('d', &["cafe:latest"], &[]),
        ];
        let a = Digest::parse(&format!("sha256:{}", "a".repeat(64))).ok();
        let b = Digest::parse(&format!("sha256:{}", "b".repeat(64))).ok();
        let c = Digest::parse(&format!("sha256:{}", "c".repeat(64))).ok();
        let d = Digest::parse(&format!("sha256:{}", "d".repeat(64))).ok();
        assert_eq!(resolve("busybox", &list).ok(), a);
        assert_eq!(resolve("docker.io/library/busybox:latest", &list).ok(), a);
        assert_eq!(resolve("strata-test/x:1", &list).ok(), a);
        assert_eq!(resolve("ghcr.io/o/app:v2", &list).ok(), b);
        assert_eq!(resolve(&format!("ghcr.io/o/app@{dg}"), &list).ok(), b);
        assert_eq!(resolve("ccc", &list).ok(), c);
        assert_eq!(resolve("cafe", &list).ok(), d);
        assert_eq!(
            resolve(&format!("sha256:{}", "c".repeat(64)), &list).ok(),
            c
        );
        assert!(matches!(
            resolve("busybox:1", &list),
            Err(DockerError::NotFound(_))
        ));
        assert!(matches!(
            resolve("eee", &list),
            Err(DockerError::NotFound(_))
        ));
    }

    #[test]
    fn ambiguous_prefix_is_an_error() {
        let mut x = summary('a', &[], &[]);
        x.id = format!("sha256:ab{}", "0".repeat(62));
        let mut y = summary('a', &[], &[]);
        y.id = format!("sha256:ab{}", "1".repeat(62));
        assert!(matches!(
            resolve("ab", &[x, y]),
            Err(DockerError::Ambiguous { count: 2, .. })
        ));
    }
}
