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

    /// Extends this index with `later`, the index of the frames that follow it in the same
    /// segment (positions in `later`'s postings are shifted past this index's records).
    pub(crate) fn append(&mut self, later: Self) {
        let shift = u32::try_from(self.offsets.len()).unwrap_or(u32::MAX);
        self.offsets.extend(later.offsets);
        self.times.extend(later.times);
        self.kinds.extend(later.kinds);
        for (into, from) in
            [(&mut self.actors, later.actors), (&mut self.resources, later.resources)]
        {
            for (id, positions) in from {
                into.entry(id)
                    .or_default()
                    .extend(positions.into_iter().map(|p| p.saturating_add(shift)));
            }
        }
        self.end_offset = later.end_offset;
        self.last_chain = later.last_chain;
    }

    pub(crate) fn time_range(&self) -> Option<(i64, i64)> {
        let min = self.times.iter().copied().min()?;
        let max = self.times.iter().copied().max()?;
        Some((min, max))
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        let (min_time, max_time) = self.time_range().unwrap_or((i64::MAX, i64::MIN));
        let mut body = Vec::with_capacity(self.offsets.len() * 26);
        for i in 0..self.offsets.len() {
            body.extend_from_slice(&self.offsets[i].to_le_bytes());
            body.extend_from_slice(&self.times[i].to_le_bytes());
            body.extend_from_slice(&self.kinds[i].to_le_bytes());
        }
        for postings in [&self.actors, &self.resources] {
            body.extend_from_slice(&u32::try_from(postings.len()).unwrap_or(0).to_le_bytes());
            for (key, positions) in postings {
                body.extend_from_slice(&u16::try_from(key.len()).unwrap_or(0).to_le_bytes());
                body.extend_from_slice(key.as_bytes());
                body.extend_from_slice(&u32::try_from(positions.len()).unwrap_or(0).to_le_bytes());
                for p in positions {
                    body.extend_from_slice(&p.to_le_bytes());
                }
            }
        }
        let mut out = Vec::with_capacity(HEADER_LEN + body.len() + 32);
        out.extend_from_slice(INDEX_MAGIC);
        out.extend_from_slice(&INDEX_FORMAT.to_le_bytes());
        out.extend_from_slice(&self.first_seq.to_le_bytes());
        out.extend_from_slice(&u64::try_from(self.offsets.len()).unwrap_or(0).to_le_bytes());
        out.extend_from_slice(&self.end_offset.to_le_bytes());
        out.extend_from_slice(&self.last_chain);
        out.extend_from_slice(&min_time.to_le_bytes());
        out.extend_from_slice(&max_time.to_le_bytes());
        out.extend_from_slice(&u64::try_from(body.len()).unwrap_or(0).to_le_bytes());
        let header_check: [u8; 32] = Sha256::digest(&out).into();
        out.extend_from_slice(&header_check);
        out.extend_from_slice(&body);
        let check: [u8; 32] = Sha256::digest(&out).into();
        out.extend_from_slice(&check);
        out
    }
}

/// Bytes of the index header, its own checksum included.
const HEADER_LEN: usize = 90 + 32;
/// Bytes of an index file's header.
pub(crate) const INDEX_HEADER_LEN: usize = HEADER_LEN;

/// The fixed part of an index file, checked by its own checksum so that a search can skip a
/// segment outside its time range after reading 122 bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct IndexHeader {
    pub(crate) first_seq: u64,
    pub(crate) count: usize,
    pub(crate) end_offset: u64,
    pub(crate) last_chain: Hash,
    /// Oldest and newest record time; `None` for an empty segment.
    pub(crate) time_range: Option<(i64, i64)>,
    body_len: usize,
}

impl IndexHeader {
    pub(crate) fn parse(bytes: &[u8]) -> Option<Self> {
        let header = bytes.get(..HEADER_LEN)?;
        if Sha256::digest(&header[..90])[..] != header[90..] {
            return None;
        }
        let mut r = Cursor { bytes: &header[..90], at: 0 };
        if r.take(8)? != INDEX_MAGIC || r.u16()? != INDEX_FORMAT {
            return None;
        }
        let first_seq = r.u64()?;
        let count = usize::try_from(r.u64()?).ok()?;
        let end_offset = r.u64()?;
        let mut last_chain = [0u8; 32];
        last_chain.copy_from_slice(r.take(32)?);
        let (min, max) = (r.i64()?, r.i64()?);
        let body_len = usize::try_from(r.u64()?).ok()?;
        let time_range = (min <= max).then_some((min, max));
        Some(Self { first_seq, count, end_offset, last_chain, time_range, body_len })
    }
}

/// A whole index file, checked, with its postings directories parsed but no list materialised:
/// a search reads per-record fields and one posting list straight from the bytes.
pub(crate) struct IndexView {
    pub(crate) header: IndexHeader,
    bytes: Vec<u8>,
    /// (key range, list range) per key, sorted by key, for actors then resources.
    directories: [Vec<(std::ops::Range<usize>, std::ops::Range<usize>)>; 2],
}

/// Which postings of an index.
#[derive(Clone, Copy)]
pub(crate) enum Postings {
    Actors = 0,
    Resources = 1,
}

