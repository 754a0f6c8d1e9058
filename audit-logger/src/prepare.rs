//! What `emit` does to an event before queueing it: escape every text field, apply the bounds,
//! and estimate the memory the queued event holds.
//!
//! Order matters. A field far over its bound is first cut to a little more than the bound, so
//! that escaping a hostile megabyte costs no more than escaping a kilobyte; escaping is
//! character by character, so escaping that prefix gives exactly the start of escaping the
//! whole field, and the bound then cuts it at the same place (marking it truncated, since the
//! prefix is longer than the bound). Then every text field is escaped with `escape_for_log`,
//! then the bounds are applied with an escape-aware cut, then buffers far larger than their
//! contents are shrunk so that the byte estimate, and the memory it stands for, stay bounded.
//!
//! A field whose only dangerous characters lie past its bound is stored without escapes, so it
//! is listed as truncated but not as escaped: the record lists what its stored text needs.
//! Most events need no cutting at all; for them the bounds pass is skipped when a single pass
//! over the fields proves it would cut nothing (a property test checks both paths agree).

use std::borrow::Cow;
use std::mem::size_of;

use audit_events::{
    AuditEvent, EventKind, FieldChange, MAX_EVENT_BYTES, MAX_IDENTIFIER_BYTES, MAX_LIST_ITEMS,
    MAX_TEXT_BYTES, RecordContext,
};
use input_validation::{escape_for_log, truncate_escaped};

use crate::error::AuditError;

/// How far past its bound a field is kept before escaping: one character more than the bound
/// at least, so a field over its bound is always cut (and reported cut) by the bounds.
const PRE_CUT_MARGIN: usize = 4;

/// A buffer is shrunk when its capacity exceeds twice its length plus this, so that a caller's
/// spare capacity cannot make a small event count (or weigh) like a large one.
const SLACK_BYTES: usize = 64;

/// What preparing an event found: the fields it escaped and cut, and the heap bytes the
/// event holds.
#[derive(Debug)]
pub(crate) struct Prepared {
    pub(crate) escaped: Vec<String>,
    pub(crate) truncated: Vec<String>,
    pub(crate) heap: usize,
}

/// Escapes and bounds `event` in place (no copy of the event is made).
pub(crate) fn prepare(event: &mut AuditEvent) -> Result<Prepared, AuditError> {
    let kind = event.kind();
    let mut escaped: Vec<String> = Vec::new();
    let mut text = TextTally::default();
    event.for_each_text_mut(&mut |path, class, field| {
        let bound = class.max_bytes();
        let keep = bound + PRE_CUT_MARGIN;
        if field.len() > keep {
            field.truncate(field.floor_char_boundary(keep));
        }
        if !is_plain_ascii(field)
            && let Cow::Owned(rewritten) = escape_for_log(field)
        {
            *field = rewritten;
            escaped.push(path.to_string());
        }
        text.over_bound |= field.len() > bound;
        text.bytes += field.len();
        text.fields += 1;
        text.heap += fit_text(field);
    });
    let lists = fit_lists(event);
    let (truncated, mut heap) = if text.certainly_within_bounds(lists) {
        // `apply_bounds` would cut nothing: skip its passes over the event.
        (Vec::new(), text.heap + lists.map_or(0, |l| l.heap))
    } else {
        let truncated = event
            .apply_bounds(&|text, max| truncate_escaped(text, max).len())
            .map_err(|e| AuditError::InvalidEvent { kind, reason: e.to_string() })?;
        let mut heap = 0usize;
        event.for_each_text_mut(&mut |_, _, field| heap += fit_text(field));
        (truncated, heap + fit_lists(event).map_or(0, |l| l.heap))
    };
    for paths in [&escaped, &truncated] {
        heap += paths.capacity() * size_of::<String>();
        heap += paths.iter().map(String::capacity).sum::<usize>();
    }
    Ok(Prepared { escaped, truncated, heap })
}

