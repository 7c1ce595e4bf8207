//! Pure helpers of the file viewer: telling a picture, text and binary apart from the
//! first bytes, byte pages of a large file (and the UTF-8 character cut at a page edge),
//! line numbers, hex dumps, version picker labels and the wording of a diff. No DOM here,
//! so everything is unit-tested natively.
//!
//! Invariants: a page never spans more than [`PAGE_SIZE`] bytes of the file (plus
//! [`UTF8_SLACK`] bytes fetched to finish a character cut at its end); a character that
//! straddles two pages is shown on the page where it starts, so paging loses nothing.

use app::api::{DiffHunk, DiffLineKind, FileDiff, FileVersion, NodeKind, TreeView, VersionChange};

/// Bytes shown (and fetched) per page.
pub const PAGE_SIZE: u64 = 256 * 1024;

/// Extra bytes fetched past a page's end, enough to finish a UTF-8 character cut there.
pub const UTF8_SLACK: u64 = 3;

/// Largest picture previewed (fetched page by page, then shown from memory).
pub const PICTURE_CAP: u64 = 8 * 1024 * 1024;

/// How the viewer shows a file's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentKind {
    /// A picture format browsers decode, with the MIME type to label its blob with.
    Picture(&'static str),
    /// UTF-8 text.
    Text,
    /// Anything else, as a hex dump.
    Hex,
}

/// The picture MIME type announced by the magic bytes of PNG, JPEG, GIF and WebP. SVG is
/// text, never a picture here: as an image it could carry script.
pub fn picture_mime(prefix: &[u8]) -> Option<&'static str> {
    if prefix.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if prefix.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if prefix.starts_with(b"GIF87a") || prefix.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if prefix.len() >= 12 && &prefix[..4] == b"RIFF" && &prefix[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

/// What the first page of a file is: a picture by its magic bytes, else text or binary as
/// the core decides ([`app::content::is_binary`]).
pub fn sniff(first_page: &[u8]) -> ContentKind {
    if let Some(mime) = picture_mime(first_page) {
        ContentKind::Picture(mime)
    } else if app::content::is_binary(first_page) {
        ContentKind::Hex
    } else {
        ContentKind::Text
    }
}

/// One page of a file: bytes `start..end` of `total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub start: u64,
    pub end: u64,
    pub total: u64,
}

impl Page {
    /// The page starting at `start` (clamped into the file).
    pub fn at(start: u64, total: u64) -> Page {
        let start = start.min(total);
        Page {
            start,
            end: start.saturating_add(PAGE_SIZE).min(total),
            total,
        }
    }

    /// Where the next page starts, if there is one.
    pub fn next(&self) -> Option<u64> {
        (self.end < self.total).then_some(self.end)
    }

    /// Where the previous page starts, if there is one.
    pub fn previous(&self) -> Option<u64> {
        (self.start > 0).then(|| self.start.saturating_sub(PAGE_SIZE))
    }

    /// Whether the whole file fits this page.
    pub fn is_whole(&self) -> bool {
        self.start == 0 && self.end == self.total
    }

    /// `showing bytes 262,144–300,000 of 300,000`.
    pub fn describe(&self) -> String {
        format!(
            "showing bytes {}–{} of {}",
            thousands(self.start),
            thousands(self.end),
            thousands(self.total)
        )
    }
}

/// The exclusive end of the bytes to fetch for a page starting at `start` when the file's
/// size may not be known yet: the page and its [`UTF8_SLACK`].
pub fn fetch_end(start: u64) -> u64 {
    start.saturating_add(PAGE_SIZE + UTF8_SLACK)
}

pub use app::fmt::thousands;

fn is_continuation(b: u8) -> bool {
    b & 0xC0 == 0x80
}

/// The text of one page, or `None` when the page is not UTF-8 text. `fetched` holds the
/// page's bytes from its start plus up to [`UTF8_SLACK`] more; `page_len` is the page's own
/// length. Continuation bytes at the start of a page that is not the file's first belong
/// to the character shown at the end of the previous page; a character cut at the page's
/// end is finished from the slack.
pub fn decode_page(fetched: &[u8], page_len: usize, at_file_start: bool) -> Option<String> {
    let page_len = page_len.min(fetched.len());
    let lead = if at_file_start {
        0
    } else {
        fetched[..page_len]
            .iter()
            .take(UTF8_SLACK as usize)
            .take_while(|b| is_continuation(**b))
            .count()
    };
    if app::content::is_binary(&fetched[lead..page_len]) {
        return None;
    }
    let mut end = page_len;
    while end < fetched.len()
        && end < page_len + UTF8_SLACK as usize
        && is_continuation(fetched[end])
    {
        end += 1;
    }
    std::str::from_utf8(&fetched[lead..end])
        .ok()
        .map(str::to_owned)
}

/// Line numbers and lines of a page of text whose first line is number `first_line`: the
/// gutter (one number per line) and the text, both `\n`-joined, without a final empty
/// line after a trailing newline and without `\r` before a newline.
pub fn numbered_lines(text: &str, first_line: u64) -> (String, String) {
    let body = text.strip_suffix('\n').unwrap_or(text);
    let mut gutter = String::new();
    let mut lines = String::with_capacity(body.len());
    for (i, line) in body.split('\n').enumerate() {
        if i > 0 {
            gutter.push('\n');
            lines.push('\n');
        }
        gutter.push_str(&(first_line + i as u64).to_string());
        lines.push_str(line.strip_suffix('\r').unwrap_or(line));
    }
    (gutter, lines)
}

