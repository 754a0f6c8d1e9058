//! Writer configuration: service identity, seal epochs, rotation, retention.

use std::time::Duration;

use crate::error::StoreError;

/// Days in the default retention periods (leap days included).
const DAYS_7_YEARS: u32 = 7 * 365 + 2;
const DAYS_3_YEARS: u32 = 3 * 365 + 1;

/// How long sealed segments are kept, and whether removal is suspended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetentionPolicy {
    /// Segments whose newest record is older than this many days may be removed.
    pub days: u32,
    /// While set, nothing is removed, whatever its age.
    pub legal_hold: bool,
}

impl RetentionPolicy {
    /// Keep sealed segments for 7 years (2,557 days). A period chosen by the organisation; no
    /// framework is implied.
    pub const fn seven_years() -> Self {
        Self { days: DAYS_7_YEARS, legal_hold: false }
    }

    /// Keep sealed segments for 3 years (1,096 days). A period chosen by the organisation; no
    /// framework is implied.
    pub const fn three_years() -> Self {
        Self { days: DAYS_3_YEARS, legal_hold: false }
    }
}

impl Default for RetentionPolicy {
    /// [`RetentionPolicy::seven_years`].
    fn default() -> Self {
        Self::seven_years()
    }
}

/// The largest [`LogConfig::max_segment_bytes`] accepted (1 GiB). Readers derive the cap on an
/// index file from it.
pub const MAX_SEGMENT_BYTES: u64 = 1 << 30;

/// How a log is written.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LogConfig {
    /// The service instance that owns the log (ASCII letters, digits, `-`, `_`, `.`; 1 to 128
    /// bytes). It names the log's checkpoints, so it is fixed at creation.
    pub service_id: String,
    /// Name and version of the writing software, recorded when the log is created or resumed.
    pub writer: String,
    /// Length of a seal epoch: at each epoch boundary the log is sealed and the seal key evolves.
    pub seal_epoch: Duration,
    /// A segment is closed and a new one started once it reaches this size.
    pub max_segment_bytes: u64,
    /// Also start a new segment when the UTC day changes.
    pub rotate_daily: bool,
    /// Retention of sealed segments.
    pub retention: RetentionPolicy,
}

impl LogConfig {
    /// Defaults: 1-minute epochs, 64 MiB segments rotated daily, 7-year retention.
    pub fn new(service_id: impl Into<String>) -> Self {
        Self {
            service_id: service_id.into(),
            writer: concat!("audit-store ", env!("CARGO_PKG_VERSION")).to_owned(),
            seal_epoch: Duration::from_secs(60),
            max_segment_bytes: 64 * 1024 * 1024,
            rotate_daily: true,
            retention: RetentionPolicy::default(),
        }
    }

    /// Checks every value; the writer calls this before touching the disk.
    pub fn validate(&self) -> Result<(), StoreError> {
        validate_service_id(&self.service_id)?;
        let epoch = self.seal_epoch.as_nanos();
        if epoch < 1_000_000 || epoch > u128::from(u64::MAX / 4) {
            return Err(StoreError::Config {
                reason: "seal epoch must be between 1 ms and about 146 years".to_owned(),
            });
        }
        if self.max_segment_bytes < 4096 || self.max_segment_bytes > MAX_SEGMENT_BYTES {
            return Err(StoreError::Config {
                reason: "max segment size must be between 4096 bytes and 1 GiB".to_owned(),
            });
        }
        if self.writer.is_empty()
            || self.writer.len() > 128
            || self.writer.chars().any(char::is_control)
        {
            return Err(StoreError::Config {
                reason: "writer name must be 1 to 128 bytes without control characters".to_owned(),
            });
        }
        Ok(())
    }

    pub(crate) fn epoch_nanos(&self) -> i64 {
        i64::try_from(self.seal_epoch.as_nanos()).unwrap_or(i64::MAX)
    }
}

/// Service ids name checkpoint origins and key names, so they are restricted to a safe ASCII set.
pub(crate) fn validate_service_id(id: &str) -> Result<(), StoreError> {
    let ok_len = !id.is_empty() && id.len() <= audit_events::MAX_SERVICE_ID_BYTES;
    let ok_chars = id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok_len && ok_chars && !id.starts_with('.') {
        Ok(())
    } else {
        Err(StoreError::Config {
            reason: "service id must be 1 to 128 of ASCII letters, digits, '-', '_', '.' \
                     (not starting with '.')"
                .to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_values_are_refused() {
        assert!(LogConfig::new("orchestrator-1").validate().is_ok());
        for bad in ["", ".hidden", "a b", "a+b", "pool/../x", "é"] {
            assert!(LogConfig::new(bad).validate().is_err(), "{bad:?}");
        }
        let mut config = LogConfig::new("svc");
        config.seal_epoch = Duration::from_micros(10);
        assert!(config.validate().is_err());
        config = LogConfig::new("svc");
        config.max_segment_bytes = 10;
        assert!(config.validate().is_err());
    }
}
