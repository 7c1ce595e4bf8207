//! The squarified treemap layout: rectangles whose areas are proportional to sizes,
//! laid out in rows along the shorter side so they stay close to squares.
//! Hand-written because the layout is a few dozen lines of pure `f64` geometry with
//! invariants of our own (exact tiling, no NaN, no recursion) that a crate would not pin.

/// An axis-aligned rectangle (`x`, `y` = top-left corner).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Rect {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

impl Rect {
    pub fn new(x: f64, y: f64, w: f64, h: f64) -> Rect {
        let clean = |v: f64| if v.is_finite() { v } else { 0.0 };
        Rect {
            x: clean(x),
            y: clean(y),
            w: clean(w).max(0.0),
            h: clean(h).max(0.0),
        }
    }

    pub fn area(&self) -> f64 {
        self.w * self.h
    }
}

/// Tiles `area` with one rectangle per size, in the order of `sizes`. Positive sizes
/// tile the whole area exactly, each with an area proportional to its size; zero sizes
/// get an empty rectangle at a corner of the area (as does everything when all sizes
/// are zero or the area is empty).
pub fn squarify(sizes: &[u64], area: Rect) -> Vec<Rect> {
    let area = Rect::new(area.x, area.y, area.w, area.h);
    let mut out = vec![Rect::new(area.x, area.y, 0.0, 0.0); sizes.len()];
    let total: f64 = sizes.iter().map(|s| *s as f64).sum();
    if total <= 0.0 || area.area() <= 0.0 {
        return out;
    }
    let mut order: Vec<usize> = (0..sizes.len()).filter(|i| sizes[*i] > 0).collect();
    order.sort_by(|a, b| sizes[*b].cmp(&sizes[*a]).then(a.cmp(b)));
    let scale = area.area() / total;
    let areas: Vec<f64> = order.iter().map(|i| sizes[*i] as f64 * scale).collect();
    let mut free = area;
    let mut start = 0;
    while start < order.len() {
        let side = free.w.min(free.h);
        let mut end = start + 1;
        let mut best = worst(&areas[start..end], side);
        while end < order.len() {
            let next = worst(&areas[start..=end], side);
            if next > best {
                break;
            }
            best = next;
            end += 1;
        }
        let last_row = end == order.len();
        free = lay_row(
            &order[start..end],
            &areas[start..end],
            free,
            last_row,
            &mut out,
        );
        start = end;
    }
    out
}

/// The worst aspect ratio of a row of `areas` laid along a side of length `side`.
fn worst(areas: &[f64], side: f64) -> f64 {
    let sum: f64 = areas.iter().sum();
    let (min, max) = areas.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), a| {
        (lo.min(*a), hi.max(*a))
    });
    if sum <= 0.0 || side <= 0.0 || min <= 0.0 {
        return f64::INFINITY;
    }
    let s2 = side * side;
    let sum2 = sum * sum;
    (s2 * max / sum2).max(sum2 / (s2 * min))
}

/// Lays one row along the shorter side of `free`; returns what is left of `free`.
/// The last row takes all of `free`, and the last item of a row the rest of the row,
/// so rounding never leaves gaps.
fn lay_row(idx: &[usize], areas: &[f64], free: Rect, last_row: bool, out: &mut [Rect]) -> Rect {
    let sum: f64 = areas.iter().sum();
    let vertical = free.w >= free.h; // a column at the left edge
    let long = if vertical { free.h } else { free.w };
    let short_free = if vertical { free.w } else { free.h };
    let thick = if last_row || long <= 0.0 {
        short_free
    } else {
        (sum / long).min(short_free)
    };
    let mut offset = 0.0;
    for (n, (i, a)) in idx.iter().zip(areas).enumerate() {
        let len = if n + 1 == idx.len() {
            long - offset
        } else if sum > 0.0 {
            long * a / sum
        } else {
            0.0
        };
        out[*i] = if vertical {
            Rect::new(free.x, free.y + offset, thick, len)
        } else {
            Rect::new(free.x + offset, free.y, len, thick)
        };
        offset += len;
    }
    if vertical {
        Rect::new(free.x + thick, free.y, free.w - thick, free.h)
    } else {
        Rect::new(free.x, free.y + thick, free.w, free.h - thick)
    }
}

/// Room a drawn directory keeps around its children: `pad` on each side and `header`
/// at the top for its label.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Inset {
    pub pad: f64,
    pub header: f64,
}

/// Lays out a flat, parents-first tree (the shape of a treemap answer): top-level
/// items (`parent == None`) tile `area`, and each item's children tile its rectangle
/// minus the inset (children of a rectangle too small for the inset get empty
/// rectangles). An item whose parent does not come before it gets an empty rectangle.
pub fn layout_nested(
    parents: &[Option<u32>],
    sizes: &[u64],
    area: Rect,
    inset: Inset,
) -> Vec<Rect> {
    let n = parents.len().min(sizes.len());
    let mut out = vec![Rect::new(area.x, area.y, 0.0, 0.0); n];
    let mut roots: Vec<usize> = Vec::new();
    let mut kids: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, p) in parents.iter().take(n).enumerate() {
        match p.map(|p| p as usize) {
            None => roots.push(i),
            Some(p) if p < i => kids[p].push(i),
            Some(_) => {}
        }
    }
    place(&roots, sizes, area, &mut out);
    for i in 0..n {
        if kids[i].is_empty() {
            continue;
        }
        let r = out[i];
        let inner = Rect::new(
            r.x + inset.pad,
            r.y + inset.header,
            r.w - 2.0 * inset.pad,
            r.h - inset.header - inset.pad,
        );
        let inner = if inner.w >= 1.0 && inner.h >= 1.0 {
            inner
        } else {
            Rect::new(r.x, r.y, 0.0, 0.0)
        };
        place(&kids[i], sizes, inner, &mut out);
    }
    out
}

fn place(items: &[usize], sizes: &[u64], area: Rect, out: &mut [Rect]) {
    let own: Vec<u64> = items.iter().map(|i| sizes[*i]).collect();
    for (i, r) in items.iter().zip(squarify(&own, area)) {
        out[*i] = r;
    }
}
