//! Every way a record or a string from the log reaches the user: text lines, JSON, CSV.
//!
//! Log content is hostile until shown otherwise. The rules every output path follows:
//! - text: each value goes through `input_validation::display_safe`, which writes every
//!   control, bidi, invisible and separator character as a visible escape;
//! - JSON: serde_json escapes only U+0000-U+001F, `"` and `\`, so [`escape_json`] also writes
//!   every other dangerous character (DEL, C1 controls, bidi, zero-width, U+2028/2029, tags...)
//!   as `\uXXXX` (a surrogate pair above U+FFFF). The JSON value is unchanged;
//! - CSV (written with the `csv` crate): each cell is made display-safe and quoted (RFC 4180,
//!   `"` doubled), and a cell that a spreadsheet would read as a formula (starting with `=`,
//!   `+`, `-`, `@`, a tab or a carriage return) is prefixed with `'`.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::Write;

use audit_events::{Body, HashValue, Record};
use input_validation::{display_safe, is_dangerous};
use serde_json::Value;

/// Rewrites serialized JSON so that no dangerous character (as `input_validation::is_dangerous`
/// defines it) appears raw inside a string: each is written as a `\uXXXX` escape, with a
/// UTF-16 surrogate pair above U+FFFF. A conforming serializer escapes U+0000-U+001F inside
/// strings, so a raw tab, line feed or carriage return is structural whitespace (pretty
/// printing) and is kept; everything else dangerous can only be inside a string, where the
/// escape means the same character: the output parses to the same value.
///
/// ```
/// use audit_cli::escape_json;
///
/// let json = serde_json::json!({"user": "mallory\u{202e}gnp.exe"}).to_string();
/// assert_eq!(escape_json(&json), r#"{"user":"mallory\u202egnp.exe"}"#);
/// ```
pub fn escape_json(json: &str) -> Cow<'_, str> {
    let needs = |c: char| is_dangerous(c) && !matches!(c, '\t' | '\n' | '\r');
    let Some(first) = json.find(needs) else { return Cow::Borrowed(json) };
    let mut out = String::with_capacity(json.len() + 16);
    out.push_str(&json[..first]);
    for c in json[first..].chars() {
        if needs(c) {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                // Writing to a String cannot fail.
                let _ = write!(out, "\\u{unit:04x}");
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A JSON value as one escaped line (no newline).
pub(crate) fn json_line(value: &Value) -> String {
    escape_json(&value.to_string()).into_owned()
}

/// A JSON value pretty-printed and escaped.
pub(crate) fn json_pretty(value: &Value) -> String {
    let text = serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string());
    escape_json(&text).into_owned()
}

/// Prints a JSON value pretty and escaped, with a line end (the `--format json` of commands
/// that print one result).
pub(crate) fn print_json(out: &mut dyn Write, value: &Value) -> anyhow::Result<()> {
    writeln!(out, "{}", json_pretty(value))?;
    Ok(())
}

/// The record in the export schema, with its chain hashes.
pub(crate) fn record_json(
    record: &Record,
    prev: &[u8; 32],
    hash: &[u8; 32],
) -> anyhow::Result<Value> {
    Ok(record.to_json_value(Some(&HashValue(*prev)), Some(&HashValue(*hash)))?)
}

/// Who a record is about: the actor, attempted user or customer; `-` when none.
pub(crate) fn subject(record: &Record) -> String {
    match record.event().and_then(|e| e.subject_id()) {
        Some("") => "\"\"".to_owned(),
        Some(s) => quote_if_needed(&display_safe(s)),
        None => "-".to_owned(),
    }
}

/// The record's fields (event or system record) flattened to `key=value` pairs, values
/// display-safe and quoted where they hold spaces or separators.
pub(crate) fn details(record: &Record) -> String {
    details_with(record, &|_| {})
}

/// [`details`], after `edit` has changed the record's fields (to pseudonymise identifiers).
pub(crate) fn details_with(record: &Record, edit: &dyn Fn(&mut Value)) -> String {
    let mut fields = match &record.body {
        Body::Event(e) => audit_events::event_to_fields(&e.event).ok(),
        Body::System(_) => record
            .to_json_value(None, None)
            .ok()
            .and_then(|mut v| v.get_mut("system").map(Value::take)),
    };
    let mut pairs = Vec::new();
    if let Some(fields) = &mut fields {
        edit(fields);
        flatten("", fields, &mut pairs);
    }
    if let Body::Event(e) = &record.body {
        for (name, list) in [("escaped", &e.escaped), ("truncated", &e.truncated)] {
            if !list.is_empty() {
                let items: Vec<String> =
                    list.iter().map(|p| quote_if_needed(&display_safe(p))).collect();
                pairs.push((name.to_owned(), format!("[{}]", items.join(","))));
            }
        }
    }
    let mut out = String::new();
    for (key, value) in pairs {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&quote_if_needed(&display_safe(&key)));
        out.push('=');
        out.push_str(&value);
    }
    out
}

