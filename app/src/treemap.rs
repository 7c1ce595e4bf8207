//! Treemaps of the stacked filesystem: which entries to show ([`plan`]: a bounded,
//! largest-first selection of a directory's descendants, the smallest folded) and
//! where to draw them ([`squarify`]: the squarified layout of Bruls, Huizing and van
//! Wijk).
//!
//! Invariants: a plan never holds more than its limit of items, lists parents before
//! children, and is built breadth-first without recursion; layouts are pure `f64`
//! geometry that tiles the parent exactly and never yields NaN.

mod layout;
mod plan;
#[cfg(test)]
mod tests;

pub use layout::{layout_nested, squarify, Inset, Rect};
pub use plan::{plan, PlanItem, PlanKind, TreemapPlan};
