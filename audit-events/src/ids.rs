//! Identifiers and time: [`LogId`], [`AuditId`] with its generator, [`Timestamp`], [`HashValue`].

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::EventError;
use crate::hex;

/// Implements Serialize/Deserialize as lowercase hex in human-readable formats (JSON) and as raw
/// fixed-size bytes in binary formats (postcard), plus `Display`/`FromStr` as hex.
macro_rules! hex_bytes_type {
    ($ty:ident, $len:expr, $what:literal) => {
        impl $ty {
            /// The raw bytes.
            pub const fn as_bytes(&self) -> &[u8; $len] {
                &self.0
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                hex::write(f, &self.0)
            }
        }
        impl FromStr for $ty {
            type Err = EventError;
            fn from_str(s: &str) -> Result<Self, EventError> {
                hex::decode_array::<$len>(s, $what).map(Self)
            }
        }
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                if s.is_human_readable() { s.collect_str(self) } else { self.0.serialize(s) }
            }
        }
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                if d.is_human_readable() {
                    let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                    text.parse().map_err(serde::de::Error::custom)
                } else {
                    <[u8; $len]>::deserialize(d).map(Self)
                }
            }
        }
    };
}

/// The identity of one log (one service instance's audit trail): 16 random bytes chosen when the
/// log is created. It seeds the chain's genesis hash, so two logs never share a chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LogId(pub [u8; 16]);
hex_bytes_type!(LogId, 16, "log id");

impl LogId {
    /// A fresh random log id from the operating system's generator.
    pub fn random() -> Result<Self, EventError> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).map_err(|_| EventError::Random)?;
        Ok(Self(bytes))
    }
}

/// A record's audit id: unique across restarts, processes and services.
///
/// The first 8 bytes are random per [`AuditIdGenerator`] (one per logger instance), the last 8 are
/// a counter, so ids never repeat within a generator and collide across generators only with
/// probability about n²/2⁶⁵ for n generators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AuditId(pub [u8; 16]);
hex_bytes_type!(AuditId, 16, "audit id");

/// Hands out [`AuditId`]s; cheap and thread-safe (one atomic increment per id).
#[derive(Debug)]
pub struct AuditIdGenerator {
    prefix: [u8; 8],
    counter: AtomicU64,
}

impl AuditIdGenerator {
    /// A generator with a random prefix from the operating system's generator.
    pub fn random() -> Result<Self, EventError> {
        let mut prefix = [0u8; 8];
        getrandom::fill(&mut prefix).map_err(|_| EventError::Random)?;
        Ok(Self::with_prefix(prefix))
    }

    /// A generator with a fixed prefix (tests and golden vectors).
    pub const fn with_prefix(prefix: [u8; 8]) -> Self {
        Self { prefix, counter: AtomicU64::new(0) }
    }

    /// The next id.
    pub fn next_id(&self) -> AuditId {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.prefix);
        bytes[8..].copy_from_slice(&n.to_be_bytes());
        AuditId(bytes)
    }
}

/// A 32-byte hash value (chain hash, Merkle root, MAC) shown as lowercase hex.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct HashValue(pub [u8; 32]);
hex_bytes_type!(HashValue, 32, "hash");

/// A point in time: integer nanoseconds since 1970-01-01T00:00:00Z (UTC, no leap seconds).
///
/// Encoded as an integer in the hashed binary form and as RFC 3339 in JSON. The range is that of
/// an `i64` of nanoseconds, 1677-09-21 to 2262-04-11.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// Nanoseconds in one second.
    pub const NANOS_PER_SECOND: i64 = 1_000_000_000;

    /// The current time from the system clock (saturating outside the representable range).
    pub fn now() -> Self {
        let nanos = match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
            Ok(after) => i64::try_from(after.as_nanos()).unwrap_or(i64::MAX),
            Err(before) => i64::try_from(before.duration().as_nanos()).map_or(i64::MIN, |n| -n),
        };
        Self(nanos)
    }

    /// Nanoseconds since the Unix epoch.
    pub const fn as_nanos(self) -> i64 {
        self.0
    }

    /// The UTC day number (days since 1970-01-01), used for day-based rotation and reports.
    pub const fn utc_day(self) -> i64 {
        self.0.div_euclid(86_400 * Self::NANOS_PER_SECOND)
    }

    /// RFC 3339 in UTC with as many fractional digits as needed (`2026-11-22T09:24:34.5Z`).
    pub fn to_rfc3339(self) -> String {
        self.to_string()
    }

    /// Parses RFC 3339 with any offset (converted to UTC).
    pub fn parse_rfc3339(s: &str) -> Result<Self, EventError> {
        let ts: jiff::Timestamp = s
            .parse()
            .map_err(|e: jiff::Error| EventError::InvalidTime { reason: e.to_string() })?;
        let nanos = i64::try_from(ts.as_nanosecond()).map_err(|_| EventError::InvalidTime {
            reason: "outside the range of record timestamps".to_owned(),
        })?;
        Ok(Self(nanos))
    }

    fn to_jiff(self) -> Option<jiff::Timestamp> {
        jiff::Timestamp::from_nanosecond(i128::from(self.0)).ok()
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to_jiff() {
            Some(ts) => write!(f, "{ts}"),
            // Every i64 of nanoseconds is inside jiff's range; this arm is defensive only.
            None => write!(f, "@{}ns", self.0),
        }
    }
}

impl FromStr for Timestamp {
    type Err = EventError;
    fn from_str(s: &str) -> Result<Self, EventError> {
        Self::parse_rfc3339(s)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() { s.collect_str(self) } else { s.serialize_i64(self.0) }
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
            Self::parse_rfc3339(&text).map_err(serde::de::Error::custom)
        } else {
            i64::deserialize(d).map(Self)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip_through_rfc3339() {
        for nanos in [0, 1, 1_763_803_474_123_456_789, -1, i64::MAX, i64::MIN] {
            let ts = Timestamp(nanos);
            assert_eq!(Timestamp::parse_rfc3339(&ts.to_rfc3339()), Ok(ts), "{nanos}");
        }
        assert_eq!(Timestamp(0).to_rfc3339(), "1970-01-01T00:00:00Z");
        assert_eq!(
            Timestamp::parse_rfc3339("2026-11-22T10:00:00+01:00").map(|t| t.to_rfc3339()),
            Ok("2026-11-22T09:00:00Z".to_owned())
        );
        assert!(Timestamp::parse_rfc3339("yesterday").is_err());
    }

    #[test]
    fn audit_ids_from_one_generator_are_distinct_and_ordered() {
        let generator = AuditIdGenerator::with_prefix([7; 8]);
        let a = generator.next_id();
        let b = generator.next_id();
        assert_ne!(a, b);
        assert!(a < b);
        assert_eq!(&a.0[..8], &[7; 8]);
    }

    #[test]
    fn random_generators_differ() {
        let a = AuditIdGenerator::random().unwrap().next_id();
        let b = AuditIdGenerator::random().unwrap().next_id();
        assert_ne!(a, b);
        assert_ne!(LogId::random().unwrap(), LogId::random().unwrap());
    }

    #[test]
    fn utc_day_counts_whole_days() {
        assert_eq!(Timestamp(0).utc_day(), 0);
        assert_eq!(Timestamp(-1).utc_day(), -1);
        assert_eq!(Timestamp(86_400 * Timestamp::NANOS_PER_SECOND).utc_day(), 1);
    }
}
