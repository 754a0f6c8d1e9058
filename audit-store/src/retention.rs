//! Retention: removing whole sealed segments past their retention period.
//!
//! Nothing here trusts a side file. Whether a segment has expired is decided from the chain: the
//! first seal of the segment that will remain first bounds the time of every record before it
//! (each was covered by a seal of an earlier or equal epoch, and a seal never covers a record
//! dated after its epoch), exactly the rule `verify` applies to the purge, so a purge the writer
//! makes is always one a verifier can prove.
//!
//! Order matters for the evidence: the removed segments are read and chain-checked, their leaf
//! hashes are kept in a `leaves-*.bin` file (so a checkpoint held from before the purge can still
//! be checked), a `retention_purge` record is appended to the live chain and made durable (what is
//! removed, the chain hash and Merkle root it ends on, the period applied), and only then are the
//! files removed. Nothing is removed under legal hold, and the active segment never is.

use std::path::Path;

use audit_chain::{CompactTree, Hash};
use audit_events::{
    Body, HashValue, LogId, Record, RecordKind, SystemKind, SystemRecord, Timestamp,
};
use sha2::{Digest as _, Sha256};

use crate::error::StoreError;
use crate::layout;
use crate::segment::{ChainedFrames, SegmentHeader, WalkStop};
use crate::writer::LogWriter;

const DAY_NANOS: i64 = 86_400 * 1_000_000_000;

/// First bytes of a leaf-hash file.
pub(crate) const LEAVES_MAGIC: &[u8; 8] = b"AUDITLVS";
/// Leaf-hash file format version.
pub(crate) const LEAVES_FORMAT: u16 = 1;
/// Bytes before the hashes: magic, version, first sequence number, count.
pub(crate) const LEAVES_HEADER: usize = 8 + 2 + 8 + 8;

/// What a retention run removed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PurgeOutcome {
    /// Segment files removed.
    pub segments_removed: u64,
    /// First sequence number removed.
    pub first_seq: u64,
    /// Last sequence number removed.
    pub last_seq: u64,
}

fn damaged(first_seq: u64, offset: u64, reason: &str) -> StoreError {
    StoreError::Damaged { file: layout::segment_name(first_seq), offset, reason: reason.to_owned() }
}

/// A segment read back frame by frame with its chain checked from its header.
struct Walked {
    header: SegmentHeader,
    leaves: Vec<Hash>,
    end_chain: Hash,
    /// Epoch of the first seal record in the segment.
    first_seal_epoch: Option<u64>,
}

/// Reads a whole segment with the chain walk; `stop_at_seal` stops after the first seal (only
/// its epoch is wanted).
fn walk(
    path: &Path,
    first_seq: u64,
    log_id: LogId,
    stop_at_seal: bool,
) -> Result<Walked, StoreError> {
    let (header, mut frames) = ChainedFrames::open(path, log_id)
        .map_err(|_| damaged(first_seq, 0, "unreadable segment header"))?;
    if header.first_seq != first_seq || header.log_id != log_id {
        return Err(damaged(first_seq, 0, "segment header does not match its name"));
    }
    let mut leaves = Vec::new();
    let mut first_seal_epoch = None;
    let mut payload = Vec::new();
    loop {
        match frames.next(&mut payload) {
            Ok(Some(frame)) => {
                leaves.push(frame.leaf);
                if frame.kind == RecordKind::System(SystemKind::Seal) {
                    if let Record { body: Body::System(SystemRecord::Seal { epoch, .. }), .. } =
                        Record::decode(&payload)?
                    {
                        first_seal_epoch.get_or_insert(epoch);
                    }
                    if stop_at_seal {
                        break;
                    }
                }
            }
            Ok(None) => break,
            Err(WalkStop::Io(e)) => return Err(StoreError::io("reading", path, e)),
            Err(WalkStop::Torn { offset, .. }) => {
                return Err(damaged(first_seq, offset, "segment ends inside a frame"));
            }
            Err(WalkStop::Bad { offset, broken, .. }) => {
                return Err(damaged(first_seq, offset, &broken.describe(frames.seq())));
            }
        }
    }
    Ok(Walked { header, leaves, end_chain: frames.chain(), first_seal_epoch })
}

