//! Every page of the UI as a value: views build links with [`AppRoute::path`], never
//! with string literals, so reload and share always work.

use app::api::TreeView;

/// A page and its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppRoute {
    /// The image list.
    Images,
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
            AppRoute::Image { id } => format!("/images/{id}"),
            AppRoute::Layer { id, layer, view } => {
                format!("/images/{id}/layers/{layer}?view={}", view.as_str())
            }
        }
    }
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
    }
}
