//! The crate's one error type.
//!
//! Messages carry kinds, numbers and causes that were escaped first; never the text of an
//! event, so an error can be printed or logged without carrying hostile input along.

use audit_events::EventKind;
use audit_store::StoreError;

/// Why the logger refused an event, a flush, a shutdown or a configuration.
///
/// Every refusal of an event is also counted by kind in [`crate::LoggerStats`] and, while the
/// writer is healthy, recorded in the log as an events-dropped system record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// [`crate::AuditLogger::emit`]: the event's lane is full (by event count or by bytes); the
    /// writer is behind. The event was not queued.
    #[error("audit queue full: `{kind}` event refused")]
    BufferFull {
        /// The kind of the refused event.
        kind: EventKind,
    },
    /// The writer failed (an I/O error, a failed sync, a panic) and stopped writing. Every
    /// later `emit` and `flush` returns this; events still queued when it failed were never
    /// written and are counted as lost.
    #[error("audit writer failed and stopped writing: {cause}")]
    WriterPoisoned {
        /// What failed, escaped for display.
        cause: String,
        /// What kind of failure it was (full disk, other I/O, integrity, ...), with the I/O
        /// error kind and the failing step where there is one.
        failure: Failure,
    },
    /// The writer has stopped after a shutdown, or stopped without recording a cause.
    #[error("audit logger is shut down")]
    ShutDown,
    /// An event that cannot be brought under the size bounds (not possible for the catalogue's
    /// events; kept so that a future field cannot make `emit` panic).
    #[error("invalid `{kind}` event: {reason}")]
    InvalidEvent {
        /// The kind of the refused event.
        kind: EventKind,
        /// Why, without the event's text.
        reason: String,
    },
    /// [`crate::AuditLogger::new`]: the configuration is invalid (service id, bounds, timings).
    #[error("invalid audit configuration: {reason}")]
    Config {
        /// What is wrong; rejected text is named by position and code point, never echoed.
        reason: String,
    },
    /// [`crate::AuditLogger::new`]: another writer (another process or logger) holds the log's
    /// lock; a log has exactly one writer.
    #[error("audit log is locked by another writer")]
    LogLocked,
    /// The log backend could not be opened or closed (while opening, or from
    /// [`crate::AuditLogger::shutdown`] when the final seal or close failed).
    #[error("audit log store error: {cause}")]
    Store {
        /// What failed, escaped for display.
        cause: String,
        /// What kind of failure it was, with the I/O error kind and the failing step.
        failure: Failure,
    },
}

impl AuditError {
    /// The backend failure behind [`AuditError::WriterPoisoned`] or [`AuditError::Store`].
    pub fn failure(&self) -> Option<Failure> {
        match self {
            Self::WriterPoisoned { failure, .. } | Self::Store { failure, .. } => Some(*failure),
            _ => None,
        }
    }
}

/// The kind of a log backend failure: what a caller may react to differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailureKind {
    /// The file system is full (`ENOSPC`, `EDQUOT`): free space, then restart the logger.
    DiskFull,
    /// Another I/O error on a file of the log ([`Failure::io_kind`] and [`Failure::step`] say
    /// which and where).
    Io,
    /// The log's files fail the store's integrity checks in a way the writer must not repair:
    /// damage or tampering (run `audit verify`), a refused file, or another log's material.
    Integrity,
    /// Another writer holds the log's lock.
    Locked,
    /// The configuration was refused.
    Config,
    /// The writer thread panicked.
    Panic,
    /// Anything else (encoding, the random number generator, a closed log).
    Other,
}

/// A log backend failure, as a caller can match on it; the text is in the error's `cause`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Failure {
    /// What kind of failure.
    pub kind: FailureKind,
    /// The operating system's error kind, for I/O failures.
    pub io_kind: Option<std::io::ErrorKind>,
    /// The step that failed (`writing`, `syncing`, `opening`, ...), for I/O failures.
    pub step: Option<&'static str>,
}

impl Failure {
    /// A failure of `kind` with no I/O detail.
    pub const fn new(kind: FailureKind) -> Self {
        Self { kind, io_kind: None, step: None }
    }

    /// The failure a store error stands for.
    pub fn of_store(err: &StoreError) -> Self {
        match err {
            StoreError::Io { op, source, .. } => {
                // std maps ENOSPC to `StorageFull` and EDQUOT to `QuotaExceeded`.
                let full = matches!(
                    source.kind(),
                    std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
                );
                Self {
                    kind: if full { FailureKind::DiskFull } else { FailureKind::Io },
                    io_kind: Some(source.kind()),
                    step: Some(op),
                }
            }
            StoreError::Locked { .. } => Self::new(FailureKind::Locked),
            StoreError::Config { .. } => Self::new(FailureKind::Config),
            StoreError::Damaged { .. }
            | StoreError::WrongLog { .. }
            | StoreError::UnsafeFile { .. }
            | StoreError::UnsafePath { .. }
            | StoreError::Malformed { .. } => Self::new(FailureKind::Integrity),
            _ => Self::new(FailureKind::Other),
        }
    }
}
