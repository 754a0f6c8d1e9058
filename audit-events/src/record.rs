//! The record envelope and the system records the log writes about itself.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::catalogue::{AuditEvent, EventKind};
use crate::error::EventError;
use crate::ids::{AuditId, HashValue, LogId, Timestamp};
use crate::types::{Category, EventOutcome, Severity};

/// One stored record: the envelope and its body.
///
/// Sequence numbers are consecutive from 0 for the life of the log; a restart continues them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// The log this record belongs to.
    pub log_id: LogId,
    /// Position in the log, from 0, never reset.
    pub seq: u64,
    /// When the event was emitted (system records: when written), UTC nanoseconds.
    pub time: Timestamp,
    /// Unique across restarts, processes and services.
    pub audit_id: AuditId,
    /// The service instance that wrote the log.
    pub service_id: String,
    /// An event or a system record.
    pub body: Body,
    /// The correlation fields of the envelope: `Some` for a record of format 2 (what this build
    /// writes, possibly with every field empty), `None` for a record of format 1, written before
    /// the envelope had them. The encoding keeps the difference, so each record still has exactly
    /// one encoding.
    pub context: Option<RecordContext>,
}

/// The envelope's correlation fields (record format 2), each optional.
///
/// A service sets them through the logger, which escapes and bounds the two text fields like
/// every event text field (`request_id` to [`crate::MAX_IDENTIFIER_BYTES`], `user_agent` to
/// [`crate::MAX_TEXT_BYTES`]) and lists them as `envelope.request_id` and `envelope.user_agent`
/// in the record's `escaped` and `truncated` paths.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordContext {
    /// When the event happened, as its producer states it: not checked against any clock and
    /// kept apart from the record's `time` (when the log received it), which alone orders the
    /// log, dates its seals and drives retention.
    pub claimed_time: Option<Timestamp>,
    /// The request or correlation id the event belongs to (`X-Request-Id`, a trace id).
    pub request_id: Option<String>,
    /// The client's user agent, as it presented itself.
    pub user_agent: Option<String>,
}

impl RecordContext {
    /// Whether no field is set.
    pub const fn is_empty(&self) -> bool {
        self.claimed_time.is_none() && self.request_id.is_none() && self.user_agent.is_none()
    }
}

/// What a record carries. Variants are only ever appended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Body {
    /// An event a service emitted.
    Event(EventRecord),
    /// A record the logger or store wrote about the log itself.
    System(SystemRecord),
}

/// An event as stored, with notes on what the logger did to its fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRecord {
    /// The event, text fields already escaped and bounded.
    pub event: AuditEvent,
    /// Paths of the text fields that contained dangerous characters and were escaped
    /// (`unescape_log` restores the original text).
    pub escaped: Vec<String>,
    /// Paths of the fields or lists that were cut to fit their bound.
    pub truncated: Vec<String>,
}

impl EventRecord {
    /// An event with nothing escaped or cut.
    pub const fn new(event: AuditEvent) -> Self {
        Self { event, escaped: Vec::new(), truncated: Vec::new() }
    }
}

/// Why a segment was closed and a new one started.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RotationReason {
    /// The segment reached its size limit.
    Size,
    /// A new UTC day began.
    Day,
    /// The writer was asked to rotate.
    Requested,
}

/// One kind's number of refused events, inside an events-dropped record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KindCount {
    /// The kind.
    pub kind: EventKind,
    /// How many events of it were refused.
    pub count: u64,
}