/// The envelope's outcome and correlation fields that are present, as `key=value` pairs
/// (`outcome=failure claimed_time=… request_id=… user_agent=…`), values display-safe.
pub(crate) fn envelope_pairs(record: &Record) -> String {
    let mut pairs = Vec::new();
    if let Some(outcome) = record.outcome() {
        pairs.push(format!("outcome={outcome}"));
    }
    if let Some(claimed) = record.claimed_time() {
        pairs.push(format!("claimed_time={claimed}"));
    }
    if let Some(id) = record.request_id() {
        pairs.push(format!("request_id={}", quote_if_needed(&display_safe(id))));
    }
    if let Some(agent) = record.user_agent() {
        pairs.push(format!("user_agent={}", quote_if_needed(&display_safe(agent))));
    }
    pairs.join(" ")
}

/// One line of text per record: time (when the log received it), sequence number, kind,
/// severity, subject, then the outcome and correlation fields that are present (the producer's
/// claimed time among them), then the fields.
pub(crate) fn text_line(record: &Record) -> String {
    let details = details(record);
    let envelope = envelope_pairs(record);
    let mut line = format!(
        "{}  #{}  {}  {}  {}",
        record.time,
        record.seq,
        record.kind(),
        record.severity(),
        subject(record)
    );
    if !envelope.is_empty() {
        line.push_str("  ");
        line.push_str(&envelope);
    }
    if !details.is_empty() {
        line.push_str("  ");
        line.push_str(&details);
    }
    line
}

/// Appends `(key, value)` pairs for a JSON value: objects by dotted key, lists of plain values
/// as `[a,b]`, lists of objects by index; nulls (absent optional fields) are left out.
fn flatten(prefix: &str, value: &Value, out: &mut Vec<(String, String)>) {
    let key = |k: &str| if prefix.is_empty() { k.to_owned() } else { format!("{prefix}.{k}") };
    match value {
        Value::Null => {}
        Value::Object(map) => {
            for (k, v) in map {
                flatten(&key(k), v, out);
            }
        }
        Value::Array(items) if items.iter().all(|v| !v.is_object() && !v.is_array()) => {
            let shown: Vec<String> = items.iter().map(scalar).collect();
            out.push((prefix.to_owned(), format!("[{}]", shown.join(","))));
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                flatten(&key(&i.to_string()), v, out);
            }
        }
        other => out.push((prefix.to_owned(), scalar(other))),
    }
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => quote_if_needed(&display_safe(s)),
        Value::Null => "null".to_owned(),
        other => quote_if_needed(&display_safe(&other.to_string())),
    }
}

/// Quotes display-safe text that would otherwise be ambiguous in a `key=value` line.
pub(crate) fn quote_if_needed(text: &str) -> String {
    let plain = !text.is_empty()
        && !text.chars().any(|c| c.is_whitespace() || matches!(c, '"' | '=' | ',' | '[' | ']'));
    if plain {
        text.to_owned()
    } else {
        // A quote inside is shown as `\x22`, as `display_safe` shows other characters, so no
        // quote appears between the two that delimit the value: a value cannot end early and
        // show a `key=value` pair of its own, whatever backslashes it holds.
        format!("\"{}\"", text.replace('"', "\\x22"))
    }
}

