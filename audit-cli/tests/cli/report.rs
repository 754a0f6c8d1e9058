//! `audit report`: what was found in the period, integrity, incidents, failures by actor and
//! address, GDPR requests, retention, drops and recoveries; Markdown, JSON and HTML.

use audit_events::{Body, Entry, EventKind, KindCount, SystemRecord};
use serde_json::Value;

use crate::support::{Fixture, at, entries, new_log, segments, written_log};

fn json_report(fixture: &Fixture, extra: &[&str]) -> (i32, Value) {
    let mut args = vec!["report", "{dir}", "--framework", "soc2", "--format", "json"];
    args.extend_from_slice(extra);
    let run = fixture.audit(&args);
    (run.code, serde_json::from_str(&run.stdout).unwrap())
}

#[test]
fn the_json_report_counts_everything_in_the_log() {
    let fixture = written_log(10);
    let key = fixture.material_file.to_str().unwrap();
    let (code, r) = json_report(&fixture, &["--verification-key", key]);
    assert_eq!(code, 0);
    assert_eq!(r["integrity"]["intact"], true);
    assert!(r["integrity"]["checked_with"].as_str().unwrap().starts_with("verifier material"));
    let records = r["period"]["records"].as_u64().unwrap();
    let by_category: u64 =
        r["categories"].as_object().unwrap().values().map(|v| v.as_u64().unwrap()).sum();
    assert_eq!(by_category, records);
    assert_eq!(r["period"]["events"], 70);
    assert_eq!(r["categories"]["security"], 16);
    assert_eq!(r["kinds"]["auth.failure"], 2);
    // Security incidents: the 8 security kinds and failed seal verifications, with seqs.
    assert_eq!(r["security_incidents"]["total"], 18);
    let listed = r["security_incidents"]["listed"].as_array().unwrap();
    assert!(listed.iter().all(|i| i["seq"].as_u64().is_some()));
    assert!(listed.iter().any(|i| i["kind"] == "seal.verification_failed"));
    let failures = r["authentication_failures"]["by_actor_and_ip"].as_array().unwrap();
    assert!(
        failures
            .iter()
            .any(|f| f["actor"] == "mallory" && f["ip"] == "203.0.113.7" && f["count"] == 2),
        "{failures:?}"
    );
    assert_eq!(r["authentication_failures"]["total"], 4, "auth failures and invalid tokens");
    assert_eq!(r["gdpr"]["total"], 8, "3 compliance kinds and data deletions, twice each");
    assert_eq!(r["retention"]["compliant"], true);
    assert_eq!(r["retention"]["required_days"], 2557);
    assert!(r["events_per_day"].as_array().unwrap().len() == 1);
}

#[test]
fn the_period_limits_the_counts_and_says_what_was_found() {
    let fixture = written_log(10);
    let (_, all) = json_report(&fixture, &[]);
    let (code, part) = json_report(
        &fixture,
        &["--since", "2026-11-22T00:01:00Z", "--until", "2026-11-22T00:02:00Z"],
    );
    assert_eq!(code, 0);
    assert!(part["period"]["records"].as_u64() < all["period"]["records"].as_u64());
    assert_eq!(part["period"]["since"], "2026-11-22T00:01:00Z");
    assert!(part["period"]["first"]["time"].as_str().unwrap() >= "2026-11-22T00:01:00Z");
    assert!(part["period"]["last"]["time"].as_str().unwrap() < "2026-11-22T00:02:00Z");
}

#[test]
fn drops_restarts_and_recoveries_are_reported() {
    let (fixture, mut writer) = new_log();
    writer.append_batch(&entries(4, at(1)), at(1)).unwrap();
    let dropped = Entry {
        time: at(2),
        audit_id: audit_events::AuditId([3; 16]),
        body: Body::System(SystemRecord::EventsDropped {
            total: 42,
            first: at(1),
            last: at(2),
            by_kind: vec![KindCount { kind: EventKind::TaskSubmitted, count: 42 }],
        }),
    };
    writer.append_batch(&[dropped], at(2)).unwrap();
    drop(writer);
    let file = segments(&fixture.dir).pop().unwrap();
    let mut bytes = std::fs::read(&file).unwrap();
    bytes.extend_from_slice(&[50, 0, 0, 0, 1]);
    std::fs::write(&file, &bytes).unwrap();
    fixture.open(at(3)).close(at(4)).unwrap();
    let (code, r) = json_report(&fixture, &[]);
    assert_eq!(code, 0);
    assert_eq!(r["dropped_events"]["total"], 42);
    assert_eq!(r["dropped_events"]["records"][0]["by_kind"][0]["kind"], "task.submitted");
    assert_eq!(r["restarts"][0]["previous_clean"], false);
    assert_eq!(r["recoveries"][0]["bytes_discarded"], 5);

    let run = fixture.audit(&["report", "{dir}", "--framework", "iso27001"]).expect(0);
    assert!(run.stdout.contains("- Events dropped: 42"), "{}", run.stdout);
    assert!(run.stdout.contains("after an unclean stop"), "{}", run.stdout);
    assert!(run.stdout.contains("5 torn bytes discarded"), "{}", run.stdout);
}

#[test]
fn the_markdown_report_has_every_section() {
    let fixture = written_log(10);
    let run = fixture.audit(&["report", "{dir}", "--framework", "gdpr"]).expect(0);
    let md = &run.stdout;
    assert!(md.starts_with("# GDPR audit log report\n"), "{md}");
    for section in [
        "## Integrity",
        "**CHAINED**",
        "## Events by category",
        "## Events by kind",
        "## Events per day",
        "## Security incidents (18)",
        "## Authentication failures by actor and IP (4)",
        "| mallory | 203.0.113.7 | 2 |",
        "## GDPR requests and erasures (8)",
        "compliance.gdpr_right_to_erasure",
        "## Retention",
        "compliant: nothing has been removed",
        "## Dropped events, restarts and recoveries",
    ] {
        assert!(md.contains(section), "{section} missing:\n{md}");
    }
}

#[test]
fn the_html_report_is_one_self_contained_file_with_a_chart() {
    let fixture = written_log(10);
    let run =
        fixture.audit(&["report", "{dir}", "--framework", "soc2", "--format", "html"]).expect(0);
    let html = &run.stdout;
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert!(html.trim_end().ends_with("</html>"));
    assert!(html.contains("<svg ") && html.contains("<rect "), "no chart");
    assert!(html.contains("<style>"));
    for forbidden in ["<script", "src=", "href=", "url(", "@import", "<link", "<iframe", "<object"]
    {
        assert!(!html.contains(forbidden), "{forbidden} in the HTML report");
    }
}

#[test]
fn a_tampered_log_gives_a_failing_report_and_exit_1() {
    let fixture = written_log(16);
    let files = segments(&fixture.dir);
    let mut bytes = std::fs::read(&files[1]).unwrap();
    let i = bytes.len() / 2;
    bytes[i] ^= 0x40;
    std::fs::write(&files[1], &bytes).unwrap();
    let run = fixture.audit(&["report", "{dir}", "--framework", "soc2"]).expect(1);
    assert!(run.stdout.contains("**FAIL**"), "{}", run.stdout);
    assert!(run.stdout.contains("- First failure: seg-"), "{}", run.stdout);
    let (code, r) = json_report(&fixture, &[]);
    assert_eq!(code, 1);
    assert_eq!(r["integrity"]["intact"], false);
    assert!(r["integrity"]["read_error"].is_string(), "counts stop at the damage: {r}");
    fixture.audit(&["report", "{dir}", "--framework", "pci"]).expect(2);
}
