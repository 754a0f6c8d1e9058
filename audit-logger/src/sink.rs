//! The seam between the writer thread and the log it writes: the store's writer in production,
//! an in-memory log with fault hooks in tests (`testing::MemorySink`, feature `test-support`).

use std::fmt;

use audit_events::{Entry, Timestamp};
use audit_store::StoreError;

use crate::error::{Failure, FailureKind};

/// What the writer thread needs from a log.
pub(crate) trait LogSink: Send + 'static {
    /// Appends the entries as consecutive records and makes them durable (one fdatasync)
    /// before returning; returns the first and last sequence numbers assigned.
    fn append_batch(&mut self, entries: &[Entry], now: Timestamp) -> Result<(u64, u64), SinkError>;
    /// Seals (and checkpoints) every epoch that has ended by `now`; a no-op otherwise.
    fn seal_if_due(&mut self, now: Timestamp) -> Result<(), SinkError>;
    /// When the next seal is due, so the writer thread can wake for it even when idle.
    fn next_seal_due(&self) -> Timestamp;
    /// Removes whole sealed segments past retention (store decides what is eligible).
    fn apply_retention(&mut self, now: Timestamp) -> Result<(), SinkError>;
    /// Final seal, checkpoint and clean-shutdown record.
    fn close(self: Box<Self>, now: Timestamp) -> Result<(), SinkError>;
}

/// A failure of the log backend. The cause is escaped for display when it is built, so a
/// path or message holding control characters cannot reach a terminal through it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SinkError {
    cause: String,
    failure: Failure,
}

impl SinkError {
    /// An error with the given cause (escaped here), of kind [`FailureKind::Other`].
    pub(crate) fn new(cause: impl fmt::Display) -> Self {
        Self::of_kind(Failure::new(FailureKind::Other), cause)
    }

    /// An error with the given failure and cause (escaped here).
    pub(crate) fn of_kind(failure: Failure, cause: impl fmt::Display) -> Self {
        let raw = cause.to_string();
        Self { cause: input_validation::escape_for_log(&raw).into_owned(), failure }
    }

    /// A store error, typed ([`Failure::of_store`]) and escaped.
    pub(crate) fn store(err: StoreError) -> Self {
        Self::of_kind(Failure::of_store(&err), err)
    }

    /// The escaped cause.
    pub(crate) fn cause(&self) -> &str {
        &self.cause
    }

    /// What kind of failure.
    pub(crate) fn failure(&self) -> Failure {
        self.failure
    }
}

impl fmt::Display for SinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.cause)
    }
}
