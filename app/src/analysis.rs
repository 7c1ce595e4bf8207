//! Image analysis over stacked trees: dive-compatible figures and documents ([`dive`]),
//! Strata's own waste analysis with blame ([`analyze`]), and the text report
//! ([`render_text`]). Everything here is pure: it reads [`crate::filetree::StackedTree`]
//! and [`crate::model::LayerIndex`] values and returns serialisable results in `u64` bytes.

pub mod dive;
mod report;
mod strata;

pub use report::render_text;
pub use strata::{
    analyze, Analysis, AnalysisOptions, AttrRewrite, BaseUserSplit, DuplicateGroup, LargeFile,
    LayerFigures, WastedCopy, WastedPath,
};

#[cfg(test)]
mod tests;
