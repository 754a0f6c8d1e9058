//! The self-containment check: the repository must build, test and read correctly from a fresh
//! clone with nothing beside it. It fails on any path in a source, test, document or manifest
//! that leads outside the repository, and on any Markdown link or `*.md` name that points at a
//! file the repository does not have.
//!
//! Files checked: `*.rs`, `*.toml`, `*.md`, `*.feature`, `*.json`, `*.txt`, `*.yml`, `*.yaml`,
//! `*.sh` and everything under `.ci/` and `.cargo/`, except build output (`target*/`) and
//! `.git/`. `LICENSE` is not checked: it is the verbatim licence text.
//!
//! Each line is cut into path-like tokens (runs of letters, digits and `_ . / - ~ +`), after
//! removing every URL (`scheme://...` up to a space, quote, bracket or backtick). A token is a
//! finding when:
//!
//! 1. it names the old outside-the-repository locations of test vectors and design notes (a
//!    sibling `shared` folder): never allowed, whatever the file;
//! 2. it starts with a machine-local absolute root: `/work/`, `/home/`, `/root/`, `/Users/`,
//!    `/tmp/`, `/var/tmp/`, `/mnt/`, `/media/`, `/opt/`, `/srv/`, `/private/`, or `~/`. Other
//!    absolute paths are system interfaces or URL paths that mean the same on every machine
//!    (`/dev/null`, `/proc/self/...`, `/v1/tasks`, `/etc/passwd` as hostile input) and pass; a
//!    test that needs a scratch directory uses `tempfile`, never a fixed `/tmp` path;
//! 3. it has a `..` component and, resolved lexically, leaves the repository root. A token that
//!    starts with `/..` is resolved from the crate directory (it follows
//!    `env!("CARGO_MANIFEST_DIR")`); any other from the directory of the file that holds it, as
//!    `include_str!`, `#[path]`, Cargo `path =` keys and Markdown links are.
//!
//! Separately, every relative Markdown link target (`[text](target)`, without `#anchor`) and
//! every name of a project document (a `*.md` name in capitals: `README.md`,
//! `docs/EVENTS.md`) must name a file that exists, looked up from the file's directory, its crate
//! directory, the repository root and `docs/`. Lower-case `*.md` names are build outputs
//! (`target/bench/results.md`) or other projects' files (`signed-note.md`) and are not looked up.
//!
//! Hostile-input tests and examples hold traversal strings on purpose (`../../../etc/shadow` as
//! an attacker's request). Those are data, not references: [`DATA`] lists each one with its
//! file and the reason, and only rules 2 and 3 can be waived that way. This file, which spells
//! out the patterns, is checked by rule 1 only.

use std::fs;
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result, bail};

/// Extensions of the files checked.
const EXTENSIONS: &[&str] = &["rs", "toml", "md", "feature", "json", "txt", "yml", "yaml", "sh"];

/// Hidden folders whose files are checked (others, such as `.git`, are skipped).
const HIDDEN_CHECKED: &[&str] = &[".ci", ".cargo", ".github"];

/// Absolute roots that differ from machine to machine.
const LOCAL_ROOTS: &[&str] = &[
    "/work/",
    "/home/",
    "/root/",
    "/Users/",
    "/tmp/",
    "/var/tmp/",
    "/mnt/",
    "/media/",
    "/opt/",
    "/srv/",
    "/private/",
    "~/",
];

/// Path strings that are inputs under test, not references: (file, token, why).
const DATA: &[(&str, &str, &str)] = &[
    ("README.md", "../../../etc/shadow", "sample output: the path an attacker requested"),
    ("bdd/features/traversal.feature", "../../../etc/passwd", "a traversal to reject"),
    ("bdd/features/traversal.feature", "pools/./../../../../etc/shadow", "a traversal to reject"),
    ("bdd/features/traversal.feature", "/root/.ssh/id_rsa", "an absolute path to reject"),
    ("input-validation/src/model_ref.rs", "/tmp/x", "a hostile model reference under test"),
    ("input-validation/src/path.rs", "~/x", "a home-relative path the validator rejects"),
    ("input-validation/tests/hostile_input.rs", "/tmp/evil", "a hostile argument under test"),
    ("input-validation/tests/hostile_input.rs", "~/.ssh/id_ed25519", "a hostile path under test"),
];

/// This file spells out the patterns it looks for; only rule 1 (spelled in parts) applies to it.
const SELF: &str = "xtask/src/paths.rs";

/// The old locations outside the repository, spelled in parts so this file does not match.
fn outside_names() -> [String; 3] {
    let sibling = ["sha", "red/"].concat();
    [format!("{sibling}vectors"), format!("{sibling}design"), format!("../{sibling}")]
}

