//! JSON rendering of records for export, and parsing back for tooling.
//!
//! One record is one JSON object:
//!
//! ```json
//! {"format":1,"log_id":"…","seq":7,"time":"2026-11-22T09:24:34.5Z","audit_id":"…",
//!  "service_id":"orchestrator-1","kind":"auth.success","category":"authentication",
//!  "severity":"low","event":{"actor":{…},"method":"bearer_token","path":"/v1/tasks",
//!  "service_id":"orchestrator-1"},"escaped":[],"truncated":[],"prev_hash":"…","hash":"…"}
//! ```
//!
//! `format` is the record's format (1 or 2). An event record of a kind with a uniform outcome
//! carries `"outcome"` (`success`, `failure`, `unknown`; derived from the event, checked when
//! parsed), and a record of format 2 `"claimed_time"`, `"request_id"` and `"user_agent"` when
//! they are set (after `severity`).
//! System records carry `"system": {…}` instead of `event`/`escaped`/`truncated`. Times are
//! RFC 3339 UTC, kinds are dotted names, hashes and ids lowercase hex, digests `alg:hex`.
//! `prev_hash` and `hash` are the record's chain hashes, supplied by the caller (the store knows
//! them; this crate does not hash). JSON strings are always escaped by the serializer, so no
//! control character appears raw in the output.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::catalogue::{AuditEvent, EventKind};
use crate::codec::RECORD_FORMAT_VERSION;
use crate::error::EventError;
use crate::ids::{AuditId, HashValue, LogId, Timestamp};
use crate::record::{Body, EventRecord, Record, RecordContext, RecordKind, SystemRecord};
use crate::types::{Category, EventOutcome, Severity};

#[derive(Serialize)]
struct JsonOut<'a> {
    format: u8,
    log_id: &'a LogId,
    seq: u64,
    time: Timestamp,
    audit_id: &'a AuditId,
    service_id: &'a str,
    kind: &'static str,
    category: Category,
    severity: Severity,
    #[serde(skip_serializing_if = "Option::is_none")]
    outcome: Option<EventOutcome>,
    #[serde(skip_serializing_if = "Option::is_none")]
    claimed_time: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_agent: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    event: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    escaped: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    truncated: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    system: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prev_hash: Option<&'a HashValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hash: Option<&'a HashValue>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonIn {
    format: u8,
    log_id: LogId,
    seq: u64,
    time: Timestamp,
    audit_id: AuditId,
    service_id: String,
    kind: String,
    #[serde(default)]
    category: Option<Category>,
    #[serde(default)]
    severity: Option<Severity>,
    #[serde(default)]
    outcome: Option<EventOutcome>,
    #[serde(default)]
    claimed_time: Option<Timestamp>,
    #[serde(default)]
    request_id: Option<String>,
    #[serde(default)]
    user_agent: Option<String>,
    #[serde(default)]
    event: Option<Value>,
    #[serde(default)]
    escaped: Vec<String>,
    #[serde(default)]
    truncated: Vec<String>,
    #[serde(default)]
    system: Option<Value>,
    #[serde(default)]
    prev_hash: Option<HashValue>,
    #[serde(default)]
    hash: Option<HashValue>,
}

/// Serde writes `{"Variant": {fields}}` (or `"variant"` for a unit variant); keep the fields.
fn unwrap_variant(value: Value) -> Value {
    match value {
        Value::Object(map) if map.len() == 1 => {
            map.into_iter().next().map_or(Value::Null, |(_, inner)| inner)
        }
        Value::String(_) => Value::Object(Map::new()),
        other => other,
    }
}

fn json_error(err: &serde_json::Error) -> EventError {
    // serde_json's messages quote field names and types, not values.
    EventError::Json { reason: err.to_string() }
}

impl Record {
    /// The record as a JSON value, with the chain hashes the caller supplies.
    pub fn to_json_value(
        &self,
        prev_hash: Option<&HashValue>,
        hash: Option<&HashValue>,
    ) -> Result<Value, EventError> {
        let (event, escaped, truncated, system) = match &self.body {
            Body::Event(e) => {
                let fields = serde_json::to_value(&e.event).map_err(|e| json_error(&e))?;
                (Some(unwrap_variant(fields)), Some(&e.escaped[..]), Some(&e.truncated[..]), None)
            }
            Body::System(s) => {
                let fields = serde_json::to_value(s).map_err(|e| json_error(&e))?;
                (None, None, None, Some(unwrap_variant(fields)))
            }
        };
        let kind = self.kind();
        let out = JsonOut {
            format: self.format(),
            log_id: &self.log_id,
            seq: self.seq,
            time: self.time,
            audit_id: &self.audit_id,
            service_id: &self.service_id,
            kind: kind.as_str(),
            category: kind.category(),
            severity: self.severity(),
            outcome: self.outcome(),
            claimed_time: self.claimed_time(),
            request_id: self.request_id(),
            user_agent: self.user_agent(),
            event,
            escaped,
            truncated,
            system,
            prev_hash,
            hash,
        };
        serde_json::to_value(out).map_err(|e| json_error(&e))
    }

