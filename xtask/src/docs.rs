//! `cargo xtask docs`: regenerates the documents generated from code. Today that is
//! `docs/EVENTS.md`, rendered from the event catalogue by `audit_events::catalogue_markdown`.
//!
//! This crate depends on no workspace crate, so it runs the test that compares the file with
//! the catalogue, with `UPDATE_DOCS=1`, which makes that test write the file first.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

/// Rewrites every generated document.
pub(crate) fn generate(root: &Path) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let status = Command::new(&cargo)
        .args(["test", "--quiet", "-p", "audit-events", "--lib", "docs_events_md"])
        .env("UPDATE_DOCS", "1")
        .current_dir(root)
        .status()
        .with_context(|| format!("could not start `{cargo}`"))?;
    if !status.success() {
        bail!("regenerating docs/EVENTS.md failed ({status})");
    }
    println!("docs: docs/EVENTS.md regenerated");
    Ok(())
}
