//! Reopening a log: find where it ends, tell a torn final write from damage, and refuse what
//! recovery must never do.
//!
//! What a crash can leave (FORMAT.md, "Recovery"): the last write of frames partly on the medium,
//! possibly with zero-filled blocks where data never arrived; a new segment whose header is
//! incomplete; a seal-key file one step behind the seals that are durable. Everything else is
//! damage or tampering, and the writer refuses to open rather than repair it:
//!
//! - A torn write is accepted only at the end of the last segment, only as large as one write
//!   can be ([`MAX_TORN_BYTES`]), and only where the first frame that fails its check ends in the
//!   file or overlaps a zero-filled sector: a complete frame that fails its check for any other
//!   reason stops the writer. Nothing complete and chain-valid is ever discarded.
//! - The log is never cut below the size of a signed checkpoint found in the directory.
//! - The seal key on disk never runs ahead of the log's last seal by more than one epoch unless
//!   a clean close explains it (a reopened writer seals right after its `log_resumed`, before
//!   the key file is replaced); otherwise sealed records were removed from the end, and the
//!   writer refuses to seal over the gap.

use std::io::{Read as _, Seek as _, SeekFrom};
use std::path::{Path, PathBuf};

use audit_chain::{CompactTree, Hash, NoteVerifier, open_checkpoint};
use audit_events::{Body, Record, RecordHeader, RecordKind, SystemKind, SystemRecord, Timestamp};

use crate::error::StoreError;
use crate::index::SegmentIndex;
use crate::io::{Io, open_read};
use crate::layout::{self, CHECKPOINT_FILE, META_FILE};
use crate::meta::LogMeta;
use crate::resume::{Carried, ResumeNote, SealFacts};
use crate::segment::{ChainedFrames, FrameReader, OpenFault, WalkStop};

/// The largest single write the writer makes: a batch larger than this is written and synced in
/// pieces, so a torn write never spans more.
pub(crate) const MAX_COMMIT_BYTES: usize = 4 << 20;

/// The most a torn write can leave behind: a frame begun in the previous write (at most a
/// maximal frame) and one whole write.
pub(crate) const MAX_TORN_BYTES: u64 = MAX_COMMIT_BYTES as u64 + 2 * (64 * 1024 + 36);

/// The unit in which a crash may leave zero-filled space: a disk sector (file system blocks are
/// multiples of it).
const BLOCK: u64 = 512;

/// The largest possible segment header (64 frontier hashes).
const MAX_HEADER_BYTES: u64 = 77 + 64 * 32 + 32;

/// The last segment as reopening found it.
pub(crate) struct TailSegment {
    pub(crate) name: String,
    pub(crate) first_seq: u64,
    /// The index of the frames read: all of the segment's, or those after the resume note's
    /// offset (then `prefix` yields the index of the frames before it).
    pub(crate) index: SegmentIndex,
    pub(crate) created: Timestamp,
    /// End of the last good frame.
    pub(crate) end: u64,
    /// The state over the segment's records.
    pub(crate) carried: Carried,
    /// The check of the records before the resume note's offset, when recovery started there.
    pub(crate) prefix: Option<PrefixCheck>,
}

/// What reopening found at the end of the log.
pub(crate) struct Tail {
    /// The last segment; `None` if it must be created anew.
    pub(crate) segment: Option<TailSegment>,
    pub(crate) next_seq: u64,
    pub(crate) chain: Hash,
    pub(crate) tree: CompactTree,
    pub(crate) unsealed: u64,
    pub(crate) previous_clean: bool,
    pub(crate) last_time: Timestamp,
    /// The crash-recovery record to write, if a torn tail was discarded.
    pub(crate) torn: Option<SystemRecord>,
    /// The legal hold in force at the end of the log, with its reason.
    pub(crate) legal_hold: Option<String>,
    /// When recovery started from a resume note: the tree at the note's size and the leaf
    /// hashes of the records after it (the tiles pick up from there).
    pub(crate) since_note: Option<(CompactTree, Vec<Hash>)>,
    /// The least seal-key epoch the writer must hold: the key file may be behind the seals that
    /// are durable, or behind the records left unsealed (a crash between the two writes).
    pub(crate) key_floor: u64,
}

