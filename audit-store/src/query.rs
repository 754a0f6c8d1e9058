//! Search: by actor, kind, category, severity, resource and time, with limit and order.
//!
//! Each closed segment has an index (`index.rs`): postings narrow a search to the records of one
//! actor or resource, and per-record times and kinds filter without reading frames. Segments
//! without a usable index (the active one, or a damaged index) are scanned. Every hit is read
//! back from its frame and its chain link checked, so an index can narrow a search but never put
//! a false record into the results.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use audit_chain::Hash;
use audit_events::{Category, LogId, Record, RecordKind, Severity, SystemRecord, Timestamp};

use crate::error::StoreError;
use crate::index::{IndexView, Postings, kind_code, kind_of_code};
use crate::io::open_read;
use crate::layout;
use crate::reader::LogReader;
use crate::segment::{self, ChainedFrames, FrameReader, MAX_FRAME_PAYLOAD, OpenFault, WalkStop};

/// Result order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Order {
    /// Oldest first.
    #[default]
    Ascending,
    /// Newest first.
    Descending,
}

/// What to search for. Empty fields match everything; given fields must all match.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Query {
    /// The subject: an actor's user id, or the attempted user / customer an event names.
    pub actor: Option<String>,
    /// Any of these kinds (empty: any kind).
    pub kinds: Vec<RecordKind>,
    /// This category.
    pub category: Option<Category>,
    /// At least this severity.
    pub min_severity: Option<Severity>,
    /// A resource id the event names (pool, node, task, shard, job, worker...).
    pub resource: Option<String>,
    /// Records at or after this time.
    pub since: Option<Timestamp>,
    /// Records before this time.
    pub until: Option<Timestamp>,
    /// Events naming this client address.
    pub ip: Option<std::net::IpAddr>,
    /// Records whose sequence number is in this range (both ends included).
    pub seqs: Option<(u64, u64)>,
    /// The record with this audit id.
    pub audit_id: Option<audit_events::AuditId>,
    /// At most this many results.
    pub limit: Option<usize>,
    /// Result order.
    pub order: Order,
}

impl Query {
    fn time_matches(&self, time: i64) -> bool {
        self.since.is_none_or(|s| time >= s.0) && self.until.is_none_or(|u| time < u.0)
    }

    fn kind_code_matches(&self, code: u16) -> bool {
        let Some(kind) = kind_of_code(code) else { return false };
        (self.kinds.is_empty() || self.kinds.iter().any(|k| kind_code(*k) == code))
            && self.category.is_none_or(|c| kind.category() == c)
    }

    /// The full check on a decoded record.
    pub fn matches(&self, record: &Record) -> bool {
        let kind = record.kind();
        if !self.time_matches(record.time.0) || !self.kind_code_matches(kind_code(kind)) {
            return false;
        }
        if self.min_severity.is_some_and(|s| record.severity() < s) {
            return false;
        }
        let event = record.event();
        if let Some(actor) = &self.actor
            && event.and_then(|e| e.subject_id()) != Some(actor.as_str())
        {
            return false;
        }
        if let Some(resource) = &self.resource
            && !event.is_some_and(|e| e.resource_ids().contains(&resource.as_str()))
        {
            return false;
        }
        if self.ip.is_some() && event.and_then(|e| e.ip()) != self.ip {
            return false;
        }
        if self.seqs.is_some_and(|(first, last)| record.seq < first || record.seq > last) {
            return false;
        }
        if self.audit_id.is_some_and(|id| record.audit_id != id) {
            return false;
        }
        true
    }
}

/// One matching record.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct QueryHit {
    /// Its sequence number (prove it with [`crate::inclusion_proof`]).
    pub seq: u64,
    /// The segment file it is in.
    pub segment: String,
    /// The decoded record.
    pub record: Record,
    /// The chain hash before it.
    pub prev_chain: Hash,
    /// Its chain hash.
    pub chain: Hash,
}

