//! Pure view-model functions (no DOM): sorting and searching the image list, parsing
//! docker-style filter text, time formatting, and flattening the lazily loaded file tree
//! into rows. Unit-tested natively.

use crate::api::ListFilters;
use app::api::{DiffMark, ImageSummary, NodeKind, TreeNode};
use std::collections::{HashMap, HashSet};

/// Sortable columns of the image list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageColumn {
    Name,
    Id,
    Created,
    Size,
    UniqueSize,
    Layers,
    Host,
}

impl ImageColumn {
    pub fn key(self) -> &'static str {
        match self {
            ImageColumn::Name => "name",
            ImageColumn::Id => "id",
            ImageColumn::Created => "created",
            ImageColumn::Size => "size",
            ImageColumn::UniqueSize => "unique",
            ImageColumn::Layers => "layers",
            ImageColumn::Host => "host",
        }
    }
}

/// The label an image is listed under: its first tag, or `<none>:<none>`.
pub fn display_name(image: &ImageSummary) -> String {
    image
        .tags
        .first()
        .cloned()
        .unwrap_or_else(|| "<none>:<none>".to_owned())
}

/// Images whose tags, digests, ID or host contain `search` (case-insensitive), sorted by
/// `column` (descending when `desc`), ties broken by ID so the order is stable.
pub fn visible_images(
    images: &[ImageSummary],
    search: &str,
    column: ImageColumn,
    desc: bool,
) -> Vec<ImageSummary> {
    let needle = search.trim().to_lowercase();
    let mut out: Vec<ImageSummary> = images
        .iter()
        .filter(|i| {
            needle.is_empty()
                || i.id.as_str().contains(&needle)
                || i.tags.iter().any(|t| t.to_lowercase().contains(&needle))
                || i.host
                    .as_deref()
                    .is_some_and(|h| h.to_lowercase().contains(&needle))
                || i.repo_digests
                    .iter()
                    .any(|t| t.to_lowercase().contains(&needle))
        })
        .cloned()
        .collect();
    out.sort_by(|a, b| {
        let ord = match column {
            ImageColumn::Name => display_name(a).cmp(&display_name(b)),
            ImageColumn::Id => a.id.cmp(&b.id),
            ImageColumn::Created => a.created.cmp(&b.created),
            ImageColumn::Size => a.size.cmp(&b.size),
            ImageColumn::UniqueSize => a.unique_size.cmp(&b.unique_size),
            ImageColumn::Layers => a.layer_count.cmp(&b.layer_count),
            ImageColumn::Host => a.host.cmp(&b.host),
        };
        let ord = if desc { ord.reverse() } else { ord };
        ord.then_with(|| a.id.cmp(&b.id))
            .then_with(|| a.host.cmp(&b.host))
    });
    out
}

/// Parses `docker image ls --filter` style text: space-separated `key=value` terms
/// (`dangling=true reference=app/* label=a=b before=x since=y host=build`). A bare word is
/// treated as a reference glob.
pub fn parse_filter_text(text: &str) -> Result<ListFilters, String> {
    let mut f = ListFilters::default();
    for term in text.split_whitespace() {
        let (key, value) = term.split_once('=').unwrap_or(("reference", term));
        match key {
            "dangling" => {
                f.dangling = Some(match value {
                    "true" | "1" => true,
                    "false" | "0" => false,
                    _ => return Err(format!("dangling must be true or false, not {value:?}")),
                })
            }
            "reference" => f.reference = Some(value.to_owned()),
            "label" => f.label = Some(value.to_owned()),
            "before" => f.before = Some(value.to_owned()),
            "since" => f.since = Some(value.to_owned()),
            "host" => f.host = Some(value.to_owned()),
            other => {
                return Err(format!(
                "unknown filter {other:?}: use dangling, reference, label, before, since or host"
            ))
            }
        }
    }
    Ok(f)
}

/// `5 minutes ago`-style text for a Unix time, given the current Unix time.
pub fn relative_time(then: i64, now: i64) -> String {
    let d = now.saturating_sub(then);
    if d < 0 {
        return "in the future".to_owned();
    }
    let (n, unit) = match d {
        0..=59 => return "just now".to_owned(),
        60..=3599 => (d / 60, "minute"),
        3600..=86_399 => (d / 3600, "hour"),
        86_400..=2_591_999 => (d / 86_400, "day"),
        2_592_000..=31_535_999 => (d / 2_592_000, "month"),
        _ => (d / 31_536_000, "year"),
    };
    format!("{n} {unit}{} ago", if n == 1 { "" } else { "s" })
}

