//! Strata's IO-free core. It reads images from anything that implements `std::io::Read`
//! (never a file system, socket, clock or environment), so the same code runs in the
//! server, the CLI and the browser (wasm32).
//!
//! Pipeline: [`compress`] sniffs and decodes a blob, [`tar`] parses headers the way Go's
//! `archive/tar` does (with caps), [`layer`] turns one layer into a [`model::LayerIndex`]
//! while verifying its diff ID, [`tarsplit`] does the same from Docker's tar-split
//! metadata, [`archive`] reads `docker save` and OCI layouts, [`filetree`] stacks layers
//! with overlay semantics and diff marks, and [`analysis`] computes dive-compatible and
//! Strata's own waste figures.

pub mod analysis;
pub mod api;
pub mod archive;
pub mod compare;
pub mod compress;
pub mod content;
pub mod distribution;
pub mod filetree;
pub mod findings;
pub mod fmt;
pub mod history;
pub mod history_cmd;
pub mod layer;
pub mod limits;
pub mod model;
pub mod tar;
pub mod tarsplit;
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;
pub mod treemap;
