//! `cargo xtask ci`: the checks CI runs, in a fixed order, stopping at the first failure.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::{deny, layering, packages, paths, tidy};

/// One step of the CI run.
enum Step {
    /// A cargo invocation with extra environment variables.
    Cargo(&'static [&'static str], &'static [(&'static str, &'static str)]),
    /// A check implemented in this crate.
    Check(fn(&Path) -> Result<()>),
}

const STEPS: &[(&str, Step)] = &[
    ("packages", Step::Check(packages::check)),
    ("fmt", Step::Cargo(&["fmt", "--all", "--", "--check"], &[])),
    (
        "clippy",
        Step::Cargo(
            &["clippy", "--workspace", "--all-targets", "--all-features", "--", "-D", "warnings"],
            &[],
        ),
    ),
    ("test", Step::Cargo(&["test", "--workspace", "--exclude", "bdd"], &[])),
    ("bdd", Step::Cargo(&["test", "-p", "bdd"], &[])),
    (
        "doc",
        Step::Cargo(
            &["doc", "--workspace", "--no-deps", "--all-features"],
            &[("RUSTDOCFLAGS", "-D warnings")],
        ),
    ),
    ("layering", Step::Check(layering::check)),
    ("tidy", Step::Check(tidy::check)),
    ("paths", Step::Check(paths::check)),
    ("deny", Step::Check(deny::check)),
    ("bench-build", Step::Cargo(&["bench", "--workspace", "--no-run"], &[])),
];

/// Runs every step in order; returns an error naming the first step that failed.
pub(crate) fn run(root: &Path) -> Result<()> {
    let started = Instant::now();
    for (name, step) in STEPS {
        println!("==> xtask ci: {name}");
        let step_started = Instant::now();
        let outcome = match step {
            Step::Cargo(args, envs) => cargo(root, args, envs),
            Step::Check(check) => check(root),
        };
        if let Err(err) = outcome {
            eprintln!("==> xtask ci: step `{name}` FAILED");
            return Err(err.context(format!("ci step `{name}` failed")));
        }
        println!("==> xtask ci: {name} ok ({:.1} s)", step_started.elapsed().as_secs_f64());
    }
    println!("==> xtask ci: all steps passed ({:.1} s)", started.elapsed().as_secs_f64());
    Ok(())
}

fn cargo(root: &Path, args: &[&str], envs: &[(&str, &str)]) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let status = Command::new(&cargo)
        .args(args)
        .envs(envs.iter().copied())
        .current_dir(root)
        .status()
        .with_context(|| format!("could not start `{cargo}`"))?;
    if !status.success() {
        bail!("`cargo {}` exited with {status}", args.join(" "));
    }
    Ok(())
}
