//! `audit report`: a section set per framework on the same log, the checkpoint and query it
//! was computed from, honest integrity and retention words, the embedded digest and the
//! signature, pseudonymised subjects, the CSV populations; Markdown, JSON and HTML.

use audit_chain::NoteSigner;
use audit_events::{Body, Entry, EventKind, KindCount, SystemRecord};
use serde_json::Value;

use crate::support::{
    Fixture, Run, T0, at, config, entries, hostile_log, new_log, segments, written_log,
};

const FRAMEWORKS: [&str; 5] = ["soc2", "gdpr", "iso27001", "hipaa", "pci-dss"];

fn json_report(fixture: &Fixture, framework: &str, extra: &[&str]) -> (i32, Value) {
    let run = report(fixture, framework, "json", extra);
    (run.code, serde_json::from_str(&run.stdout).unwrap())
}

/// `audit report DIR --framework F --format FMT EXTRA...`.
fn report(fixture: &Fixture, framework: &str, format: &str, extra: &[&str]) -> Run {
    let mut args = vec!["report", "{dir}", "--framework", framework, "--format", format];
    args.extend_from_slice(extra);
    fixture.audit(&args)
}

fn section_ids(report: &Value) -> Vec<String> {
    report["sections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The text of every block of one section, tables included, as one string.
fn section_text(report: &Value, id: &str) -> String {
    let section = report["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("no section {id}"));
    section["blocks"].to_string()
}

#[test]
fn each_framework_has_its_own_sections_on_the_same_log() {
    let fixture = written_log(10);
    let key = fixture.material_file.to_str().unwrap();
    let required: [(&str, &[&str]); 5] = [
        (
            "soc2",
            &[
                "cc6-sign-ins",
                "cc6-access",
                "cc6-credentials",
                "cc6-permission-changes",
                "cc7-security-events",
                "cc8-changes",
                "retention",
            ],
        ),
        (
            "gdpr",
            &[
                "art12-requests",
                "art17-erasures",
                "art28-processors",
                "art33-incidents",
                "retention",
            ],
        ),
        (
            "iso27001",
            &["a815-logging", "a816-monitoring", "a817-clock", "a528-evidence", "a533-records"],
        ),
        ("hipaa", &["hipaa-recorded", "hipaa-data-access", "hipaa-examine"]),
        ("pci-dss", &["pci-10-2-1", "pci-10-2-2", "pci-10-6", "pci-10-5-1"]),
    ];
    let mut all_ids = Vec::new();
    for (framework, ids) in required {
        let (code, r) = json_report(&fixture, framework, &["--verification-key", key]);
        assert_eq!(code, 0, "{framework}");
        let found = section_ids(&r);
        for id in ids {
            assert!(found.iter().any(|f| f == id), "{framework}: no section {id} in {found:?}");
        }
        all_ids.push(found);
    }
    // Not one report under several titles: no two frameworks share their section set.
    for (i, a) in all_ids.iter().enumerate() {
        for b in &all_ids[i + 1..] {
            assert_ne!(a, b);
        }
    }
    // The Markdown differs in content, not only in the title line.
    let md = |f: &str| fixture.audit(&["report", "{dir}", "--framework", f]).expect(0).stdout;
    let (soc2, gdpr) = (md("soc2"), md("gdpr"));
    assert!(soc2.contains("## Tokens issued and revoked") && !gdpr.contains("Tokens issued"));
    assert!(gdpr.contains("## Erasures") && !soc2.contains("## Erasures"));
}

#[test]
fn every_control_a_report_cites_is_in_docs_compliance() {
    let doc = include_str!("../../../docs/COMPLIANCE.md");
    let fixture = written_log(3);
    let mut cited = 0;
    for framework in FRAMEWORKS {
        let (_, r) = json_report(&fixture, framework, &[]);
        for section in r["sections"].as_array().unwrap() {
            for control in section["controls"].as_array().unwrap() {
                let control = control.as_str().unwrap();
                cited += 1;
                assert!(
                    doc.contains(&format!("\n| {control} ")),
                    "{framework} cites {control}, which docs/COMPLIANCE.md does not list"
                );
            }
        }
    }
    assert!(cited > 20, "{cited} citations");
}

#[test]
fn sections_hold_the_populations_and_explain_their_counts() {
    let fixture = written_log(10);
    let key = fixture.material_file.to_str().unwrap();
    let (_, r) = json_report(&fixture, "soc2", &["--verification-key", key]);
    assert_eq!(r["period"]["events"], 70);
    assert_eq!(r["categories"]["security"], 16);
    let security = section_text(&r, "cc7-security-events");
    // 16 security events and 2 failed seal verifications, and the report says why 18.
    assert!(
        security.contains(
            "18 records: 16 events of the security category plus 2 seal.verification_failed"
        ),
        "{security}"
    );
    assert!(security.contains("action recorded"), "{security}");
    let sign_ins = section_text(&r, "cc6-sign-ins");
    assert!(
        sign_ins.contains("\"actor\":\"mallory\"") && sign_ins.contains("\"failures\":2"),
        "{sign_ins}"
    );
    let tokens = section_text(&r, "cc6-credentials");
    assert!(tokens.contains("4 token events: 2 issued"), "{tokens}");
    let changes = section_text(&r, "cc8-changes");
    assert!(changes.contains("10 change events"), "{changes}");

    let (_, g) = json_report(&fixture, "gdpr", &["--verification-key", key]);
    let requests = section_text(&g, "art12-requests");
    assert!(requests.contains("2 access requests"), "{requests}");
    assert!(requests.contains("one month after receipt"), "{requests}");
    let erasures = section_text(&g, "art17-erasures");
    assert!(erasures.contains("4 erasure records"), "{erasures}");
    let incidents = section_text(&g, "art33-incidents");
    assert!(incidents.contains("72 hours after the event"), "{incidents}");
}

#[test]
fn the_report_names_its_checkpoint_and_query() {
    let fixture = written_log(10);
    let key = fixture.material_file.to_str().unwrap();
    let (_, r) = json_report(&fixture, "iso27001", &["--verification-key", key]);
    let size = r["checkpoint"]["tree_size"].as_u64().unwrap();
    assert_eq!(r["checkpoint"]["authenticated"], true);
    assert_eq!(r["checkpoint"]["root"].as_str().unwrap().len(), 64);
    assert!(r["checkpoint"]["origin"].as_str().unwrap().starts_with("audit/svc-test/"));
    let query = r["facts"]["Query"].as_str().unwrap();
    assert!(query.contains(&format!("seq below {size}")), "{query}");
    assert!(r["facts"]["Command"].as_str().unwrap().contains("--framework iso27001"));
    let held = fixture.audit(&["checkpoint", "{dir}"]).expect(0).stdout;
    assert!(held.contains(&format!("\n{size}\n")), "the report's checkpoint is the latest: {held}");
}

#[test]
fn integrity_is_pass_only_with_the_material_and_not_proven_without() {
    let fixture = written_log(10);
    for framework in FRAMEWORKS {
        let md = fixture.audit(&["report", "{dir}", "--framework", framework]).expect(0).stdout;
        assert!(md.contains("**NOT PROVEN**: verify's verdict is CHAINED"), "{framework}:\n{md}");
        assert!(!md.contains("**PASS**") && !md.contains("PASS:"), "{framework}:\n{md}");
        assert!(md.contains("signature checked only with the key in log.meta"), "{md}");
    }
    let key = fixture.material_file.to_str().unwrap();
    let md = fixture
        .audit(&["report", "{dir}", "--framework", "soc2", "--verification-key", key])
        .expect(0)
        .stdout;
    assert!(md.contains("**PASS**: the log is intact"), "{md}");
    let public = fixture.public_key_file.to_str().unwrap();
    let md = fixture
        .audit(&["report", "{dir}", "--framework", "soc2", "--verification-key", public])
        .expect(0)
        .stdout;
    assert!(!md.contains("**PASS**") && md.contains("**NOT PROVEN**"), "{md}");
}

#[test]
fn no_framework_is_said_to_require_a_retention_period() {
    let fixture = written_log(10);
    let key = fixture.material_file.to_str().unwrap();
    for framework in FRAMEWORKS {
        for format in ["md", "json", "html"] {
            for extra in [&[][..], &["--verification-key", key][..]] {
                let out = report(&fixture, framework, format, extra).expect(0).stdout;
                let out = out.to_lowercase();
                assert!(!out.contains("requires"), "{framework} {format}: 'requires' in\n{out}");
                assert!(!out.contains("compliant"), "{framework} {format}: 'compliant' in\n{out}");
            }
        }
    }
}

#[test]
fn retention_is_the_policy_and_judged_only_when_it_can_be_tested() {
    // A log 10 days old (T0) under a 7-year policy: not yet testable.
    let fixture = written_log(3);
    let key = fixture.material_file.to_str().unwrap();
    let md = fixture
        .audit(&["report", "{dir}", "--framework", "iso27001", "--verification-key", key])
        .expect(0)
        .stdout;
    assert!(md.contains("**NOT YET TESTABLE**: the organisation's policy keeps records 2557 days (the verifier material"), "{md}");
    let md = fixture.audit(&["report", "{dir}", "--framework", "iso27001"]).expect(0).stdout;
    assert!(md.contains("**NO POLICY GIVEN**"), "{md}");

    // A log created more than 5 days ago under a 5-day policy: tested.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let mut short = config();
    short.retention.days = 5;
    let (mut writer, material) = audit_store::LogWriter::create(&dir, short, T0).unwrap();
    writer.append_batch(&entries(5, at(1)), at(1)).unwrap();
    writer.close(at(2)).unwrap();
    let material_file = tmp.path().join("log.verifier");
    std::fs::write(&material_file, material.to_text().as_bytes()).unwrap();
    let run = crate::support::audit(&[
        "report",
        dir.to_str().unwrap(),
        "--framework",
        "gdpr",
        "--verification-key",
        material_file.to_str().unwrap(),
    ])
    .expect(0);
    assert!(
        run.stdout
            .contains("**CONSISTENT WITH POLICY**: the organisation's policy keeps records 5 days"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("The GDPR sets no retention period for audit logs"),
        "{}",
        run.stdout
    );
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
        context: audit_events::RecordContext::default(),
    };
    writer.append_batch(&[dropped], at(2)).unwrap();
    drop(writer);
    let file = segments(&fixture.dir).pop().unwrap();
    let mut bytes = std::fs::read(&file).unwrap();
    bytes.extend_from_slice(&[50, 0, 0, 0, 1]);
    std::fs::write(&file, &bytes).unwrap();
    fixture.open(at(3)).close(at(4)).unwrap();
    let run = fixture.audit(&["report", "{dir}", "--framework", "iso27001"]).expect(0);
    assert!(run.stdout.contains("(events\\_dropped records): 42"), "{}", run.stdout);
    assert!(run.stdout.contains("42 events dropped (task.submitted 42)"), "{}", run.stdout);
    assert!(run.stdout.contains("writer restarted after an unclean stop"), "{}", run.stdout);
    assert!(run.stdout.contains("5 torn bytes discarded"), "{}", run.stdout);
}

#[test]
fn the_period_limits_the_counts_and_says_what_was_found() {
    let fixture = written_log(10);
    let (_, all) = json_report(&fixture, "soc2", &[]);
    let (code, part) = json_report(
        &fixture,
        "soc2",
        &["--since", "2026-11-22T00:01:00Z", "--until", "2026-11-22T00:02:00Z"],
    );
    assert_eq!(code, 0);
    assert!(part["period"]["records"].as_u64() < all["period"]["records"].as_u64());
    assert_eq!(part["period"]["since"], "2026-11-22T00:01:00Z");
    let found = part["facts"]["Found in period"].as_str().unwrap();
    assert!(found.contains("at 2026-11-22T00:01:") && !found.contains("00:00:"), "{found}");
}

#[test]
fn the_html_report_is_one_self_contained_printable_file() {
    let fixture = written_log(10);
    let run =
        fixture.audit(&["report", "{dir}", "--framework", "soc2", "--format", "html"]).expect(0);
    let html = &run.stdout;
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert!(html.trim_end().ends_with("</html>"));
    assert!(html.contains("<svg ") && html.contains("<rect "), "no chart");
    assert!(html.contains("@media print") && html.contains("break-before:page"), "no print rules");
    assert!(html.contains("<table class=chart-data>"), "the chart's counts also as a table");
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
    assert!(run.stdout.contains("First failure: seg-"), "{}", run.stdout);
    let (code, r) = json_report(&fixture, "soc2", &[]);
    assert_eq!(code, 1);
    assert_eq!(r["integrity"]["intact"], false);
    assert!(r["integrity"]["read_error"].is_string(), "counts stop at the damage: {r}");
    fixture.audit(&["report", "{dir}", "--framework", "sox"]).expect(2);
}

/// A report signing key in a file, and its public key in another.
fn signing_key(fixture: &Fixture) -> (String, String) {
    let signer = NoteSigner::from_seed("auditor-report-key", [7; 32]).unwrap();
    let key = fixture.path("report.key");
    std::fs::write(&key, format!("{}\n", &*signer.to_private_key_string())).unwrap();
    let public = fixture.path("report.pub");
    std::fs::write(&public, format!("{}\n", signer.verifier_key())).unwrap();
    (key.to_str().unwrap().to_owned(), public.to_str().unwrap().to_owned())
}

#[test]
fn a_signed_report_checks_and_any_change_is_found() {
    let fixture = written_log(5);
    let (key, public) = signing_key(&fixture);
    for format in ["md", "html", "json"] {
        let out = fixture.path(&format!("report.{format}"));
        let out = out.to_str().unwrap();
        let run = report(&fixture, "gdpr", format, &["-o", out, "--sign", &key]).expect(0);
        assert!(run.stdout.is_empty(), "the report went to the file");
        let secret = std::fs::read_to_string(&key).unwrap();
        assert!(!run.stderr.contains(secret.trim()), "the private key was printed");
        let sig = std::fs::read_to_string(format!("{out}.sig")).unwrap();
        assert!(sig.starts_with("audit-report/v1\n"), "{sig}");

        let ok = crate::support::audit(&["report-check", out, "--public-key", &public]).expect(0);
        assert!(ok.stdout.contains("PASS:"), "{}", ok.stdout);
        let unsigned = crate::support::audit(&["report-check", out]).expect(0);
        assert!(unsigned.stdout.contains("NOT PROVEN") && !unsigned.stdout.contains("PASS"));

        // One character changed, the digest line left alone: both checks fail.
        let text = std::fs::read_to_string(out).unwrap();
        std::fs::write(out, text.replacen("svc-test", "svc-tesT", 1)).unwrap();
        let bad = crate::support::audit(&["report-check", out, "--public-key", &public]).expect(1);
        assert!(
            bad.stdout.contains("FAIL: ") && bad.stdout.contains("changed after it was written"),
            "{}",
            bad.stdout
        );
        assert!(
            bad.stdout.contains("the signature is for a report whose SHA-256"),
            "{}",
            bad.stdout
        );
    }
    // Another key does not verify the signature.
    let other = NoteSigner::from_seed("auditor-report-key", [8; 32]).unwrap();
    let other_pub = fixture.path("other.pub");
    std::fs::write(&other_pub, other.verifier_key()).unwrap();
    let out = fixture.path("again.md");
    let out = out.to_str().unwrap();
    fixture.audit(&["report", "{dir}", "--framework", "soc2", "-o", out, "--sign", &key]).expect(0);
    crate::support::audit(&["report-check", out, "--public-key", other_pub.to_str().unwrap()])
        .expect(1);
    // Nothing is written into the log directory.
    let inside = fixture.dir.join("report.md");
    let run = fixture
        .audit(&["report", "{dir}", "--framework", "soc2", "-o", inside.to_str().unwrap()])
        .expect(2);
    assert!(run.stderr.contains("refusing to write into the log directory"), "{}", run.stderr);
    assert!(!inside.exists());
    let inside = fixture.dir.join("populations");
    fixture
        .audit(&[
            "report",
            "{dir}",
            "--framework",
            "soc2",
            "--populations",
            inside.to_str().unwrap(),
        ])
        .expect(2);
    assert!(!inside.exists());
    // --sign without --output, or with a file that is not a key, is a usage error.
    fixture.audit(&["report", "{dir}", "--framework", "soc2", "--sign", &key]).expect(2);
    let run = fixture
        .audit(&["report", "{dir}", "--framework", "soc2", "-o", out, "--sign", &public])
        .expect(2);
    assert!(run.stderr.contains("does not hold a signed-note private key"), "{}", run.stderr);
}

#[test]
fn a_pseudonymised_report_shows_no_subject_identifier_nor_the_key() {
    let fixture = written_log(10);
    let secret = "pseudonymisation-secret-0123456789";
    let key = fixture.path("pseudo.key");
    std::fs::write(&key, format!("{secret}\n")).unwrap();
    let key = key.to_str().unwrap();
    let plain = fixture.audit(&["report", "{dir}", "--framework", "gdpr"]).expect(0).stdout;
    assert!(plain.contains("mallory"), "the fixture names mallory");
    for format in ["md", "json", "html"] {
        let run = report(&fixture, "gdpr", format, &["--pseudonymise", key]).expect(0);
        let out = &run.stdout;
        assert!(out.contains("ps-"), "{out}");
        for id in ["mallory", "alice", "cust-42", "203.0.113.7", secret] {
            assert!(!out.contains(id), "{format}: {id} in\n{out}");
        }
    }
    let short = fixture.path("short.key");
    std::fs::write(&short, "abc\n").unwrap();
    let run = fixture
        .audit(&[
            "report",
            "{dir}",
            "--framework",
            "gdpr",
            "--pseudonymise",
            short.to_str().unwrap(),
        ])
        .expect(2);
    assert!(
        run.stderr.contains("at least 16 bytes") && !run.stderr.contains("abc\n"),
        "{}",
        run.stderr
    );
}

#[test]
fn populations_are_complete_csv_files_with_formulas_neutralised() {
    let fixture = written_log(10);
    let dir = fixture.path("populations");
    let (_, r) = json_report(&fixture, "soc2", &["--populations", dir.to_str().unwrap()]);
    let rows = |name: &str| {
        let mut reader = csv::Reader::from_path(dir.join(format!("{name}.csv"))).unwrap();
        reader.records().map(|r| r.unwrap()).collect::<Vec<_>>()
    };
    assert_eq!(rows("tokens").len(), 4);
    assert_eq!(rows("access-decisions").len(), 4);
    assert_eq!(rows("changes").len(), 10);
    assert_eq!(rows("security-events").len(), 18);
    assert_eq!(rows("sign-ins").len(), 4, "2 successes and 2 failures");
    assert!(r["facts"]["Populations (CSV)"].is_string());

    let hostile = hostile_log();
    let dir = hostile.path("populations");
    hostile
        .audit(&["report", "{dir}", "--framework", "soc2", "--populations", dir.to_str().unwrap()])
        .expect(0);
    let text = std::fs::read_to_string(dir.join("security-events.csv")).unwrap();
    assert!(text.contains("'=HYPERLINK"), "{text}");
    let mut reader = csv::Reader::from_path(dir.join("security-events.csv")).unwrap();
    for record in reader.records() {
        for cell in &record.unwrap() {
            assert!(!cell.starts_with(['=', '+', '-', '@', '\t', '\r']), "formula cell {cell:?}");
        }
    }
    assert!(!text.contains('\u{1b}'), "{text}");
}
