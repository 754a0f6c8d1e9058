//! Inclusion and consistency proofs, with the signed checkpoint that gives the root they lead
//! to.
//!
//! Proofs are built from the Merkle tiles (`tiles.rs`: `O(log n)` small reads) and checked
//! against the signed checkpoint's root before they are returned. When the tiles cannot serve
//! the proof, or the proof they give does not check, the leaf hashes are recomputed from the
//! records instead (one streaming pass, 32 bytes of memory per leaf; after a retention purge,
//! the Merkle frontier in the first remaining segment's header stands in for the removed
//! leaves), and that proof is checked the same way.

use std::cell::Cell;
use std::path::Path;

use audit_chain::{
    Checkpoint, ConsistencyProof, Hash, InclusionProof, LeafHashes, NoteVerifier, open_checkpoint,
    verify_consistency, verify_inclusion,
};

use crate::error::StoreError;
use crate::layout::{self, CHECKPOINT_FILE};
use crate::reader::LogReader;
use crate::segment::FrameReader;
use crate::tiles::{self, TileSource};

/// Where a proof's hashes came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProofSource {
    /// The Merkle tiles; `bytes_read` counts the bytes of tiles, index and record read.
    Tiles {
        /// Bytes read from tile, index and segment files for the proof.
        bytes_read: u64,
    },
    /// The records, because the tiles could not serve the proof (the reason says why).
    Records {
        /// Why the tiles were not used.
        reason: String,
    },
}

/// Everything needed to check offline that a record is in the log: the record, the proof, and
/// the signed checkpoint whose root the proof leads to.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct InclusionBundle {
    /// The record's sequence number (its leaf index).
    pub seq: u64,
    /// The record's exact stored bytes.
    pub record: Vec<u8>,
    /// The proof (leaf index, tree size, path).
    pub proof: InclusionProof,
    /// The signed checkpoint (note text) of the tree size.
    pub checkpoint: String,
    /// The chain hash of the record before this one.
    pub prev_chain: Hash,
    /// This record's chain hash.
    pub chain: Hash,
    /// Where the proof's hashes came from.
    pub source: ProofSource,
}

/// A consistency proof between two checkpointed sizes, with the newer signed checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConsistencyBundle {
    /// The proof.
    pub proof: ConsistencyProof,
    /// The newer signed checkpoint (note text).
    pub checkpoint: String,
    /// The root at the older size, as recomputed from the log.
    pub old_root: Hash,
    /// Where the proof's hashes came from.
    pub source: ProofSource,
}

/// The latest checkpoint of the log, verified with the log's own public key (a consistency
/// check; authenticate it with a key held elsewhere).
pub fn latest_checkpoint(dir: &Path) -> Result<(String, Checkpoint), StoreError> {
    let reader = LogReader::open(dir)?;
    read_checkpoint(&reader, &reader.dir().join(CHECKPOINT_FILE))
}

fn read_checkpoint(reader: &LogReader, path: &Path) -> Result<(String, Checkpoint), StoreError> {
    let note = crate::io::read_capped_text(path, crate::io::SMALL_FILE_CAP)
        .map_err(|e| StoreError::io("reading", path, e))?;
    let verifier = NoteVerifier::parse(&reader.meta().public_key)?;
    let checkpoint = open_checkpoint(&note, &verifier)?;
    Ok((note, checkpoint))
}

/// A signed checkpoint of exactly `size`, or the latest one when `size` is `None`.
fn checkpoint_of_size(
    reader: &LogReader,
    size: Option<u64>,
) -> Result<(String, Checkpoint), StoreError> {
    let latest = read_checkpoint(reader, &reader.dir().join(CHECKPOINT_FILE))?;
    let Some(size) = size else { return Ok(latest) };
    if latest.1.size == size {
        return Ok(latest);
    }
    for (kept, path) in layout::list_kept_checkpoints(reader.dir())? {
        if kept == size {
            return read_checkpoint(reader, &path);
        }
    }
    Err(StoreError::OutOfRange { what: "checkpointed tree size", value: size, size: latest.1.size })
}

/// Leaf hashes of the log up to a size, with the purged prefix stood in for by its frontier.
struct StoredLeaves {
    first_seq: u64,
    /// Perfect subtrees covering `0..first_seq`: (level, index, hash).
    prefix: Vec<(u32, u64, Hash)>,
    leaves: Vec<Hash>,
}

#[derive(Debug, thiserror::Error)]
#[error("leaf {0} was removed by retention and no stored subtree covers it")]
struct PurgedLeaf(u64);

impl LeafHashes for StoredLeaves {
    type Error = PurgedLeaf;

