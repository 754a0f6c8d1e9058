//! The `audit` command.
#![allow(clippy::print_stderr)]

use std::process::ExitCode;

fn main() -> ExitCode {
    eprintln!(
        "audit: not yet available: the command-line tool has not been built yet (see README.md)"
    );
    ExitCode::from(3)
}
