//! Hostile text stored raw in a log never reaches any output raw: every subcommand that shows
//! log content is run on a log holding ANSI, CR/LF, NUL, C1, bidi, zero-width, line-separator
//! and tag characters, and its output is checked character by character.

use serde_json::Value;

use crate::support::{Fixture, HOSTILE, assert_inert, hostile_log};

fn seq_of_hostile_failure(fixture: &Fixture) -> String {
    let run = fixture.audit(&["query", "{dir}", "--kind", "auth.failure", "--format", "jsonl"]);
    let run = run.expect(0);
    let hit = run
        .lines()
        .into_iter()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|v| v["event"]["attempted_user"] == HOSTILE)
        .expect("the hostile event is found");
    hit["seq"].to_string()
}

#[test]
fn text_output_shows_every_hostile_character_as_a_visible_escape() {
    let fixture = hostile_log();
    let run = fixture.audit(&["query", "{dir}", "--category", "authentication"]).expect(0);
    assert_inert("query text", &run.stdout);
    // The forged second line stays inside the record's line.
    let forged: Vec<&str> = run.lines().into_iter().filter(|l| l.contains("FAKE")).collect();
    assert_eq!(forged.len(), 1, "{}", run.stdout);
    assert!(!forged[0].starts_with("2026-11-22T00:00:00Z FAKE"));
    for visible in [
        r"\x1b[2J",
        r"\r\n",
        r"\0",
        r"\x7f",
        r"\x9b",
        r"\u{202E}",
        r"\u{200B}",
        r"\u{2028}",
        r"\u{E0041}",
        r"\u{FEFF}",
    ] {
        assert!(run.stdout.contains(visible), "{visible} not shown in:\n{}", run.stdout);
    }
}

#[test]
fn json_output_escapes_hostile_characters_and_keeps_their_value() {
    let fixture = hostile_log();
    for args in [
        &["query", "{dir}", "--format", "jsonl"][..],
        &["query", "{dir}", "--format", "json"],
        &["export", "{dir}", "--format", "jsonl"],
        &["export", "{dir}", "--format", "json"],
        &["tail", "{dir}", "-n", "100", "--format", "jsonl"],
        &["tail", "{dir}", "-n", "100", "--format", "json"],
    ] {
        let run = fixture.audit(args).expect(0);
        assert_inert(&format!("{args:?}"), &run.stdout);
        assert!(run.stdout.contains(r"\u202e") && run.stdout.contains(r"\udb40\udc41"), "{args:?}");
        // Escaped, not altered: the parsed value is exactly what was stored.
        let found = run
            .stdout
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l.trim_end_matches(',')).ok())
            .any(|v| v["event"]["attempted_user"] == HOSTILE);
        assert!(found, "{args:?}: hostile value not round-tripped");
    }
}

#[test]
fn csv_output_is_inert_and_neutralises_formulas() {
    let fixture = hostile_log();
    for args in [
        &["query", "{dir}", "--format", "csv"][..],
        &["export", "{dir}", "--format", "csv"],
        &["tail", "{dir}", "-n", "100", "--format", "csv"],
    ] {
        let run = fixture.audit(args).expect(0);
        assert_inert(&format!("{args:?}"), &run.stdout);
        assert!(
            run.stdout.contains("\"'=HYPERLINK(\"\"http://x\"\")"),
            "{args:?}:\n{}",
            run.stdout
        );
        assert!(!run.stdout.contains(",\"=HYPERLINK"), "{args:?}");
    }
}

#[test]
fn tail_reports_and_proofs_are_inert() {
    let fixture = hostile_log();
    let run = fixture.audit(&["tail", "{dir}", "-n", "100"]).expect(0);
    assert_inert("tail", &run.stdout);
    let run = fixture.audit(&["export", "{dir}", "--format", "text"]).expect(0);
    assert_inert("export text", &run.stdout);
    for format in ["md", "json", "html"] {
        let run = fixture
            .audit(&["report", "{dir}", "--framework", "gdpr", "--format", format])
            .expect(0);
        assert_inert(format, &run.stdout);
        if format != "json" {
            assert!(!run.stdout.contains("<script>alert"), "{format}");
        }
        if format == "md" {
            assert!(!run.stdout.contains("[x](http://evil)"), "{}", run.stdout);
        }
    }
    let html =
        fixture.audit(&["report", "{dir}", "--framework", "gdpr", "--format", "html"]).stdout;
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{html}");

    let seq = seq_of_hostile_failure(&fixture);
    let run = fixture.audit(&["prove", "{dir}", "--seq", &seq]).expect(0);
    assert_inert("prove", &run.stdout);
    let text = fixture.audit(&["prove", "{dir}", "--seq", &seq, "--format", "text"]).expect(0);
    assert_inert("prove text", &text.stdout);
    assert!(text.stdout.contains(r"\x1b[2J"), "{}", text.stdout);
    let bundle = fixture.path("bundle.json");
    std::fs::write(&bundle, &run.stdout).unwrap();
    let run = crate::support::audit(&[
        "verify-proof",
        bundle.to_str().unwrap(),
        "--public-key",
        fixture.public_key_file.to_str().unwrap(),
    ])
    .expect(0);
    assert_inert("verify-proof", &run.stdout);
    assert!(run.stdout.contains(r"\x1b[2J"), "{}", run.stdout);
    let run = crate::support::audit(&[
        "verify-proof",
        bundle.to_str().unwrap(),
        "--public-key",
        fixture.public_key_file.to_str().unwrap(),
        "--format",
        "json",
    ])
    .expect(0);
    assert_inert("verify-proof json", &run.stdout);
    let checked: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(checked["record"]["event"]["attempted_user"], HOSTILE);
}

#[test]
fn hostile_arguments_are_not_echoed_raw_in_errors() {
    let fixture = hostile_log();
    // An argument cannot hold NUL; everything else is tried.
    let hostile = HOSTILE.replace('\0', "");
    for flag in ["--kind", "--since", "--severity", "--category", "--format"] {
        let run = fixture.audit(&["query", "{dir}", flag, &hostile]).expect(2);
        assert_inert(flag, &run.stderr);
        assert!(run.stderr.contains(r"\x1b[2J"), "{flag}: {}", run.stderr);
    }
}
