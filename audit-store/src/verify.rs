//! Verification: recompute everything from the stored bytes and compare it with every seal and
//! checkpoint, streaming, in memory independent of the log's size.
//!
//! What is checked, in order, for each segment: the header (checksum, log id, the sequence
//! number its name claims, continuity with the previous segment's chain and Merkle frontier),
//! then each frame: framing, the stored chain hash (a changed, inserted, removed or reordered
//! record breaks the chain at that record unless every later hash was recomputed), the record's
//! sequence number and log id; for seal records, that the tree size, root and last chain hash
//! match the log before the seal, that epochs never go backwards or skip while the writer ran,
//! that the MAC verifies with that epoch's key (derived from the initial key in the verifier
//! material), and that every record is sealed within a few epochs of its time (so a thief of a
//! later key cannot re-seal older records); for checkpoints (signed, in the directory or held
//! elsewhere), that the log at their size has their root. A missing prefix must be covered by a
//! retention purge record that matches it and respects the minimum retention.
//!
//! The first failure stops verification; the report says what and where.

use std::fmt;
use std::path::Path;

use audit_chain::{
    CompactTree, Hash, NoteVerifier, SealInput, SealKey, SealTag, genesis_chain_hash,
    open_checkpoint,
};
use audit_events::{LogId, Record, RecordHeader, RecordKind, SystemRecord, Timestamp};

use crate::error::StoreError;
use crate::index::IndexHeader;
use crate::layout::{self, CHECKPOINT_FILE};
use crate::meta::{LogMeta, VerifierMaterial};
use crate::segment::{self, FrameFault, FrameReader, OpenFault};

/// Default for [`VerifyOptions::seal_slack_epochs`]: ten epochs (ten minutes at the default
/// epoch length).
pub const DEFAULT_SEAL_SLACK_EPOCHS: u64 = 10;

/// Nanoseconds in a day.
const DAY_NANOS: i64 = 86_400 * 1_000_000_000;

/// What to verify against.
#[derive(Debug, Default)]
pub struct VerifyOptions {
    /// The verifier material exported when the log was created: the trust anchor. Without it,
    /// seals are checked for consistency only.
    pub material: Option<VerifierMaterial>,
    /// A checkpoint public key (`name+keyid+base64`) held off the host, if no material is given.
    pub public_key: Option<String>,
    /// Signed checkpoints held elsewhere (copied off the host earlier, or from a witness).
    pub trusted_checkpoints: Vec<String>,
    /// The least retention a purge may claim, in days (default: the material's).
    pub min_retention_days: Option<u32>,
    /// How many epochs after a record's own epoch its seal may come (default
    /// [`DEFAULT_SEAL_SLACK_EPOCHS`]). A writer stalled longer than this between an event's
    /// time and its write makes verification report a coverage problem.
    pub seal_slack_epochs: Option<u64>,
    /// Also decode every event record strictly (slower; seals and system records always are).
    pub deep: bool,
}

/// Why verification failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailureKind {
    /// The metadata or verifier material does not belong to this log.
    Identity,
    /// A segment header is damaged or does not fit where it is.
    Header,
    /// A frame is damaged or a segment ends inside one.
    Framing,
    /// A record does not match its chain hash.
    Chain,
    /// A record carries the wrong sequence number or log id.
    Sequence,
    /// Records are missing (a deleted segment or prefix not covered by a purge record).
    Missing,
    /// A seal does not match the log or does not verify.
    Seal,
    /// Records are not covered by a seal of their time.
    Coverage,
    /// A checkpoint does not verify or the log does not match it.
    Checkpoint,
    /// A retention purge record is not valid.
    Purge,
}

/// The first thing found wrong, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyFailure {
    /// What kind of problem.
    pub kind: FailureKind,
    /// The segment file, when the problem is in one.
    pub segment: Option<String>,
    /// Byte offset in that file.
    pub offset: Option<u64>,
    /// The sequence number where the problem starts.
    pub seq: Option<u64>,
    /// A precise description.
    pub reason: String,
}

impl fmt::Display for VerifyFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(segment) = &self.segment {
            write!(f, "{segment}")?;
            if let Some(offset) = self.offset {
                write!(f, " offset {offset}")?;
            }
            f.write_str(": ")?;
        }
        if let Some(seq) = self.seq {
            write!(f, "seq {seq}: ")?;
        }
        f.write_str(&self.reason)
    }
}

/// The state of one segment after verification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SegmentStatus {
    /// Every check passed.
    Intact,
    /// The first failure is in this segment.
    Failed,
    /// Not checked: an earlier failure stopped verification.
    NotChecked,
}

/// One segment's line of the report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmentReport {
    /// File name.
    pub file: String,
    /// First sequence number (from the name).
    pub first_seq: u64,
    /// Records read from it.
    pub records: u64,
    /// Its status.
    pub status: SegmentStatus,
}

