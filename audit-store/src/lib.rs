//! The append-only segmented audit log on disk: durable, recoverable, verifiable, queryable.
//!
//! A log directory holds segment files of length-prefixed frames, each frame carrying one record
//! (the canonical encoding from `audit-events`) and its chain hash; signed checkpoints; the
//! current seal key and the checkpoint signing key. FORMAT.md at the repository root describes
//! every byte.
//!
//! - [`LogWriter`]: the one writer (exclusive lock). Group commit: one `fdatasync` per batch (per
//!   4 MiB at most). Seals and checkpoints at every epoch boundary, at rotation, on close and
//!   right after a resume. Poisoned after any write or sync error. Reopening recovers the remains
//!   of one torn write and continues the chain, and refuses what only tampering explains.
//! - [`LogReader`]: streaming reads in order, chain checked on the way.
//! - [`verify`]: recomputes chain, Merkle tree, seals and checkpoints; a structured report of
//!   the first problem, where it is, and how far the log is proven.
//! - [`query`]: search by actor, kind, category, severity, resource and time, through
//!   per-segment indexes checked against the `index_committed` records that commit to them.
//! - [`inclusion_proof`] / [`consistency_proof`]: RFC 9162 proofs from the stored records.
//! - Retention: [`LogWriter::apply_retention`] removes whole segments that sealed history proves
//!   past their period, never under a legal hold ([`LogWriter::set_legal_hold`]), after a purge
//!   record in the live chain says what was removed.
//!
//! Invariants: a record acknowledged by [`LogWriter::append_batch`] is durable and is never
//! removed by recovery (only the remains of one torn write are); every modification, insertion,
//! deletion, reordering or truncation of stored data is reported by [`verify`] with the segment
//! and sequence number where it starts, or is beyond the last seal and reported as unproven.
//!
//! Depends on `audit-events` and `audit-chain` only.

mod config;
mod error;
mod index;
pub mod io;
mod keys;
mod layout;
mod meta;
mod proof;
mod query;
mod reader;
mod recovery;
mod resume;
mod retention;
mod segment;
#[cfg(feature = "test-support")]
pub mod tamper;
mod tiles;
mod verify;
mod writer;

pub use config::{LogConfig, MAX_SEGMENT_BYTES, RetentionPolicy};
pub use error::StoreError;
pub use meta::{LogMeta, VerifierMaterial, service_of_origin};
pub use proof::{
    ConsistencyBundle, InclusionBundle, ProofSource, consistency_proof,
    consistency_proof_from_tiles, inclusion_proof, latest_checkpoint,
};
pub use query::{
    IndexFallback, Order, Query, QueryHit, QueryOutcome, QuerySink, query, query_each,
    query_outcome,
};
pub use reader::{LogReader, Records, StoredRecord};
pub use retention::PurgeOutcome;
pub use verify::{
    DEFAULT_SEAL_SLACK_EPOCHS, FailureKind, Proven, SegmentReport, SegmentStatus, Verdict,
    VerifyFailure, VerifyOptions, VerifyReport, verify, verify_with_progress,
};
pub use writer::{AppendOutcome, LogWriter};

use audit_events::Timestamp;

/// The seal epoch `time` falls in, for a log created at `created_at` with epochs of
/// `epoch_nanos` (times before creation are in epoch 0).
pub fn epoch_of(created_at: Timestamp, epoch_nanos: i64, time: Timestamp) -> u64 {
    if time <= created_at || epoch_nanos <= 0 {
        return 0;
    }
    match time.0.checked_sub(created_at.0) {
        // The common case stays in 64-bit arithmetic (this runs once per record in verify).
        Some(elapsed) => u64::try_from(elapsed / epoch_nanos).unwrap_or(u64::MAX),
        None => {
            let elapsed = i128::from(time.0) - i128::from(created_at.0);
            u64::try_from(elapsed / i128::from(epoch_nanos)).unwrap_or(u64::MAX)
        }
    }
}

/// When epoch `epoch` begins, for a log created at `created_at` with epochs of `epoch_nanos`.
pub(crate) fn epoch_start(created_at: Timestamp, epoch_nanos: i64, epoch: u64) -> Timestamp {
    let offset = i64::try_from(epoch).unwrap_or(i64::MAX).saturating_mul(epoch_nanos);
    Timestamp(created_at.0.saturating_add(offset))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epochs_count_whole_periods_from_creation() {
        let t0 = Timestamp(1_000);
        assert_eq!(epoch_of(t0, 10, Timestamp(1_000)), 0);
        assert_eq!(epoch_of(t0, 10, Timestamp(1_009)), 0);
        assert_eq!(epoch_of(t0, 10, Timestamp(1_010)), 1);
        assert_eq!(epoch_of(t0, 10, Timestamp(0)), 0);
        assert_eq!(epoch_of(Timestamp(i64::MIN), 1, Timestamp(i64::MAX)), u64::MAX);
        assert_eq!(epoch_of(Timestamp(-10), 10, Timestamp(15)), 2);
    }
}
