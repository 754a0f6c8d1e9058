//! The catalogue described for people and tools: every kind's fields, their types and bounds,
//! generated from the same table as the events (`catalogue.rs`), and the renderers behind
//! `audit kinds` and `docs/EVENTS.md`.
//!
//! Nothing here is part of the stored encoding: describing a field changes no byte on disk.

use std::fmt::Write as _;
use std::net::IpAddr;

use serde_json::{Value, json};

use crate::bounds::{MAX_EVENT_BYTES, MAX_LIST_ITEMS, MAX_SERVICE_ID_BYTES};
use crate::catalogue::EventKind;
use crate::ids::Timestamp;
use crate::secrets::{Digest, PromptDigest, TokenFingerprint};
use crate::types::{
    Actor, AuthMethod, Category, FieldChange, Outcome, Resource, RiskScore, Severity,
};
use crate::visit::TextClass;

/// The type of a field's value (of each item, for a list).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FieldType {
    /// A string, escaped and bounded by the logger.
    Text,
    /// An unsigned 32-bit integer.
    U32,
    /// An unsigned 64-bit integer.
    U64,
    /// An IPv4 or IPv6 address.
    Ip,
    /// A point in time, UTC.
    Timestamp,
    /// Who did something ([`Actor`]).
    Actor,
    /// What was acted on ([`Resource`]).
    Resource,
    /// How an operation ended ([`Outcome`]).
    Outcome,
    /// A severity ([`Severity`]).
    Severity,
    /// How an actor authenticated ([`AuthMethod`]).
    AuthMethod,
    /// The fingerprint of a token, never the token ([`TokenFingerprint`]).
    TokenFingerprint,
    /// A digest with its algorithm ([`Digest`]).
    Digest,
    /// A prompt's length and hash, never its text ([`PromptDigest`]).
    PromptDigest,
    /// A risk score from 0 to 100 ([`RiskScore`]).
    RiskScore,
    /// One changed setting ([`FieldChange`]).
    FieldChange,
}

impl FieldType {
    /// The short name used by `audit kinds` and `docs/EVENTS.md`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::U32 => "u32",
            Self::U64 => "u64",
            Self::Ip => "ip",
            Self::Timestamp => "timestamp",
            Self::Actor => "actor",
            Self::Resource => "resource",
            Self::Outcome => "outcome",
            Self::Severity => "severity",
            Self::AuthMethod => "auth_method",
            Self::TokenFingerprint => "token_fingerprint",
            Self::Digest => "digest",
            Self::PromptDigest => "prompt_digest",
            Self::RiskScore => "risk_score",
            Self::FieldChange => "field_change",
        }
    }

    /// How a value of this type is written in JSON (`audit export`, `audit query --format json`).
    pub const fn json_form(self) -> &'static str {
        match self {
            Self::Text => "string",
            Self::U32 => "integer, 0 to 4294967295",
            Self::U64 => "integer, 0 to 18446744073709551615",
            Self::Ip => "string, an IPv4 or IPv6 address",
            Self::Timestamp => "string, RFC 3339 UTC",
            Self::Actor => {
                "object: user_id (identifier), ip (optional ip), auth_method, session_id \
                 (optional identifier)"
            }
            Self::Resource => {
                "object: resource_type (text), resource_id (identifier), parent_id (optional \
                 identifier)"
            }
            Self::Outcome => {
                "\"success\", {\"failure\": {\"reason\": text}} or {\"partial_success\": \
                 {\"details\": text}}"
            }
            Self::Severity => "\"low\", \"medium\", \"high\" or \"critical\"",
            Self::AuthMethod => "\"bearer_token\", \"api_key\", \"m_tls\" or \"internal\"",
            Self::TokenFingerprint => "string, 12 lowercase hex digits",
            Self::Digest => "string, \"sha256:\" or \"blake3:\" then 64 lowercase hex digits",
            Self::PromptDigest => "object: length (u64, bytes), hash (digest)",
            Self::RiskScore => "integer, 0 to 100",
            Self::FieldChange => "object: field, old, new (each text)",
        }
    }

    /// Every type, in declaration order (for the table of types).
    pub const ALL: &'static [FieldType] = &[
        Self::Text,
        Self::U32,
        Self::U64,
        Self::Ip,
        Self::Timestamp,
        Self::Actor,
        Self::Resource,
        Self::Outcome,
        Self::Severity,
        Self::AuthMethod,
        Self::TokenFingerprint,
        Self::Digest,
        Self::PromptDigest,
        Self::RiskScore,
        Self::FieldChange,
    ];
}

