//! Steps of `verdicts.feature`: what the verdict of `audit verify` and `audit consistency`
//! claims, without the verifier material, with the material of another log, and after
//! segments were deleted under a held checkpoint.

use std::ffi::OsString;

use audit_store::{LogConfig, LogWriter};
use cucumber::{then, when};

use super::cli::CliRun;
use super::{AttackWorld, assert_chained, files_of, name_of, segments_of, verdict_of};

fn verify_without_material(world: &AttackWorld, extra: &[&str]) -> CliRun {
    let mut args: Vec<OsString> = vec!["verify".into(), world.log.clone().into()];
    args.extend(extra.iter().map(OsString::from));
    world.audit(args)
}

fn consistency(world: &AttackWorld) -> CliRun {
    let held = world.held_checkpoint.clone().expect("no checkpoint was kept off the host");
    world.audit([
        OsString::from("consistency"),
        world.log.clone().into(),
        "--old".into(),
        held.into(),
        "--public-key".into(),
        world.material_file().into(),
    ])
}

#[then("`audit verify` without the verifier material says CHAINED and never PASS")]
fn chained_never_pass(world: &mut AttackWorld) {
    let run = verify_without_material(world, &[]);
    assert_chained(&run);
    assert!(run.stdout.contains("nothing was authenticated"), "{}", run.stdout);
}

#[then("`audit verify --require-anchor` without the verifier material exits 1")]
fn require_anchor_fails(world: &mut AttackWorld) {
    let run = verify_without_material(world, &["--require-anchor"]);
    assert_eq!(run.code, 1, "{}\n{}", run.command, run.all_output());
    assert!(run.stderr.contains("--require-anchor"), "{}", run.stderr);
}

#[then("`audit verify` with the verifier material says PASS")]
fn material_says_pass(world: &mut AttackWorld) {
    let run = world.audit_verify(&world.log, &[]);
    assert_eq!(run.code, 0, "{}\n{}", run.command, run.all_output());
    assert_eq!(verdict_of(&run), "PASS", "{}", run.stdout);
}

/// `audit report` of the log for one framework, with extra arguments.
fn report(world: &AttackWorld, framework: &str, extra: &[OsString]) -> CliRun {
    let mut args: Vec<OsString> =
        vec!["report".into(), world.log.clone().into(), "--framework".into(), framework.into()];
    args.extend(extra.iter().cloned());
    world.audit(args)
}

#[then(
    "`audit report` without the verifier material says NOT PROVEN and never PASS, for every \
     framework"
)]
fn report_not_proven(world: &mut AttackWorld) {
    for framework in ["soc2", "gdpr", "iso27001", "hipaa", "pci-dss"] {
        let run = report(world, framework, &[]);
        assert_eq!(run.code, 0, "{}\n{}", run.command, run.all_output());
        assert!(run.stdout.contains("**NOT PROVEN**"), "{framework}: {}", run.stdout);
        assert!(!run.stdout.contains("PASS"), "{framework}: {}", run.stdout);
    }
}

#[then("`audit report` with the verifier material says PASS")]
fn report_pass(world: &mut AttackWorld) {
    let run = report(world, "soc2", &["--verification-key".into(), world.material_file().into()]);
    assert_eq!(run.code, 0, "{}\n{}", run.command, run.all_output());
    assert!(run.stdout.contains("**PASS**: the log is intact"), "{}", run.stdout);
}

#[when("every checkpoint file is removed from the log directory")]
fn remove_checkpoints(world: &mut AttackWorld) {
    for file in files_of(&world.log) {
        if name_of(&file).starts_with("checkpoint") {
            std::fs::remove_file(&file).unwrap();
        }
    }
}

#[then("`audit verify` with the verifier material of another log exits 2 naming both logs")]
fn other_material(world: &mut AttackWorld) {
    let other = world.tmp().join("other");
    let (writer, material) =
        LogWriter::create(&other, LogConfig::new("svc-other"), audit_testkit::fixture::T0).unwrap();
    writer.close(audit_testkit::fixture::at(1)).unwrap();
    let file = world.tmp().join("other.verifier");
    std::fs::write(&file, material.to_text()).unwrap();
    let run = world.audit([
        OsString::from("verify"),
        world.log.clone().into(),
        "--verification-key".into(),
        file.into(),
    ]);
    assert_eq!(run.code, 2, "{}\n{}", run.command, run.all_output());
    let mine = world.material.as_ref().expect("the log's material").log_id.to_string();
    let theirs = material.log_id.to_string();
    assert!(run.stderr.contains(&mine) && run.stderr.contains(&theirs), "{}", run.stderr);
    assert!(run.stdout.is_empty(), "no verdict is printed: {}", run.stdout);
}

#[then(
    expr = "`audit consistency` against the checkpoint kept off the host exits 0 saying {string}"
)]
fn consistency_passes(world: &mut AttackWorld, word: String) {
    let run = consistency(world);
    assert_eq!(run.code, 0, "{}\n{}", run.command, run.all_output());
    assert!(run.stdout.starts_with(&format!("{word}: ")), "{}", run.stdout);
}

#[when("the first two segments are deleted")]
fn delete_first_two(world: &mut AttackWorld) {
    let segments = segments_of(&world.log);
    assert!(segments.len() > 2, "only {} segments", segments.len());
    for segment in &segments[..2] {
        std::fs::remove_file(segment).unwrap();
    }
}

#[then(
    expr = "`audit consistency` against the checkpoint kept off the host exits 1 with a {string} failure"
)]
fn consistency_fails(world: &mut AttackWorld, kind: String) {
    let run = consistency(world);
    assert_eq!(run.code, 1, "{}\n{}", run.command, run.all_output());
    assert!(run.stdout.starts_with("FAIL: "), "{}", run.stdout);
    assert!(run.stdout.contains(&format!("({kind}): ")), "{}", run.stdout);
    assert!(!run.stdout.contains("PASS"), "{}", run.stdout);
}