/// How far the log is proven, and by what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proven {
    /// Every record up to and including this sequence number is proven.
    pub through_seq: u64,
    /// When: the seal's time, or the time of that record for a checkpoint.
    pub at: Timestamp,
    /// What proves it.
    pub by: String,
}

/// Everything verification found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VerifyReport {
    /// The log id checked.
    pub log_id: Option<LogId>,
    /// Per segment, in order.
    pub segments: Vec<SegmentReport>,
    /// Records read and chained.
    pub records: u64,
    /// The first sequence number present (above 0 after a retention purge).
    pub first_seq: u64,
    /// The log's size (next sequence number).
    pub next_seq: u64,
    /// The first failure; `None` when the log is intact.
    pub failure: Option<VerifyFailure>,
    /// How far the log is proven by authenticated seals or trusted checkpoints.
    pub proven: Option<Proven>,
    /// Seal records checked.
    pub seals: u64,
    /// Whether seal MACs were verified (verifier material given).
    pub seals_authenticated: bool,
    /// Checkpoint files and trusted checkpoints compared with the log.
    pub checkpoints: u64,
    /// Time of the newest record.
    pub last_record_time: Option<Timestamp>,
    /// A torn final frame (not part of the log): segment, offset, bytes.
    pub torn_tail: Option<(String, u64, u64)>,
    /// Restarts of the writer: sequence number and time of each `log_resumed` record.
    pub resumes: Vec<(u64, Timestamp)>,
    /// Crash recoveries: sequence number and bytes discarded.
    pub recoveries: Vec<(u64, u64)>,
    /// Events refused by the logger, as recorded in `events_dropped` records.
    pub dropped_events: u64,
    /// Records removed by retention, as the purge records say (first, last).
    pub purged: Option<(u64, u64)>,
    /// Things worth knowing that are not failures.
    pub warnings: Vec<String>,
}

impl VerifyReport {
    /// Whether no failure was found.
    pub fn is_intact(&self) -> bool {
        self.failure.is_none()
    }
}

/// Verifies the log in `dir`. I/O problems are errors; anything wrong with the log is in the
/// report.
pub fn verify(dir: &Path, options: &VerifyOptions) -> Result<VerifyReport, StoreError> {
    verify_with_progress(dir, options, &mut |_, _| {})
}

/// [`verify`], calling `progress(bytes_done, bytes_total)` as it reads.
pub fn verify_with_progress(
    dir: &Path,
    options: &VerifyOptions,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<VerifyReport, StoreError> {
    let dir = layout::confine(dir)?;
    layout::require_dir(&dir)?;
    let mut v = Verifier::new(&dir, options)?;
    if v.report.failure.is_none() {
        v.run(&dir, progress)?;
    }
    Ok(v.finish())
}

/// What is wrong with `log.meta`'s description of the log, if anything: its origin must be
/// `audit/<service id>/<log id>`, and with verifier material every field must agree with it
/// (with a public key only, the origin must be the key's name). A difference means the log
/// directory's self-description was edited.
fn identity_mismatch(meta: &LogMeta, options: &VerifyOptions) -> Option<String> {
    let edited = |field: &str, trusted: &str| {
        Some(format!(
            "log.meta's {field} differs from the {trusted}: the log directory's description of \
             itself was edited"
        ))
    };
    if let Some(m) = &options.material {
        if meta.log_id != m.log_id {
            return Some("the verifier material belongs to another log".to_owned());
        }
        let material = "verifier material";
        if meta.origin != m.origin {
            return edited("origin", material);
        }
        if meta.created_at != m.created_at {
            return edited("created-at", material);
        }
        if meta.epoch_nanos != m.epoch_nanos {
            return edited("seal-epoch-ns", material);
        }
        if meta.public_key != m.public_key {
            return edited("public-key", material);
        }
    } else if let Some(key) =
        options.public_key.as_deref().and_then(|k| NoteVerifier::parse(k).ok())
        && meta.origin != key.name()
    {
        return edited("origin", "name of the public key given");
    }
    if meta.origin != format!("audit/{}/{}", meta.service_id, meta.log_id) {
        return Some(
            "log.meta's service-id and log-id do not match its origin: the log directory's \
             description of itself was edited"
                .to_owned(),
        );
    }
    None
}

struct Target {
    size: u64,
    root: Hash,
    source: String,
    trusted: bool,
}

struct Identity {
    log_id: LogId,
    created_at: Timestamp,
    epoch_nanos: i64,
    origin: String,
}

struct Verifier<'a> {
    options: &'a VerifyOptions,
    report: VerifyReport,
    identity: Option<Identity>,
    seal_key: Option<SealKey>,
    slack: u64,
    min_retention_days: Option<u32>,
    targets: Vec<Target>,
    next_target: usize,
    seq: u64,
    chain: Hash,
    tree: CompactTree,
    /// A missing prefix waiting for its purge record: first present seq, chain, root there.
    pending_prefix: Option<(u64, Hash, Hash)>,
    last_seal: Option<(u64, u64, Timestamp)>,
    resumed_since_seal: bool,
    /// Smallest and largest epoch of the records since the last seal.
    unsealed_epochs: Option<(u64, u64, u64)>,
    current_segment: Option<String>,
    /// Time of the record just checked.
    last_time: Timestamp,
}