/// Escapes and bounds the envelope's two text fields the way [`prepare`] treats event text
/// (`request_id` an identifier, `user_agent` free text), noting them as `envelope.request_id`
/// and `envelope.user_agent` in `prepared`, and adds the heap they hold. An empty context costs
/// two checks.
pub(crate) fn prepare_context(context: &mut RecordContext, prepared: &mut Prepared) {
    let fields = [
        ("envelope.request_id", MAX_IDENTIFIER_BYTES, &mut context.request_id),
        ("envelope.user_agent", MAX_TEXT_BYTES, &mut context.user_agent),
    ];
    for (path, bound, field) in fields {
        let Some(text) = field.as_mut() else {
            continue;
        };
        let keep = bound + PRE_CUT_MARGIN;
        if text.len() > keep {
            text.truncate(text.floor_char_boundary(keep));
        }
        if !is_plain_ascii(text)
            && let Cow::Owned(rewritten) = escape_for_log(text)
        {
            *text = rewritten;
            prepared.escaped.push(path.to_owned());
        }
        if text.len() > bound {
            let end = truncate_escaped(text, bound).len();
            text.truncate(end);
            prepared.truncated.push(path.to_owned());
        }
        prepared.heap += fit_text(text) + path.len();
    }
}

/// What one pass over the text fields learned.
#[derive(Default)]
struct TextTally {
    over_bound: bool,
    bytes: usize,
    fields: usize,
    heap: usize,
}

impl TextTally {
    /// True only when `apply_bounds` certainly cuts nothing: no field over its class bound, the
    /// lists known and within [`MAX_LIST_ITEMS`], and the text (with a generous allowance for
    /// length prefixes) within half of [`MAX_EVENT_BYTES`], leaving the other half for the
    /// fixed-size fields, which never come near it.
    fn certainly_within_bounds(&self, lists: Option<Lists>) -> bool {
        let Some(lists) = lists else {
            return false;
        };
        !self.over_bound
            && lists.longest <= MAX_LIST_ITEMS
            && self.bytes + 8 * self.fields <= MAX_EVENT_BYTES / 2
    }
}

/// Printable ASCII without a backslash: text `escape_for_log` returns unchanged (its table
/// escapes only the backslash, controls and some non-ASCII characters). Checked without an
/// early exit so that the loop vectorises; most fields of most events take only this path.
fn is_plain_ascii(text: &str) -> bool {
    !text.bytes().fold(false, |bad, b| bad | !(0x20..0x7f).contains(&b) | (b == b'\\'))
}

fn fit_text(text: &mut String) -> usize {
    if text.capacity() > 2 * text.len() + SLACK_BYTES {
        text.shrink_to_fit();
    }
    text.capacity()
}

/// The list fields of an event: heap bytes of their buffers (the items' own text is counted
/// by the text pass) and the longest list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Lists {
    heap: usize,
    longest: usize,
}

impl Lists {
    fn add<T>(mut self, list: &mut Vec<T>) -> Self {
        if list.capacity() > 2 * list.len() + 4 {
            list.shrink_to_fit();
        }
        self.heap += list.capacity() * size_of::<T>();
        self.longest = self.longest.max(list.len());
        self
    }
}

/// Kinds of the catalogue with no list field.
const fn has_no_lists(kind: EventKind) -> bool {
    matches!(
        kind,
        EventKind::AuthSuccess
            | EventKind::AuthFailure
            | EventKind::TokenRevoked
            | EventKind::AuthorizationGranted
            | EventKind::AuthorizationDenied
            | EventKind::PoolDeleted
            | EventKind::TaskSubmitted
            | EventKind::TaskCompleted
            | EventKind::TaskCanceled
            | EventKind::VramSealed
            | EventKind::SealVerified
            | EventKind::SealVerificationFailed
            | EventKind::VramAllocated
            | EventKind::VramAllocationFailed
            | EventKind::VramDeallocated
            | EventKind::RateLimitExceeded
            | EventKind::PathTraversalAttempt
            | EventKind::InvalidTokenUsed
            | EventKind::PolicyViolation
            | EventKind::SuspiciousActivity
            | EventKind::IntegrityViolation
            | EventKind::MalformedModelRejected
            | EventKind::ResourceLimitViolation
            | EventKind::InferenceExecuted
            | EventKind::ModelAccessed
    )
}