    /// The record as one line of JSON (no newline inside; every string escaped).
    pub fn to_json_line(
        &self,
        prev_hash: Option<&HashValue>,
        hash: Option<&HashValue>,
    ) -> Result<String, EventError> {
        self.to_json_value(prev_hash, hash).map(|v| v.to_string())
    }

    /// Parses a record from its JSON form. `category` and `severity`, when present, must agree
    /// with the record; `prev_hash`/`hash` are returned as given (not checked here).
    pub fn from_json_value(
        value: Value,
    ) -> Result<(Record, Option<HashValue>, Option<HashValue>), EventError> {
        let input: JsonIn = serde_json::from_value(value).map_err(|e| json_error(&e))?;
        let context = RecordContext {
            claimed_time: input.claimed_time,
            request_id: input.request_id,
            user_agent: input.user_agent,
        };
        let context = match input.format {
            RECORD_FORMAT_VERSION => Some(context),
            1 if context.is_empty() => None,
            1 => {
                return Err(EventError::Json {
                    reason: "a format 1 record has no `claimed_time`, `request_id` or \
                             `user_agent`"
                        .to_owned(),
                });
            }
            found => {
                return Err(EventError::UnsupportedVersion {
                    found,
                    supported: RECORD_FORMAT_VERSION,
                });
            }
        };
        let kind: RecordKind = input.kind.parse()?;
        let body = match kind {
            RecordKind::Event(kind) => {
                let fields = input.event.ok_or(EventError::Json {
                    reason: "an event record needs an `event` object".to_owned(),
                })?;
                if input.system.is_some() {
                    return Err(EventError::Json {
                        reason: "an event record has no `system` object".to_owned(),
                    });
                }
                Body::Event(EventRecord {
                    event: event_from_fields(kind, fields)?,
                    escaped: input.escaped,
                    truncated: input.truncated,
                })
            }
            RecordKind::System(kind) => {
                let fields = input.system.ok_or(EventError::Json {
                    reason: "a system record needs a `system` object".to_owned(),
                })?;
                if input.event.is_some() {
                    return Err(EventError::Json {
                        reason: "a system record has no `event` object".to_owned(),
                    });
                }
                let tagged = if matches!(fields, Value::Object(ref m) if m.is_empty())
                    && kind == crate::record::SystemKind::LogClosed
                {
                    Value::String(kind.variant_key().to_owned())
                } else {
                    let mut map = Map::new();
                    map.insert(kind.variant_key().to_owned(), fields);
                    Value::Object(map)
                };
                Body::System(
                    serde_json::from_value::<SystemRecord>(tagged).map_err(|e| json_error(&e))?,
                )
            }
        };
        let record = Record {
            log_id: input.log_id,
            seq: input.seq,
            time: input.time,
            audit_id: input.audit_id,
            service_id: input.service_id,
            body,
            context,
        };
        if input.category.is_some_and(|c| c != kind.category()) {
            return Err(EventError::Json { reason: "`category` does not match `kind`".to_owned() });
        }
        if input.severity.is_some_and(|s| s != record.severity()) {
            return Err(EventError::Json {
                reason: "`severity` does not match the event".to_owned(),
            });
        }
        if input.outcome.is_some_and(|o| Some(o) != record.outcome()) {
            return Err(EventError::Json {
                reason: "`outcome` does not match the event".to_owned(),
            });
        }
        Ok((record, input.prev_hash, input.hash))
    }
}

/// Builds an event from its dotted kind and its fields object (the `event` member of the export
/// schema). Unknown fields, missing fields and wrong types are errors.
pub fn event_from_fields(kind: EventKind, fields: Value) -> Result<AuditEvent, EventError> {
    let mut map = Map::new();
    map.insert(kind.variant_name().to_owned(), fields);
    serde_json::from_value(Value::Object(map)).map_err(|e| json_error(&e))
}

/// The fields object of an event (the `event` member of the export schema).
pub fn event_to_fields(event: &AuditEvent) -> Result<Value, EventError> {
    serde_json::to_value(event).map(unwrap_variant).map_err(|e| json_error(&e))
}
