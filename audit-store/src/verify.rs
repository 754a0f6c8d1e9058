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
use crate::index::{IndexView, SegmentIndex};
use crate::keys;
use crate::layout::{self, CHECKPOINT_FILE};
use crate::meta::{LogMeta, VerifierMaterial};
use crate::segment::{Broken, Chained, ChainedFrames, FrameReader, OpenFault, WalkStop};

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
    /// The time of verification (default: the system clock). A retention purge dated after it
    /// is a finding: a purge can only claim records that had expired when it was made.
    pub now: Option<Timestamp>,
}

/// How far a record may be dated after the time of verification (clocks of different hosts).
const MAX_CLOCK_SKEW_NANOS: i64 = 3_600 * 1_000_000_000;

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
    /// An index file does not match the index rebuilt from its segment's chain, or an
    /// `index_committed` record does not match it. The records are intact, but a forged index
    /// could hide records from searches.
    Index,
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
    /// Whether checkpoint signatures were checked with a key given by the caller (verifier
    /// material or a public key) rather than the one in `log.meta`. This authenticates nothing
    /// against an intruder who holds the host's signing key.
    pub public_key_given: bool,
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
    /// Checkpoints (found or given) inside the purged range that were checked against the leaf
    /// hashes kept for purged records.
    pub checkpoints_in_purged_range: u64,
    /// The epoch of `seal.key` in the directory, when it was read and derives from the verifier
    /// material.
    pub key_epoch: Option<u64>,
    /// The legal hold at the end of the log, as the last `legal_hold` record says: `Some(true)`
    /// while one is in force, `Some(false)` once lifted, `None` if the log never had one.
    pub legal_hold: Option<bool>,
    /// Things worth knowing that are not failures.
    pub warnings: Vec<String>,
}

/// What verification proved, in one word an auditor can rely on.
///
/// Only [`Verdict::Pass`] says the log is authenticated: everything else that is not
/// [`Verdict::Fail`] means no failure was found but an intruder who can write the log directory
/// (and holds the host's signing key, which lives there) could have produced what was read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// No failure, and every record present is authenticated: seal MACs verified with the
    /// verifier material (or a trusted checkpoint) cover every record up to the last one.
    Pass,
    /// No failure; with the verifier material, records `first_seq..=through_seq` are
    /// authenticated, and the records after them (after the last seal: a writer still running,
    /// or a crash before the next seal) are chained but not proven.
    Partial {
        /// The last authenticated record.
        through_seq: u64,
    },
    /// No failure; without the verifier material, a checkpoint held off the host authenticates
    /// records `first_seq..=through_seq`; seal MACs were not checked, so later records are only
    /// chained.
    Anchored {
        /// The last record the trusted checkpoint covers.
        through_seq: u64,
    },
    /// No failure, but nothing was authenticated: the records are consistent with each other
    /// (and, with a public key, the checkpoints verify), which a rewrite of the whole log with
    /// every hash recomputed also is.
    Chained,
    /// Something is wrong: see [`VerifyReport::failure`].
    Fail,
}