/// Shrinks the buffers of an event's list fields and measures them; `None` for a kind this
/// function does not know (a kind added to the catalogue later), which then takes the full
/// bounds pass. A test checks that every kind of the catalogue is known.
pub(crate) fn fit_lists(event: &mut AuditEvent) -> Option<Lists> {
    let none = Lists::default();
    let lists = match event {
        AuditEvent::TokenCreated { scope, .. }
        | AuditEvent::GdprDataAccessRequest { scope, .. } => none.add(scope),
        AuditEvent::PermissionChanged { old_permissions, new_permissions, .. } => {
            none.add(old_permissions).add(new_permissions)
        }
        AuditEvent::PoolCreated { gpu_devices, .. } => none.add(gpu_devices),
        AuditEvent::PoolModified { changes, .. } => none.add::<FieldChange>(changes),
        AuditEvent::NodeRegistered { capabilities, .. } => none.add(capabilities),
        AuditEvent::NodeDeregistered { pools_affected, .. } => none.add(pools_affected),
        AuditEvent::DataDeleted { data_types, .. }
        | AuditEvent::GdprDataExport { data_types, .. } => none.add(data_types),
        AuditEvent::GdprRightToErasure { data_types_deleted, .. } => none.add(data_types_deleted),
        other if has_no_lists(other.kind()) => none,
        _ => return None,
    };
    Some(lists)
}

#[cfg(test)]
mod tests {
    use audit_events::{EventRecord, MAX_IDENTIFIER_BYTES, MAX_TEXT_BYTES};
    use input_validation::unescape_log;

    use super::*;

    /// The stored form of `event` and its heap bytes.
    fn prepare(mut event: AuditEvent) -> Result<(EventRecord, usize), AuditError> {
        let Prepared { escaped, truncated, heap } = super::prepare(&mut event)?;
        Ok((EventRecord { event, escaped, truncated }, heap))
    }

    fn texts(event: &mut AuditEvent) -> Vec<(String, String)> {
        let mut out = Vec::new();
        event.for_each_text_mut(&mut |path, _, text| out.push((path.to_string(), text.clone())));
        out
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        /// The plain-ASCII shortcut never skips text that `escape_for_log` would change.
        #[test]
        fn plain_ascii_needs_no_escaping(text in "[\\x00-\\x{a0}]{0,40}|.{0,40}") {
            if is_plain_ascii(&text) {
                proptest::prop_assert!(matches!(escape_for_log(&text), Cow::Borrowed(_)));
            }
        }
    }

    #[test]
    fn plain_ascii_is_recognised() {
        assert!(is_plain_ascii("svc-orchestrator /v1/tasks ~!@#$%^&*()"));
        for bad in ["a\\b", "tab\there", "del\u{7f}", "caf\u{e9}", "nul\u{0}", "\u{202E}"] {
            assert!(!is_plain_ascii(bad), "{bad:?}");
        }
    }

    #[test]
    fn clean_events_are_unchanged() {
        for kind in EventKind::ALL {
            let (record, heap) = prepare(kind.example()).unwrap();
            assert_eq!(record.event, kind.example(), "{kind}");
            assert!(record.escaped.is_empty() && record.truncated.is_empty(), "{kind}");
            assert!(heap < 4096, "{kind}: {heap}");
        }
    }

    #[test]
    fn hostile_fields_are_escaped_and_listed() {
        let mut event = EventKind::AuthFailure.example();
        event.for_each_text_mut(&mut |path, _, text| {
            if path.to_string() == "reason" {
                *text = "bad\r\nFAKE ok\u{1b}[2J\u{202E}".to_owned();
            }
        });
        let (mut record, _) = prepare(event).unwrap();
        assert_eq!(record.escaped, ["reason"]);
        let reason = texts(&mut record.event).into_iter().find(|(p, _)| p == "reason").unwrap().1;
        assert_eq!(reason, r"bad\r\nFAKE ok\x1b[2J\u{202E}");
        assert_eq!(unescape_log(&reason).unwrap(), "bad\r\nFAKE ok\u{1b}[2J\u{202E}");
    }

    #[test]
    fn a_huge_hostile_field_is_cut_once_and_stays_small() {
        let mut event = EventKind::AuthFailure.example();
        let hostile = "\u{1b}".repeat(1 << 20);
        event.for_each_text_mut(&mut |path, _, text| {
            let p = path.to_string();
            if p == "reason" || p == "attempted_user" {
                *text = hostile.clone();
            }
        });
        let (mut record, heap) = prepare(event).unwrap();
        assert_eq!(record.escaped, ["attempted_user", "reason"]);
        assert_eq!(record.truncated, ["attempted_user", "reason"]);
        let fields = texts(&mut record.event);
        let user = &fields.iter().find(|(p, _)| p == "attempted_user").unwrap().1;
        let reason = &fields.iter().find(|(p, _)| p == "reason").unwrap().1;
        assert_eq!(user.len(), MAX_IDENTIFIER_BYTES);
        assert_eq!(reason.len(), MAX_TEXT_BYTES);
        // The stored text is a prefix of the original once unescaped.
        assert!(hostile.starts_with(unescape_log(reason).unwrap().as_ref()));
        assert!(heap < 16 * 1024, "{heap}");
    }

