//! Paths confined to a root directory.

use std::ffi::OsStr;
use std::fmt;
use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

use crate::error::ValidationError;
use crate::escape::display_safe;
use crate::limits::{MAX_PATH_BYTES, MAX_PATH_COMPONENT_BYTES};

/// A path that lay inside its root when it was validated: absolute, with every existing symbolic
/// link resolved, and with a remainder (if any) that did not exist yet.
///
/// Unlike the string newtypes it dereferences to [`Path`], because the root part need not be
/// UTF-8. `Display` escapes dangerous characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ValidatedPath(PathBuf);

impl ValidatedPath {
    /// The validated path.
    #[must_use]
    pub fn as_path(&self) -> &Path {
        &self.0
    }

    /// Gives up the wrapper and returns the path.
    #[must_use]
    pub fn into_inner(self) -> PathBuf {
        self.0
    }
}

impl std::ops::Deref for ValidatedPath {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for ValidatedPath {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl fmt::Display for ValidatedPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&display_safe(&self.0.to_string_lossy()))
    }
}

/// Validates `candidate` as a path inside the directory `root` and returns where it resolves.
///
/// `root` is trusted configuration: it must be absolute and an existing directory. `candidate`
/// is untrusted. The checks, in order:
/// 1. lexical, on the text of the candidate: valid UTF-8 (raw bytes such as the overlong
///    encodings `C0 AE` of `.` are refused), non-empty, at most [`MAX_PATH_BYTES`], no NUL, no
///    `..` component anywhere;
/// 2. a relative candidate is joined to the root (never to the working directory); an absolute
///    one must start with the root as given or as resolved, and the rest is kept;
/// 3. each remaining component is at most [`MAX_PATH_COMPONENT_BYTES`] bytes of ASCII letters,
///    digits and `-_.+=,@`. So `%` is refused outright rather than decoded: `%2e%2e%2f`, the
///    double-encoded `%252e` and percent-encoded overlong forms never reach a decoder that could
///    turn them into `../`. `\` is refused (a separator elsewhere, and the start of `\xC0\xAE`
///    written as text), and so are fullwidth and other look-alike dots and slashes, being
///    non-ASCII;
/// 4. the components are walked from the resolved root with [`fs::symlink_metadata`]: a
///    symbolic link is resolved with [`fs::canonicalize`] and must lead inside the root (a
///    dangling link is refused, since a create would follow it); at the first component that
///    does not exist the walk stops, and the rest is appended as is, so a file not yet created
///    validates.
///
/// Lexical rules follow Unix path syntax (`/` separates components). The result is true at the
/// moment of the check: a directory that is swapped for a symbolic link afterwards is not caught,
/// so code that creates files should still open them without following links.
///
/// # Errors
///
/// [`NotUtf8`](ValidationError::NotUtf8), [`Empty`](ValidationError::Empty),
/// [`TooLong`](ValidationError::TooLong),
/// [`ForbiddenCharacter`](ValidationError::ForbiddenCharacter) (positions are byte offsets in the
/// candidate), [`ParentTraversal`](ValidationError::ParentTraversal),
/// [`ComponentTooLong`](ValidationError::ComponentTooLong),
/// [`OutsideRoot`](ValidationError::OutsideRoot), [`SymlinkEscape`](ValidationError::SymlinkEscape),
/// [`RootNotAbsolute`](ValidationError::RootNotAbsolute),
/// [`RootUnavailable`](ValidationError::RootUnavailable),
/// [`Unresolvable`](ValidationError::Unresolvable).
pub fn validate_path(
    candidate: impl AsRef<Path>,
    root: impl AsRef<Path>,
) -> Result<ValidatedPath, ValidationError> {
    let (candidate, root) = (candidate.as_ref(), root.as_ref());
    let text = candidate.to_str().ok_or(ValidationError::NotUtf8)?;
    if text.is_empty() {
        return Err(ValidationError::Empty);
    }
    if text.len() > MAX_PATH_BYTES {
        return Err(ValidationError::TooLong { len: text.len(), max: MAX_PATH_BYTES });
    }
    if let Some(position) = text.find('\0') {
        return Err(ValidationError::ForbiddenCharacter { code_point: 0, position });
    }
    let components: Vec<(usize, &str)> = components(text).collect();
    if components.iter().any(|&(_, name)| name == "..") {
        return Err(ValidationError::ParentTraversal);
    }
    if !root.is_absolute() {
        return Err(ValidationError::RootNotAbsolute);
    }
    let real_root = resolve_root(root)?;
    let inside = if candidate.is_absolute() {
        strip_root(&components, root)
            .or_else(|| strip_root(&components, &real_root))
            .ok_or(ValidationError::OutsideRoot)?
    } else {
        &components[..]
    };
    for &(position, name) in inside {
        check_component(position, name)?;
    }
    let resolved = walk(real_root.clone(), inside)?;
    // The walk only ever descends from the resolved root or jumps to a target checked to be
    // under it; this repeats the check on the final value rather than trusting that reasoning.
    if !resolved.starts_with(&real_root) {
        return Err(ValidationError::OutsideRoot);
    }
    Ok(ValidatedPath(resolved))
}

