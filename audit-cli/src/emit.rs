//! `audit emit`: append events given as JSON lines to a log, as `logger(1)` does for syslog,
//! for shell scripts and services not written in Rust.
//!
//! Each non-empty line is one JSON object: `{"kind": "<dotted event kind>", "event": {<the
//! event's fields, as in the export schema>}}`, optionally with `category`, `severity` and
//! `outcome`, which must agree with the event, and with the envelope's correlation fields:
//! `claimed_time` (RFC 3339: when the event happened, as the producer states it, kept beside the
//! time the log receives it), `request_id` and `user_agent` (strings, escaped and bounded like
//! event text). Everything else a record carries (sequence number, time, ids, hashes) is
//! assigned by the log, so any other member is refused. Plain `time` is refused too, naming
//! `claimed_time`: in every record the log shows, `time` is when the log received it, and the
//! same name may not mean the producer's clock on the way in. Events go through
//! `audit-logger` exactly as a Rust service's do: the same escaping, bounds, time stamp and
//! chain. A malformed line is reported with its line number and nothing of it is written; the
//! other lines are. Exit 0 when every line was written, 2 when a line was refused, 3 when the
//! log could not be written (another writer holds it, an I/O error).

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use anyhow::Context as _;
use audit_events::{AuditEvent, EventKind, RecordContext, Timestamp, event_from_fields};
use audit_logger::{AuditConfig, AuditError, AuditLogger, KeyHandling};
use audit_store::LogReader;
use input_validation::display_safe;
use serde_json::Value;

use crate::Ctx;
use crate::cli::{EmitArgs, ResultFormat};
use crate::error::ExitStatus;
use crate::output::print_json;

/// The longest line read; a longer one is refused without holding it in memory.
const MAX_LINE_BYTES: usize = 1024 * 1024;
/// Events queued before waiting for them to be durable. The logger never blocks and would
/// refuse (and record as dropped) events past its queue bounds; a command that reads faster
/// than the disk syncs waits instead.
const MAX_UNFLUSHED_EVENTS: u64 = 64;
/// Bytes of queued events (as the logger counts them) before waiting, well under the critical
/// lane's 1 MiB bound.
const MAX_UNFLUSHED_BYTES: u64 = 256 * 1024;

pub(crate) fn run(args: &EmitArgs, ctx: &mut Ctx<'_>) -> anyhow::Result<ExitStatus> {
    let reader =
        LogReader::open(&args.dir).with_context(|| format!("opening {}", args.dir.display()))?;
    let service_id = reader.meta().service_id.clone();
    let mut config = AuditConfig::local(service_id, &args.dir);
    config.keys = KeyHandling::ExistingOnly;
    let logger = AuditLogger::new(config).map_err(|e| match e {
        AuditError::LogLocked => locked(&args.dir),
        e => anyhow::Error::new(e).context(format!("opening {} for writing", args.dir.display())),
    })?;
    let input: Box<dyn Read> = match args.file.as_deref() {
        None => Box::new(std::io::stdin().lock()),
        Some(path) if path == Path::new("-") => Box::new(std::io::stdin().lock()),
        Some(path) => {
            Box::new(File::open(path).with_context(|| format!("reading {}", path.display()))?)
        }
    };
    let mut input = BufReader::new(input);
    let (mut written, mut refused, mut unflushed) = (0u64, 0u64, 0u64);
    let mut refused_lines = Vec::new();
    let mut line = Vec::new();
    let mut number = 0u64;
    loop {
        number += 1;
        let read = read_bounded_line(&mut input, &mut line).context("reading the input")?;
        let text = match read {
            Line::End => break,
            Line::TooLong => Err(format!("longer than {MAX_LINE_BYTES} bytes")),
            Line::Complete => std::str::from_utf8(&line).map_err(|_| "not UTF-8".to_owned()),
        };
        let event = match text {
            Ok(t) if t.trim().is_empty() => continue,
            Ok(t) => parse_line(t),
            Err(reason) => Err(reason),
        };
        match event {
            Ok((event, context)) => {
                logger
                    .emit_with(event, context)
                    .with_context(|| format!("line {number}: not written"))?;
                written += 1;
                unflushed += 1;
                let stats = logger.stats();
                if unflushed >= MAX_UNFLUSHED_EVENTS
                    || stats.queue_bytes + stats.critical_queue_bytes >= MAX_UNFLUSHED_BYTES
                {
                    logger.flush().context("making the events durable")?;
                    unflushed = 0;
                }
            }
            Err(reason) => {
                refused += 1;
                refused_lines.push(number);
                writeln!(
                    ctx.err,
                    "audit: line {number}: {}; nothing of it was written",
                    display_safe(&reason)
                )?;
            }
        }
    }
    logger.flush().context("making the events durable")?;
    logger.shutdown().context("closing the log")?;
    if args.format == ResultFormat::Json {
        print_json(
            ctx.out,
            &serde_json::json!({
                "dir": args.dir.display().to_string(),
                "written": written,
                "refused": refused,
                "refused_lines": refused_lines,
            }),
        )?;
    } else {
        writeln!(
            ctx.err,
            "{written} event(s) written to {}; all durable",
            display_safe(&args.dir.display().to_string())
        )?;
        if refused > 0 {
            writeln!(ctx.err, "{refused} line(s) refused")?;
        }
    }
    if refused > 0 {
        return Ok(ExitStatus::Usage);
    }
    Ok(ExitStatus::Success)
}

