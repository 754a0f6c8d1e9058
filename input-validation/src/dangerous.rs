//! The table of dangerous characters (`docs/THREAT-MODEL.md`, "Hostile text") and the scan
//! that finds them, shared by escaping, display, sanitising and prompt validation so they
//! cannot disagree.

/// Returns `true` for a character that must never reach a log line or a terminal raw.
///
/// The table (also in `docs/THREAT-MODEL.md`, "Hostile text"):
///
/// | range | what |
/// |---|---|
/// | U+0000-U+001F | C0 controls: NUL, BEL, tab, LF, CR, ESC, ... |
/// | U+007F | DEL |
/// | U+0080-U+009F | C1 controls, including the 8-bit CSI (U+009B), OSC (U+009D) and ST (U+009C) |
/// | U+061C | Arabic letter mark |
/// | U+200B-U+200D | zero width space, non-joiner, joiner |
/// | U+200E-U+200F | left-to-right and right-to-left marks |
/// | U+2028-U+2029 | line and paragraph separators |
/// | U+202A-U+202E | bidi embeddings and overrides (LRE, RLE, PDF, LRO, RLO) |
/// | U+2060-U+2064 | word joiner and invisible operators |
/// | U+2066-U+2069 | bidi isolates (LRI, RLI, FSI, PDI) |
/// | U+FEFF | zero width no-break space (byte order mark) |
/// | U+FFF9-U+FFFB | interlinear annotation controls |
/// | U+E0000-U+E007F | tag characters (invisible ASCII look-alikes) |
///
/// The backslash is not dangerous, but [`escape_for_log`](crate::escape_for_log) escapes it too
/// so that the escaping can be undone.
#[must_use]
pub const fn is_dangerous(c: char) -> bool {
    matches!(
        c,
        '\u{0000}'..='\u{001F}'
            | '\u{007F}'..='\u{009F}'
            | '\u{061C}'
            | '\u{200B}'..='\u{200F}'
            | '\u{2028}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{E0000}'..='\u{E007F}'
    )
}

