//! `cargo xtask bench`: runs every benchmark binary in release mode and writes the results table.
//!
//! Benchmark binaries (`harness = false`) print one line per measurement on standard output:
//! `BENCH {"crate": "...", "name": "...", "value": 1.0, "unit": "...", "target": "..."}`
//! (`target` optional). This task collects those lines and writes `target/bench/results.json`
//! and `target/bench/results.md`, headed by the machine, toolchain and command used.

use std::fmt::Write as _;
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

/// Runs the benchmarks (optionally only those whose name contains `filter`) and writes the table;
/// with `--scale [SIZES]`, only the scale benchmark.
pub(crate) fn run(root: &Path, args: &[String]) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    if args.first().is_some_and(|a| a == "--scale") {
        return scale(root, &cargo, &args[1..]);
    }
    let mut command = Command::new(&cargo);
    command.args(["bench", "--workspace", "--quiet", "--"]).args(args).current_dir(root);
    let mut child = command
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("could not start `{cargo} bench`"))?;
    let stdout = child.stdout.take().context("no stdout from cargo bench")?;
    let mut rows = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        match line.strip_prefix("BENCH ") {
            Some(payload) => {
                let row: Value = serde_json::from_str(payload)
                    .with_context(|| format!("malformed benchmark line: {line}"))?;
                println!(
                    "{:<18} {:<58} {:>14} {}",
                    row["crate"].as_str().unwrap_or_default(),
                    row["name"].as_str().unwrap_or_default(),
                    format_value(&row["value"]),
                    row["unit"].as_str().unwrap_or_default()
                );
                rows.push(row);
            }
            None => println!("{line}"),
        }
    }
    let status = child.wait()?;
    if !status.success() {
        bail!("`cargo bench` exited with {status}");
    }
    let machine = machine_description();
    let out_dir = root.join("target").join("bench");
    fs::create_dir_all(&out_dir)?;
    let command_line = format!("cargo xtask bench {}", args.join(" ")).trim_end().to_owned();
    let report = json!({ "machine": machine, "command": command_line, "results": rows });
    fs::write(out_dir.join("results.json"), serde_json::to_string_pretty(&report)?)?;
    fs::write(out_dir.join("results.md"), markdown(&machine, &command_line, &rows))?;
    println!("wrote {} rows to {}", rows.len(), out_dir.join("results.md").display());
    Ok(())
}

fn format_value(value: &Value) -> String {
    match value.as_f64() {
        Some(v) if v.abs() >= 100.0 => format!("{v:.0}"),
        Some(v) => format!("{v:.3}"),
        None => value.to_string(),
    }
}

fn markdown(machine: &Value, command: &str, rows: &[Value]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Benchmark results\n");
    let _ = writeln!(out, "- command: `{command}`");
    for key in ["cpu", "cores", "memory", "os", "rustc", "date"] {
        let _ = writeln!(out, "- {key}: {}", machine[key].as_str().unwrap_or("unknown"));
    }
    let _ = writeln!(out, "\n| crate | benchmark | value | unit | target |");
    let _ = writeln!(out, "|---|---|---:|---|---|");
    for row in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            row["crate"].as_str().unwrap_or_default(),
            row["name"].as_str().unwrap_or_default(),
            format_value(&row["value"]),
            row["unit"].as_str().unwrap_or_default(),
            row["target"].as_str().unwrap_or("")
        );
    }
    out
}

fn machine_description() -> Value {
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name").and_then(|r| r.split(':').nth(1)))
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|| "unknown".to_owned());
    let cores =
        std::thread::available_parallelism().map(|n| n.get().to_string()).unwrap_or_default();
    let memory = fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:").map(|r| r.trim().to_owned()))
        .unwrap_or_default();
    json!({
        "cpu": cpu,
        "cores": cores,
        "memory": memory,
        "os": capture("uname", &["-srm"]),
        "rustc": capture("rustc", &["--version"]),
        "date": capture("date", &["-u", "+%Y-%m-%dT%H:%M:%SZ"]),
    })
}

fn capture(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// `cargo xtask bench --scale [SIZES]`: the scale benchmark (`audit-cli/benches/scale.rs`), which
/// writes logs of each size (default 1e6,1e7,1e8 records; tens of GB) and the table
/// `target/bench/scale.md`. Not part of CI.
fn scale(root: &Path, cargo: &str, sizes: &[String]) -> Result<()> {
    let mut command = Command::new(cargo);
    command
        .args(["bench", "--quiet", "-p", "audit-cli", "--bench", "scale", "--", "--scale"])
        .args(sizes)
        .current_dir(root);
    let status = command.status().with_context(|| format!("could not start `{cargo} bench`"))?;
    if !status.success() {
        bail!("the scale benchmark exited with {status}");
    }
    Ok(())
}
