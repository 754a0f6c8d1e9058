//! Model refs: names of models that reach downloaders, file systems and command lines.

use crate::error::ValidationError;
use crate::limits::MAX_MODEL_REF_BYTES;
use crate::newtype::{show_text, validated_text};

validated_text! {
    /// A validated model ref (see [`validate_model_ref`] for the grammar).
    ModelRef
}
show_text!(ModelRef);

/// The three forms a model ref may take.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelRefKind {
    /// `hf:ORG/NAME[/FILE...][@REVISION]`: a Hugging Face repository.
    HuggingFace,
    /// `https://HOST[/PATH...]`: a download URL.
    Https,
    /// `NAME[/NAME...]`: a model in the service's own model store, relative to it.
    Local,
}

impl ModelRef {
    /// Which form the ref has.
    #[must_use]
    pub fn kind(&self) -> ModelRefKind {
        if self.0.starts_with("hf:") {
            ModelRefKind::HuggingFace
        } else if self.0.starts_with("https://") {
            ModelRefKind::Https
        } else {
            ModelRefKind::Local
        }
    }
}

/// Validates a model ref.
///
/// The grammar is an allow-list; anything else is rejected:
/// - `hf:SEGMENT(/SEGMENT)*[@REVISION]`
/// - `https://HOST(/SEGMENT)*` where `HOST` is a DNS name (no port, no user info, no query)
/// - `SEGMENT(/SEGMENT)*`, relative to the model store
///
/// A `SEGMENT` or `REVISION` is non-empty, made of ASCII letters, digits, `.`, `_` and `-`, and
/// does not start with `.` or `-`; so `..`, hidden files and option-like names are out. The whole
/// ref is at most [`MAX_MODEL_REF_BYTES`] bytes, does not start with `-` or `/`, and uses `:` only
/// after the scheme and `@` only before an `hf:` revision. Every shell metacharacter (space,
/// quotes, `;|&$<>()*?[]{}!#~` and backquote), `%` and `\` fall outside the allowed set. Other
/// schemes (`file:`, `http:`, `ftp:`, upper-case spellings) are unsupported.
///
/// # Errors
///
/// [`Empty`](ValidationError::Empty), [`TooLong`](ValidationError::TooLong),
/// [`ForbiddenCharacter`](ValidationError::ForbiddenCharacter),
/// [`InvalidStart`](ValidationError::InvalidStart),
/// [`AbsolutePath`](ValidationError::AbsolutePath),
/// [`UnsupportedScheme`](ValidationError::UnsupportedScheme),
/// [`ParentTraversal`](ValidationError::ParentTraversal),
/// [`EmptySegment`](ValidationError::EmptySegment), [`InvalidHost`](ValidationError::InvalidHost).
pub fn validate_model_ref(s: &str) -> Result<ModelRef, ValidationError> {
    if s.is_empty() {
        return Err(ValidationError::Empty);
    }
    if s.len() > MAX_MODEL_REF_BYTES {
        return Err(ValidationError::TooLong { len: s.len(), max: MAX_MODEL_REF_BYTES });
    }
    if let Some((position, c)) = s.char_indices().find(|&(_, c)| !is_ref_char(c)) {
        return Err(ValidationError::ForbiddenCharacter { code_point: c.into(), position });
    }
    if s.starts_with('/') {
        return Err(ValidationError::AbsolutePath);
    }
    if let Some(rest) = s.strip_prefix("hf:") {
        let base = s.len() - rest.len();
        match rest.split_once('@') {
            Some((path, revision)) => {
                check_segments(path, base)?;
                check_segment(revision, base + path.len() + 1)?;
            }
            None => check_segments(rest, base)?,
        }
    } else if let Some(rest) = s.strip_prefix("https://") {
        let base = s.len() - rest.len();
        let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
        check_host(host, base)?;
        if rest.len() > host.len() {
            check_segments(path, base + host.len() + 1)?;
        }
    } else if s.contains(':') {
        return Err(ValidationError::UnsupportedScheme);
    } else {
        check_segments(s, 0)?;
    }
    Ok(ModelRef(s.to_owned()))
}

fn is_ref_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/' | ':' | '@')
}

/// Checks `/`-separated segments; `base` is the byte offset of `path` in the whole ref.
fn check_segments(path: &str, base: usize) -> Result<(), ValidationError> {
    let mut offset = base;
    for segment in path.split('/') {
        check_segment(segment, offset)?;
        offset += segment.len() + 1;
    }
    Ok(())
}

fn check_segment(segment: &str, position: usize) -> Result<(), ValidationError> {
    if segment == ".." {
        return Err(ValidationError::ParentTraversal);
    }
    match segment.bytes().next() {
        None => return Err(ValidationError::EmptySegment { position }),
        Some(first @ (b'.' | b'-')) => {
            return Err(ValidationError::InvalidStart { code_point: first.into(), position });
        }
        Some(_) => {}
    }
    // `:` and `@` pass the whole-ref character check but belong only to the scheme and revision.
    match segment.bytes().position(|b| matches!(b, b':' | b'@')) {
        Some(at) => Err(ValidationError::ForbiddenCharacter {
            code_point: segment.as_bytes().get(at).copied().map_or(0, u32::from),
            position: position + at,
        }),
        None => Ok(()),
    }
}