/// The named components of `text` with their byte offsets: empty and `.` components (from
/// `a//b`, `./a`, a trailing `/`) mean nothing and are dropped.
fn components(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut offset = 0;
    text.split('/')
        .map(move |name| {
            let at = offset;
            offset += name.len() + 1;
            (at, name)
        })
        .filter(|&(_, name)| !name.is_empty() && name != ".")
}

fn resolve_root(root: &Path) -> Result<PathBuf, ValidationError> {
    let real =
        fs::canonicalize(root).map_err(|e| ValidationError::RootUnavailable { kind: e.kind() })?;
    let meta =
        fs::metadata(&real).map_err(|e| ValidationError::RootUnavailable { kind: e.kind() })?;
    if !meta.is_dir() {
        return Err(ValidationError::RootUnavailable { kind: io::ErrorKind::NotADirectory });
    }
    Ok(real)
}

/// What is left of an absolute candidate once the components of `root` are matched at its start.
fn strip_root<'a, 'b>(
    components: &'a [(usize, &'b str)],
    root: &Path,
) -> Option<&'a [(usize, &'b str)]> {
    let mut rest = components;
    for part in root.components() {
        match part {
            Component::RootDir | Component::CurDir => {}
            Component::Normal(name) => match rest.split_first() {
                Some((&(_, first), tail)) if OsStr::new(first) == name => rest = tail,
                _ => return None,
            },
            Component::ParentDir | Component::Prefix(_) => return None,
        }
    }
    Some(rest)
}

fn check_component(position: usize, name: &str) -> Result<(), ValidationError> {
    if name.len() > MAX_PATH_COMPONENT_BYTES {
        return Err(ValidationError::ComponentTooLong {
            position,
            len: name.len(),
            max: MAX_PATH_COMPONENT_BYTES,
        });
    }
    match name.char_indices().find(|&(_, c)| !is_path_char(c)) {
        Some((at, c)) => Err(ValidationError::ForbiddenCharacter {
            code_point: c.into(),
            position: position + at,
        }),
        None => Ok(()),
    }
}

fn is_path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '+' | '=' | ',' | '@')
}

