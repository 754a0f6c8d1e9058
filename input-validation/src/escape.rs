//! Reversible escaping of hostile text for the log (`escape_for_log`, `unescape_log`) and the
//! one-way variant for terminals (`display_safe`), both driven by the dangerous table.

use std::borrow::Cow;

use crate::dangerous::{first_to_escape, is_dangerous};
use crate::error::ValidationError;

/// Escapes every dangerous character ([`is_dangerous`]) and every backslash, reversibly.
///
/// Returns [`Cow::Borrowed`] (no allocation) when nothing needed escaping. The output contains
/// no dangerous character, is at most [`MAX_ESCAPE_EXPANSION`](crate::MAX_ESCAPE_EXPANSION)
/// times as long as the input, and [`unescape_log`] turns it back into exactly `s`. The syntax is
/// described in the crate documentation.
///
/// ```
/// use input_validation::{escape_for_log, unescape_log};
///
/// let hostile = "user\u{1b}[2J\r\nFAKE: login ok \u{202E}";
/// let escaped = escape_for_log(hostile);
/// assert_eq!(escaped, r"user\x1b[2J\r\nFAKE: login ok \u{202E}");
/// assert_eq!(unescape_log(&escaped).unwrap(), hostile);
/// ```
#[must_use]
pub fn escape_for_log(s: &str) -> Cow<'_, str> {
    rewrite(s, true)
}

/// Makes text safe to print on a terminal: every dangerous character is written in the escape
/// syntax of [`escape_for_log`], but backslashes are left alone.
///
/// Meant for text that was stored escaped: a stored `\x1b` prints as the readable `\x1b`
/// instead of `\\x1b`, and a raw dangerous character that got into the text some other way
/// still never reaches the terminal. The mapping is not reversible (a raw ESC and the four
/// characters `\x1b` print alike); use [`unescape_log`] to recover stored text. Returns
/// [`Cow::Borrowed`] when the text has no dangerous character.
///
/// ```
/// use input_validation::display_safe;
///
/// assert_eq!(display_safe(r"stored \x1b[31m"), r"stored \x1b[31m");
/// assert_eq!(display_safe("raw \u{1b}[31m"), r"raw \x1b[31m");
/// ```
#[must_use]
pub fn display_safe(s: &str) -> Cow<'_, str> {
    rewrite(s, false)
}

/// Undoes [`escape_for_log`]: `unescape_log(&escape_for_log(s)) == Ok(s)` for every string.
///
/// The input must be exactly what `escape_for_log` can produce: a backslash followed by
/// anything but one of its escapes, in canonical form, is a
/// [`MalformedEscape`](ValidationError::MalformedEscape), and a raw dangerous character is a
/// [`DangerousCharacter`](ValidationError::DangerousCharacter). So each stored string has one
/// reading, and `escape_for_log(&unescape_log(t)?) == t` for every `t` accepted. Returns
/// [`Cow::Borrowed`] when the input has no backslash.
///
/// # Errors
///
/// [`ValidationError::MalformedEscape`] or [`ValidationError::DangerousCharacter`], with the
/// byte offset.
pub fn unescape_log(s: &str) -> Result<Cow<'_, str>, ValidationError> {
    let Some(first) = first_to_escape(s, true) else {
        return Ok(Cow::Borrowed(s));
    };
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    let mut next = Some(first);
    while let Some(at) = next {
        let (clean, tail) = split(rest, at);
        out.push_str(clean);
        let (decoded, len) = parse_escape(tail, s.len() - tail.len())?;
        out.push(decoded);
        rest = tail.get(len..).unwrap_or_default();
        next = first_to_escape(rest, true);
    }
    out.push_str(rest);
    Ok(Cow::Owned(out))
}

/// Splits at a byte offset known to be a character boundary; the fallback keeps the function
/// total without a panic path.
fn split(s: &str, at: usize) -> (&str, &str) {
    s.split_at_checked(at).unwrap_or((s, ""))
}

fn rewrite(s: &str, backslash: bool) -> Cow<'_, str> {
    let Some(first) = first_to_escape(s, backslash) else {
        return Cow::Borrowed(s);
    };
    // Room for a handful of escapes without regrowing; hostile strings may regrow once or twice.
    let mut out = String::with_capacity(s.len() + 16);
    let mut rest = s;
    let mut next = Some(first);
    while let Some(at) = next {
        let (clean, tail) = split(rest, at);
        out.push_str(clean);
        let mut chars = tail.chars();
        let Some(c) = chars.next() else { break };
        push_escape(&mut out, c);
        rest = chars.as_str();
        next = first_to_escape(rest, backslash);
    }
    out.push_str(rest);
    Cow::Owned(out)
}