/// One field of an event kind: its name, type, and whether it is optional or a list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldSpec {
    /// The field's name, as in JSON and the Rust variant.
    pub name: &'static str,
    /// The type of its value (of each item, for a list).
    pub ty: FieldType,
    /// Whether the field may be absent (`null` in JSON).
    pub optional: bool,
    /// Whether the field is a list.
    pub list: bool,
}

impl FieldSpec {
    /// The spec of a field named `name` of Rust type `T`.
    pub(crate) const fn of<T: Describe>(name: &'static str) -> Self {
        Self { name, ty: T::TYPE, optional: T::OPTIONAL, list: T::LIST }
    }

    /// The type as `audit kinds` writes it: `text`, `optional ip`, `list of text`...
    pub fn type_label(&self) -> String {
        let mut label = String::new();
        if self.optional {
            label.push_str("optional ");
        }
        if self.list {
            label.push_str("list of ");
        }
        label.push_str(self.ty.name());
        label
    }

    /// The bound class of a text field (or of each item of a list of text), from its name.
    pub fn text_class(&self) -> Option<TextClass> {
        (self.ty == FieldType::Text).then(|| TextClass::of_field(self.name))
    }

    /// The bounds the logger applies to this field, in words; empty for a field with none.
    pub fn bound(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        if self.list {
            parts.push(format!("at most {MAX_LIST_ITEMS} items"));
        }
        if let Some(class) = self.text_class() {
            let each = if self.list { "each " } else { "" };
            let max = class.max_bytes();
            parts.push(match class {
                TextClass::Identifier => format!("{each}identifier, at most {max} bytes"),
                TextClass::Text => format!("{each}at most {max} bytes"),
            });
        }
        if self.ty == FieldType::RiskScore {
            parts.push("0 to 100".to_owned());
        }
        parts.join("; ")
    }
}

/// Maps a Rust field type to its description. Implemented for every type a catalogue field
/// has; a field of any other type does not compile.
pub(crate) trait Describe {
    /// The type of the value (of each item, for a list).
    const TYPE: FieldType;
    /// Whether the value is optional.
    const OPTIONAL: bool = false;
    /// Whether the value is a list.
    const LIST: bool = false;
}

macro_rules! describe {
    ($($ty:ty => $field_type:ident),* $(,)?) => {
        $(impl Describe for $ty { const TYPE: FieldType = FieldType::$field_type; })*
    };
}

describe! {
    String => Text,
    u32 => U32,
    u64 => U64,
    IpAddr => Ip,
    Timestamp => Timestamp,
    Actor => Actor,
    Resource => Resource,
    Outcome => Outcome,
    Severity => Severity,
    AuthMethod => AuthMethod,
    TokenFingerprint => TokenFingerprint,
    Digest => Digest,
    PromptDigest => PromptDigest,
    RiskScore => RiskScore,
    FieldChange => FieldChange,
}

impl<T: Describe> Describe for Option<T> {
    const TYPE: FieldType = T::TYPE;
    const OPTIONAL: bool = true;
    const LIST: bool = T::LIST;
}

impl<T: Describe> Describe for Vec<T> {
    const TYPE: FieldType = T::TYPE;
    const OPTIONAL: bool = T::OPTIONAL;
    const LIST: bool = true;
}

impl EventKind {
    /// What an event of this kind records, in one sentence (from the catalogue's doc comment).
    pub fn summary(self) -> String {
        let doc = self.doc_lines().iter().map(|line| line.trim()).collect::<Vec<_>>().join(" ");
        let head = doc.split_once(": `").map_or(doc.as_str(), |(head, _)| head);
        let head = head.trim_end_matches('.');
        format!("{head}.")
    }

