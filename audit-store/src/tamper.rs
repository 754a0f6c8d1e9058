//! Attack simulation, for tests and red-team drills: rewrite a log the way an intruder with
//! write access to its directory would, recomputing every chain hash, the Merkle tree and
//! (with whatever key the intruder holds) the seals, and re-signing checkpoints with the host's
//! signing key. Verification must still catch what such an intruder cannot forge.
//!
//! Never use these functions on a log you care about: they destroy evidence by design.

use std::path::Path;

use audit_chain::{
    Checkpoint, CompactTree, Hash, SealInput, SealKey, genesis_chain_hash, sign_checkpoint,
};
use audit_events::{Body, HashValue, Record, SystemRecord};

use crate::error::StoreError;
use crate::keys;
use crate::layout::{self, CHECKPOINT_FILE};
use crate::meta::LogMeta;
use crate::reader::LogReader;
use crate::segment::{self, FrameReader, SegmentHeader};

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
        reseal_fields(&mut record, &tree, chain, reseal);
        let bytes = record.encode()?;
        let (leaf, next) = segment::link(&chain, &bytes);
        segment::push_frame(&mut out, &bytes, &next);
        tree.try_push(leaf)?;
        chain = next;
    }
    let path = dir.join(layout::segment_name(0));
    std::fs::write(&path, &out).map_err(|e| StoreError::io("writing", &path, e))
}

/// Recomputes a seal record's tree size, root and last chain hash for its position (the tree
/// and chain before it), and lets `reseal` change its epoch and MAC.
fn reseal_fields(record: &mut Record, tree: &CompactTree, chain: Hash, reseal: &mut Resealer<'_>) {
    let seq = record.seq;
    if let Body::System(SystemRecord::Seal { epoch, tree_size, root, last_chain, sealed_at, mac }) =
        &mut record.body
    {
        let mut input = SealInput {
            epoch: *epoch,
            tree_size: seq,
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
}

/// Appends `records` after the last record of the log in `dir` (renumbered to follow it),
/// chained as FORMAT.md says, at the end of the last segment file, as an intruder who writes the
/// directory would. Seal records get their tree size, root and last chain hash recomputed, and,
/// when `key` is given (a key stolen from the host), a MAC made with it moved forward to the
/// seal's epoch; otherwise they keep their MAC.
pub fn append(dir: &Path, records: Vec<Record>, key: Option<&SealKey>) -> Result<(), StoreError> {
    let segments = layout::list_segments(dir)?;
    let (Some((first, first_path)), Some((_, last_path))) = (segments.first(), segments.last())
    else {
        return Err(StoreError::NotALog { path: dir.to_owned() });
    };
    let (header, _) = FrameReader::open(first_path).map_err(|_| StoreError::Damaged {
        file: layout::segment_name(*first),
        offset: 0,
        reason: "unreadable segment header".to_owned(),
    })?;
    let mut tree = CompactTree::from_frontier(header.first_seq, header.frontier)?;
    let mut chain = header.prev_chain;
    let mut next = header.first_seq;
    for stored in LogReader::open(dir)?.records() {
        let stored = stored?;
        tree.try_push(stored.leaf_hash())?;
        chain = stored.chain;
        next = stored.seq + 1;
    }
    let mut out = std::fs::read(last_path).map_err(|e| StoreError::io("reading", last_path, e))?;
    let mut sealer = |input: &mut SealInput| {
        let key = key?.seek(input.epoch.max(key?.epoch())).ok()?;
        key.seal(input).ok().map(|tag| tag.0)
    };
    for mut record in records {
        record.seq = next;
        reseal_fields(&mut record, &tree, chain, &mut sealer);
        let bytes = record.encode()?;
        let (leaf, linked) = segment::link(&chain, &bytes);
        segment::push_frame(&mut out, &bytes, &linked);
        tree.try_push(leaf)?;
        chain = linked;
        next += 1;
    }
    std::fs::write(last_path, out).map_err(|e| StoreError::io("writing", last_path, e))
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

/// Writes the Merkle tiles of the log as its records now are (FORMAT.md, "Tiles"), replacing
/// any there: what an intruder who rewrote the records does to make the tiles agree with them.
pub fn rewrite_tiles(dir: &Path) -> Result<(), StoreError> {
    let tiles = dir.join(crate::tiles::TILES_DIR);
    if tiles.exists() {
        std::fs::remove_dir_all(&tiles).map_err(|e| StoreError::io("removing", &tiles, e))?;
    }
    let mut builder = crate::tiles::TileBuilder::new(dir);
    let mut tree = CompactTree::new();
    for record in LogReader::open(dir)?.records() {
        builder.push_with(&mut tree, record?.leaf_hash());
    }
    builder.flush(true, true, None).map_err(|e| StoreError::io("writing", &tiles, e))
}