struct Scan {
    header_created: Timestamp,
    next_seq: u64,
    chain: Hash,
    tree: CompactTree,
    /// The state from the segment's header (or from a resume note) to the last good frame.
    carried: Carried,
    /// The index of the frames read (from the resume note's frame on, when it starts there).
    index: SegmentIndex,
    /// End of the last good frame.
    end: u64,
    /// Where the good frames stop before the end of the file, and why.
    stop: Option<Stop>,
    /// Records in the segment.
    records: u64,
    /// The leaf hashes of the records read, when the scan started from a resume note.
    leaves: Vec<Hash>,
}

enum Stop {
    /// The file ends inside a frame, or only zeros follow.
    Torn,
    /// A complete frame fails a check: at `offset`, extending to `frame_end`.
    Bad { frame_end: u64, reason: String },
}

enum ScanError {
    Header(String),
    Store(StoreError),
}

fn damaged(file: &str, offset: u64, reason: String) -> StoreError {
    StoreError::Damaged { file: file.to_owned(), offset, reason }
}

/// Scans the end of the log in `dir` and decides what reopening may do. Nothing is changed on
/// disk until every check passed; then a torn tail is cut off (or a torn new segment removed).
pub(crate) fn recover_tail(
    io: &dyn Io,
    dir: &Path,
    meta: &LogMeta,
    key_epoch: u64,
) -> Result<Tail, StoreError> {
    let segments = layout::list_segments(dir)?;
    let Some((last_seq, last_path)) = segments.last().cloned() else {
        return Err(damaged(META_FILE, 0, "the log has no segment files".to_owned()));
    };
    let last_name = layout::segment_name(last_seq);
    let previous = segments.iter().rev().nth(1).cloned();
    // The segment before the last, which must be complete; `None` if there is none.
    let scan_previous = || -> Result<Option<Scan>, StoreError> {
        let Some((prev_seq, prev_path)) = &previous else { return Ok(None) };
        let prev_name = layout::segment_name(*prev_seq);
        let scan = scan_segment(prev_path, *prev_seq, meta, None, None).map_err(|e| match e {
            ScanError::Header(reason) => damaged(&prev_name, 0, reason),
            ScanError::Store(e) => e,
        })?;
        if scan.stop.is_some() {
            return Err(damaged(
                &prev_name,
                scan.end,
                "a segment before the last one is incomplete or damaged".to_owned(),
            ));
        }
        Ok(Some(scan))
    };
    // Start from the resume note's offset if the note may be used; otherwise from the header.
    let note = usable_note(dir, meta, last_seq, &last_path)
        .inspect_err(|reason| {
            tracing::debug!(
                reason = reason.as_str(),
                "audit log recovery reads the whole last segment: its resume note is not used"
            );
        })
        .ok();
    match scan_segment(&last_path, last_seq, meta, note.as_ref(), None) {
        Ok(mut scan) => {
            let file_len = file_len(&last_path)?;
            let torn_bytes = match scan.stop.take() {
                None => None,
                Some(Stop::Torn) if file_len - scan.end <= MAX_TORN_BYTES => {
                    Some(file_len - scan.end)
                }
                Some(Stop::Torn) => {
                    return Err(damaged(
                        &last_name,
                        scan.end,
                        format!(
                            "{} bytes after the last complete record: more than one write can \
                             leave behind, so not a torn write",
                            file_len - scan.end
                        ),
                    ));
                }
                Some(Stop::Bad { frame_end, reason }) => {
                    if looks_torn(&last_path, scan.end, frame_end, file_len)? {
                        Some(file_len - scan.end)
                    } else {
                        return Err(damaged(&last_name, scan.end, reason));
                    }
                }
            };
            // A segment that has no seal yet (just rotated): the seal before it ends the previous
            // segment. A segment with no record yet: an active legal hold is restated as a new
            // segment's first record, so the state is the previous segment's.
            let needs_previous = scan.carried.seals.last.is_none() || scan.records == 0;
            let previous_scan = if needs_previous { scan_previous()? } else { None };
            let seals = match &previous_scan {
                Some(p) if scan.carried.seals.last.is_none() => p.carried.seals,
                _ => scan.carried.seals,
            };
            let hold = match (&scan.carried.hold, &previous_scan) {
                (Some(hold), _) => Some(hold.clone()),
                (None, Some(p)) if scan.records == 0 => p.carried.hold.clone(),
                _ => None,
            };
            check_checkpoints(dir, meta, scan.next_seq)?;
            // The records left unsealed must be sealed with a key of their epoch or later: the
            // key file lags behind them if the crash came before it was replaced.
            let unsealed_epoch = scan
                .carried
                .unsealed_newest
                .map_or(0, |t| crate::epoch_of(meta.created_at, meta.epoch_nanos, t));
            let key_floor = check_key(meta, &seals, key_epoch, &last_name)?.max(unsealed_epoch);
            let since_note = note.as_ref().and_then(|note| {
                let tree = CompactTree::from_frontier(note.size, note.frontier.clone()).ok()?;
                Some((tree, std::mem::take(&mut scan.leaves)))
            });
            let path = last_path.clone();
            let torn = match torn_bytes {
                Some(bytes) => {
                    io.truncate(&path, scan.end)
                        .map_err(|e| StoreError::io("truncating", &path, e))?;
                    Some(SystemRecord::CrashRecovery {
                        segment: last_name.clone(),
                        offset: scan.end,
                        bytes_discarded: bytes,
                    })
                }
                None => None,
            };
            Ok(Tail {
                segment: Some(TailSegment {
                    name: last_name,
                    first_seq: last_seq,
                    index: scan.index,
                    created: scan.header_created,
                    end: scan.end,
                    carried: scan.carried.clone(),
                    prefix: note
                        .map(|note| PrefixCheck::spawn(last_path, last_seq, meta.clone(), note)),
                }),
                next_seq: scan.next_seq,
                chain: scan.chain,
                tree: scan.tree,
                unsealed: scan.carried.unsealed,
                previous_clean: scan.carried.last_kind_closed,
                last_time: scan.carried.last_time,
                torn,
                key_floor,
                legal_hold: hold.and_then(|(held, reason)| held.then_some(reason)),
                since_note,
            })
        }
        Err(ScanError::Header(reason)) => {
            // A segment whose header never became durable: the crash came while rotating. Its
            // predecessor ended with a rotation record and a seal; drop the stub and start the
            // segment again from the predecessor's end.
            let len = file_len(&last_path)?;
            if len > MAX_HEADER_BYTES {
                return Err(damaged(&last_name, 0, reason));
            }
            let Some(scan) = scan_previous()? else {
                return Err(damaged(&last_name, 0, reason));
            };
            check_checkpoints(dir, meta, scan.next_seq)?;
            let key_floor = check_key(meta, &scan.carried.seals, key_epoch, &last_name)?;
            io.remove(&last_path).map_err(|e| StoreError::io("removing", &last_path, e))?;
            io.sync_dir(dir).map_err(|e| StoreError::io("syncing", dir, e))?;
            Ok(Tail {
                segment: None,
                next_seq: scan.next_seq,
                chain: scan.chain,
                tree: scan.tree,
                unsealed: scan.carried.unsealed,
                previous_clean: false,
                last_time: scan.carried.last_time,
                torn: Some(SystemRecord::CrashRecovery {
                    segment: last_name,
                    offset: 0,
                    bytes_discarded: len,
                }),
                key_floor,
                legal_hold: scan.carried.hold.and_then(|(held, reason)| held.then_some(reason)),
                since_note: None,
            })
        }
        Err(ScanError::Store(e)) => Err(e),
    }
}

