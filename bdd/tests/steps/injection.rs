//! Steps of `injection.feature`: a hostile payload in one text field of a real event, emitted
//! through the logger, then read back through the store and the `audit` binary.

use audit_events::{AuditEvent, Body, EventKind, Record};
use bdd::hostile_payload;
use cucumber::{then, when};
use input_validation::unescape_log;
use serde_json::Value;

use super::{AttackWorld, assert_no_raw_dangerous};

/// What the scenario sent.
#[derive(Debug, Default)]
pub(crate) struct State {
    /// The event kind.
    kind: Option<EventKind>,
    /// The field path the payload went into (`actor.user_id`, `reason`...).
    field: String,
    /// The payload, exactly as sent.
    payload: String,
}

/// An example event of `kind` with `value` in the field at `field`. Written out per field
/// rather than through the catalogue's own visitor, so that a fault in the visitor cannot hide
/// a fault in escaping.
fn event_with(kind: EventKind, field: &str, value: &str) -> AuditEvent {
    let mut event = kind.example();
    let value = value.to_owned();
    let slot = match (&mut event, field) {
        (AuditEvent::AuthSuccess { actor, .. }, "actor.user_id")
        | (AuditEvent::TaskCanceled { actor, .. }, "actor.user_id")
        | (AuditEvent::PoolCreated { actor, .. }, "actor.user_id") => &mut actor.user_id,
        (AuditEvent::AuthSuccess { path, .. }, "path")
        | (AuditEvent::AuthFailure { path, .. }, "path") => path,
        (AuditEvent::AuthFailure { reason, .. }, "reason")
        | (AuditEvent::TaskCanceled { reason, .. }, "reason") => reason,
        (AuditEvent::AuthFailure { attempted_user: Some(user), .. }, "attempted_user") => user,
        (AuditEvent::PoolCreated { pool_id, .. }, "pool_id") => pool_id,
        (AuditEvent::TaskCanceled { task_id, .. }, "task_id") => task_id,
        _ => panic!("the suite does not set `{field}` of {kind} events"),
    };
    *slot = value;
    event
}

/// The value at a dotted path of a JSON object.
fn json_at<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(value, |v, key| v.get(key))
}

/// The event record of the scenario's kind: there must be exactly one.
fn the_record(world: &AttackWorld) -> Record {
    let kind = world.injection.kind.expect("no event was emitted");
    let mut found: Vec<Record> = world
        .records()
        .into_iter()
        .filter(|r| r.event().map(AuditEvent::kind) == Some(kind))
        .collect();
    assert_eq!(found.len(), 1, "expected one {kind} record, found {}", found.len());
    found.remove(0)
}

/// The stored text of the scenario's field.
fn stored_field(world: &AttackWorld) -> String {
    let record = the_record(world);
    let json = record.to_json_value(None, None).unwrap();
    let field = &world.injection.field;
    json_at(&json["event"], field)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no text field `{field}` in {json}"))
        .to_owned()
}

#[when(expr = "an event of kind {string} is emitted with the {string} payload in {string}")]
fn emit_hostile(world: &mut AttackWorld, kind: String, vector: String, field: String) {
    let kind: EventKind = kind.parse().unwrap_or_else(|e| panic!("{kind}: {e}"));
    let payload = hostile_payload(&vector).unwrap_or_else(|| panic!("no payload `{vector}`"));
    world.emit(event_with(kind, &field, payload.text));
    world.logger().flush().expect("the event became durable");
    world.close_logger();
    world.injection = State { kind: Some(kind), field, payload: payload.text.to_owned() };
}

#[then("the event is recorded and nothing was dropped")]
fn recorded_without_drops(world: &mut AttackWorld) {
    let stats = world.stats.as_ref().unwrap();
    assert_eq!(stats.dropped_total, 0, "{stats:?}");
    assert_eq!(stats.written, 1, "{stats:?}");
    assert_eq!(world.recorded_drops(), 0);
    the_record(world);
}

#[then("the stored field holds no dangerous character and unescapes to the exact payload")]
fn stored_escaped(world: &mut AttackWorld) {
    let stored = stored_field(world);
    assert_no_raw_dangerous("the stored field", &stored);
    assert_ne!(stored, world.injection.payload, "stored as sent, not escaped");
    let back = unescape_log(&stored).unwrap_or_else(|e| panic!("{stored:?}: {e}"));
    assert_eq!(back, world.injection.payload, "the escaping lost or changed bytes");
}

#[then("the record lists the field as escaped")]
fn listed_as_escaped(world: &mut AttackWorld) {
    let record = the_record(world);
    let Body::Event(event) = &record.body else { unreachable!("an event record") };
    assert_eq!(event.escaped, std::slice::from_ref(&world.injection.field), "{event:?}");
    assert!(event.truncated.is_empty(), "{event:?}");
}

#[then(expr = "{string} shows the record without any raw dangerous character")]
fn cli_output_is_clean(world: &mut AttackWorld, command: String) {
    let kind = world.injection.kind.unwrap();
    let stored = stored_field(world);
    let mut words = command.split_whitespace();
    assert_eq!(words.next(), Some("audit"), "{command}");
    let sub = words.next().unwrap().to_owned();
    let mut args = vec![sub.clone(), world.log.to_string_lossy().into_owned()];
    if sub == "query" {
        args.extend(["--kind".to_owned(), kind.to_string()]);
    }
    args.extend(words.map(str::to_owned));
    let format = args.iter().skip_while(|a| *a != "--format").nth(1).cloned().unwrap();
    let run = world.audit(&args);
    assert_eq!(run.code, 0, "{}\n{}", run.command, run.all_output());
    assert_no_raw_dangerous(&run.command, &run.all_output());
    let lines: Vec<&str> = run.stdout.lines().collect();
    let records = if sub == "query" { 1 } else { world.records().len() };
    let header = usize::from(format == "csv");
    // One line per record: no payload broke a line or forged one.
    assert_eq!(lines.len(), records + header, "{}:\n{}", run.command, run.stdout);
    let line = lines
        .iter()
        .find(|l| l.contains(kind.as_str()))
        .unwrap_or_else(|| panic!("{}: no {kind} line:\n{}", run.command, run.stdout));
    match format.as_str() {
        "jsonl" => {
            for line in &lines {
                serde_json::from_str::<Value>(line).unwrap_or_else(|e| panic!("{line}: {e}"));
            }
            let value: Value = serde_json::from_str(line).unwrap();
            let shown = json_at(&value["event"], &world.injection.field).and_then(Value::as_str);
            assert_eq!(shown, Some(stored.as_str()), "{line}");
        }
        // Text and CSV show the stored (escaped) text, visible as such.
        _ => assert!(line.contains(&stored), "{stored:?} not shown in:\n{line}"),
    }
}
