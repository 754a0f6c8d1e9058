//! `cargo xtask packages`: the system programs the tests start themselves, and their Debian
//! packages.
//!
//! - PostgreSQL's server programs (`initdb`, `pg_ctl`, `postgres`; package `postgresql`): the
//!   fleet collector's tests start a throwaway cluster in a temporary directory.
//! - Chromium (package `chromium`): the HTML report is opened in headless Chromium.
//!
//! When a program is missing and this runs as root (as CI does), the packages are installed
//! with `apt-get`; otherwise the check stops and prints the exact command to run.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// A program the tests need and the Debian package that provides it.
struct Need {
    /// What it is for, shown when it is missing.
    purpose: &'static str,
    /// The Debian package.
    package: &'static str,
    /// Finds the program; `None` when it is not installed.
    find: fn() -> Option<PathBuf>,
}

const NEEDS: &[Need] = &[
    Need {
        purpose: "PostgreSQL server (fleet collector tests)",
        package: "postgresql",
        find: postgres_bin_dir,
    },
    Need { purpose: "headless Chromium (HTML report tests)", package: "chromium", find: chromium },
];

/// Checks every program; installs the missing packages when running as root.
pub(crate) fn check(_root: &Path) -> Result<()> {
    let missing: Vec<&Need> = NEEDS.iter().filter(|need| (need.find)().is_none()).collect();
    for need in NEEDS {
        if let Some(found) = (need.find)() {
            println!("{}: {}", need.purpose, found.display());
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    let packages: Vec<&str> = missing.iter().map(|need| need.package).collect();
    let command = format!(
        "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y \
         --no-install-recommends {}",
        packages.join(" ")
    );
    for need in &missing {
        println!("missing: {} (Debian package `{}`)", need.purpose, need.package);
    }
    if !is_root() {
        bail!("install the missing packages as root, then run again:\n    sudo sh -c '{command}'");
    }
    println!("installing as root: {command}");
    let status = Command::new("sh")
        .args(["-c", &command])
        .status()
        .context("could not start `sh` to run apt-get")?;
    if !status.success() {
        bail!("`{command}` exited with {status}");
    }
    let still: Vec<&str> =
        missing.iter().filter(|need| (need.find)().is_none()).map(|need| need.package).collect();
    if !still.is_empty() {
        bail!("installed {} but still cannot find their programs", still.join(", "));
    }
    Ok(())
}

/// The directory holding `initdb`, `pg_ctl` and `postgres`: `$PATH` first, then Debian's
/// versioned `/usr/lib/postgresql/<version>/bin` (the newest version).
fn postgres_bin_dir() -> Option<PathBuf> {
    if let Some(dir) = on_path("initdb").and_then(|p| p.parent().map(Path::to_path_buf))
        && ["pg_ctl", "postgres"].iter().all(|name| dir.join(name).is_file())
    {
        return Some(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version: u32 = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            ["initdb", "pg_ctl", "postgres"]
                .iter()
                .all(|name| bin.join(name).is_file())
                .then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser"].iter().find_map(|name| on_path(name))
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(name)).find(|candidate| candidate.is_file())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .ok()
        .is_some_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}