fn file_len(path: &Path) -> Result<u64, StoreError> {
    std::fs::symlink_metadata(path)
        .map(|m| m.len())
        .map_err(|e| StoreError::io("inspecting", path, e))
}

/// The key epoch the writer must hold at least, after checking that the key file does not run
/// ahead of the log (which would mean sealed records were cut off the end).
fn check_key(
    meta: &LogMeta,
    seals: &SealFacts,
    key_epoch: u64,
    segment: &str,
) -> Result<u64, StoreError> {
    let floor = match seals.last {
        // No seal key reaches past MAX_SEAL_EPOCH: such a seal was not made by this log's
        // writer (a seal record needs no key to be appended; its MAC is checked by verify).
        Some((epoch, _)) if epoch > audit_chain::MAX_SEAL_EPOCH => {
            return Err(damaged(
                segment,
                0,
                format!(
                    "the log's last seal names epoch {epoch}, past the last epoch a seal key \
                     reaches: it was not written by this log's writer. Run `audit verify` with \
                     the verifier material"
                ),
            ));
        }
        // A seal made at an epoch boundary is followed by the key evolving past its epoch.
        Some((epoch, sealed_at)) => {
            let next_start = crate::epoch_start(meta.created_at, meta.epoch_nanos, epoch + 1);
            if sealed_at >= next_start { epoch + 1 } else { epoch }
        }
        None => 0,
    };
    // A writer that reopens seals right after its `log_resumed`, in the same commit, before it
    // replaces the key file: only a clean close leaves the key ahead of the last seal.
    let explained = seals.closing_seal && seals.last.is_some_and(|(e, _)| key_epoch <= e + 1);
    if key_epoch > floor && !explained {
        let last = match seals.last {
            Some((epoch, _)) => format!("the log's last seal is of epoch {epoch}"),
            None => "the log has no seal".to_owned(),
        };
        return Err(damaged(
            segment,
            0,
            format!(
                "seal.key is at epoch {key_epoch} but {last}: sealed records were removed from \
                 the end of the log (or seal.key was replaced); refusing to seal over the gap. \
                 Run `audit verify` with the verifier material"
            ),
        ));
    }
    Ok(floor)
}