impl IndexView {
    /// Reads and checks an index file; `None` if it is missing or damaged in any way, is not a
    /// regular file, or is larger than an index of its segment can be (twice the segment's size
    /// plus the fixed parts, and never above [`crate::io::INDEX_FILE_CAP`]).
    pub(crate) fn read(path: &Path) -> Option<Self> {
        let segment_len = std::fs::symlink_metadata(path.with_extension("log"))
            .ok()
            .filter(std::fs::Metadata::is_file)
            .map_or(0, |m| m.len());
        let cap = segment_len.saturating_mul(2).saturating_add(64 * 1024);
        let bytes = crate::io::read_capped(path, cap.min(crate::io::INDEX_FILE_CAP)).ok()?;
        Self::parse(bytes)
    }

    fn parse(bytes: Vec<u8>) -> Option<Self> {
        let header = IndexHeader::parse(&bytes)?;
        let body_end = HEADER_LEN.checked_add(header.body_len)?;
        if bytes.len() != body_end.checked_add(32)?
            || Sha256::digest(&bytes[..body_end])[..] != bytes[body_end..]
        {
            return None;
        }
        let records_end = HEADER_LEN.checked_add(header.count.checked_mul(RECORD_LEN)?)?;
        if records_end > body_end {
            return None;
        }
        let mut r = Cursor { bytes: &bytes[..body_end], at: records_end };
        let mut directories = [Vec::new(), Vec::new()];
        for directory in &mut directories {
            let keys = r.u32()?;
            for _ in 0..keys {
                let key_len = usize::from(r.u16()?);
                let key_start = r.at;
                let key = r.take(key_len)?;
                std::str::from_utf8(key).ok()?;
                let n = usize::try_from(r.u32()?).ok()?;
                let list_start = r.at;
                r.take(n.checked_mul(4)?)?;
                directory.push((key_start..key_start + key_len, list_start..r.at));
            }
            let sorted =
                directory.windows(2).all(|w| bytes[w[0].0.clone()] < bytes[w[1].0.clone()]);
            if !sorted {
                return None;
            }
        }
        (r.at == body_end).then_some(Self { header, bytes, directories })
    }

    pub(crate) fn len(&self) -> usize {
        self.header.count
    }

    /// The exact bytes of the index file.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// SHA-256 of the exact bytes of the index file (what an `index_committed` record names).
    pub(crate) fn digest(&self) -> Hash {
        Sha256::digest(&self.bytes).into()
    }

    /// Whether the per-record offsets can describe consecutive frames of a segment whose header
    /// is `header_len` bytes: the first at `header_len`, strictly increasing by at least one
    /// frame's overhead, the last ending at or before the end offset. Checked in memory before
    /// any offset is used.
    pub(crate) fn offsets_are_plausible(&self, header_len: u64) -> bool {
        let min_frame = crate::segment::FRAME_OVERHEAD + 1;
        let mut next_min = header_len;
        for i in 0..self.len() {
            let offset = self.offset(i);
            if (i == 0 && offset != header_len) || offset < next_min {
                return false;
            }
            let Some(min) = offset.checked_add(min_frame) else { return false };
            next_min = min;
        }
        next_min <= self.header.end_offset
            && (self.len() > 0 || self.header.end_offset == header_len)
    }

    fn field<const N: usize>(&self, i: usize, at: usize) -> [u8; N] {
        let start = HEADER_LEN + i * RECORD_LEN + at;
        let mut out = [0u8; N];
        out.copy_from_slice(&self.bytes[start..start + N]);
        out
    }

    pub(crate) fn offset(&self, i: usize) -> u64 {
        u64::from_le_bytes(self.field(i, 0))
    }

    pub(crate) fn time(&self, i: usize) -> i64 {
        i64::from_le_bytes(self.field(i, 8))
    }

    pub(crate) fn kind(&self, i: usize) -> u16 {
        u16::from_le_bytes(self.field(i, 16))
    }

    /// The positions listed for `key`, sorted; empty when the key has none. Positions outside
    /// the index are dropped.
    pub(crate) fn postings(&self, which: Postings, key: &str) -> Vec<u32> {
        let directory = &self.directories[which as usize];
        let found = directory.binary_search_by(|(k, _)| self.bytes[k.clone()].cmp(key.as_bytes()));
        let Ok(found) = found else { return Vec::new() };
        let list = directory[found].1.clone();
        self.bytes[list]
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .filter(|p| usize::try_from(*p).is_ok_and(|p| p < self.header.count))
            .collect()
    }
}

/// Bytes per record in the index body: offset, time, kind.
const RECORD_LEN: usize = 8 + 8 + 2;

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
        let view = IndexView::parse(bytes.clone()).unwrap();
        assert_eq!(view.len(), index.len());
        assert_eq!(view.header.time_range, index.time_range());
        for i in 0..index.len() {
            assert_eq!(
                (view.offset(i), view.time(i), view.kind(i)),
                (index.offsets[i], index.times[i], index.kinds[i])
            );
        }
        for (key, list) in &index.actors {
            assert_eq!(&view.postings(Postings::Actors, key), list);
        }
        for (key, list) in &index.resources {
            assert_eq!(&view.postings(Postings::Resources, key), list);
        }
        assert!(view.postings(Postings::Actors, "nobody").is_empty());
        for i in (0..bytes.len()).step_by(7) {
            let mut bad = bytes.clone();
            bad[i] ^= 1;
            assert!(IndexView::parse(bad).is_none(), "byte {i}");
        }
        assert!(IndexView::parse(bytes[..bytes.len() - 1].to_vec()).is_none());
    }
}
