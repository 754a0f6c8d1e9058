//! The error type of this crate.

/// Everything that can go wrong while building, encoding, decoding or parsing records.
///
/// Messages name positions and kinds, never the raw input, so an error can be printed safely.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventError {
    /// Encoded record bytes start with a format version this build does not know.
    #[error("unsupported record format version {found} (this build reads version {supported})")]
    UnsupportedVersion {
        /// The version byte found.
        found: u8,
        /// The version this build reads and writes.
        supported: u8,
    },
    /// Encoded record bytes are empty, cut short, or not a valid encoding of a record.
    #[error("malformed record encoding: {reason}")]
    Malformed {
        /// What was wrong, without the offending bytes.
        reason: &'static str,
    },
    /// Encoded record bytes decode to a record but are followed by extra bytes.
    #[error("{count} trailing byte(s) after the record")]
    TrailingBytes {
        /// How many bytes were left over.
        count: usize,
    },
    /// Encoded record bytes are not the canonical encoding of the record they decode to.
    #[error("non-canonical record encoding")]
    NonCanonical,
    /// A record could not be encoded (a bug: every value of these types encodes).
    #[error("record could not be encoded")]
    Encode,
    /// An event is over the size bound even after every text field was cut to the minimum.
    #[error("event over {limit} bytes even after cutting every field")]
    TooLarge {
        /// The bound in bytes.
        limit: usize,
    },
    /// A kind name is not one of the catalogue's dotted names.
    #[error("unknown event kind (expected a dotted name such as `auth.success`)")]
    UnknownKind,
    /// A name is not one of the accepted names of a category, severity or similar enumeration.
    #[error("unknown {what} name")]
    UnknownName {
        /// Which enumeration was being parsed.
        what: &'static str,
    },
    /// A digest or fingerprint string is not lowercase hex of the right length with a known prefix.
    #[error("invalid {what}: {reason}")]
    InvalidHex {
        /// What was being parsed (digest, fingerprint, log id...).
        what: &'static str,
        /// What was wrong with it.
        reason: &'static str,
    },
    /// A risk score outside 0..=100.
    #[error("risk score {value} is outside 0..=100")]
    RiskScoreOutOfRange {
        /// The rejected value.
        value: u8,
    },
    /// A time that is not RFC 3339, or outside the range of the record timestamp.
    #[error("invalid time: {reason}")]
    InvalidTime {
        /// What was wrong.
        reason: String,
    },
    /// JSON that does not match the export schema.
    #[error("invalid record JSON: {reason}")]
    Json {
        /// What was wrong (field names and positions; raw values are not repeated).
        reason: String,
    },
    /// The operating system's random number generator failed.
    #[error("the system random number generator failed")]
    Random,
}