/// Refuses a log shorter than a signed checkpoint in its directory: recovery must never cut, and
/// a writer must never continue, below what the log has already vouched for.
fn check_checkpoints(dir: &Path, meta: &LogMeta, size: u64) -> Result<(), StoreError> {
    let Ok(verifier) = NoteVerifier::parse(&meta.public_key) else { return Ok(()) };
    let mut files = vec![(CHECKPOINT_FILE.to_owned(), dir.join(CHECKPOINT_FILE))];
    // A kept checkpoint is named by its size: only those named beyond the log can refuse it, so
    // only those are read (one per rotation accumulates over the log's life). A kept checkpoint
    // renamed below its size is no stronger an attack than one deleted, which no check of the
    // directory can notice; verification with the verifier material reads them all.
    for (n, path) in layout::list_kept_checkpoints(dir)? {
        if n > size {
            files.push((layout::kept_checkpoint_name(n), path));
        }
    }
    for (name, path) in files {
        let text = match crate::io::read_capped_text(&path, crate::io::SMALL_FILE_CAP) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(StoreError::io("reading", &path, e)),
        };
        let Ok(checkpoint) = open_checkpoint(&text, &verifier) else { continue };
        if checkpoint.origin == meta.origin && checkpoint.size > size {
            return Err(damaged(
                &name,
                0,
                format!(
                    "this signed checkpoint covers {} records but the log now holds {size}: \
                     records were removed from the end or the log was rolled back; refusing to \
                     open (nothing was changed). Run `audit verify` with the verifier material",
                    checkpoint.size
                ),
            ));
        }
    }
    Ok(())
}

/// Whether the bytes from `offset` to the end of the file can be the remains of one torn write:
/// no larger than one write, and the first failing frame (`offset..frame_end`) overlaps a block
/// of zeros (space the file system allocated before the data arrived).
fn looks_torn(path: &Path, offset: u64, frame_end: u64, file_len: u64) -> Result<bool, StoreError> {
    if file_len.saturating_sub(offset) > MAX_TORN_BYTES {
        return Ok(false);
    }
    let mut file = open_read(path).map_err(|e| StoreError::io("reading", path, e))?;
    let start = offset / BLOCK * BLOCK;
    file.seek(SeekFrom::Start(start)).map_err(|e| StoreError::io("reading", path, e))?;
    let mut tail = Vec::new();
    file.take(file_len - start)
        .read_to_end(&mut tail)
        .map_err(|e| StoreError::io("reading", path, e))?;
    let end = frame_end.min(file_len);
    let mut block = start;
    while block < end {
        let from = usize::try_from(block - start).unwrap_or(usize::MAX);
        let to = usize::try_from((block + BLOCK).min(file_len) - start).unwrap_or(usize::MAX);
        if let Some(bytes) = tail.get(from..to)
            && !bytes.is_empty()
            && bytes.iter().all(|&b| b == 0)
        {
            return Ok(true);
        }
        block += BLOCK;
    }
    Ok(false)
}

