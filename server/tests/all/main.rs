//! The server crate's integration tests, one module per area, linked into one binary
//! (one link of the crate and its dependencies instead of one per file). Run one area
//! with `cargo test -p server --test all -- cli_compare::`.
//!
//! Tests run in parallel threads of one process: anything a test makes in the system
//! dockerd is named uniquely (`docker_support::image::unique_tag`), and builds and
//! removals there go through `docker_support::image`, which keeps a removal from pruning
//! images another test's build is reusing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../../testsupport/system_docker.rs"]
mod system_docker;
mod docker_support {
    pub mod big_image;
    pub mod cut_proxy;
    pub mod image;
    pub mod private;
    pub mod serve;
}
mod http_support {
    pub mod fake;
    pub mod strata_proc;
}
#[path = "../../../testsupport/registry.rs"]
mod registry_support;
mod security_support {
    pub mod kit;
}

mod cli_analyze;
mod cli_cat;
mod cli_check;
mod cli_ci;
mod cli_compare;
mod cli_serve;
mod dive_parity;
mod docker_engine;
mod docker_failover;
mod docker_hosts;
mod docker_lock;
mod docker_mock;
mod engine_cancel;
mod fault_daemon;
mod fault_export;
mod http_api;
mod http_compare;
mod http_daemon;
mod http_files;
mod http_findings;
mod http_jobs;
mod http_sources;
mod http_tree;
mod http_treemap;
mod http_upload;
mod jobs_docker;
mod podman;
mod registry_faults;
mod registry_real;
mod security_audit;
mod security_daemon;
mod security_http;
mod security_limits;
mod security_serve;
