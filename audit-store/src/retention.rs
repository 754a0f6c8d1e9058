//! Retention: removing whole sealed segments past their retention period.
//!
//! Order matters for the evidence: first a `retention_purge` record is appended to the live chain
//! and made durable (what is removed, the chain hash and Merkle root it ends on, the period
//! applied), then the files are removed. A verifier accepts a missing prefix only when such a
//! record matches it. Nothing is removed under legal hold, and the active segment never is.

use audit_chain::CompactTree;
use audit_events::{HashValue, SystemRecord, Timestamp};

use crate::error::StoreError;
use crate::index::IndexHeader;
use crate::layout;
use crate::segment::{FrameFault, FrameReader};
use crate::writer::LogWriter;

const DAY_NANOS: i64 = 86_400 * 1_000_000_000;

/// What a retention run removed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PurgeOutcome {
    /// Segment files removed.
    pub segments_removed: u64,
    /// First sequence number removed.
    pub first_seq: u64,
    /// Last sequence number removed.
    pub last_seq: u64,
}

/// The newest record time in a segment: from its index, or by reading it.
fn newest_time(
    path: &std::path::Path,
    index_path: &std::path::Path,
    first_seq: u64,
) -> Result<Option<i64>, StoreError> {
    if let Some(header) = IndexHeader::read(index_path).filter(|h| h.first_seq == first_seq) {
        return Ok(header.time_range.map(|(_, hi)| hi));
    }
    let (_, mut reader) = FrameReader::open(path).map_err(|_| StoreError::Damaged {
        file: layout::segment_name(first_seq),
        offset: 0,
        reason: "unreadable segment header".to_owned(),
    })?;
    let mut payload = Vec::new();
    let mut newest = None;
    loop {
        match reader.next_frame(&mut payload) {
            Ok(Some(_)) => {
                let time = audit_events::RecordHeader::peek(&payload).map(|h| h.time.0)?;
                newest = Some(newest.map_or(time, |n: i64| n.max(time)));
            }
            Ok(None) => return Ok(newest),
            Err(FrameFault::Io(e)) => return Err(StoreError::io("reading", path, e)),
            Err(_) => {
                return Err(StoreError::Damaged {
                    file: layout::segment_name(first_seq),
                    offset: reader.offset(),
                    reason: "damaged frame".to_owned(),
                });
            }
        }
    }
}

impl LogWriter {
    /// Removes the oldest sealed segments whose newest record is older than the retention
    /// period, unless a legal hold is set. Returns what was removed, if anything.
    pub fn apply_retention(&mut self, now: Timestamp) -> Result<Option<PurgeOutcome>, StoreError> {
        if let Some(cause) = self.poisoned() {
            return Err(StoreError::Poisoned { cause: cause.to_owned() });
        }
        let policy = self.config().retention;
        if policy.legal_hold {
            return Ok(None);
        }
        let now = now.max(self.last_record_time());
        let cutoff =
            Timestamp(now.0.saturating_sub(i64::from(policy.days).saturating_mul(DAY_NANOS)));
        let dir = self.dir().to_owned();
        let segments = layout::list_segments(&dir)?;
        let active = self.active_first_seq();
        let mut removable = 0;
        for (first_seq, path) in &segments {
            if *first_seq >= active {
                break;
            }
            let index_path = dir.join(layout::index_name(*first_seq));
            match newest_time(path, &index_path, *first_seq)? {
                Some(t) if t < cutoff.0 => removable += 1,
                None => removable += 1,
                Some(_) => break,
            }
        }
        if removable == 0 {
            return Ok(None);
        }
        let (first_seq, _) = segments[0];
        let (next_first, next_path) = &segments[removable];
        let (header, _) = FrameReader::open(next_path).map_err(|_| StoreError::Damaged {
            file: layout::segment_name(*next_first),
            offset: 0,
            reason: "unreadable segment header".to_owned(),
        })?;
        let end_root =
            CompactTree::from_frontier(header.first_seq, header.frontier.clone())?.root();
        let outcome = PurgeOutcome {
            segments_removed: u64::try_from(removable).unwrap_or(0),
            first_seq,
            last_seq: next_first - 1,
        };
        let record = SystemRecord::RetentionPurge {
            first_seq,
            last_seq: outcome.last_seq,
            end_chain: HashValue(header.prev_chain),
            end_root: HashValue(end_root),
            segments_removed: outcome.segments_removed,
            retention_days: policy.days,
            cutoff,
        };
        self.guarded(|w| {
            w.stage_due_seals(now)?;
            w.stage_system(record, now)?;
            w.commit()?;
            for (seq, path) in &segments[..removable] {
                w.io().remove(path).map_err(|e| StoreError::io("removing", path, e))?;
                let index = dir.join(layout::index_name(*seq));
                match w.io().remove(&index) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(StoreError::io("removing", index, e)),
                }
            }
            w.io().sync_dir(&dir).map_err(|e| StoreError::io("syncing", &dir, e))
        })?;
        Ok(Some(outcome))
    }
}
