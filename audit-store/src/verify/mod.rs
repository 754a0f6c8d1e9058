//! Verification: recompute everything from the stored bytes and compare it with every seal and
//! checkpoint, streaming, in memory independent of the log's size.
//!
//! What is checked, in order, for each segment: the header (checksum, log id, the sequence
//! number its name claims, continuity with the previous segment's chain and Merkle frontier),
//! then each frame through the one chain walk (`segment::ChainedFrames`: framing, the chain link,
//! the sequence number and log id), then what the records say: checkpoints at their sizes
//! (`anchors.rs`), the order of closes, resumes and seals (`check_order`, `system`), seals and
//! their coverage (`seals.rs`), retention purges and the leaf hashes kept for them (`purge.rs`),
//! and every index file against the index rebuilt from the chain (`index_check.rs`). At the end
//! of the log: checkpoints larger than the log, a missing prefix no purge accounts for, an
//! unsealed tail older than the slack, and `seal.key` ahead of the last seal.
//!
//! The first failure stops verification; the report (`report.rs`) says what and where, and its
//! verdict says exactly what was authenticated.

use std::path::Path;

use audit_chain::{CompactTree, Hash, NoteVerifier, SealKey, genesis_chain_hash};
use audit_events::{LogId, Record, RecordKind, SystemRecord, Timestamp};

use crate::error::StoreError;
use crate::layout;
use crate::meta::{LogMeta, VerifierMaterial};
use crate::segment::{Broken, Chained, FrameReader, OpenFault, WalkStop};

mod anchors;
mod index_check;
mod prefetch;
mod purge;
mod report;
mod seals;

use index_check::IndexCheck;
pub use report::{
    FailureKind, Proven, SegmentReport, SegmentStatus, Verdict, VerifyFailure, VerifyReport,
};

/// Default for [`VerifyOptions::seal_slack_epochs`]: ten epochs (ten minutes at the default
/// epoch length).
pub const DEFAULT_SEAL_SLACK_EPOCHS: u64 = 10;

/// Nanoseconds in a day.
const DAY_NANOS: i64 = 86_400 * 1_000_000_000;

/// What to verify against. Start from [`VerifyOptions::default`] (no trust anchor) or
/// [`VerifyOptions::with_material`] and set fields.
#[derive(Debug, Default, Clone)]
#[non_exhaustive]
pub struct VerifyOptions {
    /// The verifier material exported when the log was created: the trust anchor. Without it,
    /// seals are checked for consistency only.
    pub material: Option<VerifierMaterial>,
    /// A checkpoint public key (`name+keyid+base64`) held off the host, if no material is given.
    pub public_key: Option<String>,
    /// Signed checkpoints held elsewhere (copied off the host earlier, or from a witness).
    pub trusted_checkpoints: Vec<String>,
    /// Witness public keys (C2SP tlog-cosignature v1 vkeys). With any, the checkpoints in
    /// `cosigned-*.note` files that a witness cosigned are trusted checkpoints, and a log
    /// directory holding none is a finding (they were removed, or the log was never shipped).
    pub witness_keys: Vec<String>,
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

impl VerifyOptions {
    /// Verification against the verifier material (the trust anchor), defaults otherwise.
    pub fn with_material(material: VerifierMaterial) -> Self {
        Self { material: Some(material), ..Self::default() }
    }
}

/// How far a record may be dated after the time of verification (clocks of different hosts).
const MAX_CLOCK_SKEW_NANOS: i64 = 3_600 * 1_000_000_000;

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
    /// Since a `log_resumed`, until the first boundary seal after it: the start of the resume's
    /// epoch. No record of that session is dated earlier (the writer stamps records after it
    /// reopened the log).
    resume_floor: Option<Timestamp>,
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
            resume_floor: None,
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
        let jobs = prefetch::jobs(&segments);
        let plan = prefetch::Plan {
            log_id: self.identity.as_ref().map(|i| i.log_id),
            event_payloads: self.options.deep || self.seal_key.is_none(),
        };
        let stopped = std::thread::scope(|scope| -> Result<bool, StoreError> {
            // However this returns, the workers stop at their next chunk, and every receiver
            // is dropped, which stops them within the chunk they walk.
            let _stop = prefetch::StopOnDrop(&jobs);
            prefetch::start(scope, &jobs, plan);
            for (i, (claimed, path)) in segments.iter().enumerate() {
                let Some(rx) = jobs.chunks(i) else { break };
                self.report.segments[i].first_seq = *claimed;
                self.current_segment = Some(self.report.segments[i].file.clone());
                let before = self.report.records;
                let walked = self.segment(
                    i,
                    *claimed,
                    path,
                    i + 1 == count,
                    (&jobs, rx),
                    &mut done,
                    total,
                    progress,
                );
                self.report.segments[i].records = self.report.records - before;
                walked?;
                if self.failed() {
                    self.report.segments[i].status = SegmentStatus::Failed;
                    return Ok(true);
                }
                self.report.segments[i].status = SegmentStatus::Intact;
            }
            Ok(false)
        })?;
        if stopped {
            return Ok(());
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
        chunks: (&prefetch::Jobs, prefetch::Chunks),
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
        let mut last_reported = reader.offset();
        let rebuild = self.seal_key.is_none();
        let mut index = IndexCheck::new(
            path,
            claimed,
            reader.offset(),
            header.prev_chain,
            header.log_id,
            rebuild,
        );
        let mut seen = SegmentSeen { count: 0 };
        // The walk the workers made from the header; the header was just checked to continue
        // the previous segment exactly there.
        let start = (self.chain, self.seq, reader.offset());
        let mut frames = match prefetch::Frames::new(chunks.0, chunks.1, path, header.log_id, start)
        {
            Ok(frames) => frames,
            Err(WalkStop::Io(e)) => return Err(StoreError::io("reading", path, e)),
            Err(_) => {
                return Err(StoreError::io("reading", path, std::io::ErrorKind::Other.into()));
            }
        };
        drop(reader);
        loop {
            let (frame, payload) = match frames.next() {
                Ok(Some(taken)) => taken,
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
            if self.frame(&frame, payload).is_none() {
                return Ok(());
            }
            index.add(frame.offset, frame.chain, payload, self.seq, frame.kind);
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
        if let Some(floor) = self.resume_floor
            && kind != RecordKind::System(SystemKind::Seal)
            && header.time < floor
        {
            self.fail(
                FailureKind::Coverage,
                Some(offset),
                Some(seq),
                "record dated before the log_resumed it follows: a writer stamps records after \
                 it reopened the log"
                    .to_owned(),
            );
            return;
        }
        if let Some(identity) = &self.identity
            && header.time.0 < identity.created_at.0.saturating_sub(MAX_CLOCK_SKEW_NANOS)
        {
            self.fail(
                FailureKind::Coverage,
                Some(offset),
                Some(seq),
                format!(
                    "record dated {}, before the log was created ({}): forged",
                    header.time, identity.created_at
                ),
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
                self.resume_floor = Some(self.epoch_start(self.epoch_of(time)));
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
