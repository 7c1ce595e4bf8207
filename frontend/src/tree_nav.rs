//! Pure helpers of the file tree's virtual list and keyboard navigation: which rows are
//! on screen for a scroll position, what a key does to the focused row, the parent row
//! of a row, the scroll position that keeps the focused row visible, the ancestors of a
//! search hit to expand, and the search mode a query implies. No DOM here.

use app::api::{decode_raw, encode_raw, SearchMode};

/// Height of one tree row in CSS pixels (the stylesheet's `.tree-row` height).
pub const ROW_HEIGHT: f64 = 26.0;
/// Rows rendered above and below the visible ones.
pub const OVERSCAN: usize = 12;

/// Rows `[start, end)` to render for a viewport of `height` px scrolled to `scroll_top`.
pub fn visible_range(scroll_top: f64, height: f64, total: usize) -> (usize, usize) {
    let first = (scroll_top.max(0.0) / ROW_HEIGHT).floor() as usize;
    let shown = (height.max(ROW_HEIGHT) / ROW_HEIGHT).ceil() as usize + 1;
    let start = first.saturating_sub(OVERSCAN).min(total);
    let end = first
        .saturating_add(shown)
        .saturating_add(OVERSCAN)
        .min(total);
    (start, end.max(start))
}

/// The scroll position that shows row `index` (unchanged when it is already visible).
pub fn scroll_into_view(index: usize, scroll_top: f64, height: f64) -> f64 {
    let top = index as f64 * ROW_HEIGHT;
    if top < scroll_top {
        top
    } else if top + ROW_HEIGHT > scroll_top + height {
        (top + ROW_HEIGHT - height).max(0.0)
    } else {
        scroll_top
    }
}

/// What a key press on the tree asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NavAction {
    /// Focus this row.
    Focus(usize),
    /// Expand (or load more for a "more" row) the focused row.
    Open,
    /// Collapse the focused directory.
    Close,
    /// Not a tree key.
    None,
}

/// The action for `key` with row `focused` of `total` focused; `depths[i]` is row i's
/// depth, `expanded` whether the focused row is an expanded directory, `page` rows per
/// screen.
pub fn key_action(
    key: &str,
    focused: usize,
    total: usize,
    depths: &[u32],
    expanded: bool,
    page: usize,
) -> NavAction {
    if total == 0 {
        return NavAction::None;
    }
    let last = total - 1;
    let at = focused.min(last);
    match key {
        "ArrowDown" | "j" => NavAction::Focus((at + 1).min(last)),
        "ArrowUp" | "k" => NavAction::Focus(at.saturating_sub(1)),
        "Home" => NavAction::Focus(0),
        "End" => NavAction::Focus(last),
        "PageDown" => NavAction::Focus((at + page.max(1)).min(last)),
        "PageUp" => NavAction::Focus(at.saturating_sub(page.max(1))),
        "ArrowRight" | "Enter" | " " => NavAction::Open,
        "ArrowLeft" if expanded => NavAction::Close,
        "ArrowLeft" => parent_index(depths, at).map_or(NavAction::None, NavAction::Focus),
        _ => NavAction::None,
    }
}

/// The nearest row above `i` with a smaller depth.
pub fn parent_index(depths: &[u32], i: usize) -> Option<usize> {
    let d = *depths.get(i)?;
    (0..i).rev().find(|&j| depths[j] < d)
}

/// The raw-path keys (base64) of every directory above the path `path_raw`, root-most
/// first (the root itself, `""`, excluded).
pub fn ancestors_raw(path_raw: &str) -> Vec<String> {
    let Ok(path) = decode_raw(path_raw) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, b) in path.iter().enumerate() {
        if *b == b'/' && i > 0 {
            out.push(encode_raw(&path[..i]));
        }
    }
    out
}

/// A query with `*` or `?` is a glob; anything else a substring.
pub fn search_mode(q: &str) -> SearchMode {
    if q.contains(['*', '?']) {
        SearchMode::Glob
    } else {
        SearchMode::Substring
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_visible_rows_render() {
        assert_eq!(visible_range(0.0, 260.0, 300_000), (0, 11 + 12));
        let (s, e) = visible_range(26_000.0, 520.0, 300_000);
        assert_eq!(s, 1000 - OVERSCAN);
        assert_eq!(e, 1000 + 21 + OVERSCAN);
        assert_eq!(visible_range(0.0, 500.0, 5), (0, 5));
        assert_eq!(visible_range(1e9, 500.0, 5), (5, 5));
    }

    #[test]
    fn focus_stays_visible() {
        assert_eq!(scroll_into_view(0, 100.0, 260.0), 0.0);
        assert_eq!(scroll_into_view(5, 0.0, 260.0), 0.0);
        assert_eq!(scroll_into_view(20, 0.0, 260.0), 21.0 * ROW_HEIGHT - 260.0);
    }

    #[test]
    fn keys_move_and_open() {
        let depths = [0, 1, 2, 1, 0];
        assert_eq!(
            key_action("ArrowDown", 4, 5, &depths, false, 10),
            NavAction::Focus(4)
        );
        assert_eq!(
            key_action("ArrowUp", 0, 5, &depths, false, 10),
            NavAction::Focus(0)
        );
        assert_eq!(
            key_action("End", 1, 5, &depths, false, 10),
            NavAction::Focus(4)
        );
        assert_eq!(
            key_action("PageDown", 1, 5, &depths, false, 2),
            NavAction::Focus(3)
        );
        assert_eq!(
            key_action("Enter", 1, 5, &depths, false, 2),
            NavAction::Open
        );
        assert_eq!(
            key_action("ArrowLeft", 1, 5, &depths, true, 2),
            NavAction::Close
        );
        assert_eq!(
            key_action("ArrowLeft", 2, 5, &depths, false, 2),
            NavAction::Focus(1)
        );
        assert_eq!(
            key_action("ArrowLeft", 0, 5, &depths, false, 2),
            NavAction::None
        );
        assert_eq!(key_action("x", 0, 5, &depths, false, 2), NavAction::None);
        assert_eq!(
            key_action("ArrowDown", 0, 0, &[], false, 2),
            NavAction::None
        );
    }

    #[test]
    fn hits_expand_their_ancestors() {
        let raw = encode_raw(b"usr/lib/x.so");
        assert_eq!(
            ancestors_raw(&raw),
            vec![encode_raw(b"usr"), encode_raw(b"usr/lib")]
        );
        assert!(ancestors_raw(&encode_raw(b"top")).is_empty());
        assert_eq!(search_mode("*.so"), SearchMode::Glob);
        assert_eq!(search_mode("bin/env"), SearchMode::Substring);
    }
}
