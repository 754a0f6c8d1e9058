//! A scan for text that looks like a memory address (`0x7f3a9c000000`), which no event, error
//! or `Debug` output of the audited crates may carry.

/// Hex digits after `0x` from which a number reads as an address rather than a flag or a
/// small constant: 32 bits and more.
const MIN_ADDRESS_DIGITS: usize = 8;

/// The first `0x`-prefixed hex number of at least eight digits in `text`, if any.
///
/// ```
/// use bdd::find_pointer_like;
///
/// assert_eq!(find_pointer_like("at 0x7f3a9c000000 in"), Some("0x7f3a9c000000"));
/// assert_eq!(find_pointer_like("flags 0x1f, digest blake3:5a5a"), None);
/// ```
pub fn find_pointer_like(text: &str) -> Option<&str> {
    let bytes = text.as_bytes();
    let mut at = 0;
    while at + 2 <= bytes.len() {
        if bytes[at] == b'0' && matches!(bytes[at + 1], b'x' | b'X') {
            let digits = bytes[at + 2..].iter().take_while(|b| b.is_ascii_hexdigit()).count();
            if digits >= MIN_ADDRESS_DIGITS {
                return text.get(at..at + 2 + digits);
            }
            at += 2 + digits;
        } else {
            at += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_addresses_in_either_case_and_ignores_short_numbers() {
        assert_eq!(find_pointer_like("0X00007FFD12345678"), Some("0X00007FFD12345678"));
        assert_eq!(find_pointer_like("0x12 then 0xdeadbeef"), Some("0xdeadbeef"));
        assert_eq!(find_pointer_like("0x1234567"), None);
        assert_eq!(find_pointer_like("no numbers here"), None);
        assert_eq!(find_pointer_like("ends with 0x"), None);
        assert_eq!(find_pointer_like("0XABCDEF0123 0x1"), Some("0XABCDEF0123"));
    }
}
