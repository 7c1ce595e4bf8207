//! Every page of the UI as a value: views build links with [`AppRoute::path`], never
//! with string literals, so reload and share always work.

use app::api::{Digest, TreeView};
use leptos::Params;
use leptos_router::params::{Params, ParamsError};

/// A page and its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppRoute {
    /// The image list.
    Images,
    /// The image list with docker-style filter text applied (`?filter=`).
    ImagesFiltered { filter: String },
    /// One image: summary, config, history, layers.
    Image { id: Digest },
    /// The layer explorer of one image.
    Layer {
        id: Digest,
        layer: u32,
        view: TreeView,
    },
    /// The layer explorer showing the treemap, zoomed into `path_raw` (standard base64
    /// of the directory; empty = the root).
    LayerTreemap {
        id: Digest,
        layer: u32,
        view: TreeView,
        path_raw: String,
    },
    /// 2–4 images side by side (the first is the baseline).
    Compare { ids: Vec<Digest> },
    /// Which layers the local images share.
    Sharing,
    /// The configured registries; with `registry`, its repositories; with both, the
    /// repository's tags.
    Registries {
        registry: Option<String>,
        repository: Option<String>,
    },
}

impl AppRoute {
    /// The URL path (and query) of this route.
    pub fn path(&self) -> String {
        match self {
            AppRoute::Images => "/".to_owned(),
            AppRoute::ImagesFiltered { filter } if filter.trim().is_empty() => "/".to_owned(),
            AppRoute::ImagesFiltered { filter } => {
                format!("/?filter={}", encode_query(filter.trim()))
            }
            AppRoute::Image { id } => format!("/images/{id}"),
            AppRoute::Layer { id, layer, view } => {
                format!("/images/{id}/layers/{layer}?view={}", view.as_str())
            }
            AppRoute::LayerTreemap {
                id,
                layer,
                view,
                path_raw,
            } => {
                let mut path = format!(
                    "/images/{id}/layers/{layer}?view={}&show=treemap",
                    view.as_str()
                );
                if !path_raw.is_empty() {
                    path.push_str("&path_raw=");
                    path.push_str(&encode_query(path_raw));
                }
                path
            }
            AppRoute::Compare { ids } => {
                let list: Vec<String> = ids.iter().map(|i| encode_query(i.as_str())).collect();
                format!("/compare?ids={}", list.join(","))
            }
            AppRoute::Sharing => "/sharing".to_owned(),
            AppRoute::Registries {
                registry,
                repository,
            } => match (registry, repository) {
                (None, _) => "/registries".to_owned(),
                (Some(r), None) => format!("/registries?registry={}", encode_query(r)),
                (Some(r), Some(repo)) => format!(
                    "/registries?registry={}&repository={}",
                    encode_query(r),
                    encode_query(repo)
                ),
            },
        }
    }
}

/// The path parameters of `/images/:id` and `/images/:id/layers/:layer`.
#[derive(Debug, Clone, PartialEq, Params)]
pub struct ImageParams {
    pub id: Option<Digest>,
    pub layer: Option<u32>,
}

impl ImageParams {
    /// The image ID of the URL, or why it is not one.
    pub fn image_id(params: &Result<ImageParams, ParamsError>) -> Result<Digest, String> {
        match params {
            Ok(ImageParams { id: Some(id), .. }) => Ok(id.clone()),
            Ok(_) => Err("no image ID in the address".into()),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// Percent-encodes a query value (RFC 3986 unreserved characters stay).
pub fn encode_query(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The image IDs of a `/compare?ids=a,b` value (empty parts dropped, repeats removed),
/// or the first part that is not an image ID.
pub fn parse_compare_ids(value: &str) -> Result<Vec<Digest>, String> {
    let mut out: Vec<Digest> = Vec::new();
    for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let id = Digest::parse(part).map_err(|e| e.to_string())?;
        if !out.contains(&id) {
            out.push(id);
        }
    }
    Ok(out)
}

/// Parses the `view` query value (default: this layer's changes).
pub fn parse_view(value: Option<&str>) -> TreeView {
    match value {
        Some("stacked") => TreeView::Stacked,
        _ => TreeView::Layer,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `sha256:` and 64 copies of `c`.
    fn id(c: char) -> Digest {
        Digest::parse(&format!("sha256:{}", String::from(c).repeat(64))).unwrap()
    }

    #[test]
    fn paths_round_trip_the_view() {
        let ab = id('a');
        let r = AppRoute::Layer {
            id: ab.clone(),
            layer: 2,
            view: TreeView::Stacked,
        };
        assert_eq!(r.path(), format!("/images/{ab}/layers/2?view=stacked"));
        assert_eq!(parse_view(Some("stacked")), TreeView::Stacked);
        assert_eq!(parse_view(None), TreeView::Layer);
        assert_eq!(AppRoute::Images.path(), "/");
        let f = AppRoute::ImagesFiltered {
            filter: "reference=app/* dangling=true".into(),
        };
        assert_eq!(f.path(), "/?filter=reference%3Dapp%2F%2A%20dangling%3Dtrue");
        let empty = AppRoute::ImagesFiltered { filter: " ".into() };
        assert_eq!(empty.path(), "/");
        let map = |path_raw: &str| AppRoute::LayerTreemap {
            id: ab.clone(),
            layer: 1,
            view: TreeView::Stacked,
            path_raw: path_raw.into(),
        };
        assert_eq!(
            map("").path(),
            format!("/images/{ab}/layers/1?view=stacked&show=treemap")
        );
        assert_eq!(
            map("dXNy+/=").path(),
            format!("/images/{ab}/layers/1?view=stacked&show=treemap&path_raw=dXNy%2B%2F%3D")
        );
    }

    #[test]
    fn compare_ids_round_trip() {
        let (a, b) = (id('a'), id('b'));
        let r = AppRoute::Compare {
            ids: vec![a.clone(), b.clone()],
        };
        assert_eq!(
            r.path(),
            format!("/compare?ids=sha256%3A{},sha256%3A{}", a.hex(), b.hex())
        );
        assert_eq!(
            parse_compare_ids(&format!("{a}, {b},,{a}")),
            Ok(vec![a.clone(), b.clone()])
        );
        assert_eq!(parse_compare_ids(""), Ok(vec![]));
        assert!(parse_compare_ids("sha256:aa")
            .unwrap_err()
            .contains("not a sha256 digest"));
        assert_eq!(AppRoute::Sharing.path(), "/sharing");
    }
}
