//! Every page of the UI as a value: views build links with [`AppRoute::path`], never
//! with string literals, so reload and share always work.

use app::api::TreeView;

/// A page and its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppRoute {
    /// The image list.
    Images,
    /// The image list with docker-style filter text applied (`?filter=`).
    ImagesFiltered { filter: String },
    /// One image: summary, config, history, layers.
    Image { id: String },
    /// The layer explorer of one image.
    Layer {
        id: String,
        layer: u32,
        view: TreeView,
    },
    /// The layer explorer showing the treemap, zoomed into `path_raw` (standard base64
    /// of the directory; empty = the root).
    LayerTreemap {
        id: String,
        layer: u32,
        view: TreeView,
        path_raw: String,
    },
    /// 2–4 images side by side (the first is the baseline).
    Compare { ids: Vec<String> },
    /// Which layers the local images share.
    Sharing,
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
                let list: Vec<String> = ids.iter().map(|i| encode_query(i)).collect();
                format!("/compare?ids={}", list.join(","))
            }
            AppRoute::Sharing => "/sharing".to_owned(),
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

/// The image IDs of a `/compare?ids=a,b` value (empty parts dropped, repeats removed).
pub fn parse_compare_ids(value: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        if !out.iter().any(|o| o == part) {
            out.push(part.to_owned());
        }
    }
    out
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

    #[test]
    fn paths_round_trip_the_view() {
        let r = AppRoute::Layer {
            id: "sha256:ab".into(),
            layer: 2,
            view: TreeView::Stacked,
        };
        assert_eq!(r.path(), "/images/sha256:ab/layers/2?view=stacked");
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
            id: "sha256:ab".into(),
            layer: 1,
            view: TreeView::Stacked,
            path_raw: path_raw.into(),
        };
        assert_eq!(
            map("").path(),
            "/images/sha256:ab/layers/1?view=stacked&show=treemap"
        );
        assert_eq!(
            map("dXNy+/=").path(),
            "/images/sha256:ab/layers/1?view=stacked&show=treemap&path_raw=dXNy%2B%2F%3D"
        );
    }

    #[test]
    fn compare_ids_round_trip() {
        let r = AppRoute::Compare {
            ids: vec!["sha256:aa".into(), "sha256:bb".into()],
        };
        assert_eq!(r.path(), "/compare?ids=sha256%3Aaa,sha256%3Abb");
        assert_eq!(
            parse_compare_ids("sha256:aa, sha256:bb,,sha256:aa"),
            vec!["sha256:aa".to_owned(), "sha256:bb".to_owned()]
        );
        assert!(parse_compare_ids("").is_empty());
        assert_eq!(AppRoute::Sharing.path(), "/sharing");
    }
}