/// Walks the repository and reports every finding.
pub(crate) fn check(root: &Path) -> Result<()> {
    let mut files = Vec::new();
    collect(root, root, &mut files)?;
    let outside = outside_names();
    let mut problems = Vec::new();
    for file in &files {
        let text =
            fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
        let rel = relative(root, file);
        let dir = file.parent().unwrap_or(root);
        let crate_dir = crate_dir(root, dir);
        for (number, line) in text.lines().enumerate() {
            let at = format!("{rel}:{}", number + 1);
            let stripped = strip_urls(line);
            for token in tokens(&stripped) {
                if let Some(why) = finding(root, dir, &crate_dir, &outside, token) {
                    let waived = why.waivable
                        && (rel == SELF || DATA.iter().any(|(f, t, _)| *f == rel && token == *t));
                    if !waived {
                        problems.push(format!("{at}: `{token}`: {}", why.text));
                    }
                }
                if is_doc_name(token) && rel != SELF && !exists_md(root, dir, &crate_dir, token) {
                    problems.push(format!("{at}: `{token}`: no such file in the repository"));
                }
            }
            if rel.ends_with(".md") {
                for target in link_targets(line) {
                    if !link_exists(root, dir, target) {
                        problems.push(format!("{at}: link `{target}`: no such file"));
                    }
                }
            }
        }
    }
    if problems.is_empty() {
        println!("paths: {} files checked, nothing refers outside the repository", files.len());
        Ok(())
    } else {
        bail!(
            "{} path(s) lead outside the repository or to missing files (see xtask/src/paths.rs \
             for the rule):\n  {}",
            problems.len(),
            problems.join("\n  ")
        )
    }
}

/// Why a token was flagged, and whether an entry in [`DATA`] may waive it.
struct Finding {
    text: &'static str,
    waivable: bool,
}

fn finding(
    root: &Path,
    dir: &Path,
    crate_dir: &Path,
    outside: &[String],
    token: &str,
) -> Option<Finding> {
    if outside.iter().any(|name| token.contains(name.as_str())) {
        return Some(Finding {
            text: "a folder outside the repository; vendor the file (testdata/, docs/)",
            waivable: false,
        });
    }
    if LOCAL_ROOTS.iter().any(|r| token.starts_with(r)) {
        return Some(Finding {
            text: "an absolute path of one machine; use a path inside the repository or tempfile",
            waivable: true,
        });
    }
    if !token.split('/').any(|part| part == "..") {
        return None;
    }
    let (base, rest) = match token.strip_prefix("/..") {
        Some(rest) => (crate_dir, format!("..{rest}")),
        None if token.starts_with('/') => return None,
        None => (dir, token.to_owned()),
    };
    let depth = base.strip_prefix(root).map_or(0, |p| p.components().count());
    (!stays_inside(depth, &rest))
        .then_some(Finding { text: "leaves the repository root", waivable: true })
}

/// Whether `path`, resolved from a folder `depth` levels below the root, stays inside it.
fn stays_inside(depth: usize, path: &str) -> bool {
    let mut depth = depth;
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => match depth.checked_sub(1) {
                Some(d) => depth = d,
                None => return false,
            },
            _ => depth += 1,
        }
    }
    true
}

/// Whether a token names one of the project's documents: a `*.md` file whose name is in
/// capitals (`README.md`, `docs/THREAT-MODEL.md`). Lower-case names (`results.md`, upstream
/// `signed-note.md`) are outputs or other projects' files.
fn is_doc_name(token: &str) -> bool {
    let name = token.rsplit('/').next().unwrap_or(token);
    name.strip_suffix(".md").is_some_and(|stem| {
        !stem.is_empty()
            && stem
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || "-_".contains(c))
    })
}

/// Whether a `*.md` token names a file of the repository.
fn exists_md(root: &Path, dir: &Path, crate_dir: &Path, token: &str) -> bool {
    let token = token.trim_start_matches('/');
    if token.starts_with("target/") || token.starts_with("target-") || token == ".md" {
        return true;
    }
    [dir, crate_dir, root, &root.join("docs")].iter().any(|base| base.join(token).is_file())
}

/// Whether a Markdown link target exists (URLs, anchors and mail links are not looked up).
fn link_exists(root: &Path, dir: &Path, target: &str) -> bool {
    let path = target.split('#').next().unwrap_or_default();
    if path.is_empty() || target.contains("://") || target.starts_with("mailto:") {
        return true;
    }
    let full = if path.starts_with('/') {
        root.join(path.trim_start_matches('/'))
    } else {
        dir.join(path)
    };
    let normal = normalize(&full);
    normal.starts_with(root) && normal.exists()
}

