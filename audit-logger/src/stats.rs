//! What the logger reports about itself: [`LoggerStats`] at any time, [`ShutdownReport`] at the
//! end.

use std::sync::atomic::Ordering;

use audit_events::KindCount;

use crate::shared::Shared;

/// A snapshot of the logger's counters. Counters are read one by one while other threads run,
/// so a snapshot taken under load is consistent per counter, not across counters.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct LoggerStats {
    /// The logger is in [`crate::AuditMode::Disabled`]: nothing is written.
    pub disabled: bool,
    /// Events queued by `emit` (returned `Ok`), disabled mode excepted.
    pub accepted: u64,
    /// Event records made durable.
    pub written: u64,
    /// Events-dropped system records made durable.
    pub drop_records_written: u64,
    /// Batches appended, each made durable with one sync.
    pub batches: u64,
    /// Every event `emit` refused, for any reason.
    pub dropped_total: u64,
    /// Refused events per kind, sorted by kind.
    pub dropped_by_kind: Vec<KindCount>,
    /// Refused because a lane was full ([`crate::AuditError::BufferFull`]).
    pub refused_full: u64,
    /// Refused because the writer had failed or stopped.
    pub refused_unavailable: u64,
    /// Refused because the event could not be bounded.
    pub refused_invalid: u64,
    /// Accepted events that were never acknowledged durable because the writer failed: they
    /// were queued or in the batch being written. Also counted in `dropped_by_kind`.
    pub lost_unwritten: u64,
    /// Events a disabled logger accepted and discarded.
    pub discarded_disabled: u64,
    /// Routine events queued or being written now.
    pub queue_events: u64,
    /// Bytes of routine events queued or being written now.
    pub queue_bytes: u64,
    /// Critical events queued or being written now.
    pub critical_queue_events: u64,
    /// Bytes of critical events queued or being written now.
    pub critical_queue_bytes: u64,
    /// Most routine events queued at once.
    pub queue_events_high_water: u64,
    /// Most bytes of routine events queued at once.
    pub queue_bytes_high_water: u64,
    /// Most critical events queued at once.
    pub critical_queue_events_high_water: u64,
    /// Most bytes of critical events queued at once.
    pub critical_queue_bytes_high_water: u64,
    /// The last sequence number made durable, if any.
    pub durable_seq: Option<u64>,
    /// The writer's failure, if it failed (escaped).
    pub poisoned: Option<String>,
}

impl LoggerStats {
    pub(crate) fn read(shared: &Shared, disabled: bool) -> Self {
        let load = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Acquire);
        let dropped_by_kind = shared.drops.totals();
        Self {
            disabled,
            accepted: load(&shared.stamp.accepted),
            written: load(&shared.out.written),
            drop_records_written: load(&shared.out.drop_records),
            batches: load(&shared.out.batches),
            dropped_total: dropped_by_kind.iter().map(|c| c.count).sum(),
            dropped_by_kind,
            refused_full: load(&shared.refused_full),
            refused_unavailable: load(&shared.refused_unavailable),
            refused_invalid: load(&shared.refused_invalid),
            lost_unwritten: load(&shared.out.lost),
            discarded_disabled: load(&shared.discarded_disabled),
            queue_events: shared.routine.events(),
            queue_bytes: shared.routine.bytes(),
            critical_queue_events: shared.critical.events(),
            critical_queue_bytes: shared.critical.bytes(),
            queue_events_high_water: shared.routine.high_events(),
            queue_bytes_high_water: shared.routine.high_bytes(),
            critical_queue_events_high_water: shared.critical.high_events(),
            critical_queue_bytes_high_water: shared.critical.high_bytes(),
            durable_seq: shared.durable_seq(),
            poisoned: shared.poison_cause().map(str::to_owned),
        }
    }
}

/// What [`crate::AuditLogger::shutdown`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// Whether the writer drained, sealed, closed and exited within the shutdown timeout. When
    /// false, the writer thread was left running (detached) and the log was not closed
    /// cleanly before this returned; the next open records it.
    pub finished_in_time: bool,
    /// Event records made durable over the logger's life.
    pub events_written: u64,
    /// Events refused over the logger's life.
    pub dropped_total: u64,
    /// Accepted events never acknowledged durable.
    pub lost_unwritten: u64,
    /// The last sequence number made durable, if any.
    pub durable_seq: Option<u64>,
}

impl ShutdownReport {
    pub(crate) fn read(shared: &Shared, finished_in_time: bool) -> Self {
        let stats = LoggerStats::read(shared, false);
        Self {
            finished_in_time,
            events_written: stats.written,
            dropped_total: stats.dropped_total,
            lost_unwritten: stats.lost_unwritten,
            durable_seq: stats.durable_seq,
        }
    }
}
