//! The exit-code contract and help: 0, 1, 2 and 3 as documented.

use crate::support::{audit, written_log};

#[test]
fn help_and_version_exit_0_and_state_the_exit_codes() {
    let run = audit(&["--help"]).expect(0);
    assert!(run.stdout.contains("Exit status:"), "{}", run.stdout);
    for command in [
        "init",
        "verify",
        "query",
        "report",
        "tail",
        "export",
        "checkpoint",
        "prove",
        "verify-proof",
        "consistency",
        "emit",
        "demo",
        "kinds",
    ] {
        assert!(
            run.stdout.contains(&format!("  {command} ")),
            "{command} missing:\n{}",
            run.stdout
        );
        let help = audit(&[command, "--help"]).expect(0);
        assert!(help.stdout.contains("3  I/O or other operational error"), "{command}");
    }
    let run = audit(&["--version"]).expect(0);
    assert!(run.stdout.starts_with("audit "), "{}", run.stdout);
}

#[test]
fn usage_errors_exit_2() {
    audit(&[]).expect(2);
    audit(&["frobnicate"]).expect(2);
    audit(&["verify"]).expect(2);
    audit(&["verify", "/", "--no-such-flag"]).expect(2);
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().to_str().unwrap();
    for command in ["verify", "query", "export", "tail", "checkpoint"] {
        let run = audit(&[command, empty]).expect(2);
        assert!(run.stderr.contains("holds no audit log"), "{command}: {}", run.stderr);
    }
    audit(&["report", empty, "--framework", "soc2"]).expect(2);
    audit(&["prove", empty, "--seq", "0"]).expect(2);
}

#[test]
fn operational_errors_exit_3() {
    let fixture = written_log(1);
    let missing = fixture.path("missing.note");
    let run = fixture
        .audit(&["verify", "{dir}", "--trusted-checkpoint", missing.to_str().unwrap()])
        .expect(3);
    assert!(run.stderr.starts_with("audit: error: reading "), "{}", run.stderr);
    fixture.audit(&["consistency", "{dir}", "--old", missing.to_str().unwrap()]).expect(3);
}
