//! Developer tasks for the audit workspace, run as `cargo xtask <task>`.
//!
//! - `cargo xtask ci`: every check CI runs, in order, stopping at the first failure.
//! - `cargo xtask bench [FILTER]`: runs the benchmark binaries and writes
//!   `target/bench/results.md` and `target/bench/results.json`.
//! - `cargo xtask bench --scale [SIZES]`: the scale benchmark (logs of 1e6, 1e7 and 1e8 records
//!   by default, tens of GB; not in CI), writing `target/bench/scale.md`.
//! - `cargo xtask docs`: regenerates `docs/EVENTS.md` from the event catalogue.
//! - `cargo xtask man`: writes the manual pages (`audit.1`, one per subcommand) into
//!   `target/man` (`man -l target/man/audit-verify.1`).
//! - `cargo xtask layering | tidy | paths | deny | packages`: one CI check on its own
//!   (`packages` installs the Debian packages the tests need when run as root).
//!
//! This crate depends on no workspace crate: it drives them through `cargo`.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod bench;
mod ci;
mod deny;
mod docs;
mod layering;
mod packages;
mod paths;
mod tidy;

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci::run(&workspace_root()),
        Some("bench") => bench::run(&workspace_root(), &args[1..]),
        Some("layering") => layering::check(&workspace_root()),
        Some("tidy") => tidy::check(&workspace_root()),
        Some("paths") => paths::check(&workspace_root()),
        Some("deny") => deny::check(&workspace_root()),
        Some("packages") => packages::check(&workspace_root()),
        Some("docs") => docs::generate(&workspace_root()),
        Some("man") => man(&workspace_root()),
        _ => {
            eprintln!(
                "usage: cargo xtask <ci | bench [FILTER] | bench --scale [SIZES] | docs | man | layering | tidy | paths | deny | packages>"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// `cargo xtask man`: the `audit` binary writes its own pages (clap_mangen), into `target/man`.
fn man(root: &std::path::Path) -> anyhow::Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let out = root.join("target").join("man");
    let status = std::process::Command::new(&cargo)
        .args(["run", "--quiet", "-p", "audit-cli", "--", "man", "--out"])
        .arg(&out)
        .current_dir(root)
        .status()?;
    if !status.success() {
        anyhow::bail!("`audit man` exited with {status}");
    }
    Ok(())
}

/// The workspace root: the parent of this crate's manifest directory.
fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}
