//! Identifiers: names that end up in file names, queries and log fields.

use crate::error::ValidationError;
use crate::newtype::{show_text, validated_text};

validated_text! {
    /// A validated identifier: 1 to `max_len` bytes of ASCII letters, digits, `-`, `_` and `.`,
    /// starting with a letter or digit and not ending with `.`.
    Identifier
}
show_text!(Identifier);

/// Validates an identifier (a pool id, a node name, a shard id, ...).
///
/// Rules, each chosen because identifiers become file names and query terms:
/// - non-empty, at most `max_len` bytes ([`MAX_IDENTIFIER_BYTES`](crate::MAX_IDENTIFIER_BYTES)
///   is the usual limit); identifiers are ASCII, so bytes are characters;
/// - only ASCII letters, digits, `-`, `_` and `.`: no `/` (a path separator), no `:` or `@`, no
///   whitespace, no control or invisible character, and no non-ASCII letter, which rejects
///   look-alikes such as a Cyrillic `а` in `admin`;
/// - the first character is a letter or digit: no leading `-` (read as an option by commands),
///   no leading `.` (hidden files, `.` and `..`), no leading `_`;
/// - no trailing `.` (dropped by some file systems, so `a.` and `a` would name one file).
///
/// Identifiers are case-sensitive.
///
/// # Errors
///
/// [`Empty`](ValidationError::Empty), [`TooLong`](ValidationError::TooLong),
/// [`ForbiddenCharacter`](ValidationError::ForbiddenCharacter),
/// [`InvalidStart`](ValidationError::InvalidStart), [`InvalidEnd`](ValidationError::InvalidEnd).
pub fn validate_identifier(s: &str, max_len: usize) -> Result<Identifier, ValidationError> {
    if s.is_empty() {
        return Err(ValidationError::Empty);
    }
    if s.len() > max_len {
        return Err(ValidationError::TooLong { len: s.len(), max: max_len });
    }
    if let Some(position) = s.bytes().position(|b| !is_identifier_byte(b)) {
        // A non-ASCII byte found first is always a lead byte, so this decodes the whole char.
        let code_point = s.get(position..).and_then(|t| t.chars().next()).map_or(0, u32::from);
        return Err(ValidationError::ForbiddenCharacter { code_point, position });
    }
    let bytes = s.as_bytes();
    if let Some(&first) = bytes.first().filter(|b| !b.is_ascii_alphanumeric()) {
        return Err(ValidationError::InvalidStart { code_point: first.into(), position: 0 });
    }
    if bytes.last() == Some(&b'.') {
        return Err(ValidationError::InvalidEnd { code_point: 0x2E, position: s.len() - 1 });
    }
    Ok(Identifier(s.to_owned()))
}

fn is_identifier_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MAX_IDENTIFIER_BYTES;

    fn check(s: &str) -> Result<String, ValidationError> {
        validate_identifier(s, MAX_IDENTIFIER_BYTES).map(Identifier::into_inner)
    }

    #[test]
    fn ordinary_identifiers_are_accepted_unchanged() {
        for s in ["pool-1", "gpu_0", "Llama-3.1-8B", "a", "0", "shard.v2.bin", "A-_.z"] {
            assert_eq!(check(s).as_deref(), Ok(s));
        }
    }

    #[test]
    fn empty_and_too_long_are_rejected() {
        assert_eq!(check(""), Err(ValidationError::Empty));
        assert_eq!(validate_identifier("abcd", 4).map(|i| i.len()), Ok(4));
        assert_eq!(
            validate_identifier("abcde", 4),
            Err(ValidationError::TooLong { len: 5, max: 4 })
        );
    }

    #[test]
    fn characters_outside_the_set_are_named() {
        let cases = [
            ("pool/1", 0x2F, 4),
            ("pool:1", 0x3A, 4),
            ("a@b", 0x40, 1),
            ("a b", 0x20, 1),
            ("a%2e", 0x25, 1),
            ("a\\b", 0x5C, 1),
            ("ok\0", 0, 2),
            ("ok\u{1b}[31m", 0x1B, 2),
            ("\u{430}dmin", 0x430, 0),
            ("adm\u{456}n", 0x456, 3),
            ("admin\u{200B}", 0x200B, 5),
            ("\u{FF41}dmin", 0xFF41, 0),
            ("x\u{E0041}", 0xE0041, 1),
        ];
        for (s, code_point, position) in cases {
            assert_eq!(
                check(s),
                Err(ValidationError::ForbiddenCharacter { code_point, position }),
                "{s:?}"
            );
        }
    }

    #[test]
    fn leading_punctuation_and_trailing_dot_are_rejected() {
        for (s, code_point) in [("-rf", 0x2D), (".hidden", 0x2E), ("..", 0x2E), ("_x", 0x5F)] {
            assert_eq!(
                check(s),
                Err(ValidationError::InvalidStart { code_point, position: 0 }),
                "{s:?}"
            );
        }
        assert_eq!(
            check("name."),
            Err(ValidationError::InvalidEnd { code_point: 0x2E, position: 4 })
        );
    }

    #[test]
    fn the_newtype_reads_as_a_str() {
        let id = validate_identifier("pool-1", 16).unwrap();
        assert_eq!(&*id, "pool-1");
        assert_eq!(id.as_ref() as &str, "pool-1");
        assert_eq!(id.to_string(), "pool-1");
        assert_eq!(format!("{id:?}"), "Identifier(\"pool-1\")");
    }
}
