//! Search: by actor, kind, category, severity, resource, time, outcome and request id, with
//! limit and order.
//!
//! Each closed segment has an index (`index.rs`): postings narrow a search to the records of one
//! actor or resource, and per-record times and kinds filter without reading frames. Segments
//! without a usable index (the active one, or a damaged index) are scanned. Every hit is read
//! back from its frame and its chain link checked, so an index can narrow a search but never put
//! a false record into the results.

use std::collections::VecDeque;
use std::fs::File;
use std::ops::ControlFlow;
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
    /// Events with this uniform outcome (kinds without one never match).
    pub outcome: Option<audit_events::EventOutcome>,
    /// Records with exactly this request id, as stored (escaped).
    pub request_id: Option<String>,
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
        if self.outcome.is_some() && record.outcome() != self.outcome {
            return false;
        }
        if self.request_id.as_deref().is_some_and(|id| record.request_id() != Some(id)) {
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

/// Where [`query_each`] delivers results, one at a time, as they are found.
pub trait QuerySink {
    /// One matching record, in the order asked for. `Break` ends the search.
    fn hit(&mut self, hit: QueryHit) -> ControlFlow<()>;

    /// A segment whose index file was present but not used: it is searched frame by frame.
    fn index_not_used(&mut self, fallback: IndexFallback);
}

impl QuerySink for QueryOutcome {
    fn hit(&mut self, hit: QueryHit) -> ControlFlow<()> {
        self.hits.push(hit);
        ControlFlow::Continue(())
    }

    fn index_not_used(&mut self, fallback: IndexFallback) {
        self.rebuilt_indexes.push(fallback);
    }
}

/// Runs a query over the log in `dir`.
pub fn query(dir: &Path, query: &Query) -> Result<Vec<QueryHit>, StoreError> {
    Ok(query_outcome(dir, query)?.hits)
}

/// Runs a query over the log in `dir`, collecting the hits and the index files not trusted.
pub fn query_outcome(dir: &Path, query: &Query) -> Result<QueryOutcome, StoreError> {
    let mut outcome = QueryOutcome::default();
    query_each(dir, query, &mut outcome)?;
    Ok(outcome)
}

/// Runs a query over the log in `dir`, handing each hit to `sink` as soon as it is known, in the
/// order asked for. Memory stays bounded by one segment's index and a fixed buffer whatever
/// the size of the log: with [`Order::Ascending`] nothing is held; newest first, the positions
/// (not the records) of at most `limit` hits of the segment being scanned are held, since a
/// segment's frames can only be walked from its header. A search stops reading as soon as the
/// limit is reached, so an error in a later part of the log is not reported then; a damaged
/// log may also have delivered some hits before the error (run `audit verify`).
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
pub fn query_each(dir: &Path, query: &Query, sink: &mut dyn QuerySink) -> Result<(), StoreError> {
    let reader = LogReader::open(dir)?;
    let all = reader.segments();
    let mut order: Vec<usize> = (0..all.len()).collect();
    if query.order == Order::Descending {
        order.reverse();
    }
    let mut out = Emit { sink, left: query.limit.unwrap_or(usize::MAX), stopped: false };
    for k in order {
        if out.done() {
            break;
        }
        let (first_seq, path) = &all[k];
        let name = layout::segment_name(*first_seq);
        let index_path = reader.dir().join(layout::index_name(*first_seq));
        let seg = Segment {
            path,
            name: &name,
            log_id: reader.meta().log_id,
            first_seq: *first_seq,
            next: all.get(k + 1).map(|(_, p)| p.as_path()),
        };
        if std::fs::symlink_metadata(&index_path).is_err() {
            scan_segment(&seg, query, &mut out, None)?;
            continue;
        }
        let checked = match IndexView::read(&index_path) {
            Some(index) => check_index(&seg, &index)?.map(|plan| (index, plan)),
            None => Err("the index file is damaged".to_owned()),
        };
        let (reason, emitted) = match checked {
            Ok((index, plan)) => match emit_indexed(&seg, &index, &plan, query, &mut out)? {
                Ok(()) => continue,
                Err(stopped) => stopped,
            },
            // A log still being written (or reopened since): its last segment is scanned as a
            // matter of course, nothing to report.
            Err(reason) if seg.next.is_none() && reason == NOT_CLOSED => {
                scan_segment(&seg, query, &mut out, None)?;
                continue;
            }
            Err(reason) => (reason, None),
        };
        out.sink.index_not_used(IndexFallback { segment: name.clone(), reason });
        // Hits already delivered from the index are real records of this segment (each was
        // read back and chain-checked): the scan continues after them.
        scan_segment(&seg, query, &mut out, emitted)?;
    }
    Ok(())
}

/// Hands hits to the sink until the limit is reached or the sink says stop.
struct Emit<'a> {
    sink: &'a mut dyn QuerySink,
    left: usize,
    stopped: bool,
}

