//! `cargo xtask deny`: dependency hygiene without network access beyond what `cargo metadata`
//! needs (crates.io, or nothing once `Cargo.lock`'s crates are downloaded). It applies the
//! policy in `deny.toml`, written in `cargo-deny`'s format so that `cargo deny check licenses
//! bans sources` applies the same policy for anyone who has that tool. Advisories are not
//! checked: they need the RustSec database, a download this check avoids (see README.md).
//!
//! What is checked, over every package of the graph `cargo metadata --format-version 1`
//! resolves (all targets; all features when `[graph] all-features = true`; dev-dependencies
//! included):
//!
//! - licences: each package's SPDX expression must be satisfied by `[licenses] allow`, or by an
//!   `[[licenses.exceptions]]` entry for that crate. `OR` needs one side, `AND` both, `A WITH E`
//!   is satisfied by `A WITH E` or by `A`; the old `A/B` form means `A OR B`; `A+` means
//!   `A-or-later`. A package with no `license` field fails. Workspace crates that are not
//!   published are skipped when `[licenses.private] ignore = true`, as `cargo-deny` does;
//! - bans: no crate of `[bans] deny`; with `multiple-versions = "deny"`, no crate in two or more
//!   versions except those listed in `[bans] skip` (`crate = "name@version"`); a `skip` entry
//!   that matches nothing is an error too, so the exception list shrinks as duplicates go;
//!   with `wildcards = "deny"`, no registry dependency of a workspace crate with a `*` version;
//! - sources: every package comes from crates.io, from `[sources] allow-registry`, from
//!   `[sources] allow-git`, or is a path in the workspace.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use serde_json::Value;

/// The crates.io index, under both protocols.
const CRATES_IO: &[&str] =
    &["registry+https://github.com/rust-lang/crates.io-index", "sparse+https://index.crates.io/"];

/// The parts of `deny.toml` this check reads; other keys are `cargo-deny`'s alone.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
struct Policy {
    graph: Graph,
    licenses: Licenses,
    bans: Bans,
    sources: Sources,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
struct Graph {
    all_features: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
struct Licenses {
    allow: Vec<String>,
    exceptions: Vec<LicenseException>,
    private: Private,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
struct LicenseException {
    #[serde(alias = "name")]
    #[serde(rename = "crate")]
    krate: String,
    allow: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
struct Private {
    ignore: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
struct Bans {
    multiple_versions: String,
    wildcards: String,
    deny: Vec<CrateRef>,
    skip: Vec<CrateRef>,
}

/// `{ crate = "name@version", reason = "..." }`, or the older `{ name, version }`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
struct CrateRef {
    #[serde(rename = "crate")]
    krate: Option<String>,
    name: Option<String>,
    version: Option<String>,
}

impl CrateRef {
    /// The crate name, and the version if the entry names one (a leading `=` is dropped).
    fn parts(&self) -> (String, Option<String>) {
        let spec = self.krate.clone().or_else(|| self.name.clone()).unwrap_or_default();
        let (name, version) = match spec.split_once('@') {
            Some((name, version)) => (name.to_owned(), Some(version.to_owned())),
            None => (spec, self.version.clone()),
        };
        (name, version.map(|v| v.trim_start_matches('=').to_owned()))
    }

    fn matches(&self, name: &str, version: &str) -> bool {
        let (want_name, want_version) = self.parts();
        want_name == name
            && want_version.is_none_or(|v| {
                version == v || version.strip_prefix(&v).is_some_and(|rest| rest.starts_with('.'))
            })
    }