/// Appends `inside` to the resolved root, resolving each existing component that is a symbolic
/// link and refusing any that leads out of the root.
fn walk(real_root: PathBuf, inside: &[(usize, &str)]) -> Result<PathBuf, ValidationError> {
    let mut path = real_root.clone();
    let mut exists = true;
    for &(_, name) in inside {
        path.push(name);
        if !exists {
            continue;
        }
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let target = fs::canonicalize(&path).map_err(|_| ValidationError::SymlinkEscape)?;
                if !target.starts_with(&real_root) {
                    return Err(ValidationError::SymlinkEscape);
                }
                path = target;
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => exists = false,
            Err(e) => return Err(ValidationError::Unresolvable { kind: e.kind() }),
        }
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("models")).unwrap();
        fs::write(dir.path().join("models/llama.gguf"), b"weights").unwrap();
        dir
    }

    fn real(dir: &tempfile::TempDir) -> PathBuf {
        fs::canonicalize(dir.path()).unwrap()
    }

    #[test]
    fn relative_candidates_join_the_root_not_the_working_directory() {
        let dir = root();
        let path = validate_path("models/llama.gguf", dir.path()).unwrap();
        assert_eq!(path.as_path(), real(&dir).join("models/llama.gguf"));
        let cwd_relative = std::env::current_dir().unwrap().join("models/llama.gguf");
        assert_ne!(path.as_path(), cwd_relative);
    }

    #[test]
    fn files_that_do_not_exist_yet_are_accepted() {
        let dir = root();
        let path = validate_path("models/new/shard-0.bin", dir.path()).unwrap();
        assert_eq!(path.into_inner(), real(&dir).join("models/new/shard-0.bin"));
        let path = validate_path("./models//x/", dir.path()).unwrap();
        assert_eq!(path.into_inner(), real(&dir).join("models/x"));
    }

    #[test]
    fn absolute_candidates_must_lie_under_the_root() {
        let dir = root();
        let inside = dir.path().join("models/llama.gguf");
        assert_eq!(
            validate_path(&inside, dir.path()).unwrap().as_path(),
            real(&dir).join("models/llama.gguf")
        );
        assert_eq!(validate_path("/etc/passwd", dir.path()), Err(ValidationError::OutsideRoot));
        let sibling = format!("{}-evil/x", dir.path().display());
        assert_eq!(validate_path(sibling, dir.path()), Err(ValidationError::OutsideRoot));
        assert_eq!(validate_path(dir.path(), dir.path()).unwrap().as_path(), real(&dir));
    }

    #[test]
    fn parent_components_are_rejected_even_when_they_would_stay_inside() {
        let dir = root();
        for candidate in ["../etc/passwd", "models/../models/llama.gguf", "a/b/../../..", ".."] {
            assert_eq!(
                validate_path(candidate, dir.path()),
                Err(ValidationError::ParentTraversal),
                "{candidate}"
            );
        }
        let absolute = dir.path().join("models/../../etc");
        assert_eq!(validate_path(absolute, dir.path()), Err(ValidationError::ParentTraversal));
    }

    #[test]
    fn nul_is_named_wherever_it_is() {
        let dir = root();
        let candidate = format!("{}\0/x", dir.path().display());
        let position = dir.path().as_os_str().len();
        assert_eq!(
            validate_path(candidate, dir.path()),
            Err(ValidationError::ForbiddenCharacter { code_point: 0, position })
        );
    }

    #[test]
    fn nul_and_encoded_traversal_are_rejected() {
        let dir = root();
        let cases = [
            ("models\0/x", 0, 6),
            ("%2e%2e%2fetc%2fpasswd", 0x25, 0),
            ("models/%252e%252e/x", 0x25, 7),
            ("..%c0%af..%c0%afetc", 0x25, 2),
            ("..\\..\\etc", 0x5C, 2),
            ("\\xc0\\xae\\xc0\\xae/etc", 0x5C, 0),
            ("\u{FF0E}\u{FF0E}\u{FF0F}etc", 0xFF0E, 0),
            ("\u{2024}\u{2024}/etc", 0x2024, 0),
            ("a/b\u{2215}..", 0x2215, 3),
            ("model name", 0x20, 5),
            ("~/x", 0x7E, 0),
        ];
        for (candidate, code_point, position) in cases {
            assert_eq!(
                validate_path(candidate, dir.path()),
                Err(ValidationError::ForbiddenCharacter { code_point, position }),
                "{candidate:?}"
            );
        }
    }

    #[cfg(unix)]
    #[test]
    fn raw_overlong_bytes_are_not_utf8() {
        use std::os::unix::ffi::OsStrExt;
        let dir = root();
        let candidate = Path::new(OsStr::from_bytes(b"\xC0\xAE\xC0\xAE/etc"));
        assert_eq!(validate_path(candidate, dir.path()), Err(ValidationError::NotUtf8));
    }

    #[test]
    fn lengths_are_limited() {
        let dir = root();
        let long = "a".repeat(MAX_PATH_COMPONENT_BYTES + 1);
        assert_eq!(
            validate_path(format!("models/{long}"), dir.path()),
            Err(ValidationError::ComponentTooLong { position: 7, len: 256, max: 255 })
        );
        assert!(validate_path(&long[1..], dir.path()).is_ok());
        let huge = "a/".repeat(MAX_PATH_BYTES);
        assert_eq!(
            validate_path(&huge, dir.path()),
            Err(ValidationError::TooLong { len: huge.len(), max: MAX_PATH_BYTES })
        );
        assert_eq!(validate_path("", dir.path()), Err(ValidationError::Empty));
    }

    #[test]
    fn the_root_must_be_an_absolute_existing_directory() {
        let dir = root();
        assert_eq!(validate_path("x", "relative/root"), Err(ValidationError::RootNotAbsolute));
        assert_eq!(
            validate_path("x", dir.path().join("missing")),
            Err(ValidationError::RootUnavailable { kind: io::ErrorKind::NotFound })
        );
        assert_eq!(
            validate_path("x", dir.path().join("models/llama.gguf")),
            Err(ValidationError::RootUnavailable { kind: io::ErrorKind::NotADirectory })
        );
    }

    #[test]
    fn a_file_used_as_a_directory_is_unresolvable() {
        let dir = root();
        assert_eq!(
            validate_path("models/llama.gguf/x", dir.path()),
            Err(ValidationError::Unresolvable { kind: io::ErrorKind::NotADirectory })
        );
    }

    #[cfg(unix)]
    #[test]
    fn symbolic_links_must_stay_inside_the_root() {
        use std::os::unix::fs::symlink;
        let dir = root();
        let outside = tempfile::tempdir().unwrap();
        symlink(outside.path(), dir.path().join("escape")).unwrap();
        symlink("/etc/passwd", dir.path().join("passwd")).unwrap();
        symlink(dir.path().join("models"), dir.path().join("alias")).unwrap();
        symlink(outside.path().join("not-yet"), dir.path().join("dangling")).unwrap();
        symlink(dir.path().join("models/later"), dir.path().join("dangling-inside")).unwrap();

        assert_eq!(
            validate_path("escape/new-file", dir.path()),
            Err(ValidationError::SymlinkEscape)
        );
        assert_eq!(validate_path("passwd", dir.path()), Err(ValidationError::SymlinkEscape));
        assert_eq!(validate_path("dangling", dir.path()), Err(ValidationError::SymlinkEscape));
        assert_eq!(
            validate_path("dangling-inside", dir.path()),
            Err(ValidationError::SymlinkEscape)
        );
        let escaped = dir.path().join("escape/x");
        assert_eq!(validate_path(escaped, dir.path()), Err(ValidationError::SymlinkEscape));
        assert_eq!(
            validate_path("alias/llama.gguf", dir.path()).unwrap().as_path(),
            real(&dir).join("models/llama.gguf")
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_root_reached_through_a_symbolic_link_is_resolved_first() {
        use std::os::unix::fs::symlink;
        let dir = root();
        let link_parent = tempfile::tempdir().unwrap();
        let link = link_parent.path().join("root-link");
        symlink(dir.path(), &link).unwrap();
        let path = validate_path("models/llama.gguf", &link).unwrap();
        assert_eq!(path.as_path(), real(&dir).join("models/llama.gguf"));
        assert_eq!(
            validate_path(link.join("models"), &link).unwrap().as_path(),
            real(&dir).join("models")
        );
        assert_eq!(
            validate_path(real(&dir).join("models"), &link).unwrap().as_path(),
            real(&dir).join("models")
        );
    }

    #[test]
    fn display_escapes_dangerous_characters_of_the_root() {
        let dir = root();
        let odd_root = dir.path().join("r\u{1b}[31m");
        fs::create_dir(&odd_root).unwrap();
        let shown = validate_path("x", &odd_root).unwrap().to_string();
        assert!(shown.ends_with(r"/r\x1b[31m/x"), "{shown}");
        assert!(!shown.contains('\u{1b}'));
    }
}
