//! Named limits, all in bytes.
//!
//! Identifiers, model refs, hex strings and path components are ASCII-only once validated, so
//! for them a byte count is also a character count. Prompts may hold any Unicode text, so their
//! limit is in bytes, the unit that bounds memory and storage; [`truncate_to_chars`] is there for
//! callers whose own limit counts characters.
//!
//! [`truncate_to_chars`]: crate::truncate_to_chars

/// Default maximum length of an identifier, in bytes (and characters: identifiers are ASCII).
pub const MAX_IDENTIFIER_BYTES: usize = 256;

/// Maximum length of a model ref, in bytes (and characters: model refs are ASCII).
pub const MAX_MODEL_REF_BYTES: usize = 512;

/// Default maximum length of a prompt, in bytes of UTF-8 (not characters).
pub const MAX_PROMPT_BYTES: usize = 100_000;

/// Maximum length of a candidate path given to `validate_path`, in bytes (Linux `PATH_MAX`).
pub const MAX_PATH_BYTES: usize = 4096;

/// Maximum length of one component of a candidate path, in bytes (Linux `NAME_MAX`).
pub const MAX_PATH_COMPONENT_BYTES: usize = 255;

/// `escape_for_log(s).len() <= MAX_ESCAPE_EXPANSION * s.len()` for every `s`: the worst case is a
/// one-byte control character written as `\xHH`. Callers size buffers and bounds with it.
pub const MAX_ESCAPE_EXPANSION: usize = 4;