fn scan_segment(
    path: &Path,
    claimed_seq: u64,
    meta: &LogMeta,
    from: Option<&ResumeNote>,
    until: Option<u64>,
) -> Result<Scan, ScanError> {
    let name = layout::segment_name(claimed_seq);
    let (header, mut walk) = ChainedFrames::open(path, meta.log_id).map_err(|e| match e {
        OpenFault::Io(e) => ScanError::Store(StoreError::io("reading", path, e)),
        OpenFault::Header(reason) => ScanError::Header(reason),
    })?;
    if header.log_id != meta.log_id || header.first_seq != claimed_seq {
        return Err(ScanError::Store(damaged(
            &name,
            0,
            format!("header of {name} does not belong here"),
        )));
    }
    let bad_tree = |e: audit_chain::ChainError| ScanError::Store(damaged(&name, 0, e.to_string()));
    let (mut tree, mut index, mut carried) = match from {
        None => (
            CompactTree::from_frontier(header.first_seq, header.frontier.clone())
                .map_err(bad_tree)?,
            SegmentIndex::new(header.first_seq, walk.offset(), header.prev_chain),
            Carried::at_header(header.created_at),
        ),
        Some(note) => {
            walk.seek(note.end, note.chain, note.size)
                .map_err(|e| ScanError::Store(StoreError::io("reading", path, e)))?;
            (
                CompactTree::from_frontier(note.size, note.frontier.clone()).map_err(bad_tree)?,
                SegmentIndex::new(note.size, note.end, note.chain),
                note.carried.clone(),
            )
        }
    };
    let mut payload = Vec::new();
    let mut stop = None;
    let mut leaves = Vec::new();
    loop {
        if until.is_some_and(|until| walk.offset() >= until) {
            break;
        }
        let frame = match walk.next(&mut payload) {
            Ok(Some(frame)) => frame,
            Ok(None) => break,
            Err(WalkStop::Torn { .. }) => {
                stop = Some(Stop::Torn);
                break;
            }
            Err(WalkStop::Bad { frame_end, broken, .. }) => {
                stop = Some(Stop::Bad { frame_end, reason: broken.describe(walk.seq()) });
                break;
            }
            Err(WalkStop::Io(e)) => {
                return Err(ScanError::Store(StoreError::io("reading", path, e)));
            }
        };
        let decoded = match frame.kind {
            RecordKind::System(SystemKind::Seal | SystemKind::LegalHold) => {
                Record::decode(&payload).ok()
            }
            _ => None,
        };
        let (seal, hold) = match decoded.as_ref().map(|r| &r.body) {
            Some(Body::System(SystemRecord::Seal { epoch, sealed_at, .. })) => {
                (Some((*epoch, *sealed_at)), None)
            }
            Some(Body::System(SystemRecord::LegalHold { held, reason })) => {
                (None, Some((*held, reason.as_str())))
            }
            _ => (None, None),
        };
        carried.observe(frame.kind, frame.time, seal, hold);
        index.add_encoded(frame.offset, &payload, frame.chain);
        if from.is_some() {
            leaves.push(frame.leaf);
        }
        if let Err(e) = tree.try_push(frame.leaf) {
            stop = Some(Stop::Bad { frame_end: frame.end, reason: e.to_string() });
            break;
        }
    }
    // `end` is where the good frames stop: the start of the frame that failed, if one did.
    let end = index.end_offset;
    let next_seq = walk.seq();
    Ok(Scan {
        header_created: header.created_at,
        next_seq,
        chain: walk.chain(),
        tree,
        carried,
        index,
        end,
        stop,
        records: next_seq - header.first_seq,
        leaves,
    })
}

/// The resume note of the log in `dir`, if it may be used to start recovery of the last
/// segment (`seq`, at `path`) from its offset: signed with the log's key, naming this segment,
/// and describing a frame end that is there (see `resume.rs`). `Err` says why not.
fn usable_note(dir: &Path, meta: &LogMeta, seq: u64, path: &Path) -> Result<ResumeNote, String> {
    let note = ResumeNote::read(dir, meta)?;
    if note.segment != seq {
        return Err(format!("it names segment {}, not the last one", note.segment));
    }
    let (header, mut reader) = FrameReader::open(path).map_err(|e| match e {
        OpenFault::Io(e) => format!("the segment cannot be read: {e}"),
        OpenFault::Header(reason) => reason,
    })?;
    if header.log_id != meta.log_id || header.first_seq != seq {
        return Err("the segment's header does not belong here".to_owned());
    }
    let header_len = reader.offset();
    if note.size == seq {
        let at_header = note.end == header_len
            && note.last_frame.is_none()
            && note.chain == header.prev_chain
            && note.frontier == header.frontier;
        return if at_header { Ok(note) } else { Err("it does not match the header".to_owned()) };
    }
    let Some(offset) = note.last_frame.filter(|&o| o >= header_len && o < note.end) else {
        return Err("it names no frame of the segment".to_owned());
    };
    if note.size < seq {
        return Err("its size is before the segment".to_owned());
    }
    reader.seek(offset).map_err(|e| format!("the segment cannot be read: {e}"))?;
    let mut payload = Vec::new();
    let fits = match reader.next_frame(&mut payload) {
        Ok(Some(frame)) => {
            frame.chain == note.chain
                && reader.offset() == note.end
                && RecordHeader::peek(&payload)
                    .is_ok_and(|h| h.seq == note.size - 1 && h.log_id == meta.log_id)
        }
        _ => false,
    };
    if fits { Ok(note) } else { Err("the frame it names is not there".to_owned()) }
}

