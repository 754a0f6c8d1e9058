//! The admission budget of one lane: events and bytes reserved by `emit`, released by the writer
//! once the batch holding them is durable.
//!
//! Both counts live in one atomic word (events in the high bits, bytes in the low bits) so that
//! a reservation checks and takes both bounds in one compare-and-swap: no lock, no window in
//! which one bound is taken and the other is not.

use std::sync::atomic::{AtomicU64, Ordering};

/// Bits of the packed word that hold bytes.
const BYTE_BITS: u32 = 40;
const BYTE_MASK: u64 = (1 << BYTE_BITS) - 1;
const ONE_EVENT: u64 = 1 << BYTE_BITS;

/// Largest event bound a lane can have (the event count has 24 bits).
pub(crate) const MAX_BUDGET_EVENTS: u64 = (1 << (64 - BYTE_BITS)) - 1;
/// Largest byte bound a lane can have (1 TiB - 1).
pub(crate) const MAX_BUDGET_BYTES: u64 = BYTE_MASK;

/// Events and bytes in a lane, with their bounds and high-water marks.
#[derive(Debug)]
pub(crate) struct Budget {
    packed: AtomicU64,
    max_events: u64,
    max_bytes: u64,
    high_events: AtomicU64,
    high_bytes: AtomicU64,
}

impl Budget {
    /// An empty budget. Bounds above [`MAX_BUDGET_EVENTS`] / [`MAX_BUDGET_BYTES`] are clamped
    /// (the configuration check rejects them first).
    pub(crate) fn new(max_events: usize, max_bytes: usize) -> Self {
        Self {
            packed: AtomicU64::new(0),
            max_events: u64::try_from(max_events).unwrap_or(u64::MAX).min(MAX_BUDGET_EVENTS),
            max_bytes: u64::try_from(max_bytes).unwrap_or(u64::MAX).min(MAX_BUDGET_BYTES),
            high_events: AtomicU64::new(0),
            high_bytes: AtomicU64::new(0),
        }
    }

    /// Takes one event of `bytes` if both bounds allow it; false (and nothing taken) otherwise.
    pub(crate) fn try_reserve(&self, bytes: u64) -> bool {
        if bytes > self.max_bytes {
            return false;
        }
        let mut current = self.packed.load(Ordering::Relaxed);
        loop {
            let events = current >> BYTE_BITS;
            let used = current & BYTE_MASK;
            if events >= self.max_events || used + bytes > self.max_bytes {
                return false;
            }
            let next = current + ONE_EVENT + bytes;
            match self.packed.compare_exchange_weak(
                current,
                next,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    raise(&self.high_events, events + 1);
                    raise(&self.high_bytes, used + bytes);
                    return true;
                }
                Err(actual) => current = actual,
            }
        }
    }

    /// Gives back `events` events totalling `bytes` (taken earlier by `try_reserve`).
    pub(crate) fn release(&self, events: u64, bytes: u64) {
        self.packed.fetch_sub((events << BYTE_BITS) + bytes, Ordering::AcqRel);
    }

    /// Events currently reserved.
    pub(crate) fn events(&self) -> u64 {
        self.packed.load(Ordering::Acquire) >> BYTE_BITS
    }

    /// Bytes currently reserved.
    pub(crate) fn bytes(&self) -> u64 {
        self.packed.load(Ordering::Acquire) & BYTE_MASK
    }

    /// The byte bound.
    pub(crate) const fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// Most events ever reserved at once.
    pub(crate) fn high_events(&self) -> u64 {
        self.high_events.load(Ordering::Relaxed)
    }

    /// Most bytes ever reserved at once.
    pub(crate) fn high_bytes(&self) -> u64 {
        self.high_bytes.load(Ordering::Relaxed)
    }
}

/// Raises a high-water mark; a plain load first keeps the common case free of a shared write.
fn raise(mark: &AtomicU64, value: u64) {
    if mark.load(Ordering::Relaxed) < value {
        mark.fetch_max(value, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_bounds_are_enforced_and_released() {
        let budget = Budget::new(3, 100);
        assert!(budget.try_reserve(40));
        assert!(budget.try_reserve(40));
        // Bytes: 80 + 30 > 100.
        assert!(!budget.try_reserve(30));
        assert!(budget.try_reserve(20));
        // Events: 3 taken.
        assert!(!budget.try_reserve(0));
        assert_eq!((budget.events(), budget.bytes()), (3, 100));
        budget.release(2, 80);
        assert_eq!((budget.events(), budget.bytes()), (1, 20));
        assert!(budget.try_reserve(80));
        assert_eq!((budget.high_events(), budget.high_bytes()), (3, 100));
    }

    #[test]
    fn an_event_larger_than_the_lane_is_refused() {
        let budget = Budget::new(10, 100);
        assert!(!budget.try_reserve(101));
        assert_eq!(budget.events(), 0);
    }

    #[test]
    fn concurrent_reservations_never_exceed_the_bounds() {
        let budget = Budget::new(1000, 1_000_000);
        let taken: u64 = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| s.spawn(|| (0..1000).filter(|_| budget.try_reserve(7)).count() as u64))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).sum()
        });
        assert_eq!(taken, 1000);
        assert_eq!(budget.events(), 1000);
        assert_eq!(budget.bytes(), 7000);
    }
}
