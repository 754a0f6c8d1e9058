//! Per-segment index files: where each record is, its time and kind, and postings for actor and
//! resource ids, so a query reads only the frames it needs.
//!
//! An index is derived data. It is written when a segment is closed (rotation, clean shutdown),
//! bound to its segment by the chain hash of the last frame it covers, protected against damage
//! by a SHA-256 trailer, and rebuilt from the segment whenever it is missing, damaged or does not
//! match. Layout in FORMAT.md.

use std::collections::BTreeMap;
use std::path::Path;

use audit_chain::Hash;
use audit_events::{Body, EventKind, Record, RecordHeader, RecordKind, SystemKind, Timestamp};
use sha2::{Digest as _, Sha256};

const INDEX_MAGIC: &[u8; 8] = b"AUDITIDX";
const INDEX_FORMAT: u16 = 1;

/// A compact code for a record kind: event kinds by catalogue position, system kinds from 1000.
pub(crate) fn kind_code(kind: RecordKind) -> u16 {
    let position = match kind {
        RecordKind::Event(k) => EventKind::ALL.iter().position(|x| *x == k),
        RecordKind::System(k) => SystemKind::ALL.iter().position(|x| *x == k).map(|p| p + 1000),
    };
    position.and_then(|p| u16::try_from(p).ok()).unwrap_or(u16::MAX)
}

/// The record kind of a code, if it is one.
pub(crate) fn kind_of_code(code: u16) -> Option<RecordKind> {
    let code = usize::from(code);
    if code >= 1000 {
        SystemKind::ALL.get(code - 1000).copied().map(RecordKind::System)
    } else {
        EventKind::ALL.get(code).copied().map(RecordKind::Event)
    }
}

/// The index of one segment (or of the first `count` frames of it).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct SegmentIndex {
    pub(crate) first_seq: u64,
    /// Offset just past the last covered frame.
    pub(crate) end_offset: u64,
    /// Chain hash of the last covered frame (binds the index to the segment's content).
    pub(crate) last_chain: Hash,
    /// Per record: frame offset.
    pub(crate) offsets: Vec<u64>,
    /// Per record: time in nanoseconds.
    pub(crate) times: Vec<i64>,
    /// Per record: kind code.
    pub(crate) kinds: Vec<u16>,
    /// Subject (actor or customer) id to record positions.
    pub(crate) actors: BTreeMap<String, Vec<u32>>,
    /// Resource id to record positions.
    pub(crate) resources: BTreeMap<String, Vec<u32>>,
}

impl SegmentIndex {
    pub(crate) fn new(first_seq: u64, header_len: u64, prev_chain: Hash) -> Self {
        Self { first_seq, end_offset: header_len, last_chain: prev_chain, ..Self::default() }
    }

    pub(crate) fn len(&self) -> usize {
        self.offsets.len()
    }

    /// Adds the next record of the segment.
    pub(crate) fn add(
        &mut self,
        offset: u64,
        frame_len: u64,
        chain: Hash,
        time: Timestamp,
        body: &Body,
    ) {
        let position = u32::try_from(self.offsets.len()).unwrap_or(u32::MAX);
        self.offsets.push(offset);
        self.times.push(time.0);
        let kind = match body {
            Body::Event(e) => RecordKind::Event(e.event.kind()),
            Body::System(s) => RecordKind::System(s.kind()),
        };
        self.kinds.push(kind_code(kind));
        if let Body::Event(e) = body {
            if let Some(subject) = e.event.subject_id() {
                push_posting(&mut self.actors, subject, position);
            }
            for id in e.event.resource_ids() {
                push_posting(&mut self.resources, id, position);
            }
        }
        self.end_offset = offset + frame_len;
        self.last_chain = chain;
    }

    /// Adds a record read back from disk (decoding it for the postings).
    pub(crate) fn add_encoded(&mut self, offset: u64, payload: &[u8], chain: Hash) {
        let frame_len = u64::try_from(payload.len()).unwrap_or(0) + crate::segment::FRAME_OVERHEAD;
        match Record::decode(payload) {
            Ok(record) => self.add(offset, frame_len, chain, record.time, &record.body),
            Err(_) => {
                // Undecodable records are found by verification; keep positions aligned.
                let time = RecordHeader::peek(payload).map(|h| h.time).unwrap_or_default();
                self.offsets.push(offset);
                self.times.push(time.0);
                self.kinds.push(u16::MAX);
                self.end_offset = offset + frame_len;
                self.last_chain = chain;
            }
        }
    }