/// A segment searched by reading every frame because its index file could not be used.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct IndexFallback {
    /// The segment file.
    pub segment: String,
    /// Why its index was not used.
    pub reason: String,
}

/// The result of a query: the hits, and the segments whose index file was present but not used.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct QueryOutcome {
    /// Matching records, in the order asked for.
    pub hits: Vec<QueryHit>,
    /// Segments with an index file that did not match its commitment in the chain (missing
    /// commitment, damaged, forged or stale index): they were scanned frame by frame instead.
    pub rebuilt_indexes: Vec<IndexFallback>,
}

/// Runs a query over the log in `dir`.
pub fn query(dir: &Path, query: &Query) -> Result<Vec<QueryHit>, StoreError> {
    Ok(query_outcome(dir, query)?.hits)
}

/// Runs a query over the log in `dir`, saying which index files were not trusted.
///
/// The last segment is always scanned from its header: anyone who can write the directory can
/// append frames to it (a forged `index_committed` record for a forged index included), and
/// only a walk from the header tells. An index of any other segment is used only after it is
/// checked against its `index_committed` record: the record at the index's end offset must link
/// from the index's last chain hash and name the index's first sequence number, record count,
/// end offset and SHA-256, and the frames from it to the end of the file must chain up to the
/// next segment's header. Every hit (and the first frame) is read back from its frame, which
/// must sit exactly between its neighbours and link from the one before. Anything else is
/// searched by a chain-checked scan, and a segment other than the last must end where the next
/// one continues.
pub fn query_outcome(dir: &Path, query: &Query) -> Result<QueryOutcome, StoreError> {
    let reader = LogReader::open(dir)?;
    let all: Vec<(u64, std::path::PathBuf)> = reader.segments().to_vec();
    let mut order: Vec<usize> = (0..all.len()).collect();
    if query.order == Order::Descending {
        order.reverse();
    }
    let limit = query.limit.unwrap_or(usize::MAX);
    let mut outcome = QueryOutcome::default();
    for k in order {
        if outcome.hits.len() >= limit {
            break;
        }
        let (first_seq, path) = &all[k];
        let first_seq = *first_seq;
        let name = layout::segment_name(first_seq);
        let index_path = reader.dir().join(layout::index_name(first_seq));
        let next = all.get(k + 1).map(|(_, p)| p.as_path());
        // The last segment's index is used only if the segment ends with the commitment, the
        // `log_closed` record and the final seal: frames appended after a clean close (a forged
        // commitment for a forged index included) make the segment be scanned.
        let mut found = match next {
            _ if std::fs::symlink_metadata(&index_path).is_ok() => {
                let searched = match IndexView::read(&index_path) {
                    Some(index) => {
                        let expect = Expect { first_seq, log_id: reader.meta().log_id, next };
                        search_indexed(path, &name, &index, &expect, query)?
                    }
                    None => Err("the index file is damaged".to_owned()),
                };
                match searched {
                    Ok(hits) => hits,
                    // A log still being written (or reopened since): its last segment is scanned
                    // as a matter of course, nothing to report.
                    Err(reason) if next.is_none() && reason == NOT_CLOSED => {
                        scan_whole(path, &name, reader.meta().log_id, next, query)?
                    }
                    Err(reason) => {
                        outcome
                            .rebuilt_indexes
                            .push(IndexFallback { segment: name.clone(), reason });
                        scan_whole(path, &name, reader.meta().log_id, next, query)?
                    }
                }
            }
            _ => scan_whole(path, &name, reader.meta().log_id, next, query)?,
        };
        if query.order == Order::Descending {
            found.reverse();
        }
        let room = limit - outcome.hits.len();
        outcome.hits.extend(found.into_iter().take(room));
    }
    Ok(outcome)
}

fn overlaps(range: Option<(i64, i64)>, query: &Query) -> bool {
    range.is_some_and(|(lo, hi)| {
        query.since.is_none_or(|s| hi >= s.0) && query.until.is_none_or(|u| lo < u.0)
    })
}