/// The records of the last segment before the resume note's offset, read again while the writer
/// runs: the state they give must be exactly the note's. Yields the index of those records.
pub(crate) struct PrefixCheck {
    name: String,
    handle: std::thread::JoinHandle<Result<SegmentIndex, StoreError>>,
}

impl PrefixCheck {
    fn spawn(path: PathBuf, seq: u64, meta: LogMeta, note: ResumeNote) -> Self {
        let name = layout::segment_name(seq);
        let thread_name = name.clone();
        let handle = std::thread::spawn(move || {
            let name = thread_name;
            let scan =
                scan_segment(&path, seq, &meta, None, Some(note.end)).map_err(|e| match e {
                    ScanError::Header(reason) => damaged(&name, 0, reason),
                    ScanError::Store(e) => e,
                })?;
            if let Some(Stop::Bad { reason, .. }) = scan.stop {
                return Err(damaged(&name, scan.end, reason));
            }
            let same = scan.stop.is_none()
                && scan.end == note.end
                && scan.next_seq == note.size
                && scan.chain == note.chain
                && scan.tree.frontier() == note.frontier.as_slice()
                && scan.carried == note.carried;
            if !same {
                return Err(damaged(
                    &name,
                    scan.end,
                    "the records before the resume note's offset do not give the state the \
                     signed note records: the segment was changed after the note was written. \
                     Run `audit verify` with the verifier material"
                        .to_owned(),
                ));
            }
            Ok(scan.index)
        });
        Self { name, handle }
    }

    /// Whether the check has ended.
    pub(crate) fn is_finished(&self) -> bool {
        self.handle.is_finished()
    }