/// Byte offset of the first character in `s` that is dangerous, or a backslash when
/// `backslash` is set.
///
/// This is the hot path of every log call, and most text is clean ASCII, so it skips eight
/// plain ASCII bytes at a time and otherwise works on bytes: every non-ASCII dangerous character
/// is encoded with one of the lead bytes below, and only at those is a character decoded.
/// Continuation bytes (0x80-0xBF) never equal a lead byte, so stepping one byte at a time cannot
/// decode from the middle of a character, and a word is skipped only if all its bytes are ASCII.
pub(crate) fn first_to_escape(s: &str, backslash: bool) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut i = 0;
    loop {
        let rest = bytes.get(i..).unwrap_or_default();
        i += 8 * rest
            .chunks_exact(8)
            .take_while(|w| {
                let word = <[u8; 8]>::try_from(*w).map_or(u64::MAX, u64::from_le_bytes);
                !may_need_escape(word, backslash)
            })
            .count();
        // The next eight bytes hold something that may need escaping: look at each.
        let word = bytes.get(i..).unwrap_or_default();
        if word.is_empty() {
            return None;
        }
        for (at, &b) in word.iter().enumerate().take(8) {
            let hit = match b {
                0x00..=0x1F | 0x7F => true,
                b'\\' => backslash,
                // U+0080-U+009F, U+061C, U+2xxx, U+FEFF and U+FFF9-FFFB, U+E00xx.
                0xC2 | 0xD8 | 0xE2 | 0xEF | 0xF3 => {
                    s.get(i + at..).and_then(|t| t.chars().next()).is_some_and(is_dangerous)
                }
                _ => false,
            };
            if hit {
                return Some(i + at);
            }
        }
        i += 8;
    }
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// False only if all eight bytes of `word` are ASCII and none is a control character, DEL or
/// (when `backslash` is set) a backslash. Uses the classic bit tricks for "some byte is zero"
/// and "some byte is less than n", which are exact as yes/no answers.
fn may_need_escape(word: u64, backslash: bool) -> bool {
    let has_zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH_BITS;
    let non_ascii = word & HIGH_BITS;
    let control = word.wrapping_sub(ONES * 0x20) & !word & HIGH_BITS;
    let del = has_zero(word ^ (ONES * 0x7F));
    let slash = if backslash { has_zero(word ^ (ONES * u64::from(b'\\'))) } else { 0 };
    non_ascii | control | del | slash != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table written out a second time, range by range, as `docs/THREAT-MODEL.md` lists it.
    const TABLE: &[(u32, u32)] = &[
        (0x0000, 0x001F),
        (0x007F, 0x007F),
        (0x0080, 0x009F),
        (0x061C, 0x061C),
        (0x200B, 0x200D),
        (0x200E, 0x200F),
        (0x202A, 0x202E),
        (0x2060, 0x2064),
        (0x2066, 0x2069),
        (0xFEFF, 0xFEFF),
        (0x2028, 0x2029),
        (0xE0000, 0xE007F),
        (0xFFF9, 0xFFFB),
    ];

    fn in_table(c: char) -> bool {
        TABLE.iter().any(|&(lo, hi)| (lo..=hi).contains(&u32::from(c)))
    }

    #[test]
    fn table_matches_the_design_document_for_every_character() {
        for c in (0..=0x10_FFFF).filter_map(char::from_u32) {
            assert_eq!(is_dangerous(c), in_table(c), "U+{:04X}", u32::from(c));
        }
    }

    #[test]
    fn scan_agrees_with_the_table_for_every_character() {
        for c in (0..=0x10_FFFF).filter_map(char::from_u32) {
            let text = format!("ab{c}");
            let expected = (is_dangerous(c) || c == '\\').then_some(2);
            assert_eq!(first_to_escape(&text, true), expected, "U+{:04X}", u32::from(c));
            let expected = is_dangerous(c).then_some(2);
            assert_eq!(first_to_escape(&text, false), expected, "U+{:04X}", u32::from(c));
        }
    }

    #[test]
    fn neighbours_of_each_range_are_not_dangerous() {
        for c in ['\u{20}', '\u{7E}', '\u{A0}', '\u{061B}', '\u{061D}', '\u{200A}', '\u{2010}']
            .into_iter()
            .chain(['\u{2027}', '\u{202F}', '\u{205F}', '\u{2065}', '\u{206A}', '\u{FEFE}'])
            .chain(['\u{FF00}', '\u{FFF8}', '\u{FFFC}', '\u{DFFFF}', '\u{E0080}'])
        {
            assert!(!is_dangerous(c), "U+{:04X}", u32::from(c));
        }
    }

    #[test]
    fn word_skipping_finds_every_byte_position() {
        for special in ['\0', '\u{1f}', '\u{7f}', '\\', '\u{85}', '\u{200b}', '\u{e0041}'] {
            for at in 0..24 {
                let text = format!("{}{special}{}", "a".repeat(at), "b".repeat(17));
                assert_eq!(
                    first_to_escape(&text, true),
                    Some(at),
                    "U+{:04X} at {at}",
                    u32::from(special)
                );
            }
        }
        for clean in ['\u{20}', '\u{7e}', '\u{5b}', '\u{e9}', '\u{2019}', '\u{1F600}'] {
            let text = format!("{}{clean}{}", "a".repeat(9), "b".repeat(17));
            assert_eq!(first_to_escape(&text, true), None);
        }
        assert_eq!(first_to_escape(&format!("{}\\", "a".repeat(20)), false), None);
    }

    #[test]
    fn scan_reports_the_first_offset() {
        assert_eq!(first_to_escape("plain text", true), None);
        assert_eq!(first_to_escape("a\\b", true), Some(1));
        assert_eq!(first_to_escape("a\\b", false), None);
        assert_eq!(first_to_escape("é\u{202E}x\u{1b}", true), Some(2));
        assert_eq!(first_to_escape("\u{2019}quote\u{2028}", true), Some(8));
    }
}
