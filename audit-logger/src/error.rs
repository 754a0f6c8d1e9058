//! The crate's one error type.
//!
//! Messages carry kinds, numbers and causes that were escaped first; never the text of an
//! event, so an error can be printed or logged without carrying hostile input along.

use audit_events::EventKind;

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
    },
}
