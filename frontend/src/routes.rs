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
    }
}
