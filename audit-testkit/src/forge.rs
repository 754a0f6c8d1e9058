//! What an intruder who can write the log directory and has read FORMAT.md can make without any
//! key it does not find on the host: frames appended to the last segment with every chain hash,
//! Merkle root and seal field recomputed (and a seal MAC, with the seal key left on the host),
//! index headers with new checksums. Offsets are FORMAT.md's. Shared by the store's intruder
//! tests and the bdd scenarios.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use audit_chain::{CompactTree, SealKey};
use audit_events::{Body, HashValue, Record, SystemRecord, Timestamp};
use audit_store::tamper;
use sha2::Digest as _;

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    sha2::Sha256::digest(bytes).into()
}

/// The header length of a segment file and the offset of each complete frame after it.
pub fn frames(path: &Path) -> (usize, Vec<usize>) {
    let bytes = std::fs::read(path).unwrap();
    let header_len = usize::from(u16::from_le_bytes([bytes[10], bytes[11]]));
    let mut at = header_len;
    let mut out = Vec::new();
    while at + 4 <= bytes.len() {
        let len =
            usize::try_from(u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap())).unwrap();
        if len == 0 || at + 4 + len + 32 > bytes.len() {
            break;
        }
        out.push(at);
        at += 4 + len + 32;
    }
    (header_len, out)
}

/// The first sequence number a segment file's name gives.
pub fn first_seq_of(segment: &Path) -> u64 {
    segment.file_name().unwrap().to_str().unwrap()[4..24].parse().unwrap()
}

/// The Merkle tree a segment header records at its first sequence number.
pub fn tree_at(segment: &Path) -> CompactTree {
    let bytes = std::fs::read(segment).unwrap();
    let count = usize::from(bytes[76]);
    let frontier =
        (0..count).map(|i| bytes[77 + 32 * i..109 + 32 * i].try_into().unwrap()).collect();
    CompactTree::from_frontier(first_seq_of(segment), frontier).unwrap()
}

/// The chain hash a segment header says it continues from.
pub fn prev_chain_of(segment: &Path) -> [u8; 32] {
    std::fs::read(segment).unwrap()[44..76].try_into().unwrap()
}

/// A system record shaped like the log's last one (same log id, audit id and service id).
pub fn system(dir: &Path, time: Timestamp, body: SystemRecord) -> Record {
    let mut record = tamper::read_records(dir).unwrap().pop().unwrap();
    record.time = time;
    record.body = Body::System(body);
    record
}

/// A seal record of `epoch` made at `sealed_at`; its other fields are filled in when appended.
pub fn seal_record(dir: &Path, epoch: u64, sealed_at: Timestamp) -> Record {
    system(
        dir,
        sealed_at,
        SystemRecord::Seal {
            epoch,
            tree_size: 0,
            root: HashValue([0; 32]),
            last_chain: HashValue([0; 32]),
            sealed_at,
            mac: HashValue([0; 32]),
        },
    )
}

/// Appends `records` after the log's last record, chained as FORMAT.md says; seals get their
/// fields recomputed and, with a stolen key, a MAC (see [`tamper::append`]).
pub fn append_forged(dir: &Path, records: Vec<Record>, key: Option<&SealKey>) {
    tamper::append(dir, records, key).unwrap();
}

/// The files of `dir` whose names start with `prefix`, in order.
pub fn files_starting(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_str().unwrap().starts_with(prefix))
        .collect();
    found.sort();
    found
}

/// Removes `checkpoint` and every kept `checkpoint-*.note`: what an intruder does so that no
/// signed size in the directory tells how long the log was.
pub fn remove_checkpoints(dir: &Path) {
    for path in files_starting(dir, "checkpoint") {
        std::fs::remove_file(path).unwrap();
    }
}

/// Rewrites the time range in an index header, and both of its checksums, as FORMAT.md lays
/// them out.
pub fn forge_index_times(path: &Path, oldest: i64, newest: i64) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[66..74].copy_from_slice(&oldest.to_le_bytes());
    bytes[74..82].copy_from_slice(&newest.to_le_bytes());
    let head = sha256(&bytes[..90]);
    bytes[90..122].copy_from_slice(&head);
    let n = bytes.len();
    let trailer = sha256(&bytes[..n - 32]);
    bytes[n - 32..].copy_from_slice(&trailer);
    std::fs::write(path, bytes).unwrap();
}

/// The body of an index file as FORMAT.md "Index file" lays it out: per record its frame
/// offset, time and kind code, then the actor postings and the resource postings.
pub fn index_body<K: AsRef<[u8]>>(
    records: &[(u64, i64, u16)],
    postings: &[BTreeMap<K, Vec<u32>>; 2],
) -> Vec<u8> {
    let mut body = Vec::new();
    for (offset, time, kind) in records {
        body.extend_from_slice(&offset.to_le_bytes());
        body.extend_from_slice(&time.to_le_bytes());
        body.extend_from_slice(&kind.to_le_bytes());
    }
    for map in postings {
        body.extend_from_slice(&u32::try_from(map.len()).unwrap().to_le_bytes());
        for (key, list) in map {
            let key = key.as_ref();
            body.extend_from_slice(&u16::try_from(key.len()).unwrap().to_le_bytes());
            body.extend_from_slice(key);
            body.extend_from_slice(&u32::try_from(list.len()).unwrap().to_le_bytes());
            for p in list {
                body.extend_from_slice(&p.to_le_bytes());
            }
        }
    }
    body
}

/// An index file from its first 82 header bytes (magic to newest time) and its body: the body
/// length, the header checksum, the body and the trailing checksum appended as FORMAT.md says.
pub fn index_file(mut head: Vec<u8>, body: &[u8]) -> Vec<u8> {
    head.extend_from_slice(&u64::try_from(body.len()).unwrap().to_le_bytes());
    let header_check = sha256(&head);
    head.extend_from_slice(&header_check);
    head.extend_from_slice(body);
    let check = sha256(&head);
    head.extend_from_slice(&check);
    head
}
