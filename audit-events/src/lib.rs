//! The audit event catalogue and the record envelope: what every other crate of the workspace
//! speaks.
//!
//! - [`AuditEvent`]: the 35 event kinds of the catalogue (`docs/EVENTS.md`,
//!   `audit kinds`), built from shared types
//!   ([`Actor`], [`Resource`], [`Outcome`], [`Severity`]...). [`AuditEvent::kind`] gives a `Copy`
//!   [`EventKind`] with its stable dotted name, category, severity and lane.
//! - Secrets are unrepresentable: a token can only enter as a [`TokenFingerprint`], a prompt as a
//!   [`PromptDigest`] (length and hash); there is no pointer type. `Debug` shows fingerprints only.
//! - [`Record`]: the envelope (log id, sequence number, time, audit id, service id, and from
//!   record format 2 the optional [`RecordContext`]: claimed time, request id, user agent) around an
//!   event or a [`SystemRecord`] (opens, resumes, drops, recoveries, seals, checkpoints,
//!   rotations, purges, clean close).
//! - Canonical binary encoding ([`Record::encode`], [`Record::decode`]): a version byte, then
//!   postcard. Decoding is strict; every record has exactly one encoding. Golden vectors in the
//!   tests freeze it.
//! - JSON for export and tooling ([`Record::to_json_line`], [`Record::from_json_value`]).
//! - Bounds ([`MAX_TEXT_BYTES`] and friends) and a visitor over every text field
//!   ([`AuditEvent::for_each_text_mut`]) that the logger uses to escape and cut fields; the
//!   visitor is generated from the same table as the events, so it cannot miss a field.
//!
//! Invariants: no hashed or encoded type contains a map or a float; enum variants are only ever
//! appended; timestamps are integer UTC nanoseconds.
//!
//! This crate depends on no other workspace crate: it knows nothing of hashing chains or files.

mod bounds;
mod catalogue;
mod codec;
mod describe;
mod error;
mod examples;
mod hex;
mod ids;
mod json;
mod record;
mod secrets;
mod types;
mod visit;

pub use bounds::{
    MAX_EVENT_BYTES, MAX_IDENTIFIER_BYTES, MAX_LIST_ITEMS, MAX_SERVICE_ID_BYTES, MAX_TEXT_BYTES,
    cut_at_char_boundary,
};
pub use catalogue::{AuditEvent, EventKind};
pub use codec::{RECORD_FORMAT_VERSION, RecordHeader};
pub use describe::{FieldSpec, FieldType, catalogue_json, catalogue_markdown};
pub use error::EventError;
pub use ids::{AuditId, AuditIdGenerator, HashValue, LogId, Timestamp};
pub use json::{event_from_fields, event_to_fields};
pub use record::{
    Body, Entry, EventRecord, KindCount, Record, RecordContext, RecordKind, RotationReason,
    SystemKind, SystemRecord,
};
pub use secrets::{Digest, DigestAlgorithm, PromptDigest, TokenFingerprint};
pub use types::{
    Actor, AuthMethod, Category, EventOutcome, FieldChange, Outcome, Resource, RiskScore, Severity,
};
pub use visit::{FieldPath, TextClass, TextVisitor};

/// Lowercase hex of arbitrary bytes (ids, hashes), the form used throughout the JSON schema.
pub fn to_hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}
