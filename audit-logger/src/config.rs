//! The logger's configuration and its validation.
//!
//! Every bound is explicit and checked once in [`crate::AuditLogger::new`], so the emit path
//! never has to re-check a setting.

use std::path::PathBuf;
use std::time::Duration;

use audit_events::MAX_SERVICE_ID_BYTES;

use crate::budget::{MAX_BUDGET_BYTES, MAX_BUDGET_EVENTS};
use crate::error::AuditError;

/// Where events go.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuditMode {
    /// A tamper-evident log on local disk under `base_dir` (one log per service instance).
    Local {
        /// The log directory.
        base_dir: PathBuf,
    },
    /// Nothing is written. Events are still validated, escaped and bounded, then discarded and
    /// counted in [`crate::LoggerStats::discarded_disabled`]; [`crate::LoggerStats::disabled`]
    /// says the logger is in this mode. For tests and home labs, never a silent fallback: a
    /// logger is only disabled when its configuration says so.
    Disabled,
}

/// When queued events are made durable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FlushMode {
    /// Every batch the writer takes is durable (one sync) before it takes the next: an event
    /// waits at most for the batch in progress. The compliance default.
    Immediate,
    /// The writer waits until `max_events` events are queued or `max_interval` has passed since
    /// the oldest unwritten event, then writes them as one batch. Critical events,
    /// [`crate::AuditLogger::flush`] and shutdown write at once.
    Batched {
        /// Events that trigger a write (at most the queue's `max_events`).
        max_events: usize,
        /// Longest time an event waits to be written.
        max_interval: Duration,
    },
}

impl FlushMode {
    /// `Batched { max_events: 100, max_interval: 1 s }`.
    pub const BATCHED_DEFAULT: Self =
        Self::Batched { max_events: 100, max_interval: Duration::from_secs(1) };
}

/// Bounds of the two queues (lanes). Both bounds of a lane are enforced: an event that would
/// exceed either is refused with [`AuditError::BufferFull`].
///
/// An event counts against its lane from `emit` until the batch holding it is durable, so the
/// memory held by queued and in-flight events is at most `max_bytes + critical_max_bytes` plus
/// the channels' fixed slots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct QueueBounds {
    /// Routine events queued at most (default 1000).
    pub max_events: usize,
    /// Bytes of routine events queued at most (default 10 MiB), as estimated by the logger:
    /// the entry itself plus the heap capacity of its text fields and lists.
    pub max_bytes: usize,
    /// Critical events queued at most (default 256). Routine events never use this lane.
    pub critical_max_events: usize,
    /// Bytes of critical events queued at most (default 1 MiB).
    pub critical_max_bytes: usize,
}

impl Default for QueueBounds {
    fn default() -> Self {
        Self {
            max_events: 1000,
            max_bytes: 10 * 1024 * 1024,
            critical_max_events: 256,
            critical_max_bytes: 1024 * 1024,
        }
    }
}

/// Smallest byte bound of a lane: room for several events at their largest.
pub const MIN_QUEUE_BYTES: usize = 256 * 1024;

/// When the store starts a new segment file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RotationPolicy {
    /// A segment is closed once it reaches this many bytes (default 64 MiB).
    pub max_segment_bytes: u64,
    /// A segment is closed when a new UTC day begins (default true).
    pub rotate_daily: bool,
}

impl Default for RotationPolicy {
    fn default() -> Self {
        Self { max_segment_bytes: 64 * 1024 * 1024, rotate_daily: true }
    }
}

/// How long sealed segments are kept. The store removes only whole sealed segments and records
/// every removal in the chain.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum RetentionPolicy {
    /// Never remove anything (the default).
    #[default]
    KeepForever,
    /// Remove sealed segments whose newest record is older than this many days.
    Days(u32),
}

/// How the log's keys are obtained.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyHandling {
    /// Open the log in the directory, or create a new log and its keys if there is none; a new
    /// log's verifier material is handed back once through
    /// [`crate::AuditLogger::take_verifier_material`].
    #[default]
    CreateOnFirstUse,
    /// Open an existing log only; fail if the directory holds none.
    ExistingOnly,
}

/// Everything [`crate::AuditLogger::new`] needs. Build it with [`AuditConfig::local`] or
/// [`AuditConfig::disabled`] and change fields as needed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuditConfig {
    /// Where events go.
    pub mode: AuditMode,
    /// The service instance writing the log: an identifier of at most
    /// [`MAX_SERVICE_ID_BYTES`] bytes (ASCII letters, digits, `-`, `_`, `.`).
    pub service_id: String,
    /// When to start a new segment.
    pub rotation: RotationPolicy,
    /// How long to keep sealed segments.
    pub retention: RetentionPolicy,
    /// Place a legal hold on the log when it is opened (a `legal_hold` record in the chain, if
    /// none is in force): nothing is removed by retention while it holds. Lifting a hold is an
    /// explicit act (`audit legal-hold --release`), never a side effect of a configuration change.
    pub legal_hold: bool,
    /// When events are made durable (default [`FlushMode::Immediate`]).
    pub flush: FlushMode,
    /// Queue bounds.
    pub queue: QueueBounds,
    /// Length of a seal epoch (default 1 minute). Idle epochs are sealed too.
    pub seal_epoch: Duration,
    /// How the log's keys are obtained.
    pub keys: KeyHandling,
    /// How long shutdown (and `Drop`) waits for the writer to drain, seal and close
    /// (default 5 s).
    pub shutdown_timeout: Duration,
}