impl Emit<'_> {
    fn done(&self) -> bool {
        self.stopped || self.left == 0
    }

    fn hit(&mut self, hit: QueryHit) -> ControlFlow<()> {
        if self.done() {
            return ControlFlow::Break(());
        }
        self.left -= 1;
        if self.sink.hit(hit).is_break() {
            self.stopped = true;
        }
        if self.done() { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
    }
}

/// The segment being searched.
struct Segment<'a> {
    path: &'a Path,
    name: &'a str,
    log_id: LogId,
    first_seq: u64,
    /// The next segment file; `None` for the last segment, whose index is used only when the
    /// segment ends exactly with its commitment, `log_closed` and the final seal (a clean close).
    next: Option<&'a Path>,
}

impl Segment<'_> {
    fn damaged(&self, offset: u64, reason: String) -> StoreError {
        StoreError::Damaged {
            file: self.name.to_owned(),
            offset,
            reason: format!("{reason}; run `audit verify`"),
        }
    }

    /// Whether a scan that ended with `end` ended where the next segment continues (always true
    /// for the last segment, or when the next header is unreadable: that is reported when the
    /// next segment is searched).
    fn leads_to_next(&self, end: &ScanEnd) -> bool {
        let Some(next) = self.next else { return true };
        let next_prev = FrameReader::open(next).ok().map(|(h, _)| h.prev_chain);
        !end.torn && next_prev.is_none_or(|p| p == end.chain)
    }
}

fn overlaps(range: Option<(i64, i64)>, query: &Query) -> bool {
    range.is_some_and(|(lo, hi)| {
        query.since.is_none_or(|s| hi >= s.0) && query.until.is_none_or(|u| lo < u.0)
    })
}

/// Why the last segment's index is not used: the log was not closed right after it.
const NOT_CLOSED: &str =
    "the last segment does not end with its index commitment and a clean close";

/// An index checked against its commitment and its segment, ready to be used.
struct Plan {
    file: File,
    header_prev: Hash,
    /// Offset, chain hash before, and sequence number of the first frame after the records the
    /// index covers (the `index_committed` record).
    after: (u64, Hash, u64),
    /// Frames from there to the end of the segment when it was checked.
    after_frames: u64,
}

/// Checks the index against its commitment and the segment, including every frame from the
/// commitment to the end of the segment. `Ok(Err(reason))`: the index cannot be used and the
/// segment must be scanned.
fn check_index(seg: &Segment<'_>, index: &IndexView) -> Result<Result<Plan, String>, StoreError> {
    let (header, reader) = match FrameReader::open(seg.path) {
        Ok(opened) => opened,
        // The scan reports what is wrong with the segment.
        Err(_) => return Ok(Err("the segment cannot be read".to_owned())),
    };
    let header_len = reader.offset();
    let ih = &index.header;
    if header.first_seq != seg.first_seq || ih.first_seq != seg.first_seq {
        return Ok(Err("the index belongs to another segment".to_owned()));
    }
    if !index.offsets_are_plausible(header_len)
        || (ih.count == 0 && ih.last_chain != header.prev_chain)
    {
        return Ok(Err("the index does not describe its segment".to_owned()));
    }
    let file = open_read(seg.path).map_err(|e| StoreError::io("reading", seg.path, e))?;
    let count = u64::try_from(ih.count).unwrap_or(u64::MAX);
    if let Err(reason) = check_commitment(&file, index, seg, count) {
        return Ok(Err(reason));
    }
    if ih.count > 0 && read_hit(&file, seg.name, index, header.prev_chain, 0)?.is_none() {
        return Ok(Err("the index does not match the first frame of its segment".to_owned()));
    }
    // The commitment and every frame after it (rotation, seal, records of a reopened segment).
    let after = (ih.end_offset, ih.last_chain, seg.first_seq + count);
    let end = scan(seg, Some(after), None, &Query::default(), None)?;
    if seg.next.is_some() && !seg.leads_to_next(&end) {
        return Ok(Err(
            "the segment's frames after the index do not lead to the next segment".to_owned()
        ));
    }
    if seg.next.is_none() && (end.torn || end.frames != 3 || !end.closed) {
        return Ok(Err(NOT_CLOSED.to_owned()));
    }
    Ok(Ok(Plan { file, header_prev: header.prev_chain, after, after_frames: end.frames }))
}

