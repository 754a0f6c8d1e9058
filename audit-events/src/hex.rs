//! Lowercase hex encoding and strict decoding, shared by every byte-valued type: thin wrappers
//! over `base16ct`, the workspace's one hex implementation (constant time: no table lookups or
//! branches on the data, so it is also used for secrets such as the seal key).

use std::fmt;

use crate::error::EventError;

/// Writes `bytes` as lowercase hex.
pub(crate) fn write(f: &mut impl fmt::Write, bytes: &[u8]) -> fmt::Result {
    let mut buf = [0u8; 64];
    for chunk in bytes.chunks(32) {
        f.write_str(base16ct::lower::encode_str(chunk, &mut buf).map_err(|_| fmt::Error)?)?;
    }
    Ok(())
}

/// `bytes` as a lowercase hex string.
pub(crate) fn encode(bytes: &[u8]) -> String {
    base16ct::lower::encode_string(bytes)
}

/// Decodes exactly `N` bytes of lowercase hex; uppercase, odd lengths and other characters are
/// rejected so that every value has one text form.
pub(crate) fn decode_array<const N: usize>(
    s: &str,
    what: &'static str,
) -> Result<[u8; N], EventError> {
    if s.len() != N * 2 {
        return Err(EventError::InvalidHex { what, reason: "wrong length" });
    }
    let mut out = [0u8; N];
    base16ct::lower::decode(s, &mut out)
        .map_err(|_| EventError::InvalidHex { what, reason: "not lowercase hex" })?;
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