/// What verification saw of one segment, to compare with its index.
struct SegmentSeen {
    count: usize,
    range: Option<(i64, i64)>,
    end: u64,
    last_chain: Hash,
}

impl<'a> Verifier<'a> {
    fn new(dir: &Path, options: &'a VerifyOptions) -> Result<Self, StoreError> {
        let mut v = Self {
            options,
            report: VerifyReport::default(),
            identity: None,
            seal_key: options.material.as_ref().map(|m| SealKey::from_initial(*m.initial_seal_key)),
            slack: options.seal_slack_epochs.unwrap_or(DEFAULT_SEAL_SLACK_EPOCHS),
            min_retention_days: options
                .min_retention_days
                .or(options.material.as_ref().map(|m| m.min_retention_days)),
            targets: Vec::new(),
            next_target: 0,
            seq: 0,
            chain: [0; 32],
            tree: CompactTree::new(),
            pending_prefix: None,
            last_seal: None,
            resumed_since_seal: false,
            unsealed_epochs: None,
            current_segment: None,
            last_time: Timestamp::default(),
        };
        v.report.seals_authenticated = v.seal_key.is_some();
        v.report.warnings.extend(layout::exposure_warnings(dir));
        let meta = match LogMeta::read(dir) {
            Ok(meta) => Some(meta),
            Err(StoreError::NotALog { .. }) => None,
            Err(StoreError::Malformed { reason, .. }) if options.material.is_none() => {
                v.report.warnings.push(format!("log.meta does not parse ({reason})"));
                None
            }
            Err(StoreError::Malformed { reason, .. }) => {
                v.fail(
                    FailureKind::Identity,
                    None,
                    None,
                    format!("log.meta does not parse ({reason}): it was edited"),
                );
                return Ok(v);
            }
            Err(StoreError::UnsafeFile { reason, .. }) => {
                v.fail(FailureKind::Identity, None, None, format!("log.meta is refused: {reason}"));
                return Ok(v);
            }
            Err(e) => return Err(e),
        };
        if let Some(reason) = meta.as_ref().and_then(|meta| identity_mismatch(meta, options)) {
            v.fail(FailureKind::Identity, None, None, reason);
            return Ok(v);
        }
        v.identity = match (&options.material, &meta) {
            (Some(m), _) => Some(Identity {
                log_id: m.log_id,
                created_at: m.created_at,
                epoch_nanos: m.epoch_nanos,
                origin: m.origin.clone(),
            }),
            (None, Some(meta)) => Some(Identity {
                log_id: meta.log_id,
                created_at: meta.created_at,
                epoch_nanos: meta.epoch_nanos,
                origin: meta.origin.clone(),
            }),
            (None, None) => {
                v.fail(
                    FailureKind::Identity,
                    None,
                    None,
                    "log.meta is missing and no verifier material was given".to_owned(),
                );
                return Ok(v);
            }
        };
        v.report.log_id = v.identity.as_ref().map(|i| i.log_id);
        if v.seal_key.is_none() {
            v.report.warnings.push(
                "no verifier material: seals are checked for consistency only, so a rewrite of \
                 the whole log by someone with write access would not be detected"
                    .to_owned(),
            );
        }
        let verifier = v.note_verifier(meta.as_ref())?;
        v.load_checkpoints(dir, verifier.as_ref())?;
        Ok(v)
    }

    fn note_verifier(
        &mut self,
        meta: Option<&LogMeta>,
    ) -> Result<Option<NoteVerifier>, StoreError> {
        let external = self
            .options
            .material
            .as_ref()
            .map(|m| m.public_key.clone())
            .or(self.options.public_key.clone());
        match external {
            Some(key) => match NoteVerifier::parse(&key) {
                Ok(v) => Ok(Some(v)),
                Err(e) => {
                    self.fail(
                        FailureKind::Identity,
                        None,
                        None,
                        format!("the public key does not parse: {e}"),
                    );
                    Ok(None)
                }
            },
            None => {
                let Some(meta) = meta else { return Ok(None) };
                self.report.warnings.push(
                    "no public key given: checkpoints are checked with the key in log.meta, which \
                     proves consistency but not who signed them"
                        .to_owned(),
                );
                Ok(NoteVerifier::parse(&meta.public_key).ok())
            }
        }
    }

