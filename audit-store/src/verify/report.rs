//! What verification found: the failure, per-segment lines, how far the log is proven, and the
//! verdict that says exactly what was authenticated.

use std::fmt;

use audit_events::{LogId, Timestamp};

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
#[non_exhaustive]
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
#[non_exhaustive]
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
#[non_exhaustive]
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
#[non_exhaustive]
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
