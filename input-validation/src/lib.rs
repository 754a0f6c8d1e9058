//! Validators for untrusted input, reversible escaping of hostile text for the audit log, and
//! safe display of log content on a terminal.
//!
//! Services validate what they act on (a pool id that becomes a file name, a model ref that
//! reaches a downloader or a shell, a path under a data directory) and record what they were sent,
//! hostile or not, as evidence. This crate does both jobs and depends on no other workspace crate.
//!
//! # Invariants
//!
//! - No function panics, on any input.
//! - Errors ([`ValidationError`]) never contain input text: a character is named as `U+XXXX`
//!   with its byte offset, and the few rendered values (range bounds) are escaped first.
//! - [`escape_for_log`] output contains no dangerous character, and
//!   `unescape_log(&escape_for_log(s)) == Ok(s)` for every string `s`.
//! - [`display_safe`] output contains no dangerous character.
//! - A validated newtype ([`Identifier`], [`ModelRef`], [`HexString`], [`ValidatedPath`],
//!   [`Prompt`], [`SanitizedString`]) is only made by its validator, so holding one means the
//!   value passed; validating its text again succeeds.
//!
//! # The dangerous table
//!
//! [`is_dangerous`] holds the characters `docs/THREAT-MODEL.md` lists: C0 controls, DEL, C1
//! controls, bidi embeddings, overrides, isolates and marks, zero-width and invisible
//! characters, the line and paragraph separators, the interlinear annotation controls and the
//! tag characters.
//! Escaping, display, [`sanitize_string`] and [`validate_prompt`] all use this one table.
//!
//! # Escape syntax
//!
//! [`escape_for_log`] writes each character that needs it in exactly one form:
//!
//! | character | written as |
//! |---|---|
//! | `\` | `\\` |
//! | NUL, tab, LF, CR | `\0`, `\t`, `\n`, `\r` |
//! | other C0 controls, DEL, C1 controls (U+0000-U+00FF) | `\xHH`, two lower-case hex digits: ESC is `\x1b` |
//! | other dangerous characters (U+0100 and up) | `\u{XXXX}`, upper-case hex, four digits or as many as needed without a leading zero: `\u{202E}`, `\u{E0041}` |
//!
//! `\xHH` names a code point U+00HH, not a byte. Every other character, including all other
//! non-ASCII text, is written as is. [`unescape_log`] accepts exactly these forms: any other
//! escape, a non-canonical spelling (`\x1B`, `\u{1b}`, `\x41`) or a raw dangerous character is
//! an error, so stored text has one reading and tooling can trust what it decodes.
//!
//! # Why ANSI sequences end up inert
//!
//! A terminal acts on a control sequence only when it sees the introducer: ESC (U+001B), or the
//! 8-bit C1 forms CSI (U+009B) and OSC (U+009D). All of these are escaped to visible text, as are
//! BEL and ST that end an OSC string, so the rest of the sequence (`[2J`, `]0;title`,
//! `]8;;http://...`, `]52;c;...`) is left as plain printable characters that nothing
//! interprets. No sequence parsing is needed, and the whole sequence stays in the record as
//! evidence.
//!
//! ```
//! use input_validation::escape_for_log;
//!
//! let title = "\u{1b}]0;pwned\u{7}";
//! assert_eq!(escape_for_log(title), r"\x1b]0;pwned\x07");
//! ```
//!
//! # Display on a terminal
//!
//! [`display_safe`] is for printing text that was stored escaped. It escapes dangerous
//! characters in the same syntax but leaves backslashes alone, so a stored `\x1b` prints as
//! `\x1b` rather than `\\x1b`, and a raw dangerous character that reached the text some other
//! way still never reaches the terminal.
//!
//! # Validators
//!
//! Each validator returns a newtype or a [`ValidationError`]; see each function for its rules:
//! [`validate_identifier`] (ASCII letters, digits, `-_.`; no `/`, no leading `.` or `-`, which
//! also shuts out look-alike letters from other scripts), [`validate_model_ref`] (`hf:`,
//! `https://` or relative names; no absolute paths, `..`, leading `-` or shell
//! metacharacters), [`validate_hex_string`], [`validate_path`] (confinement to a root, including
//! through symbolic links; `%` refused rather than decoded), [`validate_prompt`],
//! [`validate_range`] (inclusive bounds, NaN rejected) and [`sanitize_string`].
//!
//! # Limits
//!
//! Every limit is in bytes (see [`MAX_IDENTIFIER_BYTES`] and its neighbours); values that must
//! be ASCII have as many characters as bytes. [`truncate_to_bytes`] and [`truncate_to_chars`] cut
//! text at a character boundary, and [`truncate_escaped`] cuts escaped text without splitting
//! an escape.

mod dangerous;
mod error;
mod escape;
mod hex;
mod identifier;
mod limits;
mod model_ref;
mod newtype;
mod path;
mod range;
mod text;
mod truncate;

pub use crate::dangerous::is_dangerous;
pub use crate::error::ValidationError;
pub use crate::escape::{display_safe, escape_for_log, unescape_log};
pub use crate::hex::{HexString, validate_hex_string};
pub use crate::identifier::{Identifier, validate_identifier};
pub use crate::limits::{
    MAX_ESCAPE_EXPANSION, MAX_IDENTIFIER_BYTES, MAX_MODEL_REF_BYTES, MAX_PATH_BYTES,
    MAX_PATH_COMPONENT_BYTES, MAX_PROMPT_BYTES,
};
pub use crate::model_ref::{ModelRef, ModelRefKind, validate_model_ref};
pub use crate::path::{ValidatedPath, validate_path};
pub use crate::range::validate_range;
pub use crate::text::{Prompt, SanitizedString, sanitize_string, validate_prompt};
pub use crate::truncate::{truncate_escaped, truncate_to_bytes, truncate_to_chars};
