//! Truncation that never splits a character or, for escaped text, an escape.

/// The longest prefix of `s` that is at most `max_bytes` bytes long and ends on a character
/// boundary.
///
/// ```
/// use input_validation::truncate_to_bytes;
///
/// assert_eq!(truncate_to_bytes("caf\u{e9}!", 4), "caf");
/// assert_eq!(truncate_to_bytes("caf\u{e9}!", 5), "caf\u{e9}");
/// ```
#[must_use]
pub fn truncate_to_bytes(s: &str, max_bytes: usize) -> &str {
    s.get(..s.floor_char_boundary(max_bytes)).unwrap_or_default()
}

/// The longest prefix of `s` that holds at most `max_chars` characters (Unicode scalar values,
/// not grapheme clusters: a combining mark counts on its own).
#[must_use]
pub fn truncate_to_chars(s: &str, max_chars: usize) -> &str {
    match s.char_indices().nth(max_chars) {
        Some((end, _)) => s.get(..end).unwrap_or_default(),
        None => s,
    }
}

/// The longest prefix of the escaped text `s` that is at most `max_bytes` bytes long and does not
/// split an escape sequence or a character, so that
/// [`unescape_log`](crate::unescape_log) of the result succeeds whenever it succeeds on `s`.
///
/// For text that is not well-formed escaped text the cut still falls on a character boundary;
/// a backslash that starts no known escape counts as a two-character token.
///
/// ```
/// use input_validation::{escape_for_log, truncate_escaped, unescape_log};
///
/// let escaped = escape_for_log("ab\u{202E}cd"); // ab\u{202E}cd
/// assert_eq!(truncate_escaped(&escaped, 6), "ab");
/// assert_eq!(truncate_escaped(&escaped, 10), r"ab\u{202E}");
/// assert!(unescape_log(truncate_escaped(&escaped, 6)).is_ok());
/// ```
#[must_use]
pub fn truncate_escaped(s: &str, max_bytes: usize) -> &str {
    if s.len() <= max_bytes {
        return s;
    }
    let bytes = s.as_bytes();
    let mut end = 0;
    while let Some(&b) = bytes.get(end) {
        let len =
            if b == b'\\' { escape_len(bytes.get(end..).unwrap_or_default()) } else { utf8_len(b) };
        if end + len > max_bytes {
            break;
        }
        end += len;
    }
    // `end` is a character boundary by construction; the floor keeps that true even if not.
    truncate_to_bytes(s, end)
}

/// Length of the escape token at the start of `tail` (which begins with a backslash).
fn escape_len(tail: &[u8]) -> usize {
    let token = match tail.get(1) {
        Some(b'x') => 4,
        // `\u{10FFFF}` is ten bytes: the closing brace is among the first ten.
        Some(b'u') => tail.iter().take(10).position(|&b| b == b'}').map_or(2, |p| p + 1),
        _ => 2,
    };
    // Escapes are ASCII: stopping at the first non-ASCII byte keeps malformed input (a backslash
    // followed by `é`) from moving the cut into the middle of a character.
    tail.iter().take(token).take_while(|b| b.is_ascii()).count().max(1)
}

/// Length of the UTF-8 sequence that starts with the lead byte `b`.
fn utf8_len(b: u8) -> usize {
    match b {
        0x00..=0x7F => 1,
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        _ => 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{escape_for_log, unescape_log};

    #[test]
    fn bytes_cut_at_a_character_boundary() {
        let s = "a\u{e9}\u{4e2d}\u{1F600}";
        let lengths: Vec<usize> = (0..=12).map(|n| truncate_to_bytes(s, n).len()).collect();
        assert_eq!(lengths, [0, 1, 1, 3, 3, 3, 6, 6, 6, 6, 10, 10, 10]);
        assert_eq!(truncate_to_bytes(s, usize::MAX), s);
    }

    #[test]
    fn chars_count_scalar_values() {
        let s = "a\u{e9}\u{4e2d}\u{1F600}";
        assert_eq!(truncate_to_chars(s, 0), "");
        assert_eq!(truncate_to_chars(s, 2), "a\u{e9}");
        assert_eq!(truncate_to_chars(s, 4), s);
        assert_eq!(truncate_to_chars(s, 100), s);
    }

    #[test]
    fn escaped_text_is_never_cut_inside_an_escape() {
        let escaped = escape_for_log("a\\b\u{1b}c\u{e0041}d\ne");
        assert_eq!(escaped, r"a\\b\x1bc\u{E0041}d\ne");
        let cuts: Vec<&str> = (0..=escaped.len()).map(|n| truncate_escaped(&escaped, n)).collect();
        assert_eq!(cuts[2], "a");
        assert_eq!(cuts[3], r"a\\");
        assert_eq!(cuts[7], r"a\\b");
        assert_eq!(cuts[8], r"a\\b\x1b");
        assert_eq!(cuts[17], r"a\\b\x1bc");
        assert_eq!(cuts[18], r"a\\b\x1bc\u{E0041}");
        for cut in cuts {
            assert!(unescape_log(cut).is_ok(), "{cut:?}");
        }
    }

    #[test]
    fn malformed_escaped_text_is_still_cut_on_a_character_boundary() {
        for s in ["\\\u{e9}\u{e9}", "\\x\u{e9}", "\\u{\u{1F600}}", "\\", "\\u{123456789}"] {
            for n in 0..=s.len() {
                let cut = truncate_escaped(s, n);
                assert!(cut.len() <= n && s.starts_with(cut), "{s:?} at {n}");
            }
        }
        // A stray backslash is one token and the character after it another, so the cut is
        // still the longest one possible.
        assert_eq!(truncate_escaped("\\\u{e9}\u{e9}", 3), "\\\u{e9}");
    }
}