const LOWER_HEX: &[u8; 16] = b"0123456789abcdef";
const UPPER_HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Writes the one canonical escape for `c` (a dangerous character or a backslash).
fn push_escape(out: &mut String, c: char) {
    match c {
        '\\' => out.push_str("\\\\"),
        '\0' => out.push_str("\\0"),
        '\t' => out.push_str("\\t"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        _ => {
            let value = u32::from(c);
            if value < 0x100 {
                out.push_str("\\x");
                push_hex(out, value, 2, LOWER_HEX);
            } else {
                out.push_str("\\u{");
                push_hex(out, value, 4, UPPER_HEX);
                out.push('}');
            }
        }
    }
}

/// Appends `value` in hex with at least `min_digits` digits (at most 6, enough for any char).
fn push_hex(out: &mut String, value: u32, min_digits: usize, digits: &[u8; 16]) {
    let needed = hex_len(value).max(min_digits);
    for shift in (0..needed).rev() {
        let nibble = (value >> (4 * shift)) & 0xF;
        out.push(char::from(digits[nibble as usize]));
    }
}

/// Number of hex digits in `value` without leading zeros (1 for zero).
fn hex_len(value: u32) -> usize {
    let bits = 32 - value.leading_zeros() as usize;
    bits.div_ceil(4).max(1)
}

/// Decodes the escape at the start of `tail` (which begins with a backslash or a raw dangerous
/// character), returning the character and the escape's length in bytes.
fn parse_escape(tail: &str, position: usize) -> Result<(char, usize), ValidationError> {
    let malformed = |reason| ValidationError::MalformedEscape { position, reason };
    let bytes = tail.as_bytes();
    match tail.chars().next() {
        Some('\\') => {}
        Some(raw) => {
            return Err(ValidationError::DangerousCharacter { code_point: raw.into(), position });
        }
        None => return Err(malformed("unexpected end of input")),
    }
    match bytes.get(1) {
        Some(b'\\') => Ok(('\\', 2)),
        Some(b'0') => Ok(('\0', 2)),
        Some(b't') => Ok(('\t', 2)),
        Some(b'n') => Ok(('\n', 2)),
        Some(b'r') => Ok(('\r', 2)),
        Some(b'x') => {
            let digits = tail.get(2..4).ok_or_else(|| malformed("`\\x` needs two hex digits"))?;
            let value = parse_hex(digits, LOWER_HEX)
                .ok_or_else(|| malformed("`\\x` needs two lower-case hex digits"))?;
            match char::from_u32(value) {
                Some('\0' | '\t' | '\n' | '\r') => {
                    Err(malformed("this character has a short escape"))
                }
                Some(c) if is_dangerous(c) => Ok((c, 4)),
                _ => Err(malformed("`\\x` escapes only control characters")),
            }
        }
        Some(b'u') => {
            if bytes.get(2) != Some(&b'{') {
                return Err(malformed("`\\u` must be followed by `{`"));
            }
            // Six digits at most, so the closing brace is within the next seven bytes.
            let close = bytes
                .iter()
                .skip(3)
                .take(7)
                .position(|&b| b == b'}')
                .ok_or_else(|| malformed("`\\u{` is not closed within six digits"))?;
            let digits = tail.get(3..3 + close).unwrap_or_default();
            let value = parse_hex(digits, UPPER_HEX)
                .ok_or_else(|| malformed("`\\u{}` needs upper-case hex digits"))?;
            if digits.len() != hex_len(value).max(4) {
                return Err(malformed("`\\u{}` must have four digits, or no leading zero"));
            }
            match char::from_u32(value) {
                Some(c) if value >= 0x100 && is_dangerous(c) => Ok((c, 4 + close)),
                _ => Err(malformed("`\\u{}` escapes only dangerous characters above U+00FF")),
            }
        }
        Some(_) => Err(malformed("unknown escape")),
        None => Err(malformed("backslash at end of input")),
    }
}

/// Parses 1 to 6 hex digits written with exactly the digit set `digits`.
fn parse_hex(text: &str, digits: &[u8; 16]) -> Option<u32> {
    if text.is_empty() || text.len() > 6 {
        return None;
    }
    text.bytes().try_fold(0u32, |acc, b| {
        let nibble = digits.iter().position(|&d| d == b)?;
        Some(acc << 4 | u32::try_from(nibble).ok()?)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(s: &str) -> String {
        let escaped = escape_for_log(s);
        match unescape_log(&escaped) {
            Ok(back) => back.into_owned(),
            Err(error) => format!("error: {error}"),
        }
    }

    #[test]
    fn clean_text_is_borrowed_not_copied() {
        for s in ["", "plain ascii text", "caf\u{e9} \u{4e2d}\u{6587} \u{1F600}", "a/b:c@d"] {
            assert!(matches!(escape_for_log(s), Cow::Borrowed(b) if b == s), "{s:?}");
            assert!(matches!(display_safe(s), Cow::Borrowed(b) if b == s), "{s:?}");
            assert!(matches!(unescape_log(s), Ok(Cow::Borrowed(b)) if b == s), "{s:?}");
        }
    }

    #[test]
    fn each_kind_of_character_has_its_escape() {
        let cases = [
            ("\\", r"\\"),
            ("\0", r"\0"),
            ("\t", r"\t"),
            ("\n", r"\n"),
            ("\r", r"\r"),
            ("\u{1b}", r"\x1b"),
            ("\u{7}", r"\x07"),
            ("\u{7f}", r"\x7f"),
            ("\u{9b}", r"\x9b"),
            ("\u{61c}", r"\u{061C}"),
            ("\u{200b}", r"\u{200B}"),
            ("\u{200f}", r"\u{200F}"),
            ("\u{2028}", r"\u{2028}"),
            ("\u{202e}", r"\u{202E}"),
            ("\u{2064}", r"\u{2064}"),
            ("\u{2066}", r"\u{2066}"),
            ("\u{feff}", r"\u{FEFF}"),
            ("\u{fffb}", r"\u{FFFB}"),
            ("\u{e0041}", r"\u{E0041}"),
        ];
        for (raw, escaped) in cases {
            assert_eq!(escape_for_log(raw), escaped, "escape of {escaped}");
            assert_eq!(unescape_log(escaped).as_deref(), Ok(raw), "unescape of {escaped}");
        }
    }

    #[test]
    fn backslash_is_doubled_so_escapes_in_the_input_stay_literal() {
        let attacker = r"\x1b[31m looks like an escape";
        let escaped = escape_for_log(attacker);
        assert_eq!(escaped, r"\\x1b[31m looks like an escape");
        assert_eq!(unescape_log(&escaped).as_deref(), Ok(attacker));
        assert_eq!(round_trip(r"\\\"), r"\\\");
    }

    #[test]
    fn every_character_round_trips() {
        for c in (0..=0x10_FFFF).filter_map(char::from_u32) {
            let s = c.to_string();
            assert_eq!(round_trip(&s), s, "U+{:04X}", u32::from(c));
        }
    }

    #[test]
    fn display_safe_leaves_backslashes_and_escapes_dangerous_characters() {
        assert_eq!(display_safe(r"C:\temp \n"), r"C:\temp \n");
        assert_eq!(display_safe("a\u{202E}b\nc\u{1b}"), r"a\u{202E}b\nc\x1b");
        assert_eq!(display_safe(&escape_for_log("x\u{1b}y")), r"x\x1by");
    }

    #[test]
    fn malformed_escapes_are_rejected_with_their_position() {
        let cases = [
            (r"ab\", 2),
            (r"\q", 0),
            (r"a\x1", 1),
            (r"\x1B", 0),
            (r"\x41", 0),
            (r"\x0a", 0),
            (r"\x00", 0),
            (r"\xzz", 0),
            (r"\u202E", 0),
            (r"\uQ202E}", 0),
            (r"\u{202e}", 0),
            (r"\u{202E", 0),
            (r"\u{}", 0),
            (r"\u{0041}", 0),
            (r"\u{1B}", 0),
            (r"\u{001B}", 0),
            (r"\u{0202E}", 0),
            (r"\u{E0041", 0),
            (r"\u{D800}", 0),
            (r"\u{110000}", 0),
            (r"\u{1234567}", 0),
            ("\\\u{e9}", 0),
            ("\\x\u{e9}", 0),
        ];
        for (input, position) in cases {
            match unescape_log(input) {
                Err(ValidationError::MalformedEscape { position: p, .. }) => {
                    assert_eq!(p, position, "{input:?}");
                }
                other => panic!("{input:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn raw_dangerous_characters_are_not_valid_escaped_text() {
        assert_eq!(
            unescape_log("ok\u{1b}[2J"),
            Err(ValidationError::DangerousCharacter { code_point: 0x1B, position: 2 })
        );
        assert_eq!(
            unescape_log("\\\\ok\\u{202E}x\u{202E}"),
            Err(ValidationError::DangerousCharacter { code_point: 0x202E, position: 13 })
        );
    }

    #[test]
    fn expansion_is_at_most_four_times() {
        for s in ["\u{1}", "\u{80}", "\u{200b}", "\u{e0041}", "\\"] {
            assert!(escape_for_log(s).len() <= crate::MAX_ESCAPE_EXPANSION * s.len(), "{s:?}");
        }
        assert_eq!(escape_for_log("\u{1}").len(), 4 * "\u{1}".len());
    }
}
