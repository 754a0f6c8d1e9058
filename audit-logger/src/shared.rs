//! State shared by the emitting threads and the writer thread: budgets, counters, the drop
//! counter and the poison cause. Everything here is lock-free on the emit path.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use audit_events::{AuditIdGenerator, Entry};

use crate::budget::Budget;
use crate::config::QueueBounds;
use crate::drops::DropCounter;
use crate::error::AuditError;
use crate::error::Failure;

/// No sequence number made durable yet.
const NO_SEQ: u64 = u64::MAX;

/// One queued event and the bytes it reserved in its lane.
#[derive(Debug)]
pub(crate) struct Queued {
    pub(crate) entry: Entry,
    pub(crate) cost: u64,
}

/// Aligns a value to its own cache lines (128 bytes: two lines, for adjacent-line
/// prefetching), so that counters the writer updates after every batch do not evict the
/// lines every `emit` touches, and the reverse.
#[derive(Debug, Default)]
#[repr(align(128))]
pub(crate) struct Padded<T>(pub(crate) T);

impl<T> std::ops::Deref for Padded<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// The audit id generator and the count of accepted events.
#[derive(Debug)]
pub(crate) struct Stamping {
    pub(crate) ids: AuditIdGenerator,
    /// Events queued by `emit`.
    pub(crate) accepted: AtomicU64,
}

/// Counters only the writer updates.
#[derive(Debug, Default)]
pub(crate) struct WriterCounters {
    /// Event records made durable.
    pub(crate) written: AtomicU64,
    /// Events-dropped records made durable.
    pub(crate) drop_records: AtomicU64,
    /// Batches appended (each one sync).
    pub(crate) batches: AtomicU64,
    /// Accepted events that were never acknowledged durable because the writer failed.
    pub(crate) lost: AtomicU64,
    durable_seq: AtomicU64,
}

/// Counters and flags behind [`crate::LoggerStats`] and the refusal decisions.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) routine: Padded<Budget>,
    pub(crate) critical: Padded<Budget>,
    /// What every accepted event touches, on one line.
    pub(crate) stamp: Padded<Stamping>,
    pub(crate) out: Padded<WriterCounters>,
    pub(crate) drops: DropCounter,
    /// Refusals because a lane was full.
    pub(crate) refused_full: AtomicU64,
    /// Refusals because the writer had failed or stopped.
    pub(crate) refused_unavailable: AtomicU64,
    /// Refusals because an event could not be bounded.
    pub(crate) refused_invalid: AtomicU64,
    /// Events discarded by a disabled logger.
    pub(crate) discarded_disabled: AtomicU64,
    poisoned: AtomicBool,
    cause: OnceLock<(String, Failure)>,
    stopped: AtomicBool,
}

impl Shared {
    pub(crate) fn new(bounds: &QueueBounds, ids: AuditIdGenerator) -> Self {
        Self {
            routine: Padded(Budget::new(bounds.max_events, bounds.max_bytes)),
            critical: Padded(Budget::new(bounds.critical_max_events, bounds.critical_max_bytes)),
            stamp: Padded(Stamping { ids, accepted: AtomicU64::new(0) }),
            out: Padded(WriterCounters {
                durable_seq: AtomicU64::new(NO_SEQ),
                ..Default::default()
            }),
            drops: DropCounter::new(),
            refused_full: AtomicU64::new(0),
            refused_unavailable: AtomicU64::new(0),
            refused_invalid: AtomicU64::new(0),
            discarded_disabled: AtomicU64::new(0),
            poisoned: AtomicBool::new(false),
            cause: OnceLock::new(),
            stopped: AtomicBool::new(false),
        }
    }

    /// Marks the writer failed; the first cause wins. Must happen before any budget of a lost
    /// event is released, so that a `flush` that sees an empty queue also sees the failure.
    pub(crate) fn poison(&self, cause: String, failure: Failure) {
        let _ = self.cause.set((cause, failure));
        self.poisoned.store(true, Ordering::Release);
    }

    /// Marks the writer stopped (after shutdown, or after it exited).
    pub(crate) fn stop(&self) {
        self.stopped.store(true, Ordering::Release);
    }

    /// The error every emit and flush returns once the writer has failed or stopped.
    pub(crate) fn unavailable(&self) -> Option<AuditError> {
        if self.poisoned.load(Ordering::Acquire) {
            return Some(self.poison_error());
        }
        if self.stopped.load(Ordering::Acquire) {
            return Some(AuditError::ShutDown);
        }
        None
    }

    /// The failure recorded by [`Shared::poison`], if any.
    pub(crate) fn poison_cause(&self) -> Option<&str> {
        if self.poisoned.load(Ordering::Acquire) {
            self.cause.get().map(|(cause, _)| cause.as_str())
        } else {
            None
        }
    }

    pub(crate) fn poison_error(&self) -> AuditError {
        let (cause, failure) = self.cause.get().cloned().unwrap_or_else(|| {
            ("unknown cause".to_owned(), Failure::new(crate::error::FailureKind::Other))
        });
        AuditError::WriterPoisoned { cause, failure }
    }

    pub(crate) fn set_durable_seq(&self, seq: u64) {
        self.out.durable_seq.store(seq, Ordering::Release);
    }

    pub(crate) fn durable_seq(&self) -> Option<u64> {
        let seq = self.out.durable_seq.load(Ordering::Acquire);
        (seq != NO_SEQ).then_some(seq)
    }

    /// Whether any accepted event is still queued or being written.
    pub(crate) fn in_flight(&self) -> bool {
        self.routine.events() > 0 || self.critical.events() > 0
    }
}