    fn describe(&self) -> String {
        match self.parts() {
            (name, Some(version)) => format!("{name}@{version}"),
            (name, None) => name,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
struct Sources {
    allow_registry: Vec<String>,
    allow_git: Vec<String>,
}

/// One package of the resolved graph.
struct Package {
    name: String,
    version: String,
    license: Option<String>,
    source: Option<String>,
    private: bool,
    workspace: bool,
    dependencies: Vec<(String, String, Option<String>)>,
}

/// Runs `cargo metadata` and applies `deny.toml`.
pub(crate) fn check(root: &Path) -> Result<()> {
    let text = std::fs::read_to_string(root.join("deny.toml")).context("reading deny.toml")?;
    let policy: Policy = toml::from_str(&text).context("parsing deny.toml")?;
    let packages = resolved_packages(root, policy.graph.all_features)?;
    let mut problems = Vec::new();
    licenses(&policy.licenses, &packages, &mut problems);
    bans(&policy.bans, &packages, &mut problems);
    sources(&policy.sources, &packages, &mut problems);
    if problems.is_empty() {
        println!("deny: {} packages: licences, bans and sources ok", packages.len());
        Ok(())
    } else {
        bail!("deny.toml is not satisfied ({}):\n  {}", problems.len(), problems.join("\n  "))
    }
}

fn resolved_packages(root: &Path, all_features: bool) -> Result<Vec<Package>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut command = Command::new(&cargo);
    command.args(["metadata", "--format-version", "1", "--locked"]).current_dir(root);
    if all_features {
        command.arg("--all-features");
    }
    let output = command.output().with_context(|| format!("could not start `{cargo}`"))?;
    if !output.status.success() {
        bail!("`cargo metadata` failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    let metadata: Value = serde_json::from_slice(&output.stdout).context("cargo metadata JSON")?;
    let members: BTreeSet<&str> = metadata["workspace_members"]
        .as_array()
        .map(|ids| ids.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let resolved: BTreeSet<&str> = metadata["resolve"]["nodes"]
        .as_array()
        .map(|nodes| nodes.iter().filter_map(|n| n["id"].as_str()).collect())
        .unwrap_or_default();
    let empty = Vec::new();
    let packages = metadata["packages"].as_array().unwrap_or(&empty);
    Ok(packages
        .iter()
        .filter(|p| p["id"].as_str().is_some_and(|id| resolved.contains(id)))
        .map(|p| {
            let text = |key: &str| p[key].as_str().map(str::to_owned);
            let dependencies = p["dependencies"]
                .as_array()
                .unwrap_or(&empty)
                .iter()
                .map(|d| {
                    let field = |key: &str| d[key].as_str().unwrap_or_default().to_owned();
                    (field("name"), field("req"), d["source"].as_str().map(str::to_owned))
                })
                .collect();
            Package {
                name: text("name").unwrap_or_default(),
                version: text("version").unwrap_or_default(),
                license: text("license"),
                source: text("source"),
                // `publish = false` is an empty list of registries.
                private: p["publish"].as_array().is_some_and(Vec::is_empty),
                workspace: p["id"].as_str().is_some_and(|id| members.contains(id)),
                dependencies,
            }
        })
        .collect())
}

fn licenses(policy: &Licenses, packages: &[Package], problems: &mut Vec<String>) {
    for package in packages {
        if package.workspace && package.private && policy.private.ignore {
            continue;
        }
        let Some(expression) = &package.license else {
            problems.push(format!(
                "{}@{}: no `license` field; add a [[licenses.clarify]]-style exception",
                package.name, package.version
            ));
            continue;
        };
        let allowed = |id: &str| {
            policy.allow.iter().any(|a| a == id)
                || policy
                    .exceptions
                    .iter()
                    .any(|e| e.krate == package.name && e.allow.iter().any(|a| a == id))
        };
        match satisfied(expression, &allowed) {
            Ok(true) => {}
            Ok(false) => problems.push(format!(
                "{}@{}: licence `{expression}` is not allowed by deny.toml",
                package.name, package.version
            )),
            Err(why) => problems.push(format!(
                "{}@{}: licence `{expression}` cannot be read: {why}",
                package.name, package.version
            )),
        }
    }
}

/// Whether an SPDX licence expression is satisfied when `allowed` says which ids are.
fn satisfied(expression: &str, allowed: &dyn Fn(&str) -> bool) -> Result<bool, String> {
    let spaced = expression.replace('(', " ( ").replace(')', " ) ").replace('/', " OR ");
    let tokens: Vec<&str> = spaced.split_whitespace().collect();
    let mut parser = Parser { tokens: &tokens, at: 0, allowed };
    let value = parser.or()?;
    if parser.at != tokens.len() {
        return Err(format!("unexpected `{}`", tokens[parser.at]));
    }
    Ok(value)
}

/// A recursive-descent reader of SPDX expressions: `or := and (OR and)*`,
/// `and := term (AND term)*`, `term := ( or ) | id [WITH id]`.
struct Parser<'a> {
    tokens: &'a [&'a str],
    at: usize,
    allowed: &'a dyn Fn(&str) -> bool,
}

impl Parser<'_> {
    fn next(&mut self) -> Option<&str> {
        let token = self.tokens.get(self.at).copied();
        self.at += 1;
        token
    }

    fn peek(&self) -> Option<&str> {
        self.tokens.get(self.at).copied()
    }

    fn or(&mut self) -> Result<bool, String> {
        let mut value = self.and()?;
        while self.peek().is_some_and(|t| t.eq_ignore_ascii_case("OR")) {
            self.at += 1;
            let right = self.and()?;
            value = value || right;
        }
        Ok(value)
    }

    fn and(&mut self) -> Result<bool, String> {
        let mut value = self.term()?;
        while self.peek().is_some_and(|t| t.eq_ignore_ascii_case("AND")) {
            self.at += 1;
            let right = self.term()?;
            value = value && right;
        }
        Ok(value)
    }

    fn term(&mut self) -> Result<bool, String> {
        match self.next() {
            Some("(") => {
                let value = self.or()?;
                match self.next() {
                    Some(")") => Ok(value),
                    _ => Err("unbalanced parentheses".to_owned()),
                }
            }
            Some(id) if !matches!(id, ")" | "AND" | "OR" | "WITH") => {
                let id =
                    id.strip_suffix('+').map_or_else(|| id.to_owned(), |b| format!("{b}-or-later"));
                if self.peek() == Some("WITH") {
                    self.at += 1;
                    let exception = self.next().ok_or("`WITH` without an exception")?.to_owned();
                    let allowed = self.allowed;
                    return Ok(allowed(&format!("{id} WITH {exception}")) || allowed(&id));
                }
                Ok((self.allowed)(&id))
            }
            other => Err(format!("expected a licence, found {other:?}")),
        }
    }
}

fn bans(policy: &Bans, packages: &[Package], problems: &mut Vec<String>) {
    for package in packages {
        if let Some(ban) = policy.deny.iter().find(|b| b.matches(&package.name, &package.version)) {
            problems.push(format!(
                "{}@{}: banned by deny.toml ({})",
                package.name,
                package.version,
                ban.describe()
            ));
        }
    }
    if policy.multiple_versions == "deny" {
        let mut versions: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for package in packages {
            versions.entry(&package.name).or_default().insert(&package.version);
        }
        for (name, all) in &versions {
            let kept: Vec<&str> = all
                .iter()
                .copied()
                .filter(|v| !policy.skip.iter().any(|s| s.matches(name, v)))
                .collect();
            if all.len() > 1 && kept.len() > 1 {
                problems.push(format!(
                    "{name}: {} versions in the graph ({}); remove the duplicate or add a `skip` \
                     entry with the reason to deny.toml",
                    all.len(),
                    all.iter().copied().collect::<Vec<_>>().join(", ")
                ));
            }
        }
        for skip in &policy.skip {
            let (name, _) = skip.parts();
            let duplicated = versions.get(name.as_str()).is_some_and(|all| all.len() > 1);
            let present = packages.iter().any(|p| skip.matches(&p.name, &p.version));
            if !(duplicated && present) {
                problems.push(format!(
                    "deny.toml: `skip` entry {} matches no duplicated crate; remove it",
                    skip.describe()
                ));
            }
        }
    }
    if policy.wildcards == "deny" {
        for package in packages.iter().filter(|p| p.workspace) {
            for (name, req, source) in &package.dependencies {
                if req == "*" && source.is_some() {
                    problems.push(format!(
                        "{}: dependency `{name}` has a wildcard version",
                        package.name
                    ));
                }
            }
        }
    }
}

fn sources(policy: &Sources, packages: &[Package], problems: &mut Vec<String>) {
    for package in packages {
        let Some(source) = &package.source else { continue };
        let registry = CRATES_IO.contains(&source.as_str())
            || policy.allow_registry.iter().any(|r| source.ends_with(r.as_str()));
        let git = source.starts_with("git+")
            && policy.allow_git.iter().any(|g| source.trim_start_matches("git+").starts_with(g));
        if !(registry || git) {
            problems.push(format!(
                "{}@{}: source `{source}` is neither crates.io nor an allowed source",
                package.name, package.version
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(expression: &str) -> Result<bool, String> {
        let allow = ["MIT", "Apache-2.0", "Unicode-3.0", "GPL-2.0-or-later"];
        satisfied(expression, &|id| allow.contains(&id))
    }

    #[test]
    fn spdx_expressions() {
        assert_eq!(check("MIT"), Ok(true));
        assert_eq!(check("MIT OR GPL-3.0-only"), Ok(true));
        assert_eq!(check("GPL-3.0-only OR BSD-3-Clause"), Ok(false));
        assert_eq!(check("(MIT OR Apache-2.0) AND Unicode-3.0"), Ok(true));
        assert_eq!(check("(MIT OR Apache-2.0) AND BSD-3-Clause"), Ok(false));
        assert_eq!(check("MIT/Apache-2.0"), Ok(true));
        assert_eq!(check("Apache-2.0 WITH LLVM-exception"), Ok(true));
        assert_eq!(check("GPL-2.0+"), Ok(true));
        assert!(check("(MIT").is_err());
        assert!(check("MIT OR").is_err());
    }

    #[test]
    fn crate_references() {
        let skip = CrateRef { krate: Some("windows-sys@0.52".to_owned()), ..CrateRef::default() };
        assert!(skip.matches("windows-sys", "0.52.0"));
        assert!(!skip.matches("windows-sys", "0.59.0"));
        assert!(!skip.matches("windows-sys", "0.5.0"));
        let any = CrateRef { name: Some("openssl".to_owned()), ..CrateRef::default() };
        assert!(any.matches("openssl", "0.10.1"));
    }
}