/// One CSV cell's text: display-safe, with a leading `'` where a spreadsheet would read a
/// formula (a cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return). The `csv`
/// writer quotes it.
pub(crate) fn csv_cell(text: &str) -> String {
    let safe = display_safe(text);
    if safe.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{safe}")
    } else {
        safe.into_owned()
    }
}

/// A CSV writer: every cell quoted, `\n` line ends.
pub(crate) fn csv_writer<W: Write>(out: W) -> csv::Writer<W> {
    csv::WriterBuilder::new()
        .quote_style(csv::QuoteStyle::Always)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(out)
}

/// The CSV header shared by `query`, `export` and `tail`.
pub(crate) const CSV_HEADER: [&str; 17] = [
    "seq",
    "time",
    "service_id",
    "kind",
    "category",
    "severity",
    "subject",
    "details",
    "escaped",
    "truncated",
    "audit_id",
    "prev_hash",
    "hash",
    "outcome",
    "claimed_time",
    "request_id",
    "user_agent",
];

/// Where records go, in one of the record formats (`query`, `export`, `tail`): text lines, one
/// JSON array, JSON lines, or CSV with a header. Call [`RecordSink::finish`] at the end.
pub(crate) enum RecordSink<'a> {
    /// One escaped line per record.
    Text(&'a mut dyn Write),
    /// A JSON array, one record per line; `first` until a record was written.
    Json { out: &'a mut dyn Write, first: bool },
    /// One JSON object per line.
    Jsonl(&'a mut dyn Write),
    /// CSV, the header written first.
    Csv(Box<csv::Writer<&'a mut dyn Write>>),
}

impl<'a> RecordSink<'a> {
    /// Starts the output (the `[` of a JSON array, the CSV header).
    pub(crate) fn new(
        out: &'a mut dyn Write,
        format: crate::cli::QueryFormat,
    ) -> anyhow::Result<Self> {
        use crate::cli::QueryFormat;
        Ok(match format {
            QueryFormat::Text => Self::Text(out),
            QueryFormat::Jsonl => Self::Jsonl(out),
            QueryFormat::Json => {
                out.write_all(b"[")?;
                Self::Json { out, first: true }
            }
            QueryFormat::Csv => {
                // The header's names need no quoting; the cells are always quoted.
                writeln!(out, "{}", CSV_HEADER.join(","))?;
                Self::Csv(Box::new(csv_writer(out)))
            }
        })
    }

    /// Writes one record with its chain hashes.
    pub(crate) fn write(
        &mut self,
        record: &Record,
        prev: &[u8; 32],
        hash: &[u8; 32],
    ) -> anyhow::Result<()> {
        match self {
            Self::Text(out) => writeln!(out, "{}", text_line(record))?,
            Self::Jsonl(out) => writeln!(out, "{}", json_line(&record_json(record, prev, hash)?))?,
            Self::Json { out, first } => {
                let sep = if *first { "\n" } else { ",\n" };
                *first = false;
                write!(out, "{sep}{}", json_line(&record_json(record, prev, hash)?))?;
            }
            Self::Csv(writer) => writer.write_record(csv_row(record, prev, hash))?,
        }
        Ok(())
    }

    /// Pushes what was written so far to the output (for `tail -f`).
    pub(crate) fn flush(&mut self) -> anyhow::Result<()> {
        match self {
            Self::Text(out) | Self::Jsonl(out) | Self::Json { out, .. } => out.flush()?,
            Self::Csv(writer) => writer.flush()?,
        }
        Ok(())
    }

    /// Ends the output (the `]` of a JSON array) and flushes it.
    pub(crate) fn finish(mut self) -> anyhow::Result<()> {
        if let Self::Json { out, .. } = &mut self {
            out.write_all(b"\n]\n")?;
        }
        self.flush()
    }
}

/// The CSV cells of a record and its chain hashes, each display-safe and formula-neutral.
pub(crate) fn csv_row(record: &Record, prev: &[u8; 32], hash: &[u8; 32]) -> [String; 17] {
    let (escaped, truncated) = match &record.body {
        Body::Event(e) => (e.escaped.join(";"), e.truncated.join(";")),
        Body::System(_) => (String::new(), String::new()),
    };
    let subject = record.event().and_then(|e| e.subject_id()).unwrap_or("");
    let cells = [
        record.seq.to_string(),
        record.time.to_string(),
        record.service_id.clone(),
        record.kind().to_string(),
        record.kind().category().to_string(),
        record.severity().to_string(),
        subject.to_owned(),
        details(record),
        escaped,
        truncated,
        record.audit_id.to_string(),
        HashValue(*prev).to_string(),
        HashValue(*hash).to_string(),
        record.outcome().map(|o| o.to_string()).unwrap_or_default(),
        record.claimed_time().map(|t| t.to_string()).unwrap_or_default(),
        record.request_id().unwrap_or_default().to_owned(),
        record.user_agent().unwrap_or_default().to_owned(),
    ];
    cells.map(|c| csv_cell(&c))
}

/// Applies `display_safe` line by line, keeping the line breaks of multi-line text that the
/// command itself produced (help, notes) while escaping anything else.
pub(crate) fn safe_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&display_safe(line));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use audit_events::{AuditEvent, AuditId, EventKind, EventRecord, LogId, Timestamp};
    use proptest::prelude::*;

    const HOSTILE: &str =
        "a\u{1b}[2J\r\n\u{0}\u{7f}\u{85}\u{202e}\u{200b}\u{2028}\u{e0041}\u{feff}z";

    fn record(event: AuditEvent) -> Record {
        Record {
            log_id: LogId([1; 16]),
            seq: 7,
            time: Timestamp(1_795_338_000_000_000_000),
            audit_id: AuditId([2; 16]),
            service_id: "svc".to_owned(),
            body: Body::Event(EventRecord::new(event)),
            context: Some(audit_events::RecordContext::default()),
        }
    }

    fn hostile_record() -> Record {
        let mut event = EventKind::AuthFailure.example();
        if let AuditEvent::AuthFailure { attempted_user, reason, .. } = &mut event {
            *attempted_user = Some(HOSTILE.to_owned());
            *reason = format!("=cmd|' /C calc'!A0 {HOSTILE}");
        }
        record(event)
    }

    fn assert_clean(text: &str) {
        for c in text.chars() {
            assert!(!is_dangerous(c) || c == '\n', "U+{:04X} in {text:?}", u32::from(c));
        }
    }

    #[test]
    fn text_lines_escape_every_hostile_character_visibly() {
        let line = text_line(&hostile_record());
        assert_clean(&line);
        assert!(!line.contains('\n'));
        assert!(line.contains(r"\x1b[2J"), "{line}");
        assert!(line.contains(r"\u{202E}"), "{line}");
        assert!(line.contains("#7  auth.failure  medium"), "{line}");
        assert!(line.contains("reason=\"=cmd|' /C calc'!A0"), "{line}");
    }

    #[test]
    fn text_lines_show_both_times_the_correlation_fields_and_the_outcome() {
        let mut shown = hostile_record();
        shown.context = Some(audit_events::RecordContext {
            claimed_time: Some(Timestamp(1_795_337_000_000_000_000)),
            request_id: Some(format!("req {HOSTILE}")),
            user_agent: Some(HOSTILE.to_owned()),
        });
        let line = text_line(&shown);
        assert_clean(&line);
        assert!(line.starts_with("2026-11-22T09:00:00Z  #7  auth.failure"), "{line}");
        assert!(line.contains("  outcome=failure claimed_time=2026-11-22T08:43:20Z"), "{line}");
        assert!(line.contains(r#"request_id="req a\x1b[2J"#), "{line}");
        assert!(line.contains(r#"user_agent="a\x1b[2J"#), "{line}");
        // Nothing is shown for fields that are absent.
        let line = text_line(&record(EventKind::SuspiciousActivity.example()));
        for key in ["outcome=", "claimed_time=", "request_id=", "user_agent="] {
            assert!(!line.contains(key), "{line}");
        }
    }

    #[test]
    fn text_lines_show_nested_and_list_fields() {
        let line = text_line(&record(EventKind::PoolModified.example()));
        assert!(line.contains("actor.user_id=admin@example.com"), "{line}");
        assert!(line.contains("changes.0.field="), "{line}");
        let line = text_line(&record(EventKind::TokenCreated.example()));
        assert!(line.contains("scope=[tasks:write,pools:read]"), "{line}");
    }

    #[test]
    fn csv_cells_are_quoted_and_formulas_neutralised() {
        let line = |cells: &[&str]| {
            let mut writer = csv_writer(Vec::new());
            writer.write_record(cells.iter().map(|c| csv_cell(c))).unwrap();
            String::from_utf8(writer.into_inner().unwrap()).unwrap()
        };
        assert_eq!(line(&["plain"]), "\"plain\"\n");
        assert_eq!(line(&["say \"hi\""]), "\"say \"\"hi\"\"\"\n");
        assert_eq!(
            line(&["=1+1", "@SUM(A1)", "-2", "+1"]),
            "\"'=1+1\",\"'@SUM(A1)\",\"'-2\",\"'+1\"\n"
        );
        assert_eq!(line(&["a\r\nb"]), "\"a\\r\\nb\"\n");
        // A tab or carriage return is escaped visibly, so it cannot start a formula either.
        assert!(!csv_cell("\t=1").starts_with('\t'));
        let row = csv_row(&hostile_record(), &[0; 32], &[1; 32]);
        let mut writer = csv_writer(Vec::new());
        writer.write_record(&row).unwrap();
        let row = String::from_utf8(writer.into_inner().unwrap()).unwrap();
        assert_clean(row.trim_end_matches('\n'));
        assert_eq!(row.matches('\n').count(), 1);
        let reason = row.split("\",\"").find(|c| c.contains("reason=")).unwrap();
        assert!(reason.contains("reason=\"\"=cmd"), "{reason}");
    }

    #[test]
    fn json_escaping_covers_what_serde_json_leaves_raw() {
        let value = serde_json::json!({ HOSTILE: HOSTILE, "list": [HOSTILE] });
        let line = json_line(&value);
        assert_clean(&line);
        assert!(line.contains(r"\u202e") && line.contains(r"\udb40\udc41"), "{line}");
        assert_eq!(serde_json::from_str::<Value>(&line).unwrap(), value);
        assert!(matches!(escape_json("{\"a\":\"plain\"}"), Cow::Borrowed(_)));
        let pretty = json_pretty(&value);
        assert_clean(&pretty);
        assert_eq!(serde_json::from_str::<Value>(&pretty).unwrap(), value);
    }

    fn hostile_char() -> impl Strategy<Value = char> {
        prop_oneof![
            any::<char>(),
            prop::sample::select(vec![
                '\u{0}',
                '\u{1b}',
                '\r',
                '\n',
                '\u{7f}',
                '\u{85}',
                '\u{9b}',
                '\u{9d}',
                '\u{61c}',
                '\u{200b}',
                '\u{200f}',
                '\u{2028}',
                '\u{2029}',
                '\u{202e}',
                '\u{2066}',
                '\u{2069}',
                '\u{feff}',
                '\u{fffa}',
                '\u{e0001}',
                '\u{e007f}',
                '"',
                '\\',
                'a',
            ]),
        ]
    }

    fn hostile_string() -> impl Strategy<Value = String> {
        prop::collection::vec(hostile_char(), 0..24).prop_map(|cs| cs.into_iter().collect())
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            hostile_string().prop_map(Value::String),
            any::<i64>().prop_map(Value::from),
            any::<bool>().prop_map(Value::Bool),
            Just(Value::Null),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map(hostile_string(), inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn escaped_json_parses_to_the_same_value_and_holds_no_dangerous_character(
            value in json_value()
        ) {
            let pretty = serde_json::to_string_pretty(&value).unwrap();
            for (text, structural_newlines) in [(value.to_string(), false), (pretty, true)] {
                let escaped = escape_json(&text);
                for c in escaped.chars() {
                    prop_assert!(!is_dangerous(c) || (c == '\n' && structural_newlines));
                }
                let back: Value = serde_json::from_str(&escaped).unwrap();
                prop_assert_eq!(back, value.clone());
            }
        }

        #[test]
        fn display_paths_hold_no_dangerous_character(text in hostile_string()) {
            for shown in [csv_cell(&text), quote_if_needed(&display_safe(&text)), safe_lines(&text)] {
                for c in shown.chars() {
                    prop_assert!(!is_dangerous(c) || c == '\n');
                }
            }
        }
    }
}