    /// Waits for the check: the index of the records before the note's offset, or what is wrong.
    pub(crate) fn join(self) -> Result<SegmentIndex, StoreError> {
        let name = self.name;
        self.handle.join().unwrap_or_else(|_| {
            Err(damaged(
                &name,
                0,
                "the check of the records before the resume note's offset stopped unexpectedly"
                    .to_owned(),
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use audit_events::{AuditId, Entry, EventKind, EventRecord};

    use super::*;
    use crate::io::OsIo;
    use crate::resume::{RESUME_EVERY, RESUME_FILE};
    use crate::{LogConfig, LogWriter};

    const T0: i64 = 1_800_000_000_000_000_000;
    const SECOND: i64 = 1_000_000_000;

    fn at(seconds: i64) -> Timestamp {
        Timestamp(T0 + seconds * SECOND)
    }

    fn config() -> LogConfig {
        let mut config = LogConfig::new("svc-resume");
        config.seal_epoch = Duration::from_secs(60);
        config.max_segment_bytes = 3 << 20;
        config
    }

    /// `count` events of every kind in turn, numbered from `from`, at `time`.
    fn batch(from: u64, count: u64, time: Timestamp) -> Vec<Entry> {
        (from..from + count)
            .map(|n| {
                let kind = EventKind::ALL[usize::try_from(n).unwrap() % EventKind::ALL.len()];
                let mut id = [0u8; 16];
                id[8..].copy_from_slice(&n.to_be_bytes());
                Entry::new(time, AuditId(id), Body::Event(EventRecord::new(kind.example())))
            })
            .collect()
    }

    /// Appends events until the log has grown by more than one resume interval, so that a note
    /// falls in the middle of a segment.
    fn fill(writer: &mut LogWriter, next: &mut u64, time: Timestamp) {
        let last_len = |w: &LogWriter| -> u64 {
            let segments = layout::list_segments(w.dir()).unwrap();
            segments.iter().map(|(_, path)| std::fs::metadata(path).unwrap().len()).sum()
        };
        let start = last_len(writer);
        while last_len(writer).saturating_sub(start) < RESUME_EVERY + (256 << 10) {
            writer.append_batch(&batch(*next, 400, time), time).unwrap();
            *next += 400;
        }
    }

    /// Recovers the log in `dir` as it is and, in a copy, without its resume note: the two must
    /// find exactly the same end, state and index, and the first must start from the note.
    fn assert_same_recovery(dir: &Path) {
        let copy = tempfile::tempdir().unwrap();
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name();
            if entry.file_type().unwrap().is_file() && name != "lock" && name != RESUME_FILE {
                std::fs::copy(entry.path(), copy.path().join(name)).unwrap();
            }
        }
        let meta = LogMeta::read(dir).unwrap();
        let key_epoch = crate::keys::read_seal_key(dir).unwrap().epoch();
        let (seq, path) = layout::list_segments(dir).unwrap().pop().unwrap();
        let note = usable_note(dir, &meta, seq, &path).unwrap();
        let from_note = recover_tail(&OsIo, dir, &meta, key_epoch).unwrap();
        let full = recover_tail(&OsIo, copy.path(), &meta, key_epoch).unwrap();
        assert_eq!(from_note.next_seq, full.next_seq);
        assert_eq!(from_note.chain, full.chain);
        assert_eq!(from_note.tree, full.tree);
        assert_eq!(from_note.unsealed, full.unsealed);
        assert_eq!(from_note.previous_clean, full.previous_clean);
        assert_eq!(from_note.last_time, full.last_time);
        assert_eq!(from_note.torn, full.torn);
        assert_eq!(from_note.legal_hold, full.legal_hold);
        assert_eq!(from_note.key_floor, full.key_floor);
        let (tail, whole) = (from_note.segment.unwrap(), full.segment.unwrap());
        assert!(whole.prefix.is_none());
        assert_eq!(tail.index.first_seq, note.size, "recovery did not start from the note");
        assert_eq!(
            (&tail.name, tail.first_seq, tail.end),
            (&whole.name, whole.first_seq, whole.end)
        );
        assert_eq!((tail.created, &tail.carried), (whole.created, &whole.carried));
        let mut index = tail.prefix.unwrap().join().unwrap();
        index.append(tail.index);
        assert_eq!(index, whole.index);
    }

    #[test]
    fn recovery_from_the_resume_note_finds_what_a_full_scan_finds() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("log");
        let (mut writer, _material) = LogWriter::create(&dir, config(), at(0)).unwrap();
        let mut next = 0;
        // A crash with records after the note, unsealed.
        fill(&mut writer, &mut next, at(1));
        writer.append_batch(&batch(next, 3, at(2)), at(2)).unwrap();
        next += 3;
        drop(writer);
        assert_same_recovery(&dir);
        // Reopened (sealing and resuming), a hold placed, epochs sealed, a crash again.
        let mut writer = LogWriter::open(&dir, config(), at(3)).unwrap();
        writer.set_legal_hold(true, "case 7", at(4)).unwrap();
        fill(&mut writer, &mut next, at(70));
        writer.append_batch(&batch(next, 5, at(200)), at(200)).unwrap();
        next += 5;
        drop(writer);
        assert_same_recovery(&dir);
        // A torn write at the end.
        let (_, last) = layout::list_segments(&dir).unwrap().pop().unwrap();
        let mut bytes = std::fs::read(&last).unwrap();
        bytes.extend_from_slice(&[0u8; 700]);
        std::fs::write(&last, bytes).unwrap();
        assert_same_recovery(&dir);
        // Reopened across a rotation, the hold lifted, closed cleanly.
        let mut writer = LogWriter::open(&dir, config(), at(300)).unwrap();
        writer.set_legal_hold(false, "case 7 closed", at(301)).unwrap();
        let first = writer.active_first_seq();
        while writer.active_first_seq() == first {
            fill(&mut writer, &mut next, at(302));
        }
        fill(&mut writer, &mut next, at(303));
        writer.close(at(304)).unwrap();
        assert_same_recovery(&dir);
    }
}
