//! The canonical binary encoding of records (postcard behind a version byte).
//!
//! Layout: one byte, the record format, then the postcard encoding of [`Record`] fields in
//! declaration order (`log_id`, `seq`, `time`, `audit_id`, `service_id`, `body`) and, from format
//! 2 ([`RECORD_FORMAT_VERSION`]), the [`RecordContext`] (`claimed_time`, `request_id`,
//! `user_agent`). Format 1 records (no context) are still read and re-encode to their own bytes.
//! Integers are
//! varints (signed ones zigzag), strings and lists are length-prefixed, enum variants are varint
//! indexes (so variants are only ever appended), fixed-size byte arrays are raw. No maps and no
//! floats appear in any encoded type.
//!
//! Decoding is strict: unknown version, trailing bytes, and any byte string that is not exactly
//! what encoding the decoded record produces (for example an over-long varint) are rejected, so
//! every record has exactly one encoding.

use serde::{Deserialize, Serialize};

use crate::catalogue::EventKind;
use crate::error::EventError;
use crate::ids::{AuditId, LogId, Timestamp};
use crate::record::{Body, Entry, Record, RecordContext, RecordKind, SystemKind};

/// The record format version written by this build (the first byte of every encoded record).
/// Format 1 (the envelope without [`RecordContext`]) is still read.
pub const RECORD_FORMAT_VERSION: u8 = 2;

/// The first record format, read but no longer written.
const RECORD_FORMAT_V1: u8 = 1;

/// A borrowed view with exactly the field order of [`Record`], so an [`Entry`] can be encoded
/// into a record without cloning its body.
#[derive(Serialize)]
struct RecordView<'a> {
    log_id: &'a LogId,
    seq: u64,
    time: Timestamp,
    audit_id: &'a AuditId,
    service_id: &'a str,
    body: &'a Body,
}

/// A decoded record of either format: the envelope and body, then (format 2) the context.
#[derive(Deserialize)]
struct RecordV1 {
    log_id: LogId,
    seq: u64,
    time: Timestamp,
    audit_id: AuditId,
    service_id: String,
    body: Body,
}

fn encode_view(
    view: &RecordView<'_>,
    context: Option<&RecordContext>,
    out: &mut Vec<u8>,
) -> Result<(), EventError> {
    out.push(if context.is_some() { RECORD_FORMAT_VERSION } else { RECORD_FORMAT_V1 });
    let taken = std::mem::take(out);
    *out = postcard::to_extend(view, taken).map_err(|_| EventError::Encode)?;
    if let Some(context) = context {
        let taken = std::mem::take(out);
        *out = postcard::to_extend(context, taken).map_err(|_| EventError::Encode)?;
    }
    Ok(())
}

impl Record {
    /// The canonical encoding of this record.
    pub fn encode(&self) -> Result<Vec<u8>, EventError> {
        let mut out = Vec::with_capacity(160);
        self.encode_into(&mut out)?;
        Ok(out)
    }

    /// Appends the canonical encoding of this record to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) -> Result<(), EventError> {
        encode_view(
            &RecordView {
                log_id: &self.log_id,
                seq: self.seq,
                time: self.time,
                audit_id: &self.audit_id,
                service_id: &self.service_id,
                body: &self.body,
            },
            self.context.as_ref(),
            out,
        )
    }

    /// Decodes a record strictly (see the module docs), of either format.
    pub fn decode(bytes: &[u8]) -> Result<Record, EventError> {
        let rest = strip_version(bytes)?;
        let malformed = |_| EventError::Malformed { reason: "not a valid record encoding" };
        let (v1, rest): (RecordV1, &[u8]) = postcard::take_from_bytes(rest).map_err(malformed)?;
        let (context, trailing) = if bytes.first() == Some(&RECORD_FORMAT_V1) {
            (None, rest)
        } else {
            let (context, rest): (RecordContext, &[u8]) =
                postcard::take_from_bytes(rest).map_err(malformed)?;
            (Some(context), rest)
        };
        let record = Record {
            log_id: v1.log_id,
            seq: v1.seq,
            time: v1.time,
            audit_id: v1.audit_id,
            service_id: v1.service_id,
            body: v1.body,
            context,
        };
        if !trailing.is_empty() {
            return Err(EventError::TrailingBytes { count: trailing.len() });
        }
        if record.encode()? != bytes {
            return Err(EventError::NonCanonical);
        }
        Ok(record)
    }
}

impl Entry {
    /// Appends the canonical encoding of the record this entry becomes at `seq` to `out`,
    /// byte for byte what [`Record::encode`] gives for [`Entry::into_record`].
    pub fn encode_as_record(
        &self,
        log_id: &LogId,
        seq: u64,
        service_id: &str,
        out: &mut Vec<u8>,
    ) -> Result<(), EventError> {
        encode_view(
            &RecordView {
                log_id,
                seq,
                time: self.time,
                audit_id: &self.audit_id,
                service_id,
                body: &self.body,
            },
            Some(&self.context),
            out,
        )
    }
}

fn strip_version(bytes: &[u8]) -> Result<&[u8], EventError> {
    match bytes.split_first() {
        None => Err(EventError::Malformed { reason: "empty record" }),
        Some((&(RECORD_FORMAT_V1 | RECORD_FORMAT_VERSION), rest)) => Ok(rest),
        Some((&found, _)) => {
            Err(EventError::UnsupportedVersion { found, supported: RECORD_FORMAT_VERSION })
        }
    }
}

/// The envelope fields and kind of an encoded record, read without decoding the body.
///
/// Cheap (no allocation): readers use it to filter by sequence, time and kind before paying for
/// a full decode. It does not validate the body; [`Record::decode`] does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordHeader<'a> {
    /// The log id.
    pub log_id: LogId,
    /// The sequence number.
    pub seq: u64,
    /// The record time.
    pub time: Timestamp,
    /// The audit id.
    pub audit_id: AuditId,
    /// The service id.
    pub service_id: &'a str,
    /// The record kind.
    pub kind: RecordKind,
}

#[derive(Deserialize)]
struct HeaderPrefix<'a> {
    log_id: LogId,
    seq: u64,
    time: Timestamp,
    audit_id: AuditId,
    service_id: &'a str,
    // Variant indexes are varint u32s, the same encoding as a u32 field.
    body_variant: u32,
    inner_variant: u32,
}

impl<'a> RecordHeader<'a> {
    /// Reads the header of an encoded record.
    pub fn peek(bytes: &'a [u8]) -> Result<Self, EventError> {
        let rest = strip_version(bytes)?;
        let (prefix, _): (HeaderPrefix<'a>, _) = postcard::take_from_bytes(rest)
            .map_err(|_| EventError::Malformed { reason: "record header cut short" })?;
        let inner = usize::try_from(prefix.inner_variant).unwrap_or(usize::MAX);
        let kind = match prefix.body_variant {
            0 => EventKind::ALL.get(inner).copied().map(RecordKind::Event),
            1 => SystemKind::ALL.get(inner).copied().map(RecordKind::System),
            _ => None,
        }
        .ok_or(EventError::Malformed { reason: "unknown record kind" })?;
        Ok(Self {
            log_id: prefix.log_id,
            seq: prefix.seq,
            time: prefix.time,
            audit_id: prefix.audit_id,
            service_id: prefix.service_id,
            kind,
        })
    }
}