/// The number of the first line of the page after one whose first line is `first_line`
/// and whose text is `text`.
pub fn next_first_line(first_line: u64, text: &str) -> u64 {
    first_line + text.bytes().filter(|b| *b == b'\n').count() as u64
}

/// Bytes per hex dump row.
pub const HEX_ROW: usize = 16;

/// A hex dump in three columns (offsets, hex bytes, ASCII), each `\n`-joined by row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HexDump {
    pub offsets: String,
    pub hex: String,
    pub ascii: String,
}

/// The hex dump of `bytes`, which start at file offset `base`.
pub fn hex_dump(bytes: &[u8], base: u64) -> HexDump {
    use std::fmt::Write as _;
    let rows = bytes.len().div_ceil(HEX_ROW);
    let mut dump = HexDump {
        offsets: String::with_capacity(rows * 9),
        hex: String::with_capacity(rows * 49),
        ascii: String::with_capacity(rows * 17),
    };
    for (i, row) in bytes.chunks(HEX_ROW).enumerate() {
        if i > 0 {
            dump.offsets.push('\n');
            dump.hex.push('\n');
            dump.ascii.push('\n');
        }
        let _ = write!(dump.offsets, "{:08x}", base + (i * HEX_ROW) as u64);
        for (j, b) in row.iter().enumerate() {
            if j > 0 {
                dump.hex.push_str(if j == HEX_ROW / 2 { "  " } else { " " });
            }
            let _ = write!(dump.hex, "{b:02x}");
            dump.ascii.push(if b.is_ascii_graphic() || *b == b' ' {
                char::from(*b)
            } else {
                '.'
            });
        }
    }
    dump
}

/// The word for what a layer did to the path.
pub fn change_word(change: VersionChange) -> &'static str {
    match change {
        VersionChange::Added => "added",
        VersionChange::Modified => "modified",
        VersionChange::AttrsOnly => "attributes only",
        VersionChange::Deleted => "deleted",
        VersionChange::Unknown => "changed",
    }
}

/// The CSS mark class of a change (the tree's colours).
pub fn change_class(change: VersionChange) -> &'static str {
    match change {
        VersionChange::Added => "added",
        VersionChange::Modified => "modified",
        VersionChange::AttrsOnly => "attrs",
        VersionChange::Deleted => "removed",
        VersionChange::Unknown => "unchanged",
    }
}

/// What became of a version later: `deleted in layer N` or `hidden by layer N`.
pub fn replaced_note(versions: &[FileVersion], v: &FileVersion) -> Option<String> {
    let at = v.replaced_at?;
    let deleted = versions
        .iter()
        .any(|o| o.layer == at && o.change == VersionChange::Deleted);
    Some(if deleted {
        format!("deleted in layer {at}")
    } else {
        format!("hidden by layer {at}")
    })
}

/// Whether the viewer can show this version's bytes: a readable regular file or hard
/// link (a symlink shows its target and offers to follow it instead).
pub fn has_content(v: &FileVersion) -> bool {
    v.readable && v.change != VersionChange::Deleted && v.kind != Some(NodeKind::Symlink)
}

/// `layer 2 · modified · 1.2 kB`, the short label of a version (for the compare picker).
pub fn version_label(v: &FileVersion) -> String {
    let mut s = format!("layer {} · {}", v.layer, change_word(v.change));
    if v.change != VersionChange::Deleted {
        s.push_str(" · ");
        s.push_str(&app::fmt::size(v.size));
    }
    s
}

/// The version to open first for a row of the explorer at `layer`: the one the row
/// shows (in the layer view, the layer's own; in the stacked view, the last at or below
/// the layer), else the newest.
pub fn initial_version(versions: &[FileVersion], layer: u32, view: TreeView) -> Option<usize> {
    let pick = match view {
        TreeView::Layer => versions.iter().rposition(|v| v.layer == layer),
        _ => versions.iter().rposition(|v| v.layer <= layer),
    };
    pick.or_else(|| versions.len().checked_sub(1))
}

/// The layer to follow a symlink version as of: the explorer's layer when the version
/// is the one visible there, else the version's own layer.
pub fn follow_layer(versions: &[FileVersion], index: usize, explorer_layer: u32) -> u32 {
    let visible = versions.iter().rposition(|v| v.layer <= explorer_layer);
    match versions.get(index) {
        Some(_) if visible == Some(index) => explorer_layer,
        Some(v) => v.layer,
        None => explorer_layer,
    }
}

/// `(from, to)` of a diff between two layers' versions: the older first.
pub fn diff_layers(a: u32, b: u32) -> (u32, u32) {
    (a.min(b), a.max(b))
}

/// `@@ -a,b +c,d @@`.
pub fn hunk_header(h: &DiffHunk) -> String {
    format!(
        "@@ -{},{} +{},{} @@",
        h.a_start, h.a_len, h.b_start, h.b_len
    )
}

/// The sign column and CSS class of a diff line.
pub fn line_mark(kind: DiffLineKind) -> (&'static str, &'static str) {
    match kind {
        DiffLineKind::Added => ("+", "added"),
        DiffLineKind::Removed => ("-", "removed"),
        DiffLineKind::Context | DiffLineKind::Unknown => (" ", "context"),
    }
}

/// `identical` or `different`, and the sides: `layer 0 (12 B) → layer 2 (20 B)`.
pub fn diff_summary(d: &FileDiff) -> (&'static str, String) {
    let verdict = if d.identical {
        "identical"
    } else {
        "different"
    };
    let sides = format!(
        "layer {} ({}) → layer {} ({})",
        d.a.layer,
        app::fmt::size(d.a.size),
        d.b.layer,
        app::fmt::size(d.b.size)
    );
    (verdict, sides)
}

#[cfg(test)]
mod tests;