/// Delivers the hits of a segment through its checked index, then those after it.
/// `Ok(Err((reason, last)))`: an index entry did not match its frame; `last` is the sequence
/// number of the last hit already delivered from this segment, if any.
fn emit_indexed(
    seg: &Segment<'_>,
    index: &IndexView,
    plan: &Plan,
    query: &Query,
    out: &mut Emit<'_>,
) -> Result<Result<(), (String, Option<u64>)>, StoreError> {
    let descending = query.order == Order::Descending;
    let mut last = None;
    if descending {
        last = scan_descending(seg, Some((plan.after, plan.after_frames)), query, out, None)?;
        if out.done() {
            return Ok(Ok(()));
        }
    }
    let mut positions: Option<Vec<u32>> = None;
    if overlaps(index.header.time_range, query) {
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
    } else {
        positions = Some(Vec::new());
    }
    let to_index = |p: u32| usize::try_from(p).ok();
    let candidates: Box<dyn Iterator<Item = usize>> = match (positions, descending) {
        (Some(list), false) => Box::new(list.into_iter().filter_map(to_index)),
        (Some(list), true) => Box::new(list.into_iter().rev().filter_map(to_index)),
        (None, false) => Box::new(0..index.len()),
        (None, true) => Box::new((0..index.len()).rev()),
    };
    for i in candidates {
        if !query.time_matches(index.time(i)) || !query.kind_code_matches(index.kind(i)) {
            continue;
        }
        let Some(hit) = read_hit(&plan.file, seg.name, index, plan.header_prev, i)? else {
            return Ok(Err(("an index entry does not match its frame".to_owned(), last)));
        };
        if query.matches(&hit.record) {
            last = Some(hit.seq);
            if out.hit(hit).is_break() {
                return Ok(Ok(()));
            }
        }
    }
    if !descending {
        let mut emit = |_: u64, hit: QueryHit| out.hit(hit);
        scan(seg, Some(plan.after), Some(plan.after_frames), query, Some(&mut emit))?;
    }
    Ok(Ok(()))
}

/// Checks that the frame at the index's end offset is the `index_committed` record for exactly
/// this index, chained from the index's last chain hash.
fn check_commitment(
    file: &File,
    index: &IndexView,
    seg: &Segment<'_>,
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
            *first_seq == seg.first_seq
                && *records == count
                && *end_offset == ih.end_offset
                && digest.0 == index.digest()
        }
        _ => return Err(missing()),
    };
    if !committed
        || record.log_id != seg.log_id
        || Some(record.seq) != seg.first_seq.checked_add(count)
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

/// Searches a whole segment from its header, skipping hits up to `emitted` (already delivered
/// from the index, in the order asked for). A segment other than the last must end exactly where
/// the next one continues: frames after that point are not part of the log.
fn scan_segment(
    seg: &Segment<'_>,
    query: &Query,
    out: &mut Emit<'_>,
    emitted: Option<u64>,
) -> Result<(), StoreError> {
    if query.order == Order::Descending {
        scan_descending(seg, None, query, out, emitted)?;
        return Ok(());
    }
    let mut emit = |_: u64, hit: QueryHit| {
        if emitted.is_some_and(|last| hit.seq <= last) {
            return ControlFlow::Continue(());
        }
        out.hit(hit)
    };
    let end = scan(seg, None, None, query, Some(&mut emit))?;
    if !end.stopped && !seg.leads_to_next(&end) {
        return Err(not_continued(seg));
    }
    Ok(())
}

fn not_continued(seg: &Segment<'_>) -> StoreError {
    StoreError::Damaged {
        file: seg.name.to_owned(),
        offset: 0,
        reason: "the segment does not end where the next one continues; run `audit verify`"
            .to_owned(),
    }
}

/// Where a hit was found, to read it back after the walk.
struct Position {
    offset: u64,
    seq: u64,
    prev_chain: Hash,
    chain: Hash,
}