fn locked(dir: &Path) -> anyhow::Error {
    anyhow::anyhow!(
        "{} is held by another writer (a running service or another `audit emit`); nothing \
         was written. Send the events to that writer, or stop it first",
        dir.display()
    )
}

/// Fails clearly, before anything is opened for writing, when a writer holds the log.
/// The members a line may have.
const MEMBERS: [&str; 8] = [
    "kind",
    "event",
    "category",
    "severity",
    "outcome",
    "claimed_time",
    "request_id",
    "user_agent",
];

/// One JSON line to an event and its envelope's correlation fields; the error names what is
/// wrong without echoing values.
fn parse_line(text: &str) -> Result<(AuditEvent, RecordContext), String> {
    let value: Value = serde_json::from_str(text).map_err(|e| format!("not JSON ({e})"))?;
    let Value::Object(mut object) = value else {
        return Err("not a JSON object".to_owned());
    };
    if object.contains_key("time") {
        return Err("member `time` is not accepted: the log sets a record's time to when it \
                    receives it; give the event's original time as `claimed_time` (RFC 3339), \
                    which the record keeps beside it"
            .to_owned());
    }
    if let Some(extra) = object.keys().find(|k| !MEMBERS.contains(&k.as_str())) {
        return Err(format!(
            "member `{extra}` is not accepted: give only kind, event (and optionally category, \
             severity, outcome, claimed_time, request_id, user_agent); the log assigns \
             sequence numbers, times, ids and hashes"
        ));
    }
    let text_member = |name: &str| match object.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("`{name}` must be a string")),
    };
    let claimed_time = match text_member("claimed_time")? {
        None => None,
        Some(t) => Some(Timestamp::parse_rfc3339(&t).map_err(|_| {
            "`claimed_time` is not an RFC 3339 time (such as 2026-11-22T09:20:00Z)".to_owned()
        })?),
    };
    let context = RecordContext {
        claimed_time,
        request_id: text_member("request_id")?,
        user_agent: text_member("user_agent")?,
    };
    let kind_name = object.get("kind").and_then(Value::as_str).ok_or("no `kind` string")?;
    let kind: EventKind = kind_name.parse().map_err(|_| {
        format!("unknown event kind `{kind_name}` (system records are written by the log only)")
    })?;
    let fields = object.remove("event").ok_or("no `event` object")?;
    let event =
        event_from_fields(kind, fields).map_err(|e| format!("`event` does not fit {kind}: {e}"))?;
    if let Some(category) = object.get("category")
        && category.as_str() != Some(kind.category().as_str())
    {
        return Err(format!("`category` does not match {kind}"));
    }
    if let Some(severity) = object.get("severity")
        && severity.as_str() != Some(event.severity().as_str())
    {
        return Err(format!("`severity` does not match the event (it is {})", event.severity()));
    }
    if let Some(outcome) = object.get("outcome") {
        let derived = event.outcome();
        if outcome.as_str() != derived.map(|o| o.as_str()) {
            return Err(match derived {
                Some(o) => format!("`outcome` does not match the event (it is {o})"),
                None => format!("{kind} has no outcome"),
            });
        }
    }
    Ok((event, context))
}

enum Line {
    /// A line (without its line feed) is in the buffer.
    Complete,
    /// The line was longer than the bound; it was skipped up to its end.
    TooLong,
    /// No more input.
    End,
}