    fn leaf_hash(&self, index: u64) -> Result<Hash, PurgedLeaf> {
        if index >= self.first_seq {
            let i = usize::try_from(index - self.first_seq).map_err(|_| PurgedLeaf(index))?;
            return self.leaves.get(i).copied().ok_or(PurgedLeaf(index));
        }
        self.prefix
            .iter()
            .find(|(l, i, _)| *l == 0 && *i == index)
            .map(|(_, _, h)| *h)
            .ok_or(PurgedLeaf(index))
    }

    fn perfect_subtree(&self, level: u32, index: u64) -> Result<Option<Hash>, PurgedLeaf> {
        Ok(self.prefix.iter().find(|(l, i, _)| *l == level && *i == index).map(|(_, _, h)| *h))
    }
}

fn stored_leaves(reader: &LogReader, size: u64) -> Result<StoredLeaves, StoreError> {
    let Some((first_seq, first_path)) = reader.segments().first().cloned() else {
        return Err(StoreError::OutOfRange { what: "tree size", value: size, size: 0 });
    };
    let (header, _) = FrameReader::open(&first_path).map_err(|_| StoreError::Damaged {
        file: layout::segment_name(first_seq),
        offset: 0,
        reason: "unreadable header".to_owned(),
    })?;
    // The frontier lists the perfect subtrees of 0..first_seq, largest first.
    let mut prefix = Vec::new();
    let mut start = 0u64;
    for (bit, hash) in
        (0..64u32).rev().filter(|b| first_seq >> b & 1 == 1).zip(header.frontier.iter())
    {
        prefix.push((bit, start >> bit, *hash));
        start += 1 << bit;
    }
    let mut leaves = Vec::new();
    for record in reader.records() {
        let record = record?;
        if record.seq >= size {
            break;
        }
        leaves.push(record.leaf_hash());
    }
    let have = first_seq + u64::try_from(leaves.len()).unwrap_or(0);
    if have < size {
        return Err(StoreError::OutOfRange { what: "tree size", value: size, size: have });
    }
    Ok(StoredLeaves { first_seq, prefix, leaves })
}

/// An inclusion proof of record `seq` in the tree of a checkpointed size (the latest checkpoint
/// when `size` is `None`).
pub fn inclusion_proof(
    dir: &Path,
    seq: u64,
    size: Option<u64>,
) -> Result<InclusionBundle, StoreError> {
    let reader = LogReader::open(dir)?;
    let (note, checkpoint) = checkpoint_of_size(&reader, size)?;
    if seq >= checkpoint.size {
        return Err(StoreError::OutOfRange {
            what: "sequence number",
            value: seq,
            size: checkpoint.size,
        });
    }
    let (proof, record, source) = match inclusion_from_tiles(&reader, seq, &checkpoint) {
        Ok((proof, record, bytes_read)) => (proof, record, ProofSource::Tiles { bytes_read }),
        Err(reason) => {
            let leaves = stored_leaves(&reader, checkpoint.size)?;
            let proof = audit_chain::inclusion_proof(&leaves, seq, checkpoint.size)
                .map_err(|e| proof_failure(e, layout::segment_name(leaves.first_seq), &reason))?;
            let record =
                reader.records_from(seq).next().transpose()?.filter(|r| r.seq == seq).ok_or(
                    StoreError::OutOfRange {
                        what: "sequence number",
                        value: seq,
                        size: checkpoint.size,
                    },
                )?;
            verify_inclusion(&record.leaf_hash(), &proof, &checkpoint.root)
                .map_err(|_| mismatch(&record.segment, record.offset, checkpoint.size))?;
            (proof, record, ProofSource::Records { reason })
        }
    };
    Ok(InclusionBundle {
        seq,
        record: record.bytes,
        proof,
        checkpoint: note,
        prev_chain: record.prev_chain,
        chain: record.chain,
        source,
    })
}

/// Why a proof from the records failed: a purged leaf that nothing keeps is
/// [`StoreError::Unprovable`] (derived tiles missing or damaged after a purge are no sign of
/// tampering); anything else is damage.
fn proof_failure(
    error: audit_chain::ProofError<PurgedLeaf>,
    file: String,
    tiles: &str,
) -> StoreError {
    match error {
        audit_chain::ProofError::Source(purged) => StoreError::Unprovable {
            reason: format!(
                "{purged}, and the tiles that keep purged ranges were not usable ({tiles})"
            ),
        },
        other => StoreError::Damaged { file, offset: 0, reason: other.to_string() },
    }
}

/// The log's records do not lead to the signed root: damage or tampering, never a proof.
fn mismatch(file: &str, offset: u64, size: u64) -> StoreError {
    StoreError::Damaged {
        file: file.to_owned(),
        offset,
        reason: format!("the records do not match the signed checkpoint of tree size {size}"),
    }
}

