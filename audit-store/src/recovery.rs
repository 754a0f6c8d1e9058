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
use std::path::Path;

use audit_chain::{CompactTree, Hash, NoteVerifier, open_checkpoint};
use audit_events::{Body, Record, RecordKind, SystemKind, SystemRecord, Timestamp};

use crate::error::StoreError;
use crate::index::SegmentIndex;
use crate::io::{Io, open_read};
use crate::layout::{self, CHECKPOINT_FILE, META_FILE};
use crate::meta::LogMeta;
use crate::segment::{ChainedFrames, OpenFault, WalkStop};

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

/// What reopening found at the end of the log.
pub(crate) struct Tail {
    /// The last segment's name and what its scan found; `None` if it must be created anew.
    pub(crate) segment: Option<(String, SegmentIndex, Timestamp, u64)>,
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
    /// The least seal-key epoch the writer must hold: the key file may be behind the seals that
    /// are durable, or behind the records left unsealed (a crash between the two writes).
    pub(crate) key_floor: u64,
}

/// What the log's last seal says, as seen from its end.
#[derive(Clone, Copy, Debug, Default)]
struct SealFacts {
    /// Epoch and time of the last seal.
    last: Option<(u64, Timestamp)>,
    /// The last seal is the final seal of a clean close (`log_closed` came just before it) or
    /// the seal a reopened writer makes right after its `log_resumed`: after either, the key
    /// evolves past the seal's epoch.
    closing_seal: bool,
}

struct Scan {
    header_created: Timestamp,
    next_seq: u64,
    chain: Hash,
    tree: CompactTree,
    unsealed: u64,
    /// The newest time of the records since the last seal.
    unsealed_newest: Option<Timestamp>,
    last_time: Timestamp,
    index: SegmentIndex,
    seals: SealFacts,
    /// Last record that is not a seal was `log_closed`.
    last_kind_closed: bool,
    /// End of the last good frame.
    end: u64,
    /// Where the good frames stop before the end of the file, and why.
    stop: Option<Stop>,
    /// The last `legal_hold` record of the segment: held, and the reason.
    hold: Option<(bool, String)>,
    /// Records read.
    records: u64,
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
        let scan = scan_segment(prev_path, *prev_seq, meta).map_err(|e| match e {
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
    match scan_segment(&last_path, last_seq, meta) {
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
            let needs_previous = scan.seals.last.is_none() || scan.records == 0;
            let previous_scan = if needs_previous { scan_previous()? } else { None };
            let seals = match &previous_scan {
                Some(p) if scan.seals.last.is_none() => p.seals,
                _ => scan.seals,
            };
            let hold = match (&scan.hold, &previous_scan) {
                (Some(hold), _) => Some(hold.clone()),
                (None, Some(p)) if scan.records == 0 => p.hold.clone(),
                _ => None,
            };
            check_checkpoints(dir, meta, scan.next_seq)?;
            // The records left unsealed must be sealed with a key of their epoch or later: the
            // key file lags behind them if the crash came before it was replaced.
            let unsealed_epoch = scan
                .unsealed_newest
                .map_or(0, |t| crate::epoch_of(meta.created_at, meta.epoch_nanos, t));
            let key_floor = check_key(meta, &seals, key_epoch, &last_name)?.max(unsealed_epoch);
            let path = last_path;
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
                segment: Some((last_name, scan.index, scan.header_created, scan.end)),
                next_seq: scan.next_seq,
                chain: scan.chain,
                tree: scan.tree,
                unsealed: scan.unsealed,
                previous_clean: scan.last_kind_closed,
                last_time: scan.last_time,
                torn,
                key_floor,
                legal_hold: hold.and_then(|(held, reason)| held.then_some(reason)),
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
            let key_floor = check_key(meta, &scan.seals, key_epoch, &last_name)?;
            io.remove(&last_path).map_err(|e| StoreError::io("removing", &last_path, e))?;
            io.sync_dir(dir).map_err(|e| StoreError::io("syncing", dir, e))?;
            Ok(Tail {
                segment: None,
                next_seq: scan.next_seq,
                chain: scan.chain,
                tree: scan.tree,
                unsealed: scan.unsealed,
                previous_clean: false,
                last_time: scan.last_time,
                torn: Some(SystemRecord::CrashRecovery {
                    segment: last_name,
                    offset: 0,
                    bytes_discarded: len,
                }),
                key_floor,
                legal_hold: scan.hold.and_then(|(held, reason)| held.then_some(reason)),
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
    for (n, path) in layout::list_kept_checkpoints(dir)? {
        files.push((layout::kept_checkpoint_name(n), path));
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

fn scan_segment(path: &Path, claimed_seq: u64, meta: &LogMeta) -> Result<Scan, ScanError> {
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
    let mut tree = CompactTree::from_frontier(header.first_seq, header.frontier.clone())
        .map_err(|e| ScanError::Store(damaged(&name, 0, e.to_string())))?;
    let mut index = SegmentIndex::new(header.first_seq, walk.offset(), header.prev_chain);
    let mut unsealed = 0u64;
    let mut unsealed_newest = None;
    let mut last_kind_closed = false;
    let mut last_kind_resumed = false;
    let mut seals = SealFacts::default();
    let mut last_time = header.created_at;
    let mut payload = Vec::new();
    let mut stop = None;
    let mut hold = None;
    loop {
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
        last_kind_resumed = if frame.kind == RecordKind::System(SystemKind::Seal) {
            last_kind_resumed
        } else {
            frame.kind == RecordKind::System(SystemKind::LogResumed)
        };
        match frame.kind {
            RecordKind::System(SystemKind::Seal) => {
                if let Ok(Record {
                    body: Body::System(SystemRecord::Seal { epoch, sealed_at, .. }),
                    ..
                }) = Record::decode(&payload)
                {
                    seals.last = Some((epoch, sealed_at));
                }
                seals.closing_seal = last_kind_closed || last_kind_resumed;
                last_kind_resumed = false;
                unsealed = 0;
                unsealed_newest = None;
            }
            RecordKind::System(SystemKind::LogClosed) => {
                unsealed += 1;
                last_kind_closed = true;
            }
            RecordKind::System(SystemKind::LegalHold) => {
                if let Ok(Record {
                    body: Body::System(SystemRecord::LegalHold { held, reason }),
                    ..
                }) = Record::decode(&payload)
                {
                    hold = Some((held, reason));
                }
                unsealed += 1;
                last_kind_closed = false;
            }
            _ => {
                unsealed += 1;
                last_kind_closed = false;
            }
        }
        last_time = last_time.max(frame.time);
        if frame.kind != RecordKind::System(SystemKind::Seal) {
            unsealed_newest =
                Some(unsealed_newest.map_or(frame.time, |t: Timestamp| t.max(frame.time)));
        }
        index.add_encoded(frame.offset, &payload, frame.chain);
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
        unsealed,
        unsealed_newest,
        last_time,
        index,
        seals,
        last_kind_closed,
        end,
        stop,
        hold,
        records: next_seq - header.first_seq,
    })
}