impl AuditConfig {
    /// A logger writing a local log under `base_dir`, with the defaults.
    pub fn local(service_id: impl Into<String>, base_dir: impl Into<PathBuf>) -> Self {
        Self::with_mode(service_id.into(), AuditMode::Local { base_dir: base_dir.into() })
    }

    /// A logger that writes nothing ([`AuditMode::Disabled`]), with the defaults.
    pub fn disabled(service_id: impl Into<String>) -> Self {
        Self::with_mode(service_id.into(), AuditMode::Disabled)
    }

    fn with_mode(service_id: String, mode: AuditMode) -> Self {
        Self {
            mode,
            service_id,
            rotation: RotationPolicy::default(),
            retention: RetentionPolicy::default(),
            legal_hold: false,
            flush: FlushMode::Immediate,
            queue: QueueBounds::default(),
            seal_epoch: Duration::from_secs(60),
            keys: KeyHandling::default(),
            shutdown_timeout: Duration::from_secs(5),
        }
    }

    /// Checks every setting; the error names the setting and never echoes rejected text.
    pub(crate) fn validate(&self) -> Result<(), AuditError> {
        input_validation::validate_identifier(&self.service_id, MAX_SERVICE_ID_BYTES)
            .map_err(|e| config(format!("service id: {e}")))?;
        let q = &self.queue;
        check_lane("queue", q.max_events, q.max_bytes)?;
        check_lane("critical queue", q.critical_max_events, q.critical_max_bytes)?;
        if let FlushMode::Batched { max_events, max_interval } = self.flush {
            if max_events == 0 || max_events > q.max_events {
                return Err(config(format!(
                    "batched flush: max_events must be 1..={} (the queue bound), got {max_events}",
                    q.max_events
                )));
            }
            if max_interval.is_zero() {
                return Err(config("batched flush: max_interval must be positive".to_owned()));
            }
        }
        if self.seal_epoch < Duration::from_millis(1) {
            return Err(config("seal epoch must be at least 1 ms".to_owned()));
        }
        if self.shutdown_timeout.is_zero() {
            return Err(config("shutdown timeout must be positive".to_owned()));
        }
        if self.rotation.max_segment_bytes == 0 {
            return Err(config("rotation: max_segment_bytes must be positive".to_owned()));
        }
        if self.retention == RetentionPolicy::Days(0) {
            return Err(config("retention: days must be positive".to_owned()));
        }
        Ok(())
    }
}

fn check_lane(name: &str, events: usize, bytes: usize) -> Result<(), AuditError> {
    let max_events = usize::try_from(MAX_BUDGET_EVENTS).unwrap_or(usize::MAX);
    if events == 0 || events > max_events {
        return Err(config(format!("{name}: max events must be 1..={max_events}, got {events}")));
    }
    let max_bytes = usize::try_from(MAX_BUDGET_BYTES).unwrap_or(usize::MAX);
    if !(MIN_QUEUE_BYTES..=max_bytes).contains(&bytes) {
        return Err(config(format!(
            "{name}: max bytes must be {MIN_QUEUE_BYTES}..={max_bytes}, got {bytes}"
        )));
    }
    Ok(())
}

fn config(reason: String) -> AuditError {
    AuditError::Config { reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_ones() {
        let c = AuditConfig::local("orchestrator-1", "/var/log/audit");
        assert_eq!(c.flush, FlushMode::Immediate);
        assert_eq!(c.queue.max_events, 1000);
        assert_eq!(c.queue.max_bytes, 10 * 1024 * 1024);
        assert_eq!(c.seal_epoch, Duration::from_secs(60));
        assert_eq!(c.shutdown_timeout, Duration::from_secs(5));
        assert_eq!(
            FlushMode::BATCHED_DEFAULT,
            FlushMode::Batched { max_events: 100, max_interval: Duration::from_secs(1) }
        );
        assert_eq!(c.validate(), Ok(()));
    }

    #[test]
    fn bad_settings_are_named_without_echoing_input() {
        let hostile = "svc\u{1b}[2J";
        let err = AuditConfig::disabled(hostile).validate().unwrap_err();
        let text = err.to_string();
        assert!(text.contains("service id"), "{text}");
        assert!(!text.contains('\u{1b}'), "{text}");

        let mut c = AuditConfig::disabled("svc");
        c.queue.max_events = 0;
        assert!(matches!(c.validate(), Err(AuditError::Config { .. })));

        let mut c = AuditConfig::disabled("svc");
        c.queue.critical_max_bytes = 10;
        assert!(matches!(c.validate(), Err(AuditError::Config { .. })));

        let mut c = AuditConfig::disabled("svc");
        c.flush = FlushMode::Batched { max_events: 5000, max_interval: Duration::from_secs(1) };
        assert!(matches!(c.validate(), Err(AuditError::Config { .. })));

        let mut c = AuditConfig::disabled("svc");
        c.seal_epoch = Duration::ZERO;
        assert!(matches!(c.validate(), Err(AuditError::Config { .. })));

        let mut c = AuditConfig::disabled("svc");
        c.retention = RetentionPolicy::Days(0);
        assert!(matches!(c.validate(), Err(AuditError::Config { .. })));
    }
}
