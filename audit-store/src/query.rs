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
use audit_events::{Category, Record, RecordKind, Severity, Timestamp};

use crate::error::StoreError;
use crate::index::{IndexHeader, IndexView, Postings, kind_code, kind_of_code};
use crate::io::open_read;
use crate::layout;
use crate::reader::LogReader;
use crate::segment::{self, FrameFault, FrameReader, MAX_FRAME_PAYLOAD, OpenFault};

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
        true
    }
}

/// One matching record.
#[derive(Clone, Debug, PartialEq, Eq)]
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

/// Runs a query over the log in `dir`.
pub fn query(dir: &Path, query: &Query) -> Result<Vec<QueryHit>, StoreError> {
    let reader = LogReader::open(dir)?;
    let mut segments: Vec<(u64, std::path::PathBuf)> = reader.segments().to_vec();
    if query.order == Order::Descending {
        segments.reverse();
    }
    let limit = query.limit.unwrap_or(usize::MAX);
    let mut hits = Vec::new();
    for (first_seq, path) in segments {
        if hits.len() >= limit {
            break;
        }
        let name = layout::segment_name(first_seq);
        let index_path = reader.dir().join(layout::index_name(first_seq));
        let mut found = match IndexHeader::read(&index_path).filter(|h| h.first_seq == first_seq) {
            // The whole segment is outside the time range: only what was appended after its
            // index (a reopened segment) needs reading.
            Some(header) if !overlaps(header.time_range, query) => scan(
                &path,
                &name,
                Some((header.end_offset, header.last_chain, first_seq + header.count as u64)),
                query,
            )?,
            Some(_) => {
                match IndexView::read(&index_path).filter(|i| i.header.first_seq == first_seq) {
                    Some(index) => search_indexed(&path, &name, &index, query)?,
                    None => scan(&path, &name, None, query)?,
                }
            }
            None => scan(&path, &name, None, query)?,
        };
        if query.order == Order::Descending {
            found.reverse();
        }
        let room = limit - hits.len();
        hits.extend(found.into_iter().take(room));
    }
    Ok(hits)
}

fn overlaps(range: Option<(i64, i64)>, query: &Query) -> bool {
    range.is_some_and(|(lo, hi)| {
        query.since.is_none_or(|s| hi >= s.0) && query.until.is_none_or(|u| lo < u.0)
    })
}

/// Uses the index for the records it covers, then scans what was appended after it.
fn search_indexed(
    path: &Path,
    name: &str,
    index: &IndexView,
    query: &Query,
) -> Result<Vec<QueryHit>, StoreError> {
    let file = open_read(path).map_err(|e| StoreError::io("reading", path, e))?;
    if !index_is_bound(&file, &index.header) {
        return scan(path, name, None, query);
    }
    let mut hits = Vec::new();
    if overlaps(index.header.time_range, query) {
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
            let hit = read_hit(&file, name, index, i)?;
            if query.matches(&hit.record) {
                hits.push(hit);
            }
        }
    }
    // Records appended after the index was written (a reopened active segment).
    let header = &index.header;
    let first_after = header.first_seq + u64::try_from(header.count).unwrap_or(0);
    hits.extend(scan(
        path,
        name,
        Some((header.end_offset, header.last_chain, first_after)),
        query,
    )?);
    Ok(hits)
}

/// Whether the chain hash stored at the end of the index's last frame is the one it recorded.
fn index_is_bound(file: &File, index: &IndexHeader) -> bool {
    if index.count == 0 {
        return true;
    }
    let mut stored = [0u8; 32];
    let Some(at) = index.end_offset.checked_sub(32) else { return false };
    file.read_exact_at(&mut stored, at).is_ok() && stored == index.last_chain
}