/// Records the log writes about itself, in the same chain as events, so that restarts, losses,
/// recoveries, seals and purges are evidence too. Variants are only ever appended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum SystemRecord {
    /// The first record of a new log.
    LogCreated {
        /// Name and version of the software that created the log.
        writer_version: String,
    },
    /// A writer reopened an existing log and continues its chain.
    LogResumed {
        /// Name and version of the software that reopened the log.
        writer_version: String,
        /// Whether the previous writer closed the log cleanly (its last record was `log_closed`).
        previous_clean: bool,
    },
    /// Events were refused (queue full, writer unavailable...) since the last such record.
    EventsDropped {
        /// Total refused.
        total: u64,
        /// Time of the first refusal counted here.
        first: Timestamp,
        /// Time of the last refusal counted here.
        last: Timestamp,
        /// Refusals per kind, sorted by kind.
        by_kind: Vec<KindCount>,
    },
    /// On open, an incomplete final frame (a torn write) was discarded.
    CrashRecovery {
        /// The segment file whose tail was torn.
        segment: String,
        /// Offset in that file where the discarded bytes began.
        offset: u64,
        /// How many bytes were discarded.
        bytes_discarded: u64,
    },
    /// A forward-secure seal over the log so far (all records before this one).
    Seal {
        /// The seal-key epoch.
        epoch: u64,
        /// Records covered: sequence numbers `0..tree_size`.
        tree_size: u64,
        /// Merkle root over those records.
        root: HashValue,
        /// Chain hash of record `tree_size - 1`.
        last_chain: HashValue,
        /// Time the seal was made.
        sealed_at: Timestamp,
        /// HMAC-SHA256 with the epoch's key over the fields above.
        mac: HashValue,
    },
    /// A signed checkpoint of the tree was written next to the log.
    CheckpointWritten {
        /// Tree size of the checkpoint.
        tree_size: u64,
        /// Root of the checkpoint.
        root: HashValue,
    },
    /// The segment ends here; the next record starts a new segment file.
    SegmentRotated {
        /// Why.
        reason: RotationReason,
    },
    /// Whole sealed segments were removed under the retention policy.
    RetentionPurge {
        /// First sequence number removed.
        first_seq: u64,
        /// Last sequence number removed.
        last_seq: u64,
        /// Chain hash of record `last_seq`: the chain continues from it.
        end_chain: HashValue,
        /// Merkle root over records `0..=last_seq`: the tree continues from it.
        end_root: HashValue,
        /// Number of segment files removed.
        segments_removed: u64,
        /// The retention period applied, in days.
        retention_days: u32,
        /// Records older than this were eligible.
        cutoff: Timestamp,
    },
    /// The writer closed the log cleanly. The next record, if any, is `log_resumed`.
    LogClosed,
    /// The index file of the current segment, as written next to it, covers the frames before
    /// this record. Written just before `segment_rotated` or `log_closed`, so the seal that
    /// follows authenticates the index's content.
    IndexCommitted {
        /// First sequence number of the segment (the index's first record).
        first_seq: u64,
        /// Records the index covers: sequence numbers `first_seq..first_seq + records`.
        records: u64,
        /// Offset in the segment file just past the last covered frame (where this record's
        /// frame begins).
        end_offset: u64,
        /// SHA-256 of the exact bytes of the index file.
        digest: HashValue,
    },
    /// A legal hold was placed on the log, restated, or lifted: while it holds, nothing may be
    /// removed by retention. A writer restates an active hold as the first record of every new
    /// segment, so the state is known from the last segment alone.
    LegalHold {
        /// Whether the hold is in force from this record on.
        held: bool,
        /// Why (a case or ticket reference), as the operator gave it, escaped and bounded.
        reason: String,
    },
}

/// The kind of a system record, with its dotted name (`system.seal`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum SystemKind {
    /// `system.log_created`
    LogCreated,
    /// `system.log_resumed`
    LogResumed,
    /// `system.events_dropped`
    EventsDropped,
    /// `system.crash_recovery`
    CrashRecovery,
    /// `system.seal`
    Seal,
    /// `system.checkpoint_written`
    CheckpointWritten,
    /// `system.segment_rotated`
    SegmentRotated,
    /// `system.retention_purge`
    RetentionPurge,
    /// `system.log_closed`
    LogClosed,
    /// `system.index_committed`
    IndexCommitted,
    /// `system.legal_hold`
    LegalHold,
}

impl SystemKind {
    /// Every system kind, in encoding order.
    pub const ALL: [SystemKind; 11] = [
        Self::LogCreated,
        Self::LogResumed,
        Self::EventsDropped,
        Self::CrashRecovery,
        Self::Seal,
        Self::CheckpointWritten,
        Self::SegmentRotated,
        Self::RetentionPurge,
        Self::LogClosed,
        Self::IndexCommitted,
        Self::LegalHold,
    ];

    /// The dotted name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::LogCreated => "system.log_created",
            Self::LogResumed => "system.log_resumed",
            Self::EventsDropped => "system.events_dropped",
            Self::CrashRecovery => "system.crash_recovery",
            Self::Seal => "system.seal",
            Self::CheckpointWritten => "system.checkpoint_written",
            Self::SegmentRotated => "system.segment_rotated",
            Self::RetentionPurge => "system.retention_purge",
            Self::LogClosed => "system.log_closed",
            Self::IndexCommitted => "system.index_committed",
            Self::LegalHold => "system.legal_hold",
        }
    }

    /// Losses and recoveries are high; purges medium; the rest low.
    pub const fn severity(self) -> Severity {
        match self {
            Self::EventsDropped | Self::CrashRecovery => Severity::High,
            Self::RetentionPurge => Severity::Medium,
            _ => Severity::Low,
        }
    }

    /// The `snake_case` key serde uses for the record's fields.
    pub(crate) fn variant_key(self) -> &'static str {
        self.as_str().trim_start_matches("system.")
    }
}