/// The bytes of a leaf-hash file: header, hashes, SHA-256 of everything before.
fn encode_leaves(first_seq: u64, leaves: &[Hash]) -> Vec<u8> {
    let mut out = Vec::with_capacity(LEAVES_HEADER + 32 * leaves.len() + 32);
    out.extend_from_slice(LEAVES_MAGIC);
    out.extend_from_slice(&LEAVES_FORMAT.to_le_bytes());
    out.extend_from_slice(&first_seq.to_le_bytes());
    out.extend_from_slice(&u64::try_from(leaves.len()).unwrap_or(u64::MAX).to_le_bytes());
    for leaf in leaves {
        out.extend_from_slice(leaf);
    }
    let check: [u8; 32] = Sha256::digest(&out).into();
    out.extend_from_slice(&check);
    out
}

impl LogWriter {
    /// Removes the oldest closed segments whose records sealed history proves older than the
    /// retention period, unless a legal hold is set. Returns what was removed, if anything.
    pub fn apply_retention(&mut self, now: Timestamp) -> Result<Option<PurgeOutcome>, StoreError> {
        if let Some(cause) = self.poisoned() {
            return Err(StoreError::Poisoned { cause: cause.to_owned() });
        }
        // The hold in force may come from a resume note: nothing is removed before the records
        // before the note's offset are confirmed to give the note's state.
        self.guarded(|w| w.settle_prefix(true))?;
        let policy = self.config().retention;
        if policy.legal_hold || self.legal_hold().is_some() {
            return Ok(None);
        }
        let now = now.max(self.last_record_time());
        let period = i64::from(policy.days).saturating_mul(DAY_NANOS);
        let dir = self.dir().to_owned();
        let log_id = self.log_id();
        let segments = layout::list_segments(&dir)?;
        let active = self.active_first_seq();
        // The first segment kept: the latest one whose first seal proves everything before it
        // expired.
        let mut keep = 0;
        for (j, (first_seq, path)) in segments.iter().enumerate().skip(1) {
            if *first_seq > active {
                break;
            }
            let Some(epoch) = walk(path, *first_seq, log_id, true)?.first_seal_epoch else { break };
            let newest_bound = self.epoch_start(epoch.saturating_add(1));
            if newest_bound.0.saturating_add(period) > now.0 {
                break;
            }
            keep = j;
        }
        if keep == 0 {
            return Ok(None);
        }
        // Read back what goes, chain-checked end to end, and keep its leaf hashes.
        let (first_seq, _) = segments[0];
        let (next_first, next_path) = &segments[keep];
        let next = walk(next_path, *next_first, log_id, true)?;
        let mut tree = None;
        let mut leaves = Vec::new();
        let mut chain = None;
        for (seq, path) in &segments[..keep] {
            let walked = walk(path, *seq, log_id, false)?;
            if chain.is_some_and(|c| c != walked.header.prev_chain) {
                return Err(damaged(*seq, 0, "segment does not continue the previous one"));
            }
            if tree.is_none() {
                tree = Some(CompactTree::from_frontier(*seq, walked.header.frontier.clone())?);
            }
            chain = Some(walked.end_chain);
            leaves.extend_from_slice(&walked.leaves);
        }
        let mut tree = tree.unwrap_or_else(CompactTree::new);
        for leaf in &leaves {
            tree.try_push(*leaf)?;
        }
        if chain != Some(next.header.prev_chain)
            || tree.size() != *next_first
            || tree.frontier() != next.header.frontier.as_slice()
        {
            return Err(damaged(
                *next_first,
                0,
                "segment does not continue the segments before it",
            ));
        }
        let outcome = PurgeOutcome {
            segments_removed: u64::try_from(keep).unwrap_or(0),
            first_seq,
            last_seq: next_first - 1,
        };
        let record = SystemRecord::RetentionPurge {
            first_seq,
            last_seq: outcome.last_seq,
            end_chain: HashValue(next.header.prev_chain),
            end_root: HashValue(tree.root()),
            segments_removed: outcome.segments_removed,
            retention_days: policy.days,
            cutoff: Timestamp(now.0.saturating_sub(period)),
        };
        let leaves_path = dir.join(layout::leaves_name(first_seq));
        let leaves_bytes = encode_leaves(first_seq, &leaves);
        self.guarded(|w| {
            w.io()
                .write_atomic(&leaves_path, &leaves_bytes)
                .map_err(|e| StoreError::io("writing", &leaves_path, e))?;
            w.stage_due_seals(now)?;
            w.stage_system(record, now)?;
            w.commit()?;
            for (seq, path) in &segments[..keep] {
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
        tracing::info!(
            service = %self.config().service_id,
            first_seq = outcome.first_seq,
            last_seq = outcome.last_seq,
            segments_removed = outcome.segments_removed,
            retention_days = policy.days,
            "audit log retention purged segments"
        );
        Ok(Some(outcome))
    }
}

/// Streams the leaf hashes kept for purged records, from `leaves-*.bin` files that follow each
/// other from sequence number 0, calling `f(seq, leaf)` for each record before `upto` (at most
/// `end`, the first record present). Returns whether the files reached `upto`; `false` when
/// they are missing, damaged or leave a gap. Memory stays constant whatever the sizes: the
/// hashes are only checked against the checkpoints that need them (their roots authenticate
/// them), and no more of the files is read than those need.
pub(crate) fn walk_purged_leaves(
    dir: &Path,
    end: u64,
    upto: u64,
    f: &mut dyn FnMut(u64, &Hash),
) -> Result<bool, StoreError> {
    use std::io::Read as _;
    let mut next = 0u64;
    for (first, path) in layout::list_leaves(dir)? {
        if next >= upto {
            break;
        }
        if first >= end {
            continue;
        }
        if first != next {
            return Ok(false);
        }
        let file = match crate::io::open_read(&path) {
            Ok(file) => file,
            Err(_) => return Ok(false),
        };
        let len = file.metadata().map_err(|e| StoreError::io("inspecting", &path, e))?.len();
        let mut reader = std::io::BufReader::with_capacity(64 * 1024, file);
        let mut header = [0u8; LEAVES_HEADER];
        if reader.read_exact(&mut header).is_err()
            || &header[..8] != LEAVES_MAGIC
            || header[8..10] != LEAVES_FORMAT.to_le_bytes()
        {
            return Ok(false);
        }
        let first_seq = u64::from_le_bytes(header[10..18].try_into().unwrap_or([0; 8]));
        let count = u64::from_le_bytes(header[18..26].try_into().unwrap_or([0; 8]));
        let expected_len = count
            .checked_mul(32)
            .and_then(|n| n.checked_add(u64::try_from(LEAVES_HEADER).unwrap_or(0) + 32));
        if first_seq != first
            || expected_len != Some(len)
            || first.checked_add(count).is_none_or(|last| last > end)
        {
            return Ok(false);
        }
        let mut hasher = Sha256::new();
        hasher.update(header);
        let mut leaf = [0u8; 32];
        for _ in 0..count {
            if next >= upto {
                return Ok(true);
            }
            if reader.read_exact(&mut leaf).is_err() {
                return Ok(false);
            }
            hasher.update(leaf);
            f(next, &leaf);
            next += 1;
        }
        let mut check = [0u8; 32];
        if reader.read_exact(&mut check).is_err() || hasher.finalize()[..] != check {
            return Ok(false);
        }
    }
    Ok(next >= upto)
}
