//! Hex strings of a known length: digests, key ids, fingerprints.

use crate::error::ValidationError;
use crate::newtype::{show_text, validated_text};

validated_text! {
    /// A validated hex string, normalised to lower case.
    HexString
}
show_text!(HexString);

/// Validates a hex string of exactly `expected_len` digits (so a SHA-256 digest is 64).
///
/// Upper- and lower-case digits are accepted and the value is normalised to lower case, so two
/// spellings of one digest compare equal. No `0x` prefix, no separators, no whitespace.
///
/// # Errors
///
/// [`Empty`](ValidationError::Empty), [`WrongLength`](ValidationError::WrongLength) (checked
/// before the digits, so a huge input is not scanned),
/// [`ForbiddenCharacter`](ValidationError::ForbiddenCharacter).
pub fn validate_hex_string(s: &str, expected_len: usize) -> Result<HexString, ValidationError> {
    if s.is_empty() {
        return Err(ValidationError::Empty);
    }
    if s.len() != expected_len {
        return Err(ValidationError::WrongLength { len: s.len(), expected: expected_len });
    }
    if let Some((position, c)) = s.char_indices().find(|(_, c)| !c.is_ascii_hexdigit()) {
        return Err(ValidationError::ForbiddenCharacter { code_point: c.into(), position });
    }
    Ok(HexString(s.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_accepted_and_lower_cased() {
        let digest = "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262";
        assert_eq!(validate_hex_string(digest, 64).unwrap().as_str(), digest);
        let upper = digest.to_ascii_uppercase();
        assert_eq!(validate_hex_string(&upper, 64).unwrap().as_str(), digest);
    }

    #[test]
    fn length_must_match() {
        assert_eq!(validate_hex_string("", 64), Err(ValidationError::Empty));
        assert_eq!(
            validate_hex_string("abc", 4),
            Err(ValidationError::WrongLength { len: 3, expected: 4 })
        );
        assert_eq!(
            validate_hex_string("abcde", 4),
            Err(ValidationError::WrongLength { len: 5, expected: 4 })
        );
    }

    #[test]
    fn non_hex_characters_are_named() {
        let cases =
            [("0x12", 0x78, 1), ("12 4", 0x20, 2), ("abcg", 0x67, 3), ("\u{FF10}0", 0xFF10, 0)];
        for (s, code_point, position) in cases {
            assert_eq!(
                validate_hex_string(s, s.len()),
                Err(ValidationError::ForbiddenCharacter { code_point, position }),
                "{s:?}"
            );
        }
    }
}