/// Searches a segment (or its part from `start`, at most so many frames) newest first: a walk
/// from the start keeps the positions of the last hits (as many as may still be delivered),
/// then each is read back, its chain link checked again, and delivered. Hits at or after
/// `emitted` were already delivered from the index. Returns the sequence number of the last hit
/// delivered, if any.
fn scan_descending(
    seg: &Segment<'_>,
    start: Option<((u64, Hash, u64), u64)>,
    query: &Query,
    out: &mut Emit<'_>,
    emitted: Option<u64>,
) -> Result<Option<u64>, StoreError> {
    let room = out.left;
    let mut kept: VecDeque<Position> = VecDeque::new();
    let mut keep = |offset: u64, hit: QueryHit| {
        if emitted.is_some_and(|last| hit.seq >= last) {
            return ControlFlow::Continue(());
        }
        if kept.len() == room {
            kept.pop_front();
        }
        if room > 0 {
            kept.push_back(Position {
                offset,
                seq: hit.seq,
                prev_chain: hit.prev_chain,
                chain: hit.chain,
            });
        }
        ControlFlow::Continue(())
    };
    match start {
        Some((from, frames)) => {
            scan(seg, Some(from), Some(frames), query, Some(&mut keep))?;
        }
        None => {
            let end = scan(seg, None, None, query, Some(&mut keep))?;
            if !seg.leads_to_next(&end) {
                return Err(not_continued(seg));
            }
        }
    }
    let mut last = None;
    let file = open_read(seg.path).map_err(|e| StoreError::io("reading", seg.path, e))?;
    while let Some(position) = kept.pop_back() {
        let changed = || seg.damaged(position.offset, "the frame changed while it was read".into());
        let (body, chain) = read_frame(&file, position.offset).ok_or_else(changed)?;
        if chain != position.chain || segment::link(&position.prev_chain, &body).1 != chain {
            return Err(changed());
        }
        let record =
            Record::decode(&body).map_err(|e| seg.damaged(position.offset, e.to_string()))?;
        if record.seq != position.seq {
            return Err(changed());
        }
        let hit = QueryHit {
            seq: position.seq,
            segment: seg.name.to_owned(),
            record,
            prev_chain: position.prev_chain,
            chain,
        };
        last = Some(position.seq);
        if out.hit(hit).is_break() {
            break;
        }
    }
    Ok(last)
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
    /// The callback ended the scan before the end of the segment.
    stopped: bool,
}

/// What a scan does with each matching record (and the offset of its frame).
type OnHit<'a> = &'a mut dyn FnMut(u64, QueryHit) -> ControlFlow<()>;

/// Scans a segment (or its part from `start`, at most `max_frames` frames), chain-checking every
/// frame and handing each record that matches to `on_hit` (none decoded without one).
fn scan(
    seg: &Segment<'_>,
    start: Option<(u64, Hash, u64)>,
    max_frames: Option<u64>,
    query: &Query,
    mut on_hit: Option<OnHit<'_>>,
) -> Result<ScanEnd, StoreError> {
    let path = seg.path;
    let (_, mut frames) = match ChainedFrames::open(path, seg.log_id) {
        Ok(opened) => opened,
        Err(OpenFault::Io(e)) => return Err(StoreError::io("reading", path, e)),
        Err(OpenFault::Header(reason)) => {
            return Err(StoreError::Damaged { file: seg.name.to_owned(), offset: 0, reason });
        }
    };
    if let Some((offset, last_chain, next_seq)) = start {
        frames
            .seek(offset, last_chain, next_seq)
            .map_err(|e| StoreError::io("reading", path, e))?;
    }
    let mut payload = Vec::new();
    let mut torn = false;
    let mut stopped = false;
    let (mut count, mut last_two) = (0u64, [None, None]);
    while max_frames.is_none_or(|max| count < max) {
        let frame = match frames.next(&mut payload) {
            Ok(Some(frame)) => frame,
            Ok(None) => break,
            Err(WalkStop::Torn { .. }) => {
                torn = true;
                break;
            }
            Err(WalkStop::Bad { offset, broken, .. }) => {
                return Err(seg.damaged(offset, broken.describe(frames.seq())));
            }
            Err(WalkStop::Io(e)) => return Err(StoreError::io("reading", path, e)),
        };
        count += 1;
        last_two = [last_two[1], Some(frame.kind)];
        let Some(on_hit) = on_hit.as_mut() else { continue };
        if !query.time_matches(frame.time.0) || !query.kind_code_matches(kind_code(frame.kind)) {
            continue;
        }
        let record =
            Record::decode(&payload).map_err(|e| seg.damaged(frame.offset, e.to_string()))?;
        if query.matches(&record) {
            let hit = QueryHit {
                seq: frame.seq,
                segment: seg.name.to_owned(),
                record,
                prev_chain: frame.prev_chain,
                chain: frame.chain,
            };
            if on_hit(frame.offset, hit).is_break() {
                stopped = true;
                break;
            }
        }
    }
    let closed = last_two
        == [
            Some(RecordKind::System(audit_events::SystemKind::LogClosed)),
            Some(RecordKind::System(audit_events::SystemKind::Seal)),
        ];
    Ok(ScanEnd { chain: frames.chain(), torn, frames: count, closed, stopped })
}