    /// How the severity of an event of this kind is decided, in words.
    pub fn severity_rule(self) -> String {
        let fields = self.fields();
        if fields.iter().any(|f| f.ty == FieldType::Severity && f.name == "severity") {
            "set by the event's `severity` field".to_owned()
        } else if fields.iter().any(|f| f.ty == FieldType::RiskScore) {
            "from `risk_score`: 0-19 low, 20-49 medium, 50-79 high, 80-100 critical".to_owned()
        } else {
            self.default_severity().as_str().to_owned()
        }
    }

    /// The lane, in words: `critical` (flushed at once) or `routine`, and when a routine kind
    /// still takes the critical lane.
    pub fn lane_rule(self) -> &'static str {
        let own_severity = self
            .fields()
            .iter()
            .any(|f| matches!(f.ty, FieldType::Severity | FieldType::RiskScore));
        match (self.is_critical(), own_severity) {
            (true, _) => "critical",
            (false, true) => "routine; critical when the event's severity is critical",
            (false, false) => "routine",
        }
    }
}

/// The catalogue as JSON: what `audit kinds --format json` prints.
///
/// `{"kinds": [{"kind", "category", "severity", "default_severity", "lane", "critical",
/// "summary", "fields": [{"name", "type", "optional", "list", "bound", "max_bytes",
/// "max_items"}]}]}`: `bound` in words, `max_bytes` for text (each item, for a list of text) and
/// `max_items` for a list, `null` where there is no such bound.
pub fn catalogue_json() -> Value {
    let kinds: Vec<Value> = EventKind::ALL
        .iter()
        .map(|kind| {
            let fields: Vec<Value> = kind
                .fields()
                .iter()
                .map(|f| {
                    json!({
                        "name": f.name,
                        "type": f.ty.name(),
                        "optional": f.optional,
                        "list": f.list,
                        "bound": f.bound(),
                        "max_bytes": f.text_class().map(TextClass::max_bytes),
                        "max_items": f.list.then_some(MAX_LIST_ITEMS),
                    })
                })
                .collect();
            json!({
                "kind": kind.as_str(),
                "category": kind.category().as_str(),
                "severity": kind.severity_rule(),
                "default_severity": kind.default_severity().as_str(),
                "lane": kind.lane_rule(),
                "critical": kind.is_critical(),
                "summary": kind.summary(),
                "fields": fields,
            })
        })
        .collect();
    json!({ "kinds": kinds })
}

