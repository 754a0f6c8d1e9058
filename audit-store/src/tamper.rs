//! Attack simulation, for tests and red-team drills: rewrite a log the way an intruder with
//! write access to its directory would, recomputing every chain hash, the Merkle tree and
//! (with whatever key the intruder holds) the seals, and re-signing checkpoints with the host's
//! signing key. Verification must still catch what such an intruder cannot forge.
//!
//! Never use these functions on a log you care about: they destroy evidence by design.

use std::path::Path;

use audit_chain::{Checkpoint, CompactTree, SealInput, genesis_chain_hash, sign_checkpoint};
use audit_events::{Body, HashValue, Record, SystemRecord};

use crate::error::StoreError;
use crate::keys;
use crate::layout::{self, CHECKPOINT_FILE};
use crate::meta::LogMeta;
use crate::reader::LogReader;
use crate::segment::{self, SegmentHeader};

/// Every record of the log, decoded, in order.
pub fn read_records(dir: &Path) -> Result<Vec<Record>, StoreError> {
    LogReader::open(dir)?.records().map(|r| r.and_then(|r| r.decode())).collect()
}

/// What the intruder does about a seal record: given the seal as it should now read (tree size,
/// root, last chain and time recomputed, epoch as stored), it may change the epoch and return a
/// new MAC; `None` keeps the stored MAC.
pub type Resealer<'a> = dyn FnMut(&mut SealInput) -> Option<[u8; 32]> + 'a;

/// Replaces every segment of the log in `dir` with one segment holding `records` (renumbered
/// from 0), recomputing chain hashes, the Merkle tree and seal fields. Index files are removed.
pub fn rewrite(
    dir: &Path,
    records: &[Record],
    reseal: &mut Resealer<'_>,
) -> Result<(), StoreError> {
    let meta = LogMeta::read(dir)?;
    for (first, path) in layout::list_segments(dir)? {
        std::fs::remove_file(&path).map_err(|e| StoreError::io("removing", &path, e))?;
        let index = dir.join(layout::index_name(first));
        let _ = std::fs::remove_file(index);
    }
    let mut chain = genesis_chain_hash(&meta.log_id.0);
    let header = SegmentHeader {
        log_id: meta.log_id,
        first_seq: 0,
        created_at: meta.created_at,
        prev_chain: chain,
        frontier: Vec::new(),
    };
    let mut out = header.encode();
    let mut tree = CompactTree::new();
    for (seq, record) in records.iter().enumerate() {
        let mut record = record.clone();
        record.seq = u64::try_from(seq).unwrap_or(u64::MAX);
        if let Body::System(SystemRecord::Seal {
            epoch,
            tree_size,
            root,
            last_chain,
            sealed_at,
            mac,
        }) = &mut record.body
        {
            let mut input = SealInput {
                epoch: *epoch,
                tree_size: record.seq,
                root: tree.root(),
                last_chain: chain,
                time_ns: sealed_at.0,
            };
            let new_mac = reseal(&mut input);
            *epoch = input.epoch;
            *tree_size = input.tree_size;
            *root = HashValue(input.root);
            *last_chain = HashValue(input.last_chain);
            if let Some(new_mac) = new_mac {
                *mac = HashValue(new_mac);
            }
        }
        let bytes = record.encode()?;
        let (leaf, next) = segment::link(&chain, &bytes);
        segment::push_frame(&mut out, &bytes, &next);
        tree.try_push(leaf)?;
        chain = next;
    }
    let path = dir.join(layout::segment_name(0));
    std::fs::write(&path, &out).map_err(|e| StoreError::io("writing", &path, e))
}

/// Signs a fresh latest checkpoint over the log as it now is, with the signing key found on the
/// host (what an intruder who took the host can do).
pub fn resign_checkpoint(dir: &Path) -> Result<(), StoreError> {
    let meta = LogMeta::read(dir)?;
    let signer = keys::read_signing_key(dir)?;
    let mut tree = CompactTree::new();
    for record in LogReader::open(dir)?.records() {
        tree.try_push(record?.leaf_hash())?;
    }
    let checkpoint = Checkpoint {
        origin: meta.origin,
        size: tree.size(),
        root: tree.root(),
        extensions: Vec::new(),
    };
    let note = sign_checkpoint(&checkpoint, &signer)?;
    let path = dir.join(CHECKPOINT_FILE);
    std::fs::write(&path, note).map_err(|e| StoreError::io("writing", &path, e))?;
    for (_, kept) in layout::list_kept_checkpoints(dir)? {
        std::fs::remove_file(&kept).map_err(|e| StoreError::io("removing", &kept, e))?;
    }
    Ok(())
}

/// Reads the host's current seal-key state (what an intruder who took the host holds).
pub fn steal_seal_key(dir: &Path) -> Result<audit_chain::SealKey, StoreError> {
    keys::read_seal_key(dir)
}
