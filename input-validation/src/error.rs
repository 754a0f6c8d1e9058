//! The crate's one error type.
//!
//! Messages are built only from numbers, static text and values that were escaped first: a
//! character is named as `U+XXXX` with its byte offset, never echoed, so an error can be logged
//! or printed without carrying the hostile input it describes.

use std::io;

/// Why a value was rejected.
///
/// Positions are byte offsets into the input as given. Lengths are in bytes.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    /// The input is empty where a value is required (identifiers, model refs, hex strings, paths,
    /// prompts).
    #[error("input is empty")]
    Empty,

    /// The input is longer than the limit that applies to it.
    #[error("input is {len} bytes long, the limit is {max} bytes")]
    TooLong {
        /// Length of the input in bytes.
        len: usize,
        /// The limit in bytes.
        max: usize,
    },

    /// A character outside the set the validator allows (for example a shell metacharacter in a
    /// model ref, a non-ASCII look-alike letter in an identifier, `%` or `\` in a path).
    #[error("character {} at byte {position} is not allowed here", CodePoint(*code_point))]
    ForbiddenCharacter {
        /// The character's Unicode scalar value.
        code_point: u32,
        /// Byte offset of the character in the input.
        position: usize,
    },

    /// A character from the dangerous table ([`is_dangerous`](crate::is_dangerous)) in text that
    /// must not contain one: any of them for [`sanitize_string`](crate::sanitize_string), all but
    /// tab, line feed and carriage return for [`validate_prompt`](crate::validate_prompt), and a
    /// raw (unescaped) one in the input of [`unescape_log`](crate::unescape_log).
    #[error("dangerous character {} at byte {position}", CodePoint(*code_point))]
    DangerousCharacter {
        /// The character's Unicode scalar value.
        code_point: u32,
        /// Byte offset of the character in the input.
        position: usize,
    },

    /// A character that is allowed inside a name but not at its start: a leading `-` (it would
    /// be read as a command-line option) or a leading `.` (hidden files, `..`).
    #[error("character {} at byte {position} may not start a name", CodePoint(*code_point))]
    InvalidStart {
        /// The character's Unicode scalar value.
        code_point: u32,
        /// Byte offset of the character in the input.
        position: usize,
    },

    /// A character that is allowed inside a name but not at its end (a trailing `.` in an
    /// identifier, which some file systems drop, so two identifiers would name one file).
    #[error("character {} at byte {position} may not end a name", CodePoint(*code_point))]
    InvalidEnd {
        /// The character's Unicode scalar value.
        code_point: u32,
        /// Byte offset of the character in the input.
        position: usize,
    },

    /// A hex string whose length differs from the one expected.
    #[error("hex string is {len} bytes long, expected {expected}")]
    WrongLength {
        /// Length of the input in bytes.
        len: usize,
        /// The expected length in hex digits.
        expected: usize,
    },

    /// A model ref with a scheme other than `hf:` and `https://` (`file:`, `http:`, ...).
    #[error("unsupported model ref scheme (allowed: `hf:`, `https://`, or none)")]
    UnsupportedScheme,

    /// A model ref that is an absolute path.
    #[error("absolute paths are not allowed")]
    AbsolutePath,

    /// A `..` segment in a model ref or a `..` component in a path.
    #[error("parent directory (`..`) segments are not allowed")]
    ParentTraversal,

    /// An empty segment in a model ref (`a//b`, a trailing `/`, an empty revision after `@`).
    #[error("empty segment at byte {position}")]
    EmptySegment {
        /// Byte offset where the empty segment starts.
        position: usize,
    },

    /// The host of an `https://` model ref is not a plain DNS name (labels of ASCII letters,
    /// digits and inner `-`, at most 63 bytes each and 253 in all; no port, no user info).
    #[error("malformed host name")]
    InvalidHost,

    /// A path that is not valid UTF-8 (raw bytes, including overlong encodings of `.` and `/`).
    #[error("path is not valid UTF-8")]
    NotUtf8,

    /// A path component longer than [`MAX_PATH_COMPONENT_BYTES`](crate::MAX_PATH_COMPONENT_BYTES).
    #[error("path component at byte {position} is {len} bytes long, the limit is {max} bytes")]
    ComponentTooLong {
        /// Byte offset of the component in the candidate.
        position: usize,
        /// Length of the component in bytes.
        len: usize,
        /// The limit in bytes.
        max: usize,
    },

    /// An absolute candidate path that does not lie under the root.
    #[error("path is outside the root")]
    OutsideRoot,

    /// A symbolic link in the candidate path leads outside the root, or leads nowhere (a dangling
    /// link, which a later create would follow to wherever it points).
    #[error("a symbolic link in the path escapes the root or is dangling")]
    SymlinkEscape,

    /// The root given to [`validate_path`](crate::validate_path) is relative; resolving it would
    /// depend on the process's working directory.
    #[error("the root directory must be an absolute path")]
    RootNotAbsolute,

    /// The root given to [`validate_path`](crate::validate_path) does not exist, is not a
    /// directory, or cannot be resolved.
    #[error("the root directory cannot be resolved: {kind}")]
    RootUnavailable {
        /// What the operating system reported.
        kind: io::ErrorKind,
    },

    /// An existing part of the candidate path cannot be inspected (permission denied, a
    /// component that is a file but is followed by more components, ...).
    #[error("the path cannot be resolved: {kind}")]
    Unresolvable {
        /// What the operating system reported.
        kind: io::ErrorKind,
    },

    /// A NaN (or another value that is not ordered against itself) was given to
    /// [`validate_range`](crate::validate_range).
    #[error("{operand} is not a number")]
    NotANumber {
        /// Which argument: `"value"`, `"min"` or `"max"`.
        operand: &'static str,
    },

    /// [`validate_range`](crate::validate_range) was called with `min > max`.
    #[error("invalid range: min {min} is greater than max {max}")]
    InvertedRange {
        /// The lower bound, rendered and escaped.
        min: String,
        /// The upper bound, rendered and escaped.
        max: String,
    },

    /// The value lies outside the inclusive range.
    #[error("value {value} is outside the inclusive range [{min}, {max}]")]
    OutOfRange {
        /// The value, rendered and escaped.
        value: String,
        /// The lower bound, rendered and escaped.
        min: String,
        /// The upper bound, rendered and escaped.
        max: String,
    },

    /// [`unescape_log`](crate::unescape_log) met a backslash that does not start one of the
    /// escapes [`escape_for_log`](crate::escape_for_log) writes, in its canonical form.
    #[error("malformed escape at byte {position}: {reason}")]
    MalformedEscape {
        /// Byte offset of the backslash.
        position: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// Formats a Unicode scalar value as `U+XXXX` (at least four upper-case hex digits).
pub(crate) struct CodePoint(pub(crate) u32);

impl std::fmt::Display for CodePoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "U+{:04X}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn characters_are_named_by_code_point() {
        let error = ValidationError::ForbiddenCharacter { code_point: 0x202E, position: 3 };
        assert_eq!(error.to_string(), "character U+202E at byte 3 is not allowed here");
        let error = ValidationError::DangerousCharacter { code_point: 0xE0041, position: 0 };
        assert_eq!(error.to_string(), "dangerous character U+E0041 at byte 0");
        let error = ValidationError::InvalidStart { code_point: 0x2D, position: 0 };
        assert_eq!(error.to_string(), "character U+002D at byte 0 may not start a name");
    }
}