impl Verdict {
    /// The word printed for the verdict: `PASS`, `PARTIAL`, `ANCHORED`, `CHAINED` or `FAIL`.
    pub const fn word(self) -> &'static str {
        match self {
            Self::Pass => "PASS",
            Self::Partial { .. } => "PARTIAL",
            Self::Anchored { .. } => "ANCHORED",
            Self::Chained => "CHAINED",
            Self::Fail => "FAIL",
        }
    }

    /// Whether some records were authenticated (by the verifier material or a checkpoint held
    /// off the host) and no failure was found.
    pub const fn is_authenticated(self) -> bool {
        matches!(self, Self::Pass | Self::Partial { .. } | Self::Anchored { .. })
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

impl VerifyReport {
    /// Whether no failure was found. This is not a verdict: a log rewritten whole by an intruder
    /// is intact in this sense when checked without the verifier material; see
    /// [`VerifyReport::verdict`].
    pub fn is_intact(&self) -> bool {
        self.failure.is_none()
    }

    /// The sequence number of the last record present, if any.
    pub fn last_seq(&self) -> Option<u64> {
        (self.next_seq > self.first_seq).then(|| self.next_seq - 1)
    }

    /// What was proven, in one word.
    pub fn verdict(&self) -> Verdict {
        if self.failure.is_some() {
            return Verdict::Fail;
        }
        let Some(proven) = &self.proven else { return Verdict::Chained };
        let through_seq = proven.through_seq;
        if !self.seals_authenticated {
            return Verdict::Anchored { through_seq };
        }
        if self.last_seq().is_some_and(|last| through_seq >= last) {
            Verdict::Pass
        } else {
            Verdict::Partial { through_seq }
        }
    }

    /// The proven range as text: `records FIRST..N` (FIRST is the first record present, above
    /// 0 after a retention purge), or `None` when nothing is proven.
    pub fn proven_range(&self) -> Option<String> {
        self.proven.as_ref().map(|p| records(self.first_seq, p.through_seq))
    }

    /// The verdict and one sentence saying exactly what was and was not proven, for people.
    pub fn conclusion(&self) -> (Verdict, String) {
        let verdict = self.verdict();
        let last = self.last_seq().unwrap_or(self.first_seq);
        let all = records(self.first_seq, last);
        let tail = |through: u64| {
            if through >= last {
                String::new()
            } else {
                format!(
                    "; {} come after it and are chained but not proven",
                    records(through + 1, last)
                )
            }
        };
        let text = match verdict {
            Verdict::Fail => "the log was altered, or records are missing".to_owned(),
            Verdict::Pass => {
                format!("the log is intact: {all} are authenticated with the verifier material")
            }
            Verdict::Partial { through_seq } => format!(
                "{} are authenticated with the verifier material; {} come after the last seal \
                 (a writer still running, or a crash before the next seal) and are chained but \
                 not proven",
                records(self.first_seq, through_seq),
                records(through_seq + 1, last)
            ),
            Verdict::Anchored { through_seq } => format!(
                "{} match a checkpoint held off the host{}; seal MACs were not checked (no \
                 verifier material), so nothing else was authenticated",
                records(self.first_seq, through_seq),
                tail(through_seq)
            ),
            Verdict::Chained if self.seals_authenticated => format!(
                "no seal covers any record yet: {all} are consistent with each other, but \
                 nothing was authenticated"
            ),
            Verdict::Chained if self.public_key_given => format!(
                "{all} are consistent with each other and the checkpoints verify with the public \
                 key, but nothing was authenticated: the host's signing key lives in the log \
                 directory, so without the verifier material or a checkpoint held off the host, \
                 a rewrite of the whole log cannot be told from the original"
            ),
            Verdict::Chained => format!(
                "{all} are consistent with each other, but nothing was authenticated: without \
                 the verifier material, a rewrite of the whole log cannot be told from the \
                 original"
            ),
        };
        (verdict, text)
    }
}

/// `records A..B`, or `record A` when they are the same.
fn records(first: u64, last: u64) -> String {
    if first == last { format!("record {first}") } else { format!("records {first}..{last}") }
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

/// The log ids the segment headers in `dir` carry, in segment order (unreadable headers are
/// skipped: verification reports them).
fn segment_log_ids(dir: &Path) -> Result<Vec<LogId>, StoreError> {
    let mut ids = Vec::new();
    for (_, path) in layout::list_segments(dir)? {
        if let Ok((header, _)) = FrameReader::open(&path)
            && !ids.contains(&header.log_id)
        {
            ids.push(header.log_id);
        }
    }
    Ok(ids)
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
            // Another log's material, or a relabelled log.meta: decided with the segments.
            return None;
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
    /// The time of verification.
    now: Timestamp,
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
    /// Records other than `crash_recovery` since the last seal.
    unsealed_records: bool,
    /// Since a `log_resumed` not yet followed by a seal: the resume's epoch, and the epoch of
    /// the seal before it.
    resumed: Option<(u64, Option<u64>)>,
    /// A `log_closed` record waits for its final seal.
    closing: bool,
    /// The log was closed at the final seal of this epoch and has not been resumed since.
    closed: Option<u64>,
    /// The last seal was the final seal of a clean close.
    last_seal_closing: bool,
    /// Epoch of the first seal checked (bounds the age of every record before it).
    first_seal_epoch: Option<u64>,
    /// The purge record that accounts for the missing prefix: seq, time, segment.
    prefix_purge: Option<(u64, Timestamp, Option<String>)>,
    /// The seal-key state found in the directory (authenticated against the material).
    dir_key: Option<SealKey>,
    /// Checkpoints whose size lies in the purged prefix: their range in `targets`, the
    /// directory, and the first record present.
    purged_targets: Option<(std::ops::Range<usize>, std::path::PathBuf, u64)>,
    /// The record just before was a `log_resumed` (the next seal is the resume seal).
    after_resume: bool,
    /// Extra epochs of seal slack for the session since the last resume: how far the writer's
    /// key was ahead of the clock when it resumed (after quick clean closes), plus the epoch its
    /// key moves past the resume seal.
    lead: u64,
    /// The sequence number of the `legal_hold` record that placed the hold in force.
    hold: Option<u64>,
    current_segment: Option<String>,
    /// Time of the record just checked.
    last_time: Timestamp,
}

/// The time and kind of a record, as the chain walk read them from its header.
struct FrameFacts {
    time: Timestamp,
    kind: RecordKind,
}

/// What verification saw of one segment, to compare with its index.
struct SegmentSeen {
    count: usize,
}

/// A segment's index file, and the index rebuilt from the chain while its frames are checked.
struct IndexCheck {
    rebuilt: SegmentIndex,
    /// `None`: no index file. `Some(None)`: an index file that cannot be parsed.
    file: Option<Option<IndexView>>,
    /// Whether the file equals the rebuilt index at the count it claims (once reached).
    matched: Option<bool>,
    /// An `index_committed` record in the segment names the file's digest.
    committed: bool,
    /// Warnings about `index_committed` records that do not match the frames before them.
    notes: Vec<String>,
}

impl IndexCheck {
    fn new(segment: &Path, first_seq: u64, header_len: u64, prev_chain: Hash) -> Self {
        let path = segment.with_file_name(layout::index_name(first_seq));
        let file = std::fs::symlink_metadata(&path).is_ok().then(|| IndexView::read(&path));
        Self {
            rebuilt: SegmentIndex::new(first_seq, header_len, prev_chain),
            file,
            matched: None,
            committed: false,
            notes: Vec::new(),
        }
    }

    fn file(&self) -> Option<&IndexView> {
        self.file.as_ref().and_then(Option::as_ref)
    }

    /// Compares the file with the rebuilt index once the rebuilt one covers as many records
    /// as the file claims.
    fn compare_at_end(&mut self) {
        if self.matched.is_none()
            && let Some(view) = self.file()
            && view.len() == self.rebuilt.len()
        {
            self.matched = Some(view.bytes() == self.rebuilt.encode().as_slice());
        }
    }

    /// Takes the next (chain-checked) frame. An `index_committed` record must match the index
    /// rebuilt so far; one that does not (segments merged or split while every record was kept)
    /// is noted, and the index file is judged by the byte comparison alone.
    fn add(&mut self, offset: u64, chain: Hash, payload: &[u8], seq: u64) {
        self.compare_at_end();
        let seq = seq.saturating_sub(1);
        if matches!(
            RecordHeader::peek(payload).map(|h| h.kind),
            Ok(RecordKind::System(audit_events::SystemKind::IndexCommitted))
        ) && let Ok(Record {
            body:
                audit_events::Body::System(SystemRecord::IndexCommitted {
                    first_seq,
                    records,
                    end_offset,
                    digest,
                }),
            ..
        }) = Record::decode(payload)
        {
            let expected: Hash =
                <sha2::Sha256 as sha2::Digest>::digest(self.rebuilt.encode()).into();
            if first_seq != self.rebuilt.first_seq
                || usize::try_from(records).ok() != Some(self.rebuilt.len())
                || end_offset != offset
                || digest.0 != expected
            {
                self.notes.push(format!(
                    "the index_committed record at seq {seq} does not match the frames before it \
                     in its segment (segments were merged, split or rewritten); no index file can \
                     rely on it"
                ));
            } else if self.file().is_some_and(|f| f.digest() == digest.0) {
                self.committed = true;
            }
        }
        self.rebuilt.add_encoded(offset, payload, chain);
    }
}

impl<'a> Verifier<'a> {
    fn new(dir: &Path, options: &'a VerifyOptions) -> Result<Self, StoreError> {
        let mut v = Self {
            options,
            report: VerifyReport::default(),
            identity: None,
            seal_key: options.material.as_ref().map(|m| SealKey::from_initial(*m.initial_seal_key)),
            slack: options.seal_slack_epochs.unwrap_or(DEFAULT_SEAL_SLACK_EPOCHS),
            now: options.now.unwrap_or_else(Timestamp::now),
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
            unsealed_records: false,
            resumed: None,
            closing: false,
            closed: None,
            last_seal_closing: false,
            first_seal_epoch: None,
            prefix_purge: None,
            dir_key: None,
            purged_targets: None,
            after_resume: false,
            lead: 0,
            hold: None,
            current_segment: None,
            last_time: Timestamp::default(),
        };
        v.report.seals_authenticated = v.seal_key.is_some();
        v.report.public_key_given = options.material.is_some() || options.public_key.is_some();
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
            (Some(m), meta) => {
                let meta_id = meta.as_ref().map(|meta| meta.log_id);
                let segment_ids = segment_log_ids(dir)?;
                if meta_id != Some(m.log_id) && !segment_ids.contains(&m.log_id) {
                    // Nothing in the directory names the material's log: the wrong material
                    // was given (or the whole log was replaced): not a finding about this log.
                    if let Some(found) = meta_id.or(segment_ids.first().copied()) {
                        return Err(StoreError::WrongLog { material: m.log_id, found });
                    }
                }
                if let Some(meta_id) = meta_id
                    && meta_id != m.log_id
                {
                    v.fail(
                        FailureKind::Identity,
                        None,
                        None,
                        format!(
                            "log.meta names log {meta_id}, but segments of the log and the \
                             verifier material name log {}: log.meta was altered",
                            m.log_id
                        ),
                    );
                    return Ok(v);
                }
                Some(Identity {
                    log_id: m.log_id,
                    created_at: m.created_at,
                    epoch_nanos: m.epoch_nanos,
                    origin: m.origin.clone(),
                })
            }
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
        v.load_dir_key(dir);
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

    /// Reads `seal.key` and checks that it derives from the verifier material: the key state on
    /// disk is a forward-secure witness of how far the writer got, since nobody can produce the
    /// state of an epoch earlier than one they hold.
    fn load_dir_key(&mut self, dir: &Path) {
        let Some(material) = &self.options.material else { return };
        let found = match keys::read_seal_key(dir) {
            Ok(key) => key,
            Err(StoreError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                // The writer never removes it; without it, records cut off the end at a seal
                // would go unnoticed. (To verify a copy of a log, copy seal.key with it.)
                self.fail(
                    FailureKind::Seal,
                    None,
                    None,
                    "seal.key is missing from the log directory: how far the writer got cannot \
                     be checked, so records cut off the end would go unnoticed (the writer never \
                     removes it; a copy of a log must include it)"
                        .to_owned(),
                );
                return;
            }
            Err(e) => {
                self.fail(
                    FailureKind::Identity,
                    None,
                    None,
                    format!("seal.key cannot be read: {e}"),
                );
                return;
            }
        };
        let derived = SealKey::from_initial(*material.initial_seal_key).seek(found.epoch());
        match derived {
            Ok(derived) if *derived.to_state_bytes() == *found.to_state_bytes() => {
                self.report.key_epoch = Some(found.epoch());
                self.dir_key = Some(found);
            }
            _ => self.fail(
                FailureKind::Identity,
                None,
                None,
                format!(
                    "seal.key (epoch {}) does not derive from the verifier material: it was replaced",
                    found.epoch()
                ),
            ),
        }
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
        let (header, reader) = match FrameReader::open(path) {
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
                // Checkpoints inside the purged range are checked once the purge itself is
                // proven (never before: the range's size is the claim of an unproven header).
                let end = self.targets[self.next_target..]
                    .iter()
                    .position(|t| t.size >= header.first_seq)
                    .map_or(self.targets.len(), |p| self.next_target + p);
                let dir = path.parent().unwrap_or(Path::new(".")).to_owned();
                self.purged_targets = Some((self.next_target..end, dir, header.first_seq));
                self.next_target = end;
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
        let mut index = IndexCheck::new(path, claimed, reader.offset(), header.prev_chain);
        let mut seen = SegmentSeen { count: 0 };
        let log_id = self.identity.as_ref().map_or(header.log_id, |i| i.log_id);
        let mut frames = ChainedFrames::new(reader, self.chain, self.seq, log_id);
        loop {
            let frame = match frames.next(&mut payload) {
                Ok(Some(frame)) => frame,
                Ok(None) => break,
                Err(WalkStop::Torn { offset, bytes }) => {
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
                Err(WalkStop::Bad { offset, broken, .. }) => {
                    let seq = self.seq;
                    let (kind, reason) = match broken {
                        Broken::Length(len) => (
                            FailureKind::Framing,
                            format!("frame length {len} is impossible: the frame was altered"),
                        ),
                        Broken::Chain => (
                            FailureKind::Chain,
                            "record does not match its chain hash: it was altered, or a record \
                             was inserted, removed or reordered here"
                                .to_owned(),
                        ),
                        Broken::Unreadable(e) => {
                            (FailureKind::Framing, format!("record cannot be read: {e}"))
                        }
                        Broken::Sequence(carried) => (
                            FailureKind::Sequence,
                            format!("record carries seq {carried} at position {seq}"),
                        ),
                        Broken::Log => {
                            (FailureKind::Sequence, "record belongs to another log".to_owned())
                        }
                    };
                    self.fail(kind, Some(offset), Some(seq), reason);
                    return Ok(());
                }
                Err(WalkStop::Io(e)) => return Err(StoreError::io("reading", path, e)),
            };
            if self.frame(&frame, &payload).is_none() {
                return Ok(());
            }
            index.add(frame.offset, frame.chain, &payload, self.seq);
            seen.count += 1;
            let now_at = frames.offset();
            *done += now_at - last_reported;
            last_reported = now_at;
            if self.report.records.is_multiple_of(4096) {
                progress(*done, total);
            }
        }
        *done += frames.offset() - last_reported;
        progress(*done, total);
        self.check_index(claimed, &seen, index);
        Ok(())
    }

    /// The segment's index file must be byte for byte the index rebuilt from the chain for the
    /// frames it claims to cover, and be committed to by an `index_committed` record; a lying
    /// index could hide records from searches, so it is reported (the records are intact).
    fn check_index(&mut self, first_seq: u64, seen: &SegmentSeen, mut index: IndexCheck) {
        index.compare_at_end();
        self.report.warnings.append(&mut index.notes);
        let Some(file) = index.file.take() else { return };
        let name = layout::index_name(first_seq);
        let problem = match (&file, index.matched) {
            (None, _) => Some("is damaged".to_owned()),
            (Some(view), _) if view.header.first_seq != first_seq => Some(format!(
                "names segment {} (copied from another segment)",
                view.header.first_seq
            )),
            (Some(view), _) if view.len() > seen.count => Some(format!(
                "claims {} records but the segment's chain has {}",
                view.len(),
                seen.count
            )),
            (Some(_), Some(false) | None) => {
                Some("differs from the index rebuilt from the segment's chain".to_owned())
            }
            (Some(_), Some(true)) => None,
        };
        if let Some(problem) = problem {
            let seq = first_seq.saturating_add(u64::try_from(seen.count).unwrap_or(0));
            self.fail(
                FailureKind::Index,
                None,
                Some(seq.saturating_sub(1)),
                format!(
                    "index file {name} {problem}: the records are intact, but the index could \
                     hide records from searches; delete it (searches then scan the segment)"
                ),
            );
        } else if !index.committed {
            self.report.warnings.push(format!(
                "{name} is not committed to by an index_committed record (written before index \
                 commitments): searches scan the segment instead of using it"
            ));
        }
    }

    /// Checks one frame; returns the record's time, or `None` once a failure is recorded.
    fn frame(&mut self, frame: &Chained, payload: &[u8]) -> Option<Timestamp> {
        self.check_frame(frame, payload);
        (!self.failed()).then_some(self.last_time)
    }

    /// Checks one frame the chain walk passed (framing, chain link, sequence number and log id
    /// are checked there): checkpoints, order, system records, seals, coverage.
    fn check_frame(&mut self, frame: &Chained, payload: &[u8]) {
        let (offset, seq, leaf, chain) = (frame.offset, frame.seq, frame.leaf, frame.chain);
        let header = FrameFacts { time: frame.time, kind: frame.kind };
        self.check_targets(seq, header.time);
        if self.failed() {
            return;
        }
        self.check_order(offset, seq, &header);
        if self.failed() {
            return;
        }
        if header.time.0 > self.now.0.saturating_add(MAX_CLOCK_SKEW_NANOS) {
            self.fail(
                FailureKind::Coverage,
                Some(offset),
                Some(seq),
                format!(
                    "record dated {}, after the time of verification {}: forged, or written by a clock far ahead",
                    header.time, self.now
                ),
            );
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
        if !matches!(
            header.kind,
            RecordKind::System(
                audit_events::SystemKind::Seal | audit_events::SystemKind::LogResumed
            )
        ) {
            self.after_resume = false;
        }
        if !matches!(header.kind, RecordKind::System(audit_events::SystemKind::Seal)) {
            if !matches!(header.kind, RecordKind::System(audit_events::SystemKind::CrashRecovery)) {
                self.unsealed_records = true;
            }
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

    /// Checkpoints of a size inside a purged prefix are checked against the leaf hashes kept for
    /// the purged records: the root they rebuild at each checkpoint's size must be the signed
    /// one (which authenticates them). Without those hashes, a trusted checkpoint there cannot
    /// be checked, and that is a finding: nothing may quietly stop a held checkpoint from being
    /// compared.
    fn check_purged_range(&mut self) {
        let Some((range, dir, present)) = self.purged_targets.take() else { return };
        if let Err(e) = self.check_purged_targets(range, &dir, present) {
            self.fail(
                FailureKind::Checkpoint,
                None,
                None,
                format!("the leaf hashes kept for purged records cannot be read: {e}"),
            );
        }
    }

    fn check_purged_targets(
        &mut self,
        range: std::ops::Range<usize>,
        dir: &Path,
        present: u64,
    ) -> Result<(), StoreError> {
        let Some(upto) = self.targets[range.clone()].iter().map(|t| t.size).max() else {
            return Ok(());
        };
        // Roots of the rebuilt tree at each checkpoint size in the range.
        let mut roots: Vec<(u64, Hash)> = Vec::new();
        let sizes: Vec<u64> = self.targets[range.clone()].iter().map(|t| t.size).collect();
        let mut tree = CompactTree::new();
        let mut wanted = sizes.iter().peekable();
        let complete =
            crate::retention::walk_purged_leaves(dir, present, upto, &mut |seq, leaf| {
                while wanted.next_if(|s| **s == seq).is_some() {
                    roots.push((seq, tree.root()));
                }
                let _ = tree.try_push(*leaf);
            })?;
        if complete {
            while wanted.next_if(|s| **s == upto).is_some() {
                roots.push((upto, tree.root()));
            }
        }
        for i in range {
            let (size, source, trusted, root) = {
                let t = &self.targets[i];
                (t.size, t.source.clone(), t.trusted, t.root)
            };
            match roots.iter().find(|(s, _)| *s == size) {
                Some((_, rebuilt)) if *rebuilt == root => {
                    self.report.checkpoints += 1;
                    self.report.checkpoints_in_purged_range += 1;
                }
                Some(_) => {
                    let reason = format!(
                        "the log's first {size} records (purged; their kept leaf hashes) do not match {source}: the log was rewritten or forked, or the leaf hashes were altered"
                    );
                    self.fail(FailureKind::Checkpoint, None, Some(size.saturating_sub(1)), reason);
                    return Ok(());
                }
                None if trusted => {
                    let reason = format!(
                        "{source} (size {size}) covers records removed by retention, and the leaf hashes kept for them are missing or damaged: it cannot be checked"
                    );
                    self.fail(FailureKind::Checkpoint, None, Some(size), reason);
                    return Ok(());
                }
                None => self.report.warnings.push(format!(
                    "{source} (size {size}) covers records removed by retention; not checked (no leaf hashes kept for them)"
                )),
            }
        }
        Ok(())
    }

    /// What may follow what: nothing but a `log_resumed` after the final seal of a clean close,
    /// nothing between `log_closed` and its seal, and nothing dated before the `log_resumed` it
    /// follows until the next seal (a writer stamps records after it reopened the log).
    fn check_order(&mut self, offset: u64, seq: u64, header: &FrameFacts) {
        use audit_events::SystemKind;
        let kind = header.kind;
        if self.closing && kind != RecordKind::System(SystemKind::Seal) {
            self.fail(
                FailureKind::Sequence,
                Some(offset),
                Some(seq),
                "a record between log_closed and the final seal".to_owned(),
            );
            return;
        }
        if self.closed.is_some() && kind != RecordKind::System(SystemKind::LogResumed) {
            self.fail(
                FailureKind::Sequence,
                Some(offset),
                Some(seq),
                "a record after the log was closed and finally sealed, without a log_resumed: it \
                 was appended by someone other than a writer"
                    .to_owned(),
            );
            return;
        }
        if let Some((resume_epoch, _)) = self.resumed
            && kind != RecordKind::System(SystemKind::Seal)
            && self.epoch_of(header.time) < resume_epoch
        {
            self.fail(
                FailureKind::Coverage,
                Some(offset),
                Some(seq),
                "record dated before the log_resumed it follows: a writer stamps records after \
                 it reopened the log"
                    .to_owned(),
            );
        }
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
                if self.unsealed_records {
                    self.fail(
                        FailureKind::Seal,
                        Some(offset),
                        Some(seq),
                        "records before this log_resumed were never sealed: a writer seals what \
                         the previous one left before it resumes, so records were removed here \
                         or the resume was forged"
                            .to_owned(),
                    );
                    return;
                }
                if let Some((_, _, sealed_at)) = self.last_seal
                    && time < sealed_at
                {
                    self.fail(
                        FailureKind::Sequence,
                        Some(offset),
                        Some(seq),
                        "a log_resumed dated before the seal it follows: a writer resumes at or \
                         after the end of what it found"
                            .to_owned(),
                    );
                    return;
                }
                self.resumed = Some((self.epoch_of(time), self.last_seal.map(|(_, e, _)| e)));
                self.closed = None;
                self.after_resume = true;
                self.resumed_since_seal = true;
                self.report.resumes.push((seq, time));
            }
            SystemRecord::LogClosed => self.closing = true,
            SystemRecord::LegalHold { held, .. } => {
                if !*held {
                    self.hold = None;
                } else if self.hold.is_none() {
                    self.hold = Some(seq);
                }
                self.report.legal_hold = Some(*held);
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
        if let Some((resume_epoch, last_seal)) = self.resumed {
            // The writer's key at a resume is its clock's epoch, or one past the last seal when
            // the key was ahead of the clock (after a clean close or a resume seal).
            let allowed = last_seal.map_or(resume_epoch, |e| resume_epoch.max(e + 1));
            self.lead = epoch.saturating_sub(resume_epoch) + 1;
            if epoch > allowed {
                self.fail(
                    FailureKind::Seal,
                    Some(offset),
                    Some(seq),
                    format!("the first seal after a log_resumed of epoch {resume_epoch} is of epoch {epoch}: a later key sealed records dated before it (a forged resume)"),
                );
                return;
            }
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
                if epoch > lo + self.slack + self.lead {
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
        self.unsealed_records = false;
        self.resumed = None;
        if sealed_at >= self.epoch_start(epoch + 1) {
            // A boundary seal made once the clock reached the end of the key's epoch: the key
            // is no longer ahead of the clock, and records after it lag by the usual slack only.
            self.lead = 0;
        }
        let closing = std::mem::take(&mut self.closing);
        self.last_seal_closing = closing | std::mem::take(&mut self.after_resume);
        if closing {
            self.closed = Some(epoch);
        }
        self.first_seal_epoch.get_or_insert(epoch);
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
        if let Some(placed) = self.hold {
            self.fail(
                FailureKind::Purge,
                Some(offset),
                Some(seq),
                format!("a retention purge during the legal hold placed at seq {placed}: nothing may be removed while a hold is in force"),
            );
            return;
        }
        if time.0 > self.now.0.saturating_add(MAX_CLOCK_SKEW_NANOS) {
            self.fail(
                FailureKind::Purge,
                Some(offset),
                Some(seq),
                format!(
                    "retention purge is dated {}, after the time of verification {}",
                    time, self.now
                ),
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
                self.prefix_purge = Some((seq, time, self.current_segment.clone()));
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
        self.check_prefix_purge();
        if self.failed() {
            return;
        }
        self.check_purged_range();
        if self.failed() {
            return;
        }
        if self.seal_key.is_some()
            && let Some((lo, _, first)) = self.unsealed_epochs
        {
            let end_epoch = self.epoch_of(time);
            if end_epoch > lo + self.slack + self.lead {
                self.fail(
                    FailureKind::Coverage,
                    None,
                    Some(first),
                    format!("records from seq {first} (epoch {lo}) to the end are not covered by any seal, though the log runs to epoch {end_epoch}"),
                );
                return;
            }
        }
        self.check_key_progress();
        if self.failed() {
            return;
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

    /// A missing prefix is accepted only when sealed history proves every removed record older
    /// than the retention period: every removed record is covered by a seal of an epoch no later
    /// than the first seal of what remains, so it is dated before that epoch ends. The purge must
    /// come at least the minimum retention after that (a key stolen later does not help: it
    /// cannot make an earlier epoch's seal, nor date the purge after the time of verification).
    fn check_prefix_purge(&mut self) {
        let Some((seq, time, segment)) = self.prefix_purge.clone() else { return };
        let days = self.min_retention_days.unwrap_or(0);
        let reason = match self.first_seal_epoch {
            None => Some(
                "the retention purge cannot be proven: no seal follows the purged records"
                    .to_owned(),
            ),
            Some(epoch) => {
                let newest_bound = self.epoch_start(epoch.saturating_add(1));
                let expires =
                    newest_bound.0.saturating_add(i64::from(days).saturating_mul(DAY_NANOS));
                (time.0 < expires).then(|| {
                    format!(
                        "the retention purge at {time} removed records that sealed history dates up to {newest_bound} (seal epoch {epoch}): they were younger than the {days}-day retention period"
                    )
                })
            }
        };
        if let Some(reason) = reason {
            self.current_segment = segment;
            self.fail(FailureKind::Purge, None, Some(seq), reason);
        }
    }

    /// With the verifier material, `seal.key` in the directory says how far the writer got: it is
    /// never more than one epoch past the last seal, unless a `log_resumed` after that seal (the
    /// writer moved its key to the time it reopened) or a clean close (the key evolved past the
    /// final epoch) explains it. A key further ahead means sealed records were cut off the end.
    fn check_key_progress(&mut self) {
        let Some(key) = &self.dir_key else { return };
        let key_epoch = key.epoch();
        let floor = match self.last_seal {
            Some((_, epoch, sealed_at)) => {
                if sealed_at >= self.epoch_start(epoch + 1) {
                    epoch + 1
                } else {
                    epoch
                }
            }
            None => 0,
        };
        // A reopened writer seals right after its `log_resumed`, before it replaces the key
        // file: only a clean close leaves the key ahead of the last seal.
        let explained =
            self.last_seal_closing && self.last_seal.is_some_and(|(_, e, _)| key_epoch <= e + 1);
        if key_epoch > floor && !explained {
            let last = match self.last_seal {
                Some((seq, epoch, _)) => format!("the last seal (seq {seq}) is of epoch {epoch}"),
                None => "the log has no seal".to_owned(),
            };
            let reason = format!(
                "seal.key is at epoch {key_epoch} but {last}: the writer sealed further, and those seals and the records they covered were removed from the end"
            );
            self.fail(FailureKind::Seal, None, Some(self.seq), reason);
        } else if let Some(e) = self.closed
            && key_epoch <= e
        {
            self.report.warnings.push(format!(
                "seal.key still holds the key of epoch {key_epoch}, the final epoch: whoever reads the directory can seal that epoch again (written by an older writer?)"
            ));
        }
    }

    fn epoch_start(&self, epoch: u64) -> Timestamp {
        self.identity
            .as_ref()
            .map_or(Timestamp(0), |i| crate::epoch_start(i.created_at, i.epoch_nanos, epoch))
    }

    fn finish(mut self) -> VerifyReport {
        self.report.next_seq = self.seq;
        self.report
    }
}