/// `2026-11-28 06:48:46 UTC` for a Unix time.
pub fn absolute_time(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// `rwxr-xr-x` with a leading type character.
pub fn mode_string(kind: NodeKind, mode: u32) -> String {
    let t = match kind {
        NodeKind::Dir => 'd',
        NodeKind::Symlink => 'l',
        NodeKind::CharDevice => 'c',
        NodeKind::BlockDevice => 'b',
        NodeKind::Fifo => 'p',
        NodeKind::Whiteout => 'w',
        _ => '-',
    };
    let mut s = String::with_capacity(10);
    s.push(t);
    for shift in [6u32, 3, 0] {
        let bits = (mode >> shift) & 7;
        s.push(if bits & 4 != 0 { 'r' } else { '-' });
        s.push(if bits & 2 != 0 { 'w' } else { '-' });
        s.push(if bits & 1 != 0 { 'x' } else { '-' });
    }
    s
}

/// Raw path (base64) of a child, given its parent's raw path and its own raw name.
pub fn child_path_raw(parent_raw: &str, name_raw: &str) -> String {
    let parent = app::api::decode_raw(parent_raw).unwrap_or_default();
    let name = app::api::decode_raw(name_raw).unwrap_or_default();
    let mut joined = parent;
    if !joined.is_empty() {
        joined.push(b'/');
    }
    joined.extend_from_slice(&name);
    app::api::encode_raw(&joined)
}

/// How tree siblings are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TreeSort {
    /// As the server sends them (by name).
    Name,
    /// Largest first.
    Size,
}

/// One visible row of the file tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeRow {
    pub depth: u32,
    pub path_raw: String,
    pub node: TreeNode,
    pub expanded: bool,
    /// Children were fetched (an expanded dir still loading shows a spinner row).
    pub loaded: bool,
}

/// A row of the flattened tree: a node, or a "load more" row closing a directory whose
/// children were only partly fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Row {
    Node(TreeRow),
    More {
        /// Raw path (base64) of the directory.
        dir: String,
        depth: u32,
        remaining: u64,
    },
}

enum Pending {
    Node(u32, String, TreeNode),
    /// All children of `dir` were emitted.
    End(u32, String),
}

/// Flattens the loaded part of the tree into rows, depth first, without recursion.
/// `children` maps a directory's raw path to its loaded children (`""` = root);
/// `truncated` maps a directory to how many children were not fetched yet.
/// Non-directories whose mark is not in `marks` are hidden; directories always show.
pub fn flatten_tree(
    children: &HashMap<String, Vec<TreeNode>>,
    truncated: &HashMap<String, u64>,
    expanded: &HashSet<String>,
    marks: &HashSet<DiffMark>,
    sort: TreeSort,
) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut stack: Vec<Pending> = Vec::new();
    let push_children = |stack: &mut Vec<Pending>, depth: u32, dir: &str| {
        stack.push(Pending::End(depth, dir.to_owned()));
        if let Some(kids) = children.get(dir) {
            let mut kids: Vec<&TreeNode> = kids
                .iter()
                .filter(|n| n.kind == NodeKind::Dir || marks.contains(&n.mark))
                .collect();
            if sort == TreeSort::Size {
                kids.sort_by(|a, b| b.size.cmp(&a.size).then_with(|| a.name.cmp(&b.name)));
            }
            for k in kids.into_iter().rev() {
                stack.push(Pending::Node(
                    depth,
                    child_path_raw(dir, &k.name_raw),
                    k.clone(),
                ));
            }
        }
    };
    push_children(&mut stack, 0, "");
    while let Some(item) = stack.pop() {
        match item {
            Pending::End(depth, dir) => {
                if let Some(&remaining) = truncated.get(&dir) {
                    rows.push(Row::More {
                        dir,
                        depth,
                        remaining,
                    });
                }
            }
            Pending::Node(depth, path_raw, node) => {
                let is_expanded = node.kind == NodeKind::Dir && expanded.contains(&path_raw);
                let loaded = children.contains_key(&path_raw);
                if is_expanded {
                    push_children(&mut stack, depth + 1, &path_raw);
                }
                rows.push(Row::Node(TreeRow {
                    depth,
                    path_raw,
                    node,
                    expanded: is_expanded,
                    loaded,
                }));
            }
        }
    }
    rows
}

