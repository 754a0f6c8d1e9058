//! The layering check: a crate may depend only on the workspace crates ARCHITECTURE.md allows it.
//!
//! Normal and build dependencies must be in the crate's allowed set. Dev-dependencies may also
//! reach anything below the allowed set (what the allowed crates themselves may use), never a
//! crate at the same level or above. The dev-only crates ([`DEV_ONLY`]: test tooling) are the
//! exception: any crate may have them as a dev-dependency, and none as anything else.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::Value;

/// Each workspace crate and the workspace crates it may depend on directly.
const ALLOWED: &[(&str, &[&str])] = &[
    ("input-validation", &[]),
    ("audit-events", &[]),
    ("audit-chain", &[]),
    ("audit-store", &["audit-events", "audit-chain"]),
    ("audit-logger", &["audit-store", "audit-events", "input-validation"]),
    ("vram-residency", &["audit-logger", "audit-chain", "audit-events", "input-validation"]),
    ("audit-collector", &["audit-store", "audit-events", "audit-chain"]),
    (
        "audit-cli",
        &[
            "audit-collector",
            "audit-store",
            "audit-events",
            "audit-chain",
            "input-validation",
            "audit-logger",
            "vram-residency",
        ],
    ),
    (
        "bdd",
        &[
            "input-validation",
            "audit-events",
            "audit-chain",
            "audit-store",
            "audit-logger",
            "vram-residency",
            "audit-cli",
        ],
    ),
    ("audit-testkit", &["audit-events", "audit-chain", "audit-store", "audit-logger"]),
    ("xtask", &[]),
];

/// Crates of test tooling (`publish = false`): a dev-dependency of any crate, never a normal or
/// build dependency.
const DEV_ONLY: &[&str] = &["audit-testkit"];

fn allowed(name: &str) -> Option<&'static [&'static str]> {
    ALLOWED.iter().find(|(n, _)| *n == name).map(|(_, deps)| *deps)
}

/// Everything reachable from `name` through the allowed table, `name` excluded.
fn below(name: &str) -> BTreeSet<&'static str> {
    let mut seen = BTreeSet::new();
    let mut todo: Vec<&'static str> = allowed(name).unwrap_or(&[]).to_vec();
    while let Some(next) = todo.pop() {
        if seen.insert(next) {
            todo.extend_from_slice(allowed(next).unwrap_or(&[]));
        }
    }
    seen
}

/// Reads `cargo metadata` and fails on any dependency the table does not allow.
pub(crate) fn check(root: &Path) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(root)
        .output()
        .context("could not run `cargo metadata`")?;
    if !output.status.success() {
        bail!("`cargo metadata` failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    let metadata: Value = serde_json::from_slice(&output.stdout).context("bad cargo metadata")?;
    let packages = metadata["packages"].as_array().context("no packages in metadata")?;
    let members: BTreeSet<&str> = packages.iter().filter_map(|p| p["name"].as_str()).collect();

    let mut violations = Vec::new();
    for package in packages {
        let name = package["name"].as_str().unwrap_or_default();
        let Some(direct) = allowed(name) else {
            violations.push(format!("{name}: not in the layering table (xtask/src/layering.rs)"));
            continue;
        };
        let reachable = below(name);
        for dep in package["dependencies"].as_array().into_iter().flatten() {
            let dep_name = dep["name"].as_str().unwrap_or_default();
            if !members.contains(dep_name) {
                continue;
            }
            let is_dev = dep["kind"].as_str() == Some("dev");
            if DEV_ONLY.contains(&dep_name) {
                if !is_dev {
                    violations.push(format!(
                        "{name} has a non-dev dependency on {dep_name}, which is test tooling"
                    ));
                }
                continue;
            }
            let ok = direct.contains(&dep_name) || (is_dev && reachable.contains(dep_name));
            if !ok {
                let kind = if is_dev { "dev-dependency" } else { "dependency" };
                violations
                    .push(format!("{name} has a {kind} on {dep_name}, which is not below it"));
            }
        }
    }
    if violations.is_empty() {
        println!("layering: {} crates checked, no violation", members.len());
        Ok(())
    } else {
        bail!("layering violations:\n  {}", violations.join("\n  "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lower_crates_cannot_reach_higher_ones() {
        assert!(below("audit-store").contains("audit-chain"));
        assert!(!below("audit-store").contains("audit-logger"));
        assert!(below("vram-residency").contains("audit-store"));
        assert!(below("audit-events").is_empty());
        assert!(!below("audit-cli").contains("bdd"));
    }
}
