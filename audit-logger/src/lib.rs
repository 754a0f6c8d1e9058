//! The audit logger every service calls: a non-blocking `emit`, one writer thread that owns
//! the log, `flush` for durability, and a bounded `shutdown`.
//!
//! # What it promises
//!
//! - [`AuditLogger::emit`] never blocks and never panics. It escapes every text field of the
//!   event (`input_validation::escape_for_log`, reversible with `unescape_log`), applies the
//!   field bounds with an escape-aware cut, stamps the time and an audit id, and queues the
//!   event, or refuses it with an error that says why: [`AuditError::BufferFull`],
//!   [`AuditError::WriterPoisoned`], [`AuditError::ShutDown`]. Hostile text is never a reason
//!   to refuse an event.
//! - No loss goes unsaid. Every refusal is counted by kind ([`LoggerStats`]) and recorded in
//!   the log's own chain as an events-dropped record at the writer's next batch (the writer is
//!   woken for it). Events that were queued when the writer failed are counted as lost.
//! - Memory is bounded. Each lane (routine, critical) bounds both its events and their bytes;
//!   an event holds its lane's budget from `emit` until the batch holding it is durable.
//! - Critical events ([`audit_events::AuditEvent::is_critical`]) have their own lane, which
//!   routine floods cannot fill, and make the writer write at once.
//! - [`AuditLogger::flush`] returns once everything emitted before it is durable, or returns
//!   the writer's error. Nothing sleeps to wait: waits are on channels.
//! - A write error, failed sync or panic in the writer poisons the logger: every later emit
//!   and flush returns [`AuditError::WriterPoisoned`]. Errors are never only traced.
//! - [`AuditLogger::shutdown`] (and `Drop`) drains, seals and closes the log, and waits for
//!   the writer thread for at most a configured bound.
//!
//! No async runtime is needed, no global state is touched (no panic hook is installed), and
//! the writer is a plain thread named `audit-writer`.
//!
//! # How an event travels
//!
//! `emit` → lane (bounded channel + budget) → writer: takes control messages, drains the
//! critical then the routine lane, seals due epochs, appends one batch through the log sink
//! (one sync: group commit), releases the budget, answers flushes. The sink is the store's
//! writer in production; `testing::MemorySink` (feature `test-support`, used through
//! `audit-testkit`) is an in-memory stand-in for tests.
//!
//! # Decisions worth knowing
//!
//! - A disabled logger ([`AuditMode::Disabled`]) accepts events (they are still escaped and
//!   bounded) and discards them; [`LoggerStats::disabled`] and
//!   [`LoggerStats::discarded_disabled`] say so. It exists only when the configuration names
//!   it, never as a fallback.
//! - An event's weight in its lane is the entry itself plus the heap capacity of its text and
//!   lists; buffers far larger than their contents are shrunk first, and a hostile field is
//!   cut to its bound before it is escaped, so a megabyte of hostile text weighs what its
//!   kilobyte bound weighs and is never a reason for `BufferFull`.
//! - The writer takes control messages before it drains the lanes, so a flush request is
//!   answered only after a batch drained after the request was taken: everything emitted
//!   before the `flush` call is in that batch or an earlier one.
//! - Before parking, the writer watches the lanes for 50 µs, yielding the core; a steady
//!   stream of events then never pays a wake-up system call in `emit`.
//! - An events-dropped record goes at the front of the writer's next batch; a refusal also
//!   wakes an idle writer so that it is recorded at once, not with the next event.
//! - [`AuditMode::Local`] writes through `audit_store::LogWriter` (`store_sink.rs`): it opens the
//!   log in its directory, or creates one there ([`KeyHandling::CreateOnFirstUse`]) and hands
//!   the new log's [`VerifierMaterial`] back once through
//!   [`AuditLogger::take_verifier_material`].
//!
//! This crate depends on `audit-store`, `audit-events` and `input-validation` only.

mod backend;
mod budget;
mod config;
mod drops;
mod error;
mod logger;
mod prepare;
mod shared;
mod sink;
mod stats;
mod store_sink;
mod writer;

#[cfg(feature = "test-support")]
pub mod testing;

pub use audit_store::VerifierMaterial;
pub use config::{
    AuditConfig, AuditMode, FlushMode, KeyHandling, MIN_QUEUE_BYTES, QueueBounds, RetentionPolicy,
    RotationPolicy,
};
pub use error::{AuditError, Failure, FailureKind};
pub use logger::AuditLogger;
pub use stats::{LoggerStats, ShutdownReport};

/// The README's Rust examples, compiled and run as doctests.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