/// Width of a size bar in percent of `max` (at least 1% for non-zero sizes).
pub fn bar_percent(size: u64, max: u64) -> f64 {
    if max == 0 || size == 0 {
        return 0.0;
    }
    ((size as f64 / max as f64) * 100.0).clamp(1.0, 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::api::encode_raw;

    /// An image ID whose hex digits are all `c`.
    fn digest(c: char) -> app::api::Digest {
        app::api::Digest::parse(&format!("sha256:{}", String::from(c).repeat(64))).unwrap()
    }

    fn img(id: &str, tag: Option<&str>, size: u64, created: i64) -> ImageSummary {
        let id = digest(match id {
            "a" => 'a',
            "b" => 'b',
            "c" => 'c',
            _ => 'f',
        });
        ImageSummary {
            short_id: id.short().to_owned(),
            id,
            tags: tag.map(|t| vec![t.to_owned()]).unwrap_or_default(),
            repo_digests: vec![],
            created,
            size,
            shared_size: None,
            unique_size: None,
            layer_count: 1,
            dangling: tag.is_none(),
            labels: Default::default(),
            source: None,
            host: None,
        }
    }

    #[test]
    fn images_search_and_sort() {
        let all = vec![
            img("a", Some("web:1"), 10, 3),
            img("b", Some("db:2"), 30, 1),
            img("c", None, 20, 2),
        ];
        let by_size: Vec<_> = visible_images(&all, "", ImageColumn::Size, true)
            .into_iter()
            .map(|i| i.id)
            .collect();
        assert_eq!(by_size, vec![digest('b'), digest('c'), digest('a')]);
        let found = visible_images(&all, "WEB", ImageColumn::Name, false);
        assert_eq!(found.len(), 1);
        assert_eq!(display_name(&all[2]), "<none>:<none>");
        // The same image on two hosts: two rows, ordered by host; searchable by host.
        let on = |h: &str| ImageSummary {
            host: Some(h.to_owned()),
            ..img("a", Some("web:1"), 10, 3)
        };
        let two = vec![on("build-2"), on("build-1"), img("b", Some("db:2"), 30, 1)];
        let hosts: Vec<_> = visible_images(&two, "", ImageColumn::Host, false)
            .into_iter()
            .map(|i| i.host)
            .collect();
        assert_eq!(
            hosts,
            [None, Some("build-1".into()), Some("build-2".into())]
        );
        assert_eq!(
            visible_images(&two, "build-2", ImageColumn::Name, false).len(),
            1
        );
    }

    #[test]
    fn filter_text_parses_docker_terms() {
        let f = parse_filter_text("dangling=false reference=app/* label=a=b").unwrap();
        assert_eq!(f.dangling, Some(false));
        assert_eq!(f.reference.as_deref(), Some("app/*"));
        assert_eq!(f.label.as_deref(), Some("a=b"));
        assert_eq!(
            parse_filter_text("nginx").unwrap().reference.as_deref(),
            Some("nginx")
        );
        assert_eq!(
            parse_filter_text("host=build-1").unwrap().host.as_deref(),
            Some("build-1")
        );
        assert!(parse_filter_text("colour=red").is_err());
        assert!(parse_filter_text("dangling=maybe").is_err());
    }

    #[test]
    fn times_format() {
        assert_eq!(relative_time(100, 130), "just now");
        assert_eq!(relative_time(0, 7200), "2 hours ago");
        assert_eq!(relative_time(0, 86_400), "1 day ago");
        assert_eq!(absolute_time(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(absolute_time(1_795_848_526), "2026-11-28 06:48:46 UTC");
    }

    #[test]
    fn modes_read_like_ls() {
        assert_eq!(mode_string(NodeKind::Dir, 0o755), "drwxr-xr-x");
        assert_eq!(mode_string(NodeKind::File, 0o640), "-rw-r-----");
    }

    fn node(name: &str, kind: NodeKind, mark: DiffMark, size: u64) -> TreeNode {
        TreeNode {
            name: name.into(),
            name_raw: encode_raw(name.as_bytes()),
            kind,
            size,
            mark,
            mode: 0o644,
            uid: 0,
            gid: 0,
            mtime: 0,
            link: None,
            descendants: 0,
            flags: vec![],
        }
    }

    #[test]
    fn tree_flattens_expanded_dirs_and_filters_marks() {
        let mut children = HashMap::new();
        children.insert(
            String::new(),
            vec![
                node("bin", NodeKind::Dir, DiffMark::Added, 30),
                node("big", NodeKind::File, DiffMark::Added, 50),
                node("old", NodeKind::File, DiffMark::Unchanged, 5),
            ],
        );
        let bin = encode_raw(b"bin");
        children.insert(
            bin.clone(),
            vec![node("sh", NodeKind::File, DiffMark::Modified, 30)],
        );
        let expanded: HashSet<String> = [bin.clone()].into_iter().collect();
        let marks: HashSet<DiffMark> = [DiffMark::Added, DiffMark::Modified].into_iter().collect();
        let truncated: HashMap<String, u64> = [(bin.clone(), 7)].into_iter().collect();
        let rows = flatten_tree(&children, &truncated, &expanded, &marks, TreeSort::Name);
        let names: Vec<String> = rows
            .iter()
            .map(|r| match r {
                Row::Node(n) => format!("{}@{}", n.node.name, n.depth),
                Row::More {
                    remaining, depth, ..
                } => format!("more {remaining}@{depth}"),
            })
            .collect();
        assert_eq!(names, vec!["bin@0", "sh@1", "more 7@1", "big@0"]);
        assert!(matches!(&rows[1], Row::Node(n) if n.path_raw == encode_raw(b"bin/sh")));
        let none = HashMap::new();
        let by_size = flatten_tree(&children, &none, &HashSet::new(), &marks, TreeSort::Size);
        assert!(matches!(&by_size[0], Row::Node(n) if n.node.name == "big"));
    }
}
