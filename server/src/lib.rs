//! Strata's server side: every piece of IO. Sources (daemon, archives, OCI layouts),
//! the layer cache, the HTTP API and the command line.

pub mod cache;
pub mod cli;
pub mod engine;
pub mod http;
pub mod progress;
pub mod source;
