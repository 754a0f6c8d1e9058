//! Lowercase hex encoding and strict decoding, shared by every byte-valued type.

use std::fmt;

use crate::error::EventError;

const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Writes `bytes` as lowercase hex.
pub(crate) fn write(f: &mut impl fmt::Write, bytes: &[u8]) -> fmt::Result {
    for b in bytes {
        f.write_char(char::from(DIGITS[usize::from(b >> 4)]))?;
        f.write_char(char::from(DIGITS[usize::from(b & 0x0f)]))?;
    }
    Ok(())
}

/// `bytes` as a lowercase hex string.
pub(crate) fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    // Writing to a String cannot fail.
    let _ = write(&mut out, bytes);
    out
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

/// Decodes exactly `N` bytes of lowercase hex; uppercase, odd lengths and other characters are
/// rejected so that every value has one text form.
pub(crate) fn decode_array<const N: usize>(
    s: &str,
    what: &'static str,
) -> Result<[u8; N], EventError> {
    let bytes = s.as_bytes();
    if bytes.len() != N * 2 {
        return Err(EventError::InvalidHex { what, reason: "wrong length" });
    }
    let mut out = [0u8; N];
    for (i, pair) in bytes.chunks_exact(2).enumerate() {
        match (nibble(pair[0]), nibble(pair[1])) {
            (Some(hi), Some(lo)) => out[i] = (hi << 4) | lo,
            _ => return Err(EventError::InvalidHex { what, reason: "not lowercase hex" }),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_strict() {
        assert_eq!(encode(&[0x00, 0xab, 0xff]), "00abff");
        assert_eq!(decode_array::<2>("abff", "x"), Ok([0xab, 0xff]));
        assert!(decode_array::<2>("ABFF", "x").is_err());
        assert!(decode_array::<2>("abf", "x").is_err());
        assert!(decode_array::<2>("abfff0", "x").is_err());
        assert!(decode_array::<2>("zzzz", "x").is_err());
        assert!(decode_array::<1>("é", "x").is_err());
    }
}