    #[test]
    fn the_pre_cut_gives_the_same_text_as_cutting_the_whole_field() {
        for filler in ["a", "\u{1b}", "\\", "é", "\u{202E}", "x\u{7}"] {
            let hostile = filler.repeat(3000);
            let mut event = EventKind::AuthFailure.example();
            event.for_each_text_mut(&mut |path, _, text| {
                if path.to_string() == "reason" {
                    text.clone_from(&hostile);
                }
            });
            let (mut record, _) = prepare(event).unwrap();
            let reason = texts(&mut record.event).into_iter().find(|(p, _)| p == "reason").unwrap();
            let whole = escape_for_log(&hostile);
            assert_eq!(reason.1, truncate_escaped(&whole, MAX_TEXT_BYTES), "{filler:?}");
            assert!(record.truncated.contains(&"reason".to_owned()));
        }
    }

    #[test]
    fn spare_capacity_is_given_back() {
        let mut event = EventKind::TaskCanceled.example();
        event.for_each_text_mut(&mut |path, _, text| {
            if path.to_string() == "reason" {
                let mut big = String::with_capacity(1 << 20);
                big.push_str("client went away");
                *text = big;
            }
        });
        let (_, heap) = prepare(event).unwrap();
        assert!(heap < 4096, "{heap}");

        let mut event = EventKind::PoolCreated.example();
        if let AuditEvent::PoolCreated { gpu_devices, .. } = &mut event {
            gpu_devices.reserve(1 << 20);
        }
        let (_, heap) = prepare(event).unwrap();
        assert!(heap < 4096, "{heap}");
    }

    #[test]
    fn every_kind_is_known_with_its_lists() {
        for kind in EventKind::ALL {
            let mut event = kind.example();
            let fields = audit_events::event_to_fields(&event).unwrap();
            let longest = fields
                .as_object()
                .unwrap()
                .values()
                .filter_map(|v| v.as_array().map(Vec::len))
                .max()
                .unwrap_or(0);
            let lists = fit_lists(&mut event).unwrap_or_else(|| panic!("{kind} is not known"));
            // Examples have every list non-empty, so a list the match misses shows here.
            assert_eq!(lists.longest, longest, "{kind}");
            assert_eq!(lists.heap > 0, longest > 0, "{kind}");
        }
    }

    #[test]
    fn a_long_list_is_cut_and_listed() {
        let mut event = EventKind::NodeRegistered.example();
        if let AuditEvent::NodeRegistered { capabilities, .. } = &mut event {
            *capabilities = (0..100).map(|i| format!("cap-{i}")).collect();
        }
        let (record, _) = prepare(event).unwrap();
        assert_eq!(record.truncated, ["capabilities"]);
        let AuditEvent::NodeRegistered { capabilities, .. } = &record.event else { panic!() };
        assert_eq!(capabilities.len(), MAX_LIST_ITEMS);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        /// The shortcut that skips `apply_bounds` gives exactly what `apply_bounds` gives.
        #[test]
        fn the_shortcut_agrees_with_apply_bounds(
            kind in proptest::sample::select(EventKind::ALL),
            len in 0usize..3000,
            items in 0usize..80,
            filler in proptest::sample::select(vec!["a", "\u{1b}", "\\", "\u{e9}", "\u{202E}"]),
        ) {
            let mut event = kind.example();
            let text = filler.repeat(len);
            event.for_each_text_mut(&mut |_, _, field| field.clone_from(&text));
            if let AuditEvent::PoolModified { changes, .. } = &mut event {
                let item = changes[0].clone();
                *changes = vec![item; items];
            }
            let (record, _) = prepare(event.clone()).unwrap();
            // The long way: escape, then apply_bounds.
            let mut slow = event;
            let mut escaped = Vec::new();
            slow.for_each_text_mut(&mut |path, _, field| {
                if let Cow::Owned(e) = escape_for_log(field) {
                    *field = e;
                    escaped.push(path.to_string());
                }
            });
            let truncated =
                slow.apply_bounds(&|t, max| truncate_escaped(t, max).len()).unwrap();
            proptest::prop_assert_eq!(&record.event, &slow);
            proptest::prop_assert_eq!(&record.truncated, &truncated);
            proptest::prop_assert_eq!(&record.escaped, &escaped);
        }
    }
}