/// Why the last segment's index is not used: the log was not closed right after it.
const NOT_CLOSED: &str =
    "the last segment does not end with its index commitment and a clean close";

/// What a segment's index must agree with.
struct Expect<'a> {
    first_seq: u64,
    log_id: LogId,
    /// The next segment file; `None` for the last segment, whose index is used only when the
    /// segment ends exactly with its commitment, `log_closed` and the final seal (a clean close).
    next: Option<&'a Path>,
}

/// Checks the index against its commitment and the segment, then uses it for the records it
/// covers and scans the frames from the commitment on. `Ok(Err(reason))`: the index cannot be
/// used and the segment must be scanned.
fn search_indexed(
    path: &Path,
    name: &str,
    index: &IndexView,
    expect: &Expect<'_>,
    query: &Query,
) -> Result<Result<Vec<QueryHit>, String>, StoreError> {
    let (header, reader) = match FrameReader::open(path) {
        Ok(opened) => opened,
        // The scan reports what is wrong with the segment.
        Err(_) => return Ok(Err("the segment cannot be read".to_owned())),
    };
    let header_len = reader.offset();
    let ih = &index.header;
    if header.first_seq != expect.first_seq || ih.first_seq != expect.first_seq {
        return Ok(Err("the index belongs to another segment".to_owned()));
    }
    if !index.offsets_are_plausible(header_len)
        || (ih.count == 0 && ih.last_chain != header.prev_chain)
    {
        return Ok(Err("the index does not describe its segment".to_owned()));
    }
    let file = open_read(path).map_err(|e| StoreError::io("reading", path, e))?;
    let count = u64::try_from(ih.count).unwrap_or(u64::MAX);
    if let Err(reason) = check_commitment(&file, index, expect, count) {
        return Ok(Err(reason));
    }
    if ih.count > 0 && read_hit(&file, name, index, header.prev_chain, 0)?.is_none() {
        return Ok(Err("the index does not match the first frame of its segment".to_owned()));
    }
    let mut hits = Vec::new();
    if overlaps(ih.time_range, query) {
        let mut positions: Option<Vec<u32>> = None;
        for (key, which) in
            [(&query.actor, Postings::Actors), (&query.resource, Postings::Resources)]
        {
            if let Some(key) = key {
                let list = index.postings(which, key);
                positions = Some(match positions {
                    Some(prev) => {
                        prev.into_iter().filter(|p| list.binary_search(p).is_ok()).collect()
                    }
                    None => list,
                });
            }
        }
        let all: Box<dyn Iterator<Item = usize>> = match positions {
            Some(list) => Box::new(list.into_iter().filter_map(|p| usize::try_from(p).ok())),
            None => Box::new(0..index.len()),
        };
        for i in all {
            if !query.time_matches(index.time(i)) || !query.kind_code_matches(index.kind(i)) {
                continue;
            }
            let Some(hit) = read_hit(&file, name, index, header.prev_chain, i)? else {
                return Ok(Err("an index entry does not match its frame".to_owned()));
            };
            if query.matches(&hit.record) {
                hits.push(hit);
            }
        }
    }
    // The commitment and every frame after it (rotation, seal, records of a reopened segment).
    let start = (ih.end_offset, ih.last_chain, expect.first_seq + count);
    let (after, end) = scan(path, name, expect.log_id, Some(start), query)?;
    match expect.next {
        Some(next) => {
            // An unreadable next header is reported when that segment is searched.
            let next_prev = FrameReader::open(next).ok().map(|(h, _)| h.prev_chain);
            if end.torn || next_prev.is_some_and(|p| p != end.chain) {
                return Ok(Err(
                    "the segment's frames after the index do not lead to the next segment"
                        .to_owned(),
                ));
            }
        }
        None if end.torn || end.frames != 3 || !end.closed => {
            return Ok(Err(NOT_CLOSED.to_owned()));
        }
        None => {}
    }
    hits.extend(after);
    Ok(Ok(hits))
}