/// Reads one line into `buf`, holding at most [`MAX_LINE_BYTES`] of it.
fn read_bounded_line(input: &mut impl BufRead, buf: &mut Vec<u8>) -> std::io::Result<Line> {
    buf.clear();
    let mut too_long = false;
    let mut any = false;
    loop {
        let chunk = input.fill_buf()?;
        if chunk.is_empty() {
            return Ok(match (any, too_long) {
                (false, _) => Line::End,
                (true, true) => Line::TooLong,
                (true, false) => Line::Complete,
            });
        }
        any = true;
        let (part, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (&chunk[..i], Some(i + 1)),
            None => (chunk, None),
        };
        if buf.len() + part.len() > MAX_LINE_BYTES {
            too_long = true;
            buf.clear();
        } else if !too_long {
            buf.extend_from_slice(part);
        }
        let used = done.unwrap_or(chunk.len());
        input.consume(used);
        if done.is_some() {
            if buf.last() == Some(&b'\r') {
                buf.pop();
            }
            return Ok(if too_long { Line::TooLong } else { Line::Complete });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_parse_to_events_and_bad_lines_say_why() {
        let fields = audit_events::event_to_fields(&EventKind::AuthFailure.example()).unwrap();
        let line = serde_json::json!({"kind": "auth.failure", "event": fields}).to_string();
        assert_eq!(
            parse_line(&line).unwrap(),
            (EventKind::AuthFailure.example(), RecordContext::default())
        );
        let with_checks = serde_json::json!({
            "kind": "auth.failure", "category": "authentication", "severity": "medium", "event": fields
        });
        assert!(parse_line(&with_checks.to_string()).is_ok());
        for (bad, why) in [
            ("{", "not JSON"),
            ("[1]", "not a JSON object"),
            ("{\"event\":{}}", "no `kind`"),
            ("{\"kind\":\"auth.nope\",\"event\":{}}", "unknown event kind"),
            ("{\"kind\":\"system.seal\",\"event\":{}}", "unknown event kind"),
            ("{\"kind\":\"auth.failure\"}", "no `event`"),
            ("{\"kind\":\"auth.failure\",\"event\":{\"reason\":1}}", "does not fit"),
            ("{\"kind\":\"auth.failure\",\"event\":{},\"seq\":4}", "member `seq`"),
        ] {
            let err = parse_line(bad).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
        let wrong = serde_json::json!({"kind": "auth.failure", "severity": "low", "event": fields});
        assert!(parse_line(&wrong.to_string()).unwrap_err().contains("severity"));
    }

    #[test]
    fn lines_carry_a_claimed_time_and_correlation_fields() {
        let fields = audit_events::event_to_fields(&EventKind::AuthFailure.example()).unwrap();
        let line = serde_json::json!({
            "kind": "auth.failure", "event": fields, "outcome": "failure",
            "claimed_time": "2026-11-22T10:20:00+01:00", "request_id": "req-1",
            "user_agent": "curl/8.5.0",
        });
        let (_, context) = parse_line(&line.to_string()).unwrap();
        assert_eq!(context.claimed_time.map(|t| t.to_rfc3339()).unwrap(), "2026-11-22T09:20:00Z");
        assert_eq!(context.request_id.as_deref(), Some("req-1"));
        assert_eq!(context.user_agent.as_deref(), Some("curl/8.5.0"));
        for (member, value, why) in [
            ("time", serde_json::json!("2026-11-22T09:20:00Z"), "`claimed_time`"),
            ("claimed_time", serde_json::json!("yesterday"), "not an RFC 3339 time"),
            ("claimed_time", serde_json::json!(17), "must be a string"),
            ("request_id", serde_json::json!(["a"]), "must be a string"),
            ("outcome", serde_json::json!("success"), "does not match"),
        ] {
            let mut bad = serde_json::json!({"kind": "auth.failure", "event": fields});
            bad[member] = value;
            let err = parse_line(&bad.to_string()).unwrap_err();
            assert!(err.contains(why), "{member}: {err}");
        }
        let fields = audit_events::event_to_fields(&EventKind::SuspiciousActivity.example());
        let none = serde_json::json!({
            "kind": "security.suspicious_activity", "event": fields.unwrap(), "outcome": "unknown"
        });
        assert!(parse_line(&none.to_string()).unwrap_err().contains("has no outcome"));
    }

    #[test]
    fn lines_are_read_within_the_bound() {
        let long = "x".repeat(MAX_LINE_BYTES + 10);
        let text = format!("a\r\n{long}\nb");
        let mut input = std::io::Cursor::new(text.into_bytes());
        let mut buf = Vec::new();
        assert!(matches!(read_bounded_line(&mut input, &mut buf).unwrap(), Line::Complete));
        assert_eq!(buf, b"a");
        assert!(matches!(read_bounded_line(&mut input, &mut buf).unwrap(), Line::TooLong));
        assert!(buf.len() <= MAX_LINE_BYTES);
        assert!(matches!(read_bounded_line(&mut input, &mut buf).unwrap(), Line::Complete));
        assert_eq!(buf, b"b");
        assert!(matches!(read_bounded_line(&mut input, &mut buf).unwrap(), Line::End));
    }
}