impl SystemRecord {
    /// This record's kind.
    pub const fn kind(&self) -> SystemKind {
        match self {
            Self::LogCreated { .. } => SystemKind::LogCreated,
            Self::LogResumed { .. } => SystemKind::LogResumed,
            Self::EventsDropped { .. } => SystemKind::EventsDropped,
            Self::CrashRecovery { .. } => SystemKind::CrashRecovery,
            Self::Seal { .. } => SystemKind::Seal,
            Self::CheckpointWritten { .. } => SystemKind::CheckpointWritten,
            Self::SegmentRotated { .. } => SystemKind::SegmentRotated,
            Self::RetentionPurge { .. } => SystemKind::RetentionPurge,
            Self::LogClosed => SystemKind::LogClosed,
            Self::IndexCommitted { .. } => SystemKind::IndexCommitted,
            Self::LegalHold { .. } => SystemKind::LegalHold,
        }
    }
}

/// The kind of any record: an event kind or a system kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RecordKind {
    /// An event.
    Event(EventKind),
    /// A system record.
    System(SystemKind),
}

impl RecordKind {
    /// The dotted name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Event(k) => k.as_str(),
            Self::System(k) => k.as_str(),
        }
    }

    /// The category (`system` for system records).
    pub const fn category(self) -> Category {
        match self {
            Self::Event(k) => k.category(),
            Self::System(_) => Category::System,
        }
    }
}

impl fmt::Display for RecordKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RecordKind {
    type Err = EventError;
    fn from_str(s: &str) -> Result<Self, EventError> {
        if let Some(kind) = EventKind::from_name(s) {
            return Ok(Self::Event(kind));
        }
        SystemKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .map(Self::System)
            .ok_or(EventError::UnknownKind)
    }
}

impl Record {
    /// The record's kind.
    pub const fn kind(&self) -> RecordKind {
        match &self.body {
            Body::Event(e) => RecordKind::Event(e.event.kind()),
            Body::System(s) => RecordKind::System(s.kind()),
        }
    }

    /// The record's severity.
    pub const fn severity(&self) -> Severity {
        match &self.body {
            Body::Event(e) => e.event.severity(),
            Body::System(s) => s.kind().severity(),
        }
    }

    /// The event, if this is an event record.
    pub const fn event(&self) -> Option<&AuditEvent> {
        match &self.body {
            Body::Event(e) => Some(&e.event),
            Body::System(_) => None,
        }
    }

    /// The record format this record is encoded in: 2 with the correlation fields, 1 without.
    pub const fn format(&self) -> u8 {
        if self.context.is_some() { crate::codec::RECORD_FORMAT_VERSION } else { 1 }
    }

    /// The event's uniform outcome (see [`AuditEvent::outcome`]); `None` for system records
    /// and for event kinds where an outcome has no meaning.
    pub fn outcome(&self) -> Option<EventOutcome> {
        self.event().and_then(AuditEvent::outcome)
    }

    /// The time the producer claims the event happened, if it stated one.
    pub fn claimed_time(&self) -> Option<Timestamp> {
        self.context.as_ref().and_then(|c| c.claimed_time)
    }

    /// The request or correlation id, if set.
    pub fn request_id(&self) -> Option<&str> {
        self.context.as_ref().and_then(|c| c.request_id.as_deref())
    }

    /// The user agent, if set.
    pub fn user_agent(&self) -> Option<&str> {
        self.context.as_ref().and_then(|c| c.user_agent.as_deref())
    }
}

/// A record body with its time and audit id, before the writer gives it a sequence number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// When the event was emitted.
    pub time: Timestamp,
    /// Its audit id.
    pub audit_id: AuditId,
    /// The body.
    pub body: Body,
    /// The envelope's correlation fields (empty for most records).
    pub context: RecordContext,
}

impl Entry {
    /// An entry with no correlation fields.
    pub fn new(time: Timestamp, audit_id: AuditId, body: Body) -> Self {
        Self { time, audit_id, body, context: RecordContext::default() }
    }

    /// The stored record this entry becomes at `seq` in log `log_id` of `service_id` (always
    /// of the current record format).
    pub fn into_record(self, log_id: LogId, seq: u64, service_id: String) -> Record {
        Record {
            log_id,
            seq,
            time: self.time,
            audit_id: self.audit_id,
            service_id,
            body: self.body,
            context: Some(self.context),
        }
    }
}

// Kinds inside records (drop counts) are stored by index and shown by dotted name.
impl Serialize for EventKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.serialize_str(self.as_str())
        } else {
            let index = EventKind::ALL.iter().position(|k| k == self).unwrap_or(0);
            s.serialize_u32(u32::try_from(index).unwrap_or(0))
        }
    }
}

impl<'de> Deserialize<'de> for EventKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
            text.parse().map_err(serde::de::Error::custom)
        } else {
            let index = u32::deserialize(d)?;
            usize::try_from(index)
                .ok()
                .and_then(|i| EventKind::ALL.get(i).copied())
                .ok_or_else(|| serde::de::Error::custom("unknown event kind index"))
        }
    }
}