    pub(crate) fn time_range(&self) -> Option<(i64, i64)> {
        let min = self.times.iter().copied().min()?;
        let max = self.times.iter().copied().max()?;
        Some((min, max))
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.offsets.len() * 18);
        out.extend_from_slice(INDEX_MAGIC);
        out.extend_from_slice(&INDEX_FORMAT.to_le_bytes());
        out.extend_from_slice(&self.first_seq.to_le_bytes());
        out.extend_from_slice(&(self.offsets.len() as u64).to_le_bytes());
        out.extend_from_slice(&self.end_offset.to_le_bytes());
        out.extend_from_slice(&self.last_chain);
        for i in 0..self.offsets.len() {
            out.extend_from_slice(&self.offsets[i].to_le_bytes());
            out.extend_from_slice(&self.times[i].to_le_bytes());
            out.extend_from_slice(&self.kinds[i].to_le_bytes());
        }
        for postings in [&self.actors, &self.resources] {
            out.extend_from_slice(&u32::try_from(postings.len()).unwrap_or(0).to_le_bytes());
            for (key, positions) in postings {
                out.extend_from_slice(&u16::try_from(key.len()).unwrap_or(0).to_le_bytes());
                out.extend_from_slice(key.as_bytes());
                out.extend_from_slice(&u32::try_from(positions.len()).unwrap_or(0).to_le_bytes());
                for p in positions {
                    out.extend_from_slice(&p.to_le_bytes());
                }
            }
        }
        let check: [u8; 32] = Sha256::digest(&out).into();
        out.extend_from_slice(&check);
        out
    }

    /// Parses an index file; `None` if it is damaged in any way (it is then rebuilt).
    pub(crate) fn decode(bytes: &[u8]) -> Option<Self> {
        let body_len = bytes.len().checked_sub(32)?;
        let (body, check) = bytes.split_at(body_len);
        if Sha256::digest(body)[..] != *check {
            return None;
        }
        let mut r = Cursor { bytes: body, at: 0 };
        if r.take(8)? != INDEX_MAGIC || r.u16()? != INDEX_FORMAT {
            return None;
        }
        let first_seq = r.u64()?;
        let count = usize::try_from(r.u64()?).ok()?;
        let end_offset = r.u64()?;
        let mut last_chain = [0u8; 32];
        last_chain.copy_from_slice(r.take(32)?);
        if count > body.len() / 18 {
            return None;
        }
        let mut index = Self { first_seq, end_offset, last_chain, ..Self::default() };
        for _ in 0..count {
            index.offsets.push(r.u64()?);
            index.times.push(r.i64()?);
            index.kinds.push(r.u16()?);
        }
        for which in 0..2 {
            let keys = r.u32()?;
            for _ in 0..keys {
                let key_len = usize::from(r.u16()?);
                let key = std::str::from_utf8(r.take(key_len)?).ok()?.to_owned();
                let n = usize::try_from(r.u32()?).ok()?;
                if n > count {
                    return None;
                }
                let mut positions = Vec::with_capacity(n);
                for _ in 0..n {
                    let p = r.u32()?;
                    if usize::try_from(p).ok()? >= count {
                        return None;
                    }
                    positions.push(p);
                }
                let map = if which == 0 { &mut index.actors } else { &mut index.resources };
                map.insert(key, positions);
            }
        }
        (r.at == body.len()).then_some(index)
    }

    /// Reads an index file if it exists and parses.
    pub(crate) fn read(path: &Path) -> Option<Self> {
        let file = crate::io::open_read(path).ok()?;
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::BufReader::new(file), &mut bytes).ok()?;
        Self::decode(&bytes)
    }
}

fn push_posting(map: &mut BTreeMap<String, Vec<u32>>, key: &str, position: u32) {
    match map.get_mut(key) {
        Some(list) => {
            if list.last() != Some(&position) {
                list.push(position);
            }
        }
        None => {
            map.insert(key.to_owned(), vec![position]);
        }
    }
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(n)?;
        let slice = self.bytes.get(self.at..end)?;
        self.at = end;
        Some(slice)
    }
    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Some(out)
    }
    fn u16(&mut self) -> Option<u16> {
        self.array().map(u16::from_le_bytes)
    }
    fn u32(&mut self) -> Option<u32> {
        self.array().map(u32::from_le_bytes)
    }
    fn u64(&mut self) -> Option<u64> {
        self.array().map(u64::from_le_bytes)
    }
    fn i64(&mut self) -> Option<i64> {
        self.array().map(i64::from_le_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use audit_events::EventRecord;

    #[test]
    fn kind_codes_round_trip() {
        for kind in EventKind::ALL {
            let k = RecordKind::Event(*kind);
            assert_eq!(kind_of_code(kind_code(k)), Some(k));
        }
        for kind in SystemKind::ALL {
            let k = RecordKind::System(kind);
            assert_eq!(kind_of_code(kind_code(k)), Some(k));
        }
    }

    #[test]
    fn indexes_round_trip_and_reject_damage() {
        let mut index = SegmentIndex::new(10, 77, [1; 32]);
        for (i, kind) in EventKind::ALL.iter().enumerate() {
            let body = Body::Event(EventRecord::new(kind.example()));
            let offset = 77 + 200 * u64::try_from(i).unwrap();
            index.add(offset, 200, [2; 32], Timestamp(i64::try_from(i).unwrap()), &body);
        }
        assert!(index.actors.contains_key("admin@example.com"));
        assert!(index.resources.contains_key("pool-llama-70b"));
        let bytes = index.encode();
        assert_eq!(SegmentIndex::decode(&bytes), Some(index));
        for i in (0..bytes.len()).step_by(7) {
            let mut bad = bytes.clone();
            bad[i] ^= 1;
            assert_eq!(SegmentIndex::decode(&bad), None, "byte {i}");
        }
        assert_eq!(SegmentIndex::decode(&bytes[..bytes.len() - 1]), None);
    }
}