/// A DNS name: labels of letters, digits and inner hyphens, 63 bytes each, 253 in all.
fn check_host(host: &str, position: usize) -> Result<(), ValidationError> {
    if let Some(at) = host.bytes().position(|b| matches!(b, b':' | b'@')) {
        return Err(ValidationError::ForbiddenCharacter {
            code_point: host.as_bytes().get(at).copied().map_or(0, u32::from),
            position: position + at,
        });
    }
    let label_ok = |label: &str| {
        (1..=63).contains(&label.len())
            && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    if host.len() > 253 || !host.split('.').all(label_ok) {
        return Err(ValidationError::InvalidHost);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(s: &str) -> Result<ModelRefKind, ValidationError> {
        validate_model_ref(s).map(|r| r.kind())
    }

    #[test]
    fn the_three_forms_are_accepted() {
        use ModelRefKind::{Https, HuggingFace, Local};
        let cases = [
            ("hf:meta-llama/Llama-3.1-8B", HuggingFace),
            ("hf:gpt2", HuggingFace),
            ("hf:TheBloke/Llama-2-7B-GGUF/llama-2-7b.Q4_K_M.gguf@main", HuggingFace),
            ("hf:org/name@a1b2c3d", HuggingFace),
            ("https://huggingface.co/org/model/resolve/main/model.safetensors", Https),
            ("https://models.example.com", Https),
            ("llama-3-8b.gguf", Local),
            ("family/llama-3-8b/q4.gguf", Local),
        ];
        for (s, kind) in cases {
            assert_eq!(check(s), Ok(kind), "{s:?}");
            assert_eq!(validate_model_ref(s).unwrap().as_str(), s);
        }
    }

    #[test]
    fn absolute_paths_and_other_schemes_are_rejected() {
        assert_eq!(check("/etc/passwd"), Err(ValidationError::AbsolutePath));
        assert_eq!(check("//server/share"), Err(ValidationError::AbsolutePath));
        for s in ["file:///etc/passwd", "file:model", "http://example.com/m", "HF:org/m"] {
            assert_eq!(check(s), Err(ValidationError::UnsupportedScheme), "{s:?}");
        }
        assert_eq!(
            check("ftp://h/m"),
            Err(ValidationError::UnsupportedScheme),
            "ftp is not in the list"
        );
    }

    #[test]
    fn traversal_and_option_like_names_are_rejected() {
        for s in ["../secret", "models/../../etc/passwd", "hf:org/..", "https://h/a/../b"] {
            assert_eq!(check(s), Err(ValidationError::ParentTraversal), "{s:?}");
        }
        assert_eq!(
            check("-rf"),
            Err(ValidationError::InvalidStart { code_point: 0x2D, position: 0 })
        );
        assert_eq!(
            check("--output=/tmp/x"),
            Err(ValidationError::ForbiddenCharacter { code_point: 0x3D, position: 8 })
        );
        assert_eq!(
            check("models/-x"),
            Err(ValidationError::InvalidStart { code_point: 0x2D, position: 7 })
        );
        assert_eq!(
            check("models/.hidden"),
            Err(ValidationError::InvalidStart { code_point: 0x2E, position: 7 })
        );
        assert_eq!(
            check("hf:org/m@-x"),
            Err(ValidationError::InvalidStart { code_point: 0x2D, position: 9 })
        );
    }

    #[test]
    fn shell_metacharacters_are_named() {
        for (i, c) in " ;|&$`<>()*?[]{}!#~'\"\\%\n\t=,+".char_indices() {
            let s = format!("model{c}x");
            assert_eq!(
                check(&s),
                Err(ValidationError::ForbiddenCharacter { code_point: c.into(), position: 5 }),
                "metacharacter {i}"
            );
        }
        assert_eq!(
            check("m\u{430}del"),
            Err(ValidationError::ForbiddenCharacter { code_point: 0x430, position: 1 })
        );
    }

    #[test]
    fn empty_segments_and_misplaced_separators_are_rejected() {
        assert_eq!(check(""), Err(ValidationError::Empty));
        assert_eq!(check("a//b"), Err(ValidationError::EmptySegment { position: 2 }));
        assert_eq!(check("a/"), Err(ValidationError::EmptySegment { position: 2 }));
        assert_eq!(check("hf:"), Err(ValidationError::EmptySegment { position: 3 }));
        assert_eq!(check("hf:org/m@"), Err(ValidationError::EmptySegment { position: 9 }));
        assert_eq!(
            check("hf:org/m@v1@v2"),
            Err(ValidationError::ForbiddenCharacter { code_point: 0x40, position: 11 })
        );
        assert_eq!(
            check("hf:org:x/m"),
            Err(ValidationError::ForbiddenCharacter { code_point: 0x3A, position: 6 })
        );
        assert_eq!(
            check("org/m@v1"),
            Err(ValidationError::ForbiddenCharacter { code_point: 0x40, position: 5 })
        );
    }

    #[test]
    fn https_hosts_must_be_plain_dns_names() {
        assert_eq!(
            check("https://trusted.example@evil.example/m"),
            Err(ValidationError::ForbiddenCharacter { code_point: 0x40, position: 23 })
        );
        assert_eq!(
            check("https://host:8080/m"),
            Err(ValidationError::ForbiddenCharacter { code_point: 0x3A, position: 12 })
        );
        for s in [
            "https://",
            "https:///m",
            "https://-h/m",
            "https://h-/m",
            "https://a..b/m",
            "https://h_x/m",
        ] {
            assert_eq!(check(s), Err(ValidationError::InvalidHost), "{s:?}");
        }
        let long_label = format!("https://{}.example/m", "a".repeat(64));
        assert_eq!(check(&long_label), Err(ValidationError::InvalidHost));
        assert_eq!(check("https://h/"), Err(ValidationError::EmptySegment { position: 10 }));
    }

    #[test]
    fn length_is_limited() {
        let long = "a".repeat(MAX_MODEL_REF_BYTES + 1);
        assert_eq!(
            check(&long),
            Err(ValidationError::TooLong {
                len: MAX_MODEL_REF_BYTES + 1,
                max: MAX_MODEL_REF_BYTES
            })
        );
        assert!(check(&long[1..]).is_ok());
    }
}
