//! Strata's server side: every piece of IO. Sources (daemon, archives, OCI layouts),
//! the engine that loads them, the layer cache, the image backends the dashboard reads
//! through, the HTTP API and the command line.

pub mod backend;
pub mod cache;
pub mod cli;
pub mod content;
pub mod engine;
pub mod http;
pub mod progress;
pub mod registries;
pub mod registry;
pub mod single_flight;
pub mod source;