/// An inclusion proof from the tiles, checked against the checkpoint's root; the reason the
/// tiles could not give one otherwise.
fn inclusion_from_tiles(
    reader: &LogReader,
    seq: u64,
    checkpoint: &Checkpoint,
) -> Result<(InclusionProof, crate::reader::StoredRecord, u64), String> {
    let source = TileSource::new(reader.dir(), checkpoint.size);
    let proof =
        audit_chain::inclusion_proof(&source, seq, checkpoint.size).map_err(|e| with_causes(&e))?;
    let record_bytes = Cell::new(0);
    let record = tiles::record_at(reader, seq, &record_bytes).map_err(|e| e.to_string())?;
    verify_inclusion(&record.leaf_hash(), &proof, &checkpoint.root).map_err(|_| {
        "the proof the tiles give does not lead to the signed checkpoint's root".to_owned()
    })?;
    Ok((proof, record, source.bytes_read() + record_bytes.get()))
}

/// An error and every cause under it, on one line.
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    text
}

/// A consistency proof and the old root from the tiles, checked against the checkpoint's root.
fn consistency_from_tiles(
    reader: &LogReader,
    old_size: u64,
    checkpoint: &Checkpoint,
) -> Result<(ConsistencyProof, Hash, u64), String> {
    let source = TileSource::new(reader.dir(), checkpoint.size);
    let proof = audit_chain::consistency_proof(&source, old_size, checkpoint.size)
        .map_err(|e| with_causes(&e))?;
    let old_root = audit_chain::root_at(&source, old_size).map_err(|e| with_causes(&e))?;
    verify_consistency(&proof, &old_root, &checkpoint.root).map_err(|_| {
        "the proof the tiles give does not lead to the signed checkpoint's root".to_owned()
    })?;
    Ok((proof, old_root, source.bytes_read()))
}

/// A consistency proof from `old_size` to the signed checkpoint `note` of the log in `dir`, from
/// the Merkle tiles alone (`O(log n)` reads), checked against the note's root. When the tiles
/// cannot give one, `StoreError::Unprovable` says why and nothing is read from the records: a
/// caller that proves many sizes against one checkpoint (the shipper) then builds the proofs
/// from leaf hashes it keeps itself. The note must verify with the key in `log.meta`.
pub fn consistency_proof_from_tiles(
    dir: &Path,
    old_size: u64,
    note: &str,
) -> Result<ConsistencyBundle, StoreError> {
    let reader = LogReader::open(dir)?;
    let verifier = NoteVerifier::parse(&reader.meta().public_key)?;
    let checkpoint = open_checkpoint(note, &verifier)?;
    if old_size > checkpoint.size {
        return Err(StoreError::OutOfRange {
            what: "old tree size",
            value: old_size,
            size: checkpoint.size,
        });
    }
    let (proof, old_root, bytes_read) = consistency_from_tiles(&reader, old_size, &checkpoint)
        .map_err(|reason| StoreError::Unprovable { reason })?;
    Ok(ConsistencyBundle {
        proof,
        checkpoint: note.to_owned(),
        old_root,
        source: ProofSource::Tiles { bytes_read },
    })
}

/// A consistency proof from `old_size` to a checkpointed `new_size` (the latest checkpoint when
/// `None`).
pub fn consistency_proof(
    dir: &Path,
    old_size: u64,
    new_size: Option<u64>,
) -> Result<ConsistencyBundle, StoreError> {
    let reader = LogReader::open(dir)?;
    let (note, checkpoint) = checkpoint_of_size(&reader, new_size)?;
    if old_size > checkpoint.size {
        return Err(StoreError::OutOfRange {
            what: "old tree size",
            value: old_size,
            size: checkpoint.size,
        });
    }
    let reason = match consistency_from_tiles(&reader, old_size, &checkpoint) {
        Ok((proof, old_root, bytes_read)) => {
            return Ok(ConsistencyBundle {
                proof,
                checkpoint: note,
                old_root,
                source: ProofSource::Tiles { bytes_read },
            });
        }
        Err(reason) => reason,
    };
    let leaves = stored_leaves(&reader, checkpoint.size)?;
    let damaged = |e: audit_chain::ProofError<PurgedLeaf>| {
        proof_failure(e, layout::segment_name(leaves.first_seq), &reason)
    };
    let proof =
        audit_chain::consistency_proof(&leaves, old_size, checkpoint.size).map_err(damaged)?;
    let old_root = audit_chain::root_at(&leaves, old_size).map_err(damaged)?;
    verify_consistency(&proof, &old_root, &checkpoint.root)
        .map_err(|_| mismatch(&layout::segment_name(leaves.first_seq), 0, checkpoint.size))?;
    Ok(ConsistencyBundle {
        proof,
        checkpoint: note,
        old_root,
        source: ProofSource::Records { reason },
    })
}
