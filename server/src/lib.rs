//! Strata's server side: every piece of IO. Sources (daemon, archives, OCI layouts),
//! the layer cache, the HTTP API and the command line.

pub mod cli;