    fn load_checkpoints(
        &mut self,
        dir: &Path,
        verifier: Option<&NoteVerifier>,
    ) -> Result<(), StoreError> {
        let mut notes: Vec<(String, String, bool)> = Vec::new();
        // Checkpoints are evidence: one that is not a regular file, is a symbolic link, or is
        // larger than any checkpoint (FIFO, /dev/zero) is a failure of the log, not an error.
        let mut files = vec![(CHECKPOINT_FILE.to_owned(), dir.join(CHECKPOINT_FILE))];
        for (size, path) in layout::list_kept_checkpoints(dir)? {
            files.push((layout::kept_checkpoint_name(size), path));
        }
        for (name, path) in files {
            match crate::io::read_capped_text(&path, crate::io::SMALL_FILE_CAP) {
                Ok(text) => notes.push((name, text, false)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && name == CHECKPOINT_FILE => {
                    self.report
                        .warnings
                        .push("no latest checkpoint file in the log directory".to_owned());
                }
                Err(e) => match crate::io::unsafe_reason(&e) {
                    Some(reason) => {
                        self.fail(
                            FailureKind::Checkpoint,
                            None,
                            None,
                            format!("{name} is refused: {reason}"),
                        );
                        return Ok(());
                    }
                    None if e.kind() == std::io::ErrorKind::InvalidData => {
                        self.fail(
                            FailureKind::Checkpoint,
                            None,
                            None,
                            format!("{name} does not verify: it is not UTF-8 text"),
                        );
                        return Ok(());
                    }
                    None => return Err(StoreError::io("reading", path, e)),
                },
            }
        }
        for (i, text) in self.options.trusted_checkpoints.iter().enumerate() {
            notes.push((format!("trusted checkpoint {}", i + 1), text.clone(), true));
        }
        let Some(verifier) = verifier else {
            if !notes.is_empty() {
                self.report
                    .warnings
                    .push("checkpoints not checked: no usable public key".to_owned());
            }
            return Ok(());
        };
        let origin = self.identity.as_ref().map(|i| i.origin.clone()).unwrap_or_default();
        for (source, text, trusted) in notes {
            match open_checkpoint(&text, verifier) {
                Ok(cp) if cp.origin == origin => {
                    if let Some(claimed) =
                        source.strip_prefix("checkpoint-").and_then(|s| s.strip_suffix(".note"))
                        && claimed.parse::<u64>().ok() != Some(cp.size)
                    {
                        self.fail(
                            FailureKind::Checkpoint,
                            None,
                            None,
                            format!("{source} holds a checkpoint of another size"),
                        );
                        return Ok(());
                    }
                    self.targets.push(Target { size: cp.size, root: cp.root, source, trusted });
                }
                Ok(_) => {
                    self.fail(
                        FailureKind::Checkpoint,
                        None,
                        None,
                        format!("{source} is a checkpoint of another log"),
                    );
                    return Ok(());
                }
                Err(e) => {
                    self.fail(
                        FailureKind::Checkpoint,
                        None,
                        None,
                        format!("{source} does not verify: {e}"),
                    );
                    return Ok(());
                }
            }
        }
        self.targets.sort_by_key(|t| t.size);
        Ok(())
    }

    fn fail(&mut self, kind: FailureKind, offset: Option<u64>, seq: Option<u64>, reason: String) {
        if self.report.failure.is_none() {
            self.report.failure = Some(VerifyFailure {
                kind,
                segment: self.current_segment.clone(),
                offset,
                seq,
                reason,
            });
        }
    }

    fn failed(&self) -> bool {
        self.report.failure.is_some()
    }

    fn epoch_of(&self, time: Timestamp) -> u64 {
        self.identity.as_ref().map_or(0, |i| crate::epoch_of(i.created_at, i.epoch_nanos, time))
    }

    fn run(&mut self, dir: &Path, progress: &mut dyn FnMut(u64, u64)) -> Result<(), StoreError> {
        let segments = layout::list_segments(dir)?;
        let total: u64 =
            segments.iter().map(|(_, p)| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)).sum();
        let mut done = 0u64;
        for (_, path) in &segments {
            let name =
                path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            self.report.segments.push(SegmentReport {
                file: name,
                first_seq: 0,
                records: 0,
                status: SegmentStatus::NotChecked,
            });
        }
        if segments.is_empty() {
            self.fail(FailureKind::Missing, None, None, "the log has no segment files".to_owned());
            return Ok(());
        }
        let count = segments.len();
        for (i, (claimed, path)) in segments.iter().enumerate() {
            self.report.segments[i].first_seq = *claimed;
            self.current_segment = Some(self.report.segments[i].file.clone());
            let before = self.report.records;
            self.segment(i, *claimed, path, i + 1 == count, &mut done, total, progress)?;
            self.report.segments[i].records = self.report.records - before;
            if self.failed() {
                self.report.segments[i].status = SegmentStatus::Failed;
                return Ok(());
            }
            self.report.segments[i].status = SegmentStatus::Intact;
        }
        // What is wrong at the end of the log (records cut off, unsealed records) is reported
        // against the last segment, where it shows.
        self.end_of_log();
        let named = self.report.failure.as_ref().and_then(|f| f.segment.clone());
        if let Some(segment) =
            self.report.segments.iter_mut().find(|s| Some(&s.file) == named.as_ref())
        {
            segment.status = SegmentStatus::Failed;
        }
        self.current_segment = None;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn segment(
        &mut self,
        index: usize,
        claimed: u64,
        path: &Path,
        is_last: bool,
        done: &mut u64,
        total: u64,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<(), StoreError> {
        let (header, mut reader) = match FrameReader::open(path) {
            Ok(opened) => opened,
            Err(OpenFault::Io(e)) => match crate::io::unsafe_reason(&e) {
                Some(reason) => {
                    let reason = format!("segment file refused: {reason}");
                    self.fail(FailureKind::Header, None, None, reason);
                    return Ok(());
                }
                None => return Err(StoreError::io("reading", path, e)),
            },
            Err(OpenFault::Header(reason)) => {
                self.fail(FailureKind::Header, Some(0), None, reason);
                return Ok(());
            }
        };
        let log_id = self.identity.as_ref().map(|i| i.log_id);
        if Some(header.log_id) != log_id {
            self.fail(
                FailureKind::Header,
                Some(0),
                None,
                "segment belongs to another log".to_owned(),
            );
            return Ok(());
        }
        if header.first_seq != claimed {
            self.fail(
                FailureKind::Header,
                Some(0),
                Some(header.first_seq),
                format!("header says the segment starts at seq {} but its name says {claimed}: segments were renamed or swapped", header.first_seq),
            );
            return Ok(());
        }
        if index == 0 {
            let tree = match CompactTree::from_frontier(header.first_seq, header.frontier.clone()) {
                Ok(tree) => tree,
                Err(e) => {
                    self.fail(FailureKind::Header, Some(0), None, e.to_string());
                    return Ok(());
                }
            };
            if header.first_seq == 0 {
                if header.prev_chain != genesis_chain_hash(&header.log_id.0)
                    || !header.frontier.is_empty()
                {
                    self.fail(
                        FailureKind::Header,
                        Some(0),
                        Some(0),
                        "first segment does not start at the log's genesis".to_owned(),
                    );
                    return Ok(());
                }
            } else {
                self.pending_prefix = Some((header.first_seq, header.prev_chain, tree.root()));
            }
            self.report.first_seq = header.first_seq;
            self.seq = header.first_seq;
            self.chain = header.prev_chain;
            self.tree = tree;
        } else if header.first_seq != self.seq {
            let reason = if header.first_seq > self.seq {
                format!(
                    "records {}..{} are missing: a segment was deleted",
                    self.seq,
                    header.first_seq - 1
                )
            } else {
                format!(
                    "segment starts at seq {} but the previous one ended at {}: a duplicated or reordered segment",
                    header.first_seq,
                    self.seq - 1
                )
            };
            self.fail(FailureKind::Missing, Some(0), Some(self.seq), reason);
            return Ok(());
        } else if header.prev_chain != self.chain || header.frontier != self.tree.frontier() {
            self.fail(
                FailureKind::Chain,
                Some(0),
                Some(self.seq),
                "segment does not continue the previous segment's chain".to_owned(),
            );
            return Ok(());
        }
        let mut payload = Vec::new();
        let mut last_reported = reader.offset();
        let mut seen = SegmentSeen {
            count: 0,
            range: None,
            end: reader.offset(),
            last_chain: header.prev_chain,
        };
        loop {
            let frame = match reader.next_frame(&mut payload) {
                Ok(Some(frame)) => frame,
                Ok(None) => break,
                Err(
                    FrameFault::Incomplete { offset, bytes }
                    | FrameFault::ZeroTail { offset, bytes },
                ) => {
                    if is_last {
                        let name = self.current_segment.clone().unwrap_or_default();
                        self.report.warnings.push(format!(
                            "{name} ends with a torn write of {bytes} bytes at offset {offset} (a crash before the log was reopened); it is not part of the log"
                        ));
                        self.report.torn_tail = Some((name, offset, bytes));
                        break;
                    }
                    self.fail(
                        FailureKind::Framing,
                        Some(offset),
                        Some(self.seq),
                        "segment ends inside a frame".to_owned(),
                    );
                    return Ok(());
                }
                Err(FrameFault::BadLength { offset, len }) => {
                    self.fail(
                        FailureKind::Framing,
                        Some(offset),
                        Some(self.seq),
                        format!("frame length {len} is impossible: the frame was altered"),
                    );
                    return Ok(());
                }
                Err(FrameFault::Io(e)) => return Err(StoreError::io("reading", path, e)),
            };
            let Some(time) = self.frame(frame.offset, frame.chain, &payload) else {
                return Ok(());
            };
            seen.count += 1;
            seen.range = Some(
                seen.range.map_or((time.0, time.0), |(lo, hi)| (lo.min(time.0), hi.max(time.0))),
            );
            seen.end = reader.offset();
            seen.last_chain = frame.chain;
            let now_at = reader.offset();
            *done += now_at - last_reported;
            last_reported = now_at;
            if self.report.records.is_multiple_of(4096) {
                progress(*done, total);
            }
        }
        *done += reader.offset() - last_reported;
        progress(*done, total);
        self.check_index(path, claimed, &seen);
        Ok(())
    }

    /// An index file that covers the whole segment must describe it; a lying index could hide
    /// records from searches, so it is reported (the log itself is not at fault).
    fn check_index(&mut self, segment: &Path, first_seq: u64, seen: &SegmentSeen) {
        let path = segment.with_file_name(layout::index_name(first_seq));
        if !path.exists() {
            return;
        }
        let name = layout::index_name(first_seq);
        match IndexHeader::read(&path) {
            Some(h) if h.first_seq == first_seq && h.count < seen.count => {}
            Some(h)
                if h.first_seq == first_seq
                    && h.count == seen.count
                    && h.time_range == seen.range
                    && h.end_offset == seen.end
                    && h.last_chain == seen.last_chain => {}
            _ => self.report.warnings.push(format!(
                "{name} does not describe its segment: delete it and searches will rebuild it"
            )),
        }
    }

    /// Checks one frame; returns the record's time, or `None` once a failure is recorded.
    fn frame(&mut self, offset: u64, stored_chain: Hash, payload: &[u8]) -> Option<Timestamp> {
        self.check_frame(offset, stored_chain, payload);
        (!self.failed()).then_some(self.last_time)
    }

    fn check_frame(&mut self, offset: u64, stored_chain: Hash, payload: &[u8]) {
        let seq = self.seq;
        let (leaf, chain) = segment::link(&self.chain, payload);
        if chain != stored_chain {
            self.fail(
                FailureKind::Chain,
                Some(offset),
                Some(seq),
                "record does not match its chain hash: it was altered, or a record was inserted, \
                 removed or reordered here"
                    .to_owned(),
            );
            return;
        }
        let header = match RecordHeader::peek(payload) {
            Ok(header) => header,
            Err(e) => {
                self.fail(
                    FailureKind::Framing,
                    Some(offset),
                    Some(seq),
                    format!("record cannot be read: {e}"),
                );
                return;
            }
        };
        if header.seq != seq {
            self.fail(
                FailureKind::Sequence,
                Some(offset),
                Some(seq),
                format!("record carries seq {} at position {seq}", header.seq),
            );
            return;
        }
        if Some(header.log_id) != self.report.log_id {
            self.fail(
                FailureKind::Sequence,
                Some(offset),
                Some(seq),
                "record belongs to another log".to_owned(),
            );
            return;
        }
        self.check_targets(seq, header.time);
        if self.failed() {
            return;
        }
        match header.kind {
            RecordKind::System(_) => match Record::decode(payload) {
                Ok(Record { body: audit_events::Body::System(system), time, .. }) => {
                    self.system(offset, seq, time, &system);
                }
                Ok(_) => self.fail(
                    FailureKind::Framing,
                    Some(offset),
                    Some(seq),
                    "record kind is inconsistent".to_owned(),
                ),
                Err(e) => self.fail(
                    FailureKind::Framing,
                    Some(offset),
                    Some(seq),
                    format!("record cannot be decoded: {e}"),
                ),
            },
            RecordKind::Event(_) => {
                if self.options.deep
                    && let Err(e) = Record::decode(payload)
                {
                    self.fail(
                        FailureKind::Framing,
                        Some(offset),
                        Some(seq),
                        format!("record cannot be decoded: {e}"),
                    );
                }
            }
        }
        if self.failed() {
            return;
        }
        if !matches!(header.kind, RecordKind::System(audit_events::SystemKind::Seal)) {
            let epoch = self.epoch_of(header.time);
            self.unsealed_epochs = Some(match self.unsealed_epochs {
                Some((lo, hi, first)) => (lo.min(epoch), hi.max(epoch), first),
                None => (epoch, epoch, seq),
            });
        }
        if self.tree.try_push(leaf).is_err() {
            self.fail(FailureKind::Framing, Some(offset), Some(seq), "log too large".to_owned());
            return;
        }
        self.chain = chain;
        self.seq += 1;
        self.report.records += 1;
        self.last_time = header.time;
        self.report.last_record_time =
            Some(self.report.last_record_time.map_or(header.time, |t| t.max(header.time)));
    }

    /// Compares the tree (covering records before `seq`) with every checkpoint of that size.
    fn check_targets(&mut self, seq: u64, time: Timestamp) {
        while let Some(target) = self.targets.get(self.next_target) {
            if target.size > seq {
                break;
            }
            if target.size < seq {
                // Only possible for sizes inside a purged prefix.
                self.report.warnings.push(format!(
                    "{} (size {}) covers records removed by retention; not checked",
                    target.source, target.size
                ));
            } else if target.root != self.tree.root() {
                let reason = format!(
                    "the log's first {} records do not match {}: the log was rewritten or forked",
                    target.size, target.source
                );
                self.fail(FailureKind::Checkpoint, None, Some(seq.saturating_sub(1)), reason);
                return;
            } else {
                self.report.checkpoints += 1;
                if target.trusted && seq > 0 {
                    self.prove(seq - 1, time, format!("{} (trusted)", target.source));
                }
            }
            self.next_target += 1;
        }
    }

    fn prove(&mut self, through_seq: u64, at: Timestamp, by: String) {
        if self.report.proven.as_ref().is_none_or(|p| p.through_seq < through_seq) {
            self.report.proven = Some(Proven { through_seq, at, by });
        }
    }

    fn system(&mut self, offset: u64, seq: u64, time: Timestamp, record: &SystemRecord) {
        match record {
            SystemRecord::Seal { epoch, tree_size, root, last_chain, sealed_at, mac } => {
                self.seal(offset, seq, *epoch, *tree_size, root.0, last_chain.0, *sealed_at, mac.0);
            }
            SystemRecord::LogCreated { .. } => {
                if seq != 0 {
                    self.fail(
                        FailureKind::Sequence,
                        Some(offset),
                        Some(seq),
                        "a log_created record in the middle of the log".to_owned(),
                    );
                } else if let Some(m) = &self.options.material
                    && m.created_at != time
                {
                    self.fail(
                        FailureKind::Identity,
                        Some(offset),
                        Some(seq),
                        "the log was created at another time than the verifier material says"
                            .to_owned(),
                    );
                }
            }
            SystemRecord::LogResumed { .. } => {
                self.resumed_since_seal = true;
                self.report.resumes.push((seq, time));
            }
            SystemRecord::CrashRecovery { bytes_discarded, .. } => {
                self.report.recoveries.push((seq, *bytes_discarded));
            }
            SystemRecord::EventsDropped { total, .. } => {
                self.report.dropped_events = self.report.dropped_events.saturating_add(*total);
            }
            SystemRecord::RetentionPurge {
                first_seq,
                last_seq,
                end_chain,
                end_root,
                retention_days,
                cutoff,
                ..
            } => {
                self.purge(
                    offset,
                    seq,
                    time,
                    *first_seq,
                    *last_seq,
                    end_chain.0,
                    end_root.0,
                    *retention_days,
                    *cutoff,
                );
            }
            _ => {}
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn seal(
        &mut self,
        offset: u64,
        seq: u64,
        epoch: u64,
        tree_size: u64,
        root: Hash,
        last_chain: Hash,
        sealed_at: Timestamp,
        mac: Hash,
    ) {
        let since = self.last_seal.map_or(self.report.first_seq, |(s, _, _)| s + 1);
        if tree_size != seq || root != self.tree.root() || last_chain != self.chain {
            self.fail(
                FailureKind::Seal,
                Some(offset),
                Some(since),
                format!("the seal at seq {seq} does not match the records before it: records {since}..{} were altered, inserted or removed", seq.saturating_sub(1)),
            );
            return;
        }
        if let Some((_, last_epoch, last_time)) = self.last_seal {
            if epoch < last_epoch || sealed_at < last_time {
                self.fail(
                    FailureKind::Seal,
                    Some(offset),
                    Some(seq),
                    "seal epochs or times go backwards".to_owned(),
                );
                return;
            }
            if epoch > last_epoch + 1 && !self.resumed_since_seal {
                self.fail(
                    FailureKind::Seal,
                    Some(offset),
                    Some(since),
                    format!("seals of epochs {}..{} are missing although the writer did not restart: records were removed and the log continued", last_epoch + 1, epoch - 1),
                );
                return;
            }
        }
        if let Some(key) = &mut self.seal_key {
            if epoch < key.epoch() {
                self.fail(
                    FailureKind::Seal,
                    Some(offset),
                    Some(seq),
                    "seal epochs go backwards".to_owned(),
                );
                return;
            }
            if epoch > key.epoch() {
                match key.seek(epoch) {
                    Ok(next) => *key = next,
                    Err(e) => {
                        self.fail(
                            FailureKind::Seal,
                            Some(offset),
                            Some(seq),
                            format!("seal epoch {epoch} is invalid: {e}"),
                        );
                        return;
                    }
                }
            }
            let input = SealInput { epoch, tree_size, root, last_chain, time_ns: sealed_at.0 };
            if key.verify(&input, &SealTag(mac)).is_err() {
                self.fail(
                    FailureKind::Seal,
                    Some(offset),
                    Some(since),
                    format!("the seal at seq {seq} (epoch {epoch}) is not valid for that epoch's key: the records it covers were rewritten, or the seal was forged"),
                );
                return;
            }
            if let Some((lo, hi, first)) = self.unsealed_epochs {
                if hi > epoch {
                    self.fail(
                        FailureKind::Coverage,
                        Some(offset),
                        Some(first),
                        format!("records dated after epoch {epoch} are covered by its seal"),
                    );
                    return;
                }
                if epoch > lo + self.slack {
                    self.fail(
                        FailureKind::Coverage,
                        Some(offset),
                        Some(first),
                        format!("records of epoch {lo} are sealed only at epoch {epoch}: their own epochs' seals are missing (rewritten with a later key?)"),
                    );
                    return;
                }
            }
            // The seal authenticates the records before it and, being keyed, itself.
            self.prove(seq, sealed_at, format!("seal at seq {seq} (epoch {epoch})"));
        }
        self.last_seal = Some((seq, epoch, sealed_at));
        self.resumed_since_seal = false;
        self.unsealed_epochs = None;
        self.report.seals += 1;
    }

    #[allow(clippy::too_many_arguments)]
    fn purge(
        &mut self,
        offset: u64,
        seq: u64,
        time: Timestamp,
        first_seq: u64,
        last_seq: u64,
        end_chain: Hash,
        end_root: Hash,
        retention_days: u32,
        cutoff: Timestamp,
    ) {
        if let Some(min) = self.min_retention_days
            && retention_days < min
        {
            self.fail(
                FailureKind::Purge,
                Some(offset),
                Some(seq),
                format!("retention purge used {retention_days} days; at least {min} are required"),
            );
            return;
        }
        let allowed = time.0.saturating_sub(i64::from(retention_days).saturating_mul(DAY_NANOS));
        if cutoff.0 > allowed || last_seq < first_seq {
            self.fail(
                FailureKind::Purge,
                Some(offset),
                Some(seq),
                "retention purge claims more than its retention period allows".to_owned(),
            );
            return;
        }
        match self.pending_prefix {
            Some((present, chain, root)) if last_seq + 1 == present => {
                if chain != end_chain || root != end_root {
                    self.fail(FailureKind::Purge, Some(offset), Some(seq), "retention purge record does not match where the remaining log begins".to_owned());
                    return;
                }
                self.pending_prefix = None;
                self.report.purged = Some((self.report.purged.map_or(first_seq, |(f, _)| f.min(first_seq)), last_seq));
            }
            _ if last_seq < self.report.first_seq => {
                // An earlier purge, superseded by a later one.
                self.report.purged = Some((self.report.purged.map_or(first_seq, |(f, _)| f.min(first_seq)), self.report.purged.map_or(last_seq, |(_, l)| l.max(last_seq))));
            }
            _ => self.report.warnings.push(format!(
                "retention purge record at seq {seq} covers records {first_seq}..{last_seq}, some of which are still present"
            )),
        }
    }

    fn end_of_log(&mut self) {
        self.current_segment = self.report.segments.last().map(|s| s.file.clone());
        let time = self.report.last_record_time.unwrap_or_default();
        self.check_targets(self.seq, time);
        if self.failed() {
            return;
        }
        if let Some(target) = self.targets.get(self.next_target) {
            let reason = format!(
                "the log has {} records but {} covers {}: records were removed from the end, or the log was rolled back",
                self.seq, target.source, target.size
            );
            self.fail(FailureKind::Checkpoint, None, Some(self.seq), reason);
            return;
        }
        if let Some((present, _, _)) = self.pending_prefix {
            self.current_segment = self.report.segments.first().map(|s| s.file.clone());
            self.fail(
                FailureKind::Missing,
                Some(0),
                Some(0),
                format!(
                    "records 0..{} are missing and no retention purge record accounts for them",
                    present - 1
                ),
            );
            return;
        }
        if self.seal_key.is_some()
            && let Some((lo, _, first)) = self.unsealed_epochs
        {
            let end_epoch = self.epoch_of(time);
            if end_epoch > lo + self.slack {
                self.fail(
                    FailureKind::Coverage,
                    None,
                    Some(first),
                    format!("records from seq {first} (epoch {lo}) to the end are not covered by any seal, though the log runs to epoch {end_epoch}"),
                );
                return;
            }
        }
        self.report.next_seq = self.seq;
        if self.report.proven.is_none() {
            self.report
                .warnings
                .push("no authenticated seal or trusted checkpoint covers any record".to_owned());
        } else if let Some(p) = &self.report.proven
            && p.through_seq + 1 < self.seq
        {
            self.report.warnings.push(format!(
                "records {}..{} come after the last seal or trusted checkpoint: they are chained but not yet proven",
                p.through_seq + 1,
                self.seq - 1
            ));
        }
    }

    fn finish(mut self) -> VerifyReport {
        self.report.next_seq = self.seq;
        self.report
    }
}
