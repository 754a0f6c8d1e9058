//! The real `audit` binary: built once when the suite starts, then run by the steps.
//!
//! Cargo hands `CARGO_BIN_EXE_<name>` only to the binary's own package, so the suite builds
//! `audit-cli` itself with the cargo that is running the tests, in the profile of this build,
//! into the target directory of this build (the parent of `CARGO_TARGET_TMPDIR`, which cargo
//! sets for integration tests whether the directory came from `CARGO_TARGET_DIR`, a config file
//! or the default `<workspace>/target`). Cargo holds the build-directory lock only while it
//! compiles, not while the test binary runs, so the nested build does not wait on it.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

static AUDIT: OnceLock<PathBuf> = OnceLock::new();

/// The target directory of this test build.
fn target_dir() -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().map_or_else(|| tmp.to_owned(), Path::to_owned)
}

/// Builds `audit` (once per run) and remembers where it is. Panics, failing the run before any
/// scenario starts, if it does not build.
pub(crate) fn build_audit_binary() {
    let release = !cfg!(debug_assertions);
    let target = target_dir();
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut command = Command::new(env!("CARGO"));
    command
        .args(["build", "--quiet", "-p", "audit-cli", "--bin", "audit", "--target-dir"])
        .arg(&target)
        .current_dir(workspace);
    if release {
        command.arg("--release");
    }
    let status = command.status().expect("could not start cargo to build the audit binary");
    assert!(status.success(), "building the audit binary failed: {status}");
    let binary = target.join(if release { "release" } else { "debug" }).join("audit");
    assert!(binary.is_file(), "{} was not built", binary.display());
    let _ = AUDIT.set(binary);
}

/// What one run of `audit` printed and how it exited.
#[derive(Clone, Debug, Default)]
pub(crate) struct CliRun {
    /// The command line, display-safe, for failure messages.
    pub(crate) command: String,
    /// The exit code (`-1` if killed by a signal).
    pub(crate) code: i32,
    /// Standard output (the binary must print UTF-8).
    pub(crate) stdout: String,
    /// Standard error.
    pub(crate) stderr: String,
}

impl CliRun {
    /// Standard output and standard error together, for searching and for messages.
    pub(crate) fn all_output(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// Runs `audit` with `args` and collects its output.
pub(crate) fn audit<I, S>(args: I) -> CliRun
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let binary = AUDIT.get().expect("the audit binary was not built");
    let args: Vec<std::ffi::OsString> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
    let output = Command::new(binary).args(&args).output().expect("could not run audit");
    // Arguments can be hostile text: the command line is kept display-safe for messages.
    let command = format!(
        "audit {}",
        args.iter()
            .map(|a| input_validation::display_safe(&a.to_string_lossy()).into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    );
    CliRun {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8(output.stdout)
            .unwrap_or_else(|e| panic!("{command}: standard output is not UTF-8: {e}")),
        stderr: String::from_utf8(output.stderr)
            .unwrap_or_else(|e| panic!("{command}: standard error is not UTF-8: {e}")),
        command,
    }
}