/// Checks that the frame at the index's end offset is the `index_committed` record for exactly
/// this index, chained from the index's last chain hash.
fn check_commitment(
    file: &File,
    index: &IndexView,
    expect: &Expect<'_>,
    count: u64,
) -> Result<(), String> {
    let ih = &index.header;
    let missing = || "no index_committed record in the chain commits to this index".to_owned();
    let (payload, stored) = read_frame(file, ih.end_offset).ok_or_else(missing)?;
    if segment::link(&ih.last_chain, &payload).1 != stored {
        return Err(missing());
    }
    let record = Record::decode(&payload).map_err(|_| missing())?;
    let committed = match &record.body {
        audit_events::Body::System(SystemRecord::IndexCommitted {
            first_seq,
            records,
            end_offset,
            digest,
        }) => {
            *first_seq == expect.first_seq
                && *records == count
                && *end_offset == ih.end_offset
                && digest.0 == index.digest()
        }
        _ => return Err(missing()),
    };
    if !committed
        || record.log_id != expect.log_id
        || Some(record.seq) != expect.first_seq.checked_add(count)
    {
        return Err("the index differs from what its index_committed record commits to".to_owned());
    }
    Ok(())
}

/// Reads the complete frame at `offset`: payload and stored chain hash.
fn read_frame(file: &File, offset: u64) -> Option<(Vec<u8>, Hash)> {
    let mut len_bytes = [0u8; 4];
    file.read_exact_at(&mut len_bytes, offset).ok()?;
    let len = u32::from_le_bytes(len_bytes);
    if len == 0 || len > MAX_FRAME_PAYLOAD {
        return None;
    }
    let body_len = usize::try_from(len).ok()?;
    let mut body = vec![0u8; body_len + 32];
    file.read_exact_at(&mut body, offset.checked_add(4)?).ok()?;
    let mut chain = [0u8; 32];
    chain.copy_from_slice(&body[body_len..]);
    body.truncate(body_len);
    Some((body, chain))
}

/// The length of the frame at `offset`, from its length field.
fn frame_len_at(file: &File, offset: u64) -> Option<u64> {
    let mut len_bytes = [0u8; 4];
    file.read_exact_at(&mut len_bytes, offset).ok()?;
    Some(u64::from(u32::from_le_bytes(len_bytes)) + segment::FRAME_OVERHEAD)
}

/// Reads index entry `i` back from its frame. `None` if the frame does not sit exactly between
/// its neighbours in the index, does not link from the frame before it, or is not record
/// `first_seq + i`.
fn read_hit(
    file: &File,
    name: &str,
    index: &IndexView,
    header_prev: Hash,
    i: usize,
) -> Result<Option<QueryHit>, StoreError> {
    let offset = index.offset(i);
    let next = if i + 1 < index.len() { index.offset(i + 1) } else { index.header.end_offset };
    let Some((body, chain)) = read_frame(file, offset) else { return Ok(None) };
    let frame_len = u64::try_from(body.len()).unwrap_or(u64::MAX) + segment::FRAME_OVERHEAD;
    if offset.checked_add(frame_len) != Some(next) {
        return Ok(None);
    }
    let prev_chain = if i == 0 {
        header_prev
    } else {
        let before = index.offset(i - 1);
        if frame_len_at(file, before).and_then(|l| before.checked_add(l)) != Some(offset) {
            return Ok(None);
        }
        let mut prev = [0u8; 32];
        file.read_exact_at(&mut prev, offset - 32)
            .map_err(|e| StoreError::io("reading", name, e))?;
        prev
    };
    if segment::link(&prev_chain, &body).1 != chain {
        return Ok(None);
    }
    let Ok(record) = Record::decode(&body) else { return Ok(None) };
    let position = u64::try_from(i).unwrap_or(u64::MAX);
    if index.header.first_seq.checked_add(position) != Some(record.seq) {
        return Ok(None);
    }
    Ok(Some(QueryHit { seq: record.seq, segment: name.to_owned(), record, prev_chain, chain }))
}