/// Removes `.` and `..` components lexically.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// The targets of `[text](target)` links on a line.
fn link_targets(line: &str) -> Vec<&str> {
    let mut targets = Vec::new();
    let mut rest = line;
    while let Some(start) = rest.find("](") {
        let after = &rest[start + 2..];
        match after.find(')') {
            Some(end) => {
                let target = after[..end].trim();
                if !target.contains(' ') {
                    targets.push(target);
                }
                rest = &after[end..];
            }
            None => break,
        }
    }
    targets
}

/// The line with every `scheme://...` URL blanked out.
fn strip_urls(line: &str) -> String {
    let mut out = line.to_owned();
    while let Some(at) = out.find("://") {
        let bytes = out.as_bytes();
        let mut start = at;
        while start > 0 && (bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'+') {
            start -= 1;
        }
        let end = out[at..]
            .find(|c: char| c.is_whitespace() || "\"'`)>]".contains(c))
            .map_or(out.len(), |i| at + i);
        out.replace_range(start..end, " ");
    }
    out
}

/// Path-like tokens that contain a `/` or end in `.md`.
fn tokens(line: &str) -> impl Iterator<Item = &str> {
    line.split(|c: char| !(c.is_alphanumeric() || "_./-~+".contains(c)))
        .map(|t| t.trim_end_matches(['.', '-']))
        .filter(|t| t.contains('/') || t.ends_with(".md"))
}

/// The nearest folder at or above `dir` (and inside `root`) with a `Cargo.toml`.
fn crate_dir(root: &Path, dir: &Path) -> PathBuf {
    let mut current = dir;
    loop {
        if current.join("Cargo.toml").is_file() || current == root {
            return current.to_path_buf();
        }
        match current.parent() {
            Some(parent) if parent.starts_with(root) => current = parent,
            _ => return root.to_path_buf(),
        }
    }
}

fn relative(root: &Path, file: &Path) -> String {
    file.strip_prefix(root).unwrap_or(file).display().to_string()
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for entry in fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let entry = entry?;
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let kind = entry.file_type()?;
        if kind.is_dir() {
            let hidden_ok = dir == root && HIDDEN_CHECKED.contains(&name.as_ref());
            if (name.starts_with('.') && !hidden_ok)
                || name == "target"
                || name.starts_with("target-")
            {
                continue;
            }
            collect(root, &path, out)?;
        } else if kind.is_file() {
            let in_hidden = path
                .strip_prefix(root)
                .ok()
                .and_then(|p| p.components().next())
                .is_some_and(|c| HIDDEN_CHECKED.iter().any(|h| c.as_os_str() == *h));
            let extension = path.extension().and_then(|e| e.to_str()).unwrap_or_default();
            if in_hidden || EXTENSIONS.contains(&extension) {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flagged(dir: &str, token: &str) -> bool {
        let root = Path::new("/r");
        let dir = root.join(dir);
        let first = dir.strip_prefix(root).ok().and_then(|p| p.components().next());
        let crate_dir = first.map_or_else(|| root.to_path_buf(), |c| root.join(c));
        finding(root, &dir, &crate_dir, &outside_names(), token).is_some()
    }

    #[test]
    fn the_rule_flags_escapes_and_passes_the_rest() {
        let old = format!("../{}vectors/x.json", ["sha", "red/"].concat());
        assert!(flagged("", &old));
        assert!(flagged("audit-chain/src", "/../../x/y.txt"));
        assert!(!flagged("audit-chain/src", "/../testdata/vectors/y.txt"));
        assert!(flagged("", "../../../etc/shadow"));
        assert!(!flagged("audit-logger/src", "../../README.md"));
        assert!(flagged("", "/tmp/scratch/file"));
        assert!(flagged("docs", "/work/project/README.md"));
        assert!(!flagged("", "/dev/null"));
        assert!(!flagged("", "/proc/self/status"));
        assert!(!flagged("", "/v1/tasks"));
        assert!(!flagged("a/b", "models/../weights.bin"));
    }

    #[test]
    fn document_names_are_in_capitals() {
        assert!(is_doc_name("docs/EVENTS.md"));
        assert!(is_doc_name("THREAT-MODEL.md"));
        assert!(!is_doc_name("target/bench/results.md"));
        assert!(!is_doc_name("signed-note.md"));
        assert!(!is_doc_name(".md"));
    }

    #[test]
    fn urls_are_not_paths() {
        let line = "see https://example.org/a/../../b and (http://x/../..) end";
        assert_eq!(tokens(&strip_urls(line)).count(), 0);
    }

    #[test]
    fn link_targets_are_found() {
        let line = "[a](docs/EVENTS.md) and [b](#anchor) and [c](https://x.org/y)";
        assert_eq!(link_targets(line), ["docs/EVENTS.md", "#anchor", "https://x.org/y"]);
    }
}