fn read_hit(file: &File, name: &str, index: &IndexView, i: usize) -> Result<QueryHit, StoreError> {
    let offset = index.offset(i);
    let damaged = |reason: String| StoreError::Damaged { file: name.to_owned(), offset, reason };
    let mut len_bytes = [0u8; 4];
    file.read_exact_at(&mut len_bytes, offset).map_err(|e| StoreError::io("reading", name, e))?;
    let len = u32::from_le_bytes(len_bytes);
    if len == 0 || len > MAX_FRAME_PAYLOAD {
        return Err(damaged("index points at a damaged frame".to_owned()));
    }
    let body_len = usize::try_from(len).unwrap_or(0);
    let mut body = vec![0u8; body_len + 32];
    file.read_exact_at(&mut body, offset + 4).map_err(|e| StoreError::io("reading", name, e))?;
    let mut chain = [0u8; 32];
    chain.copy_from_slice(&body[body_len..]);
    body.truncate(body_len);
    let prev_chain = if i == 0 {
        header_prev_chain(file, name)?
    } else {
        let mut prev = [0u8; 32];
        file.read_exact_at(&mut prev, offset - 32)
            .map_err(|e| StoreError::io("reading", name, e))?;
        prev
    };
    if segment::link(&prev_chain, &body).1 != chain {
        return Err(damaged("record does not match its chain hash; run `audit verify`".to_owned()));
    }
    let record = Record::decode(&body).map_err(|e| damaged(e.to_string()))?;
    Ok(QueryHit { seq: record.seq, segment: name.to_owned(), record, prev_chain, chain })
}

fn header_prev_chain(file: &File, name: &str) -> Result<Hash, StoreError> {
    let mut prev = [0u8; 32];
    file.read_exact_at(&mut prev, 44).map_err(|e| StoreError::io("reading", name, e))?;
    Ok(prev)
}

/// Scans a segment (or its part after `start`), decoding every record.
fn scan(
    path: &Path,
    name: &str,
    start: Option<(u64, Hash, u64)>,
    query: &Query,
) -> Result<Vec<QueryHit>, StoreError> {
    let (header, mut reader) = match FrameReader::open(path) {
        Ok(opened) => opened,
        Err(OpenFault::Io(e)) => return Err(StoreError::io("reading", path, e)),
        Err(OpenFault::Header(reason)) => {
            return Err(StoreError::Damaged { file: name.to_owned(), offset: 0, reason });
        }
    };
    let (mut chain, mut seq) = (header.prev_chain, header.first_seq);
    let mut payload = Vec::new();
    let mut hits = Vec::new();
    if let Some((offset, last_chain, next_seq)) = start {
        reader.seek(offset).map_err(|e| StoreError::io("reading", path, e))?;
        chain = last_chain;
        seq = next_seq;
    }
    loop {
        let frame = match reader.next_frame(&mut payload) {
            Ok(Some(frame)) => frame,
            Ok(None) | Err(FrameFault::Incomplete { .. } | FrameFault::ZeroTail { .. }) => break,
            Err(FrameFault::BadLength { offset, .. }) => {
                return Err(StoreError::Damaged {
                    file: name.to_owned(),
                    offset,
                    reason: "damaged frame; run `audit verify`".to_owned(),
                });
            }
            Err(FrameFault::Io(e)) => return Err(StoreError::io("reading", path, e)),
        };
        let link = segment::link(&chain, &payload).1;
        if link != frame.chain {
            return Err(StoreError::Damaged {
                file: name.to_owned(),
                offset: frame.offset,
                reason: format!("record {seq} does not match its chain hash; run `audit verify`"),
            });
        }
        let record = Record::decode(&payload).map_err(|e| StoreError::Damaged {
            file: name.to_owned(),
            offset: frame.offset,
            reason: e.to_string(),
        })?;
        if query.matches(&record) {
            hits.push(QueryHit {
                seq,
                segment: name.to_owned(),
                record,
                prev_chain: chain,
                chain: link,
            });
        }
        chain = link;
        seq += 1;
    }
    Ok(hits)
}
