//! Counting refused events by kind, without locks, and turning the counts into an
//! events-dropped system record.
//!
//! Two sets of counters: `pending` (swapped out by the writer into the next record) and `total`
//! (for [`crate::LoggerStats`], never reset). Counts are exact. The time window of a record can
//! be wider than the refusals it counts by the width of a race between a refusal and the
//! writer's swap (the refusal's time then lands in the next window), never narrower.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use audit_events::{EventKind, KindCount, SystemRecord, Timestamp};

const NO_FIRST: i64 = i64::MAX;
const NO_LAST: i64 = i64::MIN;

/// Refusal counters, one per kind of the catalogue.
#[derive(Debug)]
pub(crate) struct DropCounter {
    pending: Box<[AtomicU64]>,
    total: Box<[AtomicU64]>,
    first: AtomicI64,
    last: AtomicI64,
}

fn counters() -> Box<[AtomicU64]> {
    EventKind::ALL.iter().map(|_| AtomicU64::new(0)).collect()
}

fn index(kind: EventKind) -> usize {
    // Every kind is in ALL (it is generated from the same table); 0 is never reached.
    EventKind::ALL.iter().position(|k| *k == kind).unwrap_or(0)
}

impl DropCounter {
    pub(crate) fn new() -> Self {
        Self {
            pending: counters(),
            total: counters(),
            first: AtomicI64::new(NO_FIRST),
            last: AtomicI64::new(NO_LAST),
        }
    }

    /// Counts one refused event of `kind` at `now`.
    pub(crate) fn record(&self, kind: EventKind, now: Timestamp) {
        let i = index(kind);
        // Count before the time, so the writer never sees a time without its count.
        if let Some(c) = self.pending.get(i) {
            c.fetch_add(1, Ordering::AcqRel);
        }
        if let Some(c) = self.total.get(i) {
            c.fetch_add(1, Ordering::Relaxed);
        }
        self.first.fetch_min(now.as_nanos(), Ordering::AcqRel);
        self.last.fetch_max(now.as_nanos(), Ordering::AcqRel);
    }

    /// Whether refusals are waiting to be recorded (cheap: one pass of loads).
    pub(crate) fn any_pending(&self) -> bool {
        self.pending.iter().any(|c| c.load(Ordering::Acquire) > 0)
    }

    /// Takes the pending counts as an events-dropped record, or `None` if there are none.
    pub(crate) fn take_record(&self, now: Timestamp) -> Option<SystemRecord> {
        let mut by_kind = Vec::new();
        let mut total = 0u64;
        for (kind, counter) in EventKind::ALL.iter().zip(self.pending.iter()) {
            let count = counter.swap(0, Ordering::AcqRel);
            if count > 0 {
                total += count;
                by_kind.push(KindCount { kind: *kind, count });
            }
        }
        if total == 0 {
            return None;
        }
        let first = self.first.swap(NO_FIRST, Ordering::AcqRel);
        let last = self.last.swap(NO_LAST, Ordering::AcqRel);
        let (first, last) = match (first != NO_FIRST, last != NO_LAST) {
            (true, true) => (first.min(last), last.max(first)),
            (true, false) => (first, first),
            (false, true) => (last, last),
            (false, false) => (now.as_nanos(), now.as_nanos()),
        };
        by_kind.sort_by_key(|c| c.kind);
        Some(SystemRecord::EventsDropped {
            total,
            first: Timestamp(first),
            last: Timestamp(last),
            by_kind,
        })
    }

    /// Refusals per kind since the logger started, sorted by kind.
    pub(crate) fn totals(&self) -> Vec<KindCount> {
        EventKind::ALL
            .iter()
            .zip(self.total.iter())
            .filter_map(|(kind, c)| {
                let count = c.load(Ordering::Relaxed);
                (count > 0).then_some(KindCount { kind: *kind, count })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_kind_and_window() {
        let drops = DropCounter::new();
        assert!(drops.take_record(Timestamp(5)).is_none());
        drops.record(EventKind::AuthSuccess, Timestamp(20));
        drops.record(EventKind::AuthSuccess, Timestamp(10));
        drops.record(EventKind::TaskCompleted, Timestamp(30));
        assert!(drops.any_pending());
        let Some(SystemRecord::EventsDropped { total, first, last, by_kind }) =
            drops.take_record(Timestamp(99))
        else {
            panic!("expected a drop record");
        };
        assert_eq!(total, 3);
        assert_eq!((first, last), (Timestamp(10), Timestamp(30)));
        assert_eq!(
            by_kind,
            [
                KindCount { kind: EventKind::AuthSuccess, count: 2 },
                KindCount { kind: EventKind::TaskCompleted, count: 1 },
            ]
        );
        assert!(!drops.any_pending());
        assert!(drops.take_record(Timestamp(100)).is_none());
        // Totals are cumulative.
        drops.record(EventKind::AuthSuccess, Timestamp(40));
        assert_eq!(drops.totals()[0], KindCount { kind: EventKind::AuthSuccess, count: 3 });
    }

    #[test]
    fn every_kind_has_its_own_counter() {
        let drops = DropCounter::new();
        for kind in EventKind::ALL {
            drops.record(*kind, Timestamp(1));
        }
        let Some(SystemRecord::EventsDropped { total, by_kind, .. }) =
            drops.take_record(Timestamp(2))
        else {
            panic!("expected a drop record");
        };
        assert_eq!(total, EventKind::ALL.len() as u64);
        assert!(by_kind.iter().all(|c| c.count == 1));
        assert_eq!(by_kind.len(), EventKind::ALL.len());
    }
}
