//! Streaming reads of a log: every record in order, with its chain hashes, in O(1) memory.
//!
//! The reader checks each frame's chain link as it goes (a damaged log stops the iteration with
//! an error naming the place; `verify` says more). A torn final frame is not an error here: it
//! is not part of the log, and the iteration ends before it.

use std::path::{Path, PathBuf};

use audit_chain::Hash;
use audit_events::{LogId, Record};

use crate::error::StoreError;
use crate::io::open_read;
use crate::layout;
use crate::meta::LogMeta;
use crate::segment::{ChainedFrames, OpenFault, WalkStop};

/// One record as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredRecord {
    /// Its sequence number.
    pub seq: u64,
    /// The segment file it is in.
    pub segment: String,
    /// Offset of its frame in that file.
    pub offset: u64,
    /// The exact stored bytes (the record's canonical encoding).
    pub bytes: Vec<u8>,
    /// The chain hash of the record before it.
    pub prev_chain: Hash,
    /// Its own chain hash.
    pub chain: Hash,
}

impl StoredRecord {
    /// Decodes the record.
    pub fn decode(&self) -> Result<Record, StoreError> {
        Ok(Record::decode(&self.bytes)?)
    }

    /// The Merkle leaf hash of the record.
    pub fn leaf_hash(&self) -> Hash {
        audit_chain::leaf_hash(&self.bytes)
    }
}

/// A read-only view of a log directory. Opening takes no lock: reading while a writer appends
/// is safe, and a frame still being written is simply not returned yet.
#[derive(Debug, Clone)]
pub struct LogReader {
    dir: PathBuf,
    meta: LogMeta,
    segments: Vec<(u64, PathBuf)>,
}

impl LogReader {
    /// Opens a log directory for reading.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let dir = layout::confine(dir)?;
        layout::require_dir(&dir)?;
        let meta = LogMeta::read(&dir)?;
        let segments = layout::list_segments(&dir)?;
        Ok(Self { dir, meta, segments })
    }

    /// The log's metadata.
    pub fn meta(&self) -> &LogMeta {
        &self.meta
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Segment files with the first sequence number each name claims.
    pub fn segments(&self) -> &[(u64, PathBuf)] {
        &self.segments
    }

    /// Re-lists the segment files (a writer may have added some).
    pub fn refresh(&mut self) -> Result<(), StoreError> {
        self.segments = layout::list_segments(&self.dir)?;
        Ok(())
    }

    /// Makes durable everything a reader can already see at or after sequence number `from`:
    /// one `fdatasync` of each segment file that may hold such records. A follower calls it
    /// after reading new records and before showing them, so it never shows a record that a
    /// power loss could still take away (recovery keeps every complete, chain-valid frame that
    /// is on the medium). Syncing through a read-only descriptor flushes the file's pages
    /// whoever wrote them.
    pub fn sync_from(&self, from: u64) -> Result<(), StoreError> {
        let start = self.segments.iter().rposition(|(first, _)| *first <= from).unwrap_or(0);
        for (_, path) in self.segments.get(start..).unwrap_or_default() {
            let file = open_read(path).map_err(|e| StoreError::io("opening", path, e))?;
            file.sync_data().map_err(|e| StoreError::io("syncing", path, e))?;
        }
        Ok(())
    }

    /// Every record from the start of the log (or of what retention left).
    pub fn records(&self) -> Records {
        self.records_from(0)
    }

    /// Records with sequence number `from` and later.
    pub fn records_from(&self, from: u64) -> Records {
        // Skip segments that end before `from`: a segment ends where the next one begins.
        let start = self.segments.iter().rposition(|(first, _)| *first <= from).unwrap_or(0);
        Records {
            segments: self.segments[start..].to_vec(),
            log_id: self.meta.log_id,
            next_segment: 0,
            current: None,
            from,
            failed: false,
            payload: Vec::new(),
        }
    }
}

struct OpenSegment {
    name: String,
    frames: ChainedFrames,
    is_last: bool,
    finished: bool,
}

/// Iterator over stored records; see [`LogReader::records`]. Yields an error and stops at the
/// first damaged place.
pub struct Records {
    segments: Vec<(u64, PathBuf)>,
    log_id: LogId,
    next_segment: usize,
    current: Option<OpenSegment>,
    from: u64,
    failed: bool,
    payload: Vec<u8>,
}

impl Records {
    fn fail(
        &mut self,
        file: &str,
        offset: u64,
        reason: String,
    ) -> Option<Result<StoredRecord, StoreError>> {
        self.failed = true;
        Some(Err(StoreError::Damaged { file: file.to_owned(), offset, reason }))
    }

    fn open_next(&mut self) -> Option<Result<(), StoreError>> {
        let (first, path) = self.segments.get(self.next_segment)?.clone();
        self.next_segment += 1;
        let name = layout::segment_name(first);
        let is_last = self.next_segment == self.segments.len();
        match ChainedFrames::open(&path, self.log_id) {
            Ok((header, frames)) => {
                if header.first_seq != first {
                    return Some(Err(StoreError::Damaged {
                        file: name,
                        offset: 0,
                        reason: "header sequence number differs from the file name".to_owned(),
                    }));
                }
                if let Some(prev) = &self.current
                    && (prev.frames.seq() != header.first_seq
                        || prev.frames.chain() != header.prev_chain)
                {
                    return Some(Err(StoreError::Damaged {
                        file: name,
                        offset: 0,
                        reason: format!(
                            "segment does not continue the previous one (expected seq {})",
                            prev.frames.seq()
                        ),
                    }));
                }
                self.current = Some(OpenSegment { name, frames, is_last, finished: false });
                Some(Ok(()))
            }
            // A header still being written by a rotating writer: not part of the log yet.
            Err(OpenFault::Header(_)) if is_last => None,
            Err(OpenFault::Header(reason)) => {
                Some(Err(StoreError::Damaged { file: name, offset: 0, reason }))
            }
            Err(OpenFault::Io(e)) => Some(Err(StoreError::io("reading", path, e))),
        }
    }
}

impl Iterator for Records {
    type Item = Result<StoredRecord, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        loop {
            let at_end = self.current.as_ref().is_none_or(|c| c.finished);
            if at_end {
                match self.open_next()? {
                    Ok(()) => {}
                    Err(e) => {
                        self.failed = true;
                        return Some(Err(e));
                    }
                }
            }
            let current = self.current.as_mut()?;
            let frame = match current.frames.next(&mut self.payload) {
                Ok(Some(frame)) => frame,
                Ok(None) => {
                    current.finished = true;
                    if current.is_last {
                        return None;
                    }
                    continue;
                }
                Err(WalkStop::Torn { offset, .. }) => {
                    if current.is_last {
                        return None;
                    }
                    let name = current.name.clone();
                    return self.fail(&name, offset, "segment ends inside a frame".to_owned());
                }
                Err(WalkStop::Bad { offset, broken, .. }) => {
                    let (name, seq) = (current.name.clone(), current.frames.seq());
                    return self.fail(&name, offset, broken.describe(seq));
                }
                Err(WalkStop::Io(e)) => {
                    self.failed = true;
                    return Some(Err(StoreError::io("reading", current.name.clone(), e)));
                }
            };
            if frame.seq < self.from {
                continue;
            }
            let (seq, offset, prev_chain, chain) =
                (frame.seq, frame.offset, frame.prev_chain, frame.chain);
            return Some(Ok(StoredRecord {
                seq,
                segment: current.name.clone(),
                offset,
                bytes: self.payload.clone(),
                prev_chain,
                chain,
            }));
        }
    }
}
