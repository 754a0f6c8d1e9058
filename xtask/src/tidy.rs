//! The tidy check over every Rust source file in the workspace:
//! - each file opens with a `//!` doc comment saying what it is for;
//! - no test is switched off or turned into an expected panic (assert on error values instead).

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// Attributes that hide a test from the run or let a panic pass for success.
/// Spelled in two halves so this file does not flag itself.
const FORBIDDEN: &[(&str, &str, &str)] = &[
    ("#[", "ignore", "a test that does not run"),
    ("#[", "should_panic", "a test that passes by panicking; assert on the error value"),
];

/// Walks the workspace (skipping build output and hidden folders) and reports every violation.
pub(crate) fn check(root: &Path) -> Result<()> {
    let mut files = Vec::new();
    collect(root, &mut files)?;
    let mut problems = Vec::new();
    for file in &files {
        let text =
            fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
        let rel = file.strip_prefix(root).unwrap_or(file).display().to_string();
        let first = text.lines().find(|line| !line.trim().is_empty()).unwrap_or_default();
        if !first.starts_with("//!") {
            problems.push(format!("{rel}: does not open with a `//!` doc comment"));
        }
        for (number, line) in text.lines().enumerate() {
            for (open, name, why) in FORBIDDEN {
                let pattern = format!("{open}{name}");
                if line.trim_start().starts_with(&pattern) {
                    problems.push(format!("{rel}:{}: `{pattern}]`: {why}", number + 1));
                }
            }
        }
    }
    if problems.is_empty() {
        println!("tidy: {} source files checked", files.len());
        Ok(())
    } else {
        bail!("tidy found {} problem(s):\n  {}", problems.len(), problems.join("\n  "))
    }
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for entry in fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let entry = entry?;
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || name == "target" || name.starts_with("target-") {
            continue;
        }
        let kind = entry.file_type()?;
        if kind.is_dir() {
            collect(&path, out)?;
        } else if kind.is_file() && name.ends_with(".rs") {
            out.push(path);
        }
    }
    out.sort();
    Ok(())
}
