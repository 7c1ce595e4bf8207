//! The browser tests, one module per page or flow, linked into one binary (one link of
//! the crate instead of one per file). Run one with `cargo test -p e2e --test all -- upload::`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod analysis_cancel;
mod compare;
mod dashboard;
mod explorer;
mod hosts;
mod layout;
mod pictures;
mod registries;
mod upload;
mod viewer;