/// The event catalogue as Markdown: the exact content of `docs/EVENTS.md`.
///
/// A test compares the file with this function's output; regenerate the file with
/// `cargo xtask docs` after changing the catalogue.
pub fn catalogue_markdown() -> String {
    let mut out = String::new();
    let kinds = EventKind::ALL.len();
    out.push_str("# Event catalogue\n\n");
    out.push_str(
        "<!-- Generated from audit-events/src/catalogue.rs by `cargo xtask docs`; do not edit. \
         A test fails when this file and the code disagree. -->\n\n",
    );
    let _ = write!(
        out,
        "Every event a service can emit is one of the {kinds} kinds below. The same list, with \
         the same fields, is printed by `audit kinds` (`audit kinds --format json` for tools).\n\n"
    );
    out.push_str(
        "Each kind has a dotted name (used in JSON, in `audit query --kind` and in reports), a \
         category, a severity and a lane. Critical events have their own bounded lane, which a \
         flood of routine events cannot fill, and make the writer write at once. When a lane is \
         full `emit` refuses the event and the refusal is counted by kind and recorded in the \
         log's own chain. Fields are listed in the order they are encoded; the order is \
         part of the stored format and never changes.\n\n",
    );
    out.push_str("## Bounds\n\n");
    out.push_str(
        "An event over a bound is never refused or dropped for its size: the logger cuts the \
         field (never inside a character or an escape sequence) and the record lists every field \
         it cut in `truncated`. Text is escaped before it is bounded (see `escaped`).\n\n",
    );
    out.push_str("| bound | value |\n|---|---|\n");
    let _ = writeln!(
        out,
        "| identifier field (name ends in `_id`, or `model_ref`, `attempted_user`, `requester`, \
         `subject`) | {} bytes |",
        TextClass::Identifier.max_bytes()
    );
    let _ = writeln!(out, "| any other text field | {} bytes |", TextClass::Text.max_bytes());
    let _ = writeln!(out, "| items in a list field | {MAX_LIST_ITEMS} |");
    let _ = writeln!(
        out,
        "| whole encoded event | {MAX_EVENT_BYTES} bytes (text fields are cut further, to a cap \
         that halves each round, until it fits) |"
    );
    let _ = writeln!(out, "| service id (record envelope) | {MAX_SERVICE_ID_BYTES} bytes |");
    let _ = writeln!(
        out,
        "| request id (record envelope) | {} bytes |",
        TextClass::Identifier.max_bytes()
    );
    let _ =
        writeln!(out, "| user agent (record envelope) | {} bytes |", TextClass::Text.max_bytes());
    out.push('\n');
    out.push_str(
        "Besides its fields, an event's record may carry the envelope's correlation fields (a \
         request id, a user agent, and the time the event happened as its producer claims it), \
         set with `AuditLogger::emit_with` or `audit emit`, and has a uniform outcome \
         (`success`, `failure`, `unknown`) derived from its kind or its `outcome` field; \
         FORMAT.md lists the outcome of every kind.\n\n",
    );
    out.push_str(
        "The class of a text field inside a shared type follows the same rule by name: \
         `actor.user_id`, `actor.session_id`, `resource.resource_id` and `resource.parent_id` \
         are identifiers; everything else is text.\n\n",
    );
    out.push_str("## Field types\n\n| type | JSON form |\n|---|---|\n");
    for ty in FieldType::ALL {
        let _ = writeln!(out, "| `{}` | {} |", ty.name(), ty.json_form().replace('|', "\\|"));
    }
    out.push('\n');
    out.push_str(
        "Secrets cannot be stored: a token enters only as its fingerprint, a prompt only as its \
         length and hash. An optional field is `null` in JSON when absent.\n\n",
    );
    out.push_str("## All kinds\n\n| kind | category | severity | lane |\n|---|---|---|---|\n");
    for kind in EventKind::ALL {
        let _ = writeln!(
            out,
            "| [`{name}`](#{anchor}) | {} | {} | {} |",
            kind.category().as_str(),
            kind.severity_rule(),
            kind.lane_rule(),
            name = kind.as_str(),
            anchor = anchor(kind.as_str()),
        );
    }
    out.push('\n');
    let mut category: Option<Category> = None;
    for kind in EventKind::ALL {
        if category != Some(kind.category()) {
            category = Some(kind.category());
            let _ = write!(out, "## Category `{}`\n\n", kind.category().as_str());
        }
        let _ = write!(out, "### `{}`\n\n{}\n\n", kind.as_str(), kind.summary());
        let _ = writeln!(out, "- category: `{}`", kind.category().as_str());
        let _ = writeln!(out, "- severity: {}", kind.severity_rule());
        let _ = write!(out, "- lane: {}\n\n", kind.lane_rule());
        out.push_str("| field | type | bound |\n|---|---|---|\n");
        for field in kind.fields() {
            let _ =
                writeln!(out, "| `{}` | {} | {} |", field.name, field.type_label(), field.bound());
        }
        out.push('\n');
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

/// The anchor GitHub gives a heading of the form `` `auth.success` ``.
fn anchor(name: &str) -> String {
    name.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-')).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_fields_and_a_summary() {
        for kind in EventKind::ALL {
            assert!(!kind.fields().is_empty(), "{kind}");
            let summary = kind.summary();
            assert!(summary.ends_with('.') && !summary.contains('`'), "{kind}: {summary}");
        }
    }

    #[test]
    fn field_specs_follow_the_rust_types() {
        let fields = EventKind::from_name("auth.failure").map(EventKind::fields).unwrap_or(&[]);
        let labels: Vec<(&str, String)> = fields.iter().map(|f| (f.name, f.type_label())).collect();
        let expected = [
            ("attempted_user", "optional text"),
            ("reason", "text"),
            ("ip", "ip"),
            ("path", "text"),
            ("service_id", "text"),
        ];
        assert_eq!(labels.len(), expected.len());
        for ((name, label), (want_name, want_label)) in labels.iter().zip(expected) {
            assert_eq!((*name, label.as_str()), (want_name, want_label));
        }
        let scope = EventKind::from_name("token.created")
            .and_then(|k| k.fields().iter().find(|f| f.name == "scope").copied());
        assert_eq!(
            scope.map(|f| f.bound()),
            Some("at most 64 items; each at most 1024 bytes".to_owned())
        );
    }

    /// `docs/EVENTS.md` is this crate's catalogue rendered as Markdown, byte for byte.
    /// `UPDATE_DOCS=1` (what `cargo xtask docs` sets) rewrites the file instead of failing.
    #[test]
    fn docs_events_md_is_generated_from_the_catalogue() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/EVENTS.md");
        let expected = catalogue_markdown();
        if std::env::var_os("UPDATE_DOCS").is_some() {
            std::fs::write(path, &expected).unwrap();
        }
        let actual = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            actual == expected,
            "docs/EVENTS.md does not match the catalogue in audit-events/src/catalogue.rs; \
             regenerate it with `cargo xtask docs` and commit the result"
        );
    }

    /// Whether `value` has the JSON form `json_form` describes for `ty`.
    fn has_form(ty: FieldType, value: &Value) -> bool {
        let keys = |want: &[&str]| {
            let mut have: Vec<&str> = value
                .as_object()
                .map(|o| o.keys().map(String::as_str).collect())
                .unwrap_or_default();
            let mut want = want.to_vec();
            have.sort_unstable();
            want.sort_unstable();
            have == want
        };
        let text = value.as_str().unwrap_or_default();
        match ty {
            FieldType::Text => value.is_string(),
            FieldType::U32 => value.as_u64().is_some_and(|n| u32::try_from(n).is_ok()),
            FieldType::U64 => value.is_u64(),
            FieldType::RiskScore => value.as_u64().is_some_and(|n| n <= 100),
            FieldType::Ip => text.parse::<IpAddr>().is_ok(),
            FieldType::Timestamp => Timestamp::parse_rfc3339(text).is_ok(),
            FieldType::Actor => keys(&["user_id", "ip", "auth_method", "session_id"]),
            FieldType::Resource => keys(&["resource_type", "resource_id", "parent_id"]),
            FieldType::Outcome => {
                text == "success" || keys(&["failure"]) || keys(&["partial_success"])
            }
            FieldType::Severity => Severity::ALL.iter().any(|s| s.as_str() == text),
            FieldType::AuthMethod => {
                ["bearer_token", "api_key", "m_tls", "internal"].contains(&text)
            }
            FieldType::TokenFingerprint => {
                text.len() == 12
                    && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            }
            FieldType::Digest => {
                (text.starts_with("sha256:") || text.starts_with("blake3:")) && text.len() == 71
            }
            FieldType::PromptDigest => keys(&["length", "hash"]),
            FieldType::FieldChange => keys(&["field", "old", "new"]),
        }
    }

    /// The field specs and JSON forms agree with what serde writes for every kind's example.
    #[test]
    fn specs_and_json_forms_match_the_serialized_events() {
        for kind in EventKind::ALL {
            let value = serde_json::to_value(kind.example()).unwrap();
            let fields = value[kind.variant_name()].as_object().unwrap();
            let mut names: Vec<&str> = fields.keys().map(String::as_str).collect();
            let mut specs: Vec<&str> = kind.fields().iter().map(|f| f.name).collect();
            names.sort_unstable();
            specs.sort_unstable();
            assert_eq!(names, specs, "{kind}");
            for spec in kind.fields() {
                let field = &fields[spec.name];
                if field.is_null() {
                    assert!(spec.optional, "{kind}.{}", spec.name);
                    continue;
                }
                let items =
                    if spec.list { field.as_array().unwrap().clone() } else { vec![field.clone()] };
                for item in &items {
                    assert!(has_form(spec.ty, item), "{kind}.{}: {item}", spec.name);
                }
            }
        }
        let method = serde_json::to_value(AuthMethod::MTls).unwrap();
        assert!(has_form(FieldType::AuthMethod, &method));
    }

    #[test]
    fn the_json_lists_every_kind_with_its_fields() {
        let value = catalogue_json();
        let kinds = value["kinds"].as_array().map_or(0, Vec::len);
        assert_eq!(kinds, EventKind::ALL.len());
        assert_eq!(value["kinds"][0]["kind"], "auth.success");
        assert_eq!(value["kinds"][0]["fields"][0]["name"], "actor");
    }
}