/// Scans a whole segment from its header. A segment other than the last must end exactly
/// where the next one continues: frames after that point are not part of the log.
fn scan_whole(
    path: &Path,
    name: &str,
    log_id: LogId,
    next: Option<&Path>,
    query: &Query,
) -> Result<Vec<QueryHit>, StoreError> {
    let (hits, end) = scan(path, name, log_id, None, query)?;
    if let Some(next) = next {
        // An unreadable next header is reported when that segment is searched.
        let next_prev = FrameReader::open(next).ok().map(|(h, _)| h.prev_chain);
        if end.torn || next_prev.is_some_and(|p| p != end.chain) {
            return Err(StoreError::Damaged {
                file: name.to_owned(),
                offset: 0,
                reason: "the segment does not end where the next one continues; run `audit verify`"
                    .to_owned(),
            });
        }
    }
    Ok(hits)
}

/// How a scan ended.
struct ScanEnd {
    /// The chain hash of the last frame read.
    chain: Hash,
    /// The segment ended inside a frame or in zeros.
    torn: bool,
    /// Frames read.
    frames: u64,
    /// The last two frames read were `log_closed` and a seal.
    closed: bool,
}

/// Scans a segment (or its part after `start`), decoding every record.
fn scan(
    path: &Path,
    name: &str,
    log_id: LogId,
    start: Option<(u64, Hash, u64)>,
    query: &Query,
) -> Result<(Vec<QueryHit>, ScanEnd), StoreError> {
    let (_, mut frames) = match ChainedFrames::open(path, log_id) {
        Ok(opened) => opened,
        Err(OpenFault::Io(e)) => return Err(StoreError::io("reading", path, e)),
        Err(OpenFault::Header(reason)) => {
            return Err(StoreError::Damaged { file: name.to_owned(), offset: 0, reason });
        }
    };
    if let Some((offset, last_chain, next_seq)) = start {
        frames
            .seek(offset, last_chain, next_seq)
            .map_err(|e| StoreError::io("reading", path, e))?;
    }
    let damaged = |offset: u64, reason: String| StoreError::Damaged {
        file: name.to_owned(),
        offset,
        reason: format!("{reason}; run `audit verify`"),
    };
    let mut payload = Vec::new();
    let mut hits = Vec::new();
    let mut torn = false;
    let (mut count, mut last_two) = (0u64, [None, None]);
    loop {
        let frame = match frames.next(&mut payload) {
            Ok(Some(frame)) => frame,
            Ok(None) => break,
            Err(WalkStop::Torn { .. }) => {
                torn = true;
                break;
            }
            Err(WalkStop::Bad { offset, broken, .. }) => {
                return Err(damaged(offset, broken.describe(frames.seq())));
            }
            Err(WalkStop::Io(e)) => return Err(StoreError::io("reading", path, e)),
        };
        count += 1;
        last_two = [last_two[1], Some(frame.kind)];
        if !query.time_matches(frame.time.0) || !query.kind_code_matches(kind_code(frame.kind)) {
            continue;
        }
        let record = Record::decode(&payload).map_err(|e| damaged(frame.offset, e.to_string()))?;
        if query.matches(&record) {
            hits.push(QueryHit {
                seq: frame.seq,
                segment: name.to_owned(),
                record,
                prev_chain: frame.prev_chain,
                chain: frame.chain,
            });
        }
    }
    let closed = last_two
        == [
            Some(RecordKind::System(audit_events::SystemKind::LogClosed)),
            Some(RecordKind::System(audit_events::SystemKind::Seal)),
        ];
    Ok((hits, ScanEnd { chain: frames.chain(), torn, frames: count, closed }))
}
