//! Steps of `hostile_files.feature`: an intruder who can write the log directory puts FIFOs,
//! symbolic links and huge files where files of the log belong, prepares the directory before
//! the log exists, or edits `log.meta`. Every run of the real binary or the real logger is
//! bounded: it runs in a thread and the step waits on a channel, so a hang fails the scenario
//! instead of hanging the suite.

use std::ffi::OsString;
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use audit_logger::{AuditConfig, AuditLogger, KeyHandling};
use cucumber::{given, then, when};

use super::cli::{self, CliRun};
use super::{AttackWorld, SERVICE_ID, segments_of};

/// How long a command may take before it counts as hung.
const HANG_BOUND: Duration = Duration::from_secs(30);

/// Runs `op` in a thread; panics if it gives no answer within [`HANG_BOUND`].
fn promptly<T: Send + 'static>(what: &str, op: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(op());
    });
    rx.recv_timeout(HANG_BOUND).unwrap_or_else(|_| panic!("{what}: no answer: it hangs"))
}

/// Runs `audit` with `args`, bounded.
fn bounded_audit(args: Vec<OsString>) -> CliRun {
    let what = format!("audit {args:?}");
    promptly(&what, move || cli::audit(args))
}

fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success(), "mkfifo {}", path.display());
}

#[when(expr = "the intruder replaces {string} with a FIFO")]
fn fifo_in_place(world: &mut AttackWorld, name: String) {
    let path = world.log.join(name);
    std::fs::remove_file(&path).unwrap();
    mkfifo(&path);
}

#[when("the intruder replaces the last segment with a FIFO")]
fn fifo_segment(world: &mut AttackWorld) {
    let path = segments_of(&world.log).pop().unwrap();
    std::fs::remove_file(&path).unwrap();
    mkfifo(&path);
}

#[when(expr = "the intruder replaces {string} with a symbolic link to {string}")]
fn link_in_place(world: &mut AttackWorld, name: String, target: String) {
    let path = world.log.join(name);
    std::fs::remove_file(&path).unwrap();
    std::os::unix::fs::symlink(target, &path).unwrap();
}

#[when("the intruder grows the first segment's index to 4 GiB")]
fn huge_index(world: &mut AttackWorld) {
    let index = segments_of(&world.log).remove(0).with_extension("idx");
    let file = std::fs::OpenOptions::new().write(true).open(&index).unwrap();
    file.set_len(4 << 30).unwrap();
}

#[when(expr = "the intruder renames the service in log.meta to {string}, keeping it consistent")]
fn rename_service(world: &mut AttackWorld, service: String) {
    let path = world.log.join("log.meta");
    let text = std::fs::read_to_string(&path).unwrap();
    let edited = text
        .replace(&format!("audit/{SERVICE_ID}/"), &format!("audit/{service}/"))
        .replace(&format!("service-id: {SERVICE_ID}\n"), &format!("service-id: {service}\n"));
    assert_ne!(edited, text);
    std::fs::write(&path, edited).unwrap();
}

#[then(expr = "`audit verify` with the verifier material exits {int} promptly saying {string}")]
fn verify_says(world: &mut AttackWorld, code: i32, text: String) {
    let args: Vec<OsString> = vec![
        "verify".into(),
        world.log.clone().into(),
        "--verification-key".into(),
        world.material_file().into(),
    ];
    let run = bounded_audit(args);
    assert_eq!(run.code, code, "{}\n{}", run.command, run.all_output());
    assert!(run.stdout.contains(&text), "{}\n{}", run.command, run.all_output());
}

/// `audit <subcommand> <log> <rest...>` from a quoted command line.
fn command_args(world: &AttackWorld, command: &str) -> Vec<OsString> {
    let mut words = command.split_whitespace();
    assert_eq!(words.next(), Some("audit"));
    let mut args: Vec<OsString> = vec![words.next().unwrap().into(), world.log.clone().into()];
    args.extend(words.map(Into::into));
    args
}

#[then(expr = "{string} exits {int} promptly saying {string}")]
fn command_says(world: &mut AttackWorld, command: String, code: i32, text: String) {
    let run = bounded_audit(command_args(world, &command));
    assert_eq!(run.code, code, "{}\n{}", run.command, run.all_output());
    assert!(run.stderr.contains(&text), "{}\n{}", run.command, run.all_output());
}

#[then(expr = "{string} still answers promptly with exit {int}")]
fn command_answers(world: &mut AttackWorld, command: String, code: i32) {
    let run = bounded_audit(command_args(world, &command));
    assert_eq!(run.code, code, "{}\n{}", run.command, run.all_output());
}

#[then(expr = "the logger refuses promptly to start on the log saying {string}")]
fn logger_refuses(world: &mut AttackWorld, text: String) {
    let mut config = AuditConfig::local(SERVICE_ID, &world.log);
    config.keys = KeyHandling::ExistingOnly;
    match promptly("the logger", move || AuditLogger::new(config).map(drop)) {
        Ok(()) => panic!("the logger started on a hostile log directory"),
        Err(e) => assert!(e.to_string().contains(&text), "{e}"),
    }
}

#[given("an empty directory owned by another user")]
fn foreign_directory(world: &mut AttackWorld) {
    std::fs::create_dir(&world.log).unwrap();
    // The suite runs as root, as CI does: root can give the directory away.
    let status = std::process::Command::new("chown").arg("65534").arg(&world.log).status();
    assert!(status.unwrap().success(), "chown needs root");
}

#[when(expr = "the operator runs {string} on it")]
fn run_on_it(world: &mut AttackWorld, command: String) {
    let mut args = command_args(world, &command);
    args.extend(["--service-id".into(), SERVICE_ID.into()]);
    world.hostile_run = Some(bounded_audit(args));
}

#[then(expr = "it exits {int} saying {string}")]
fn it_exits(world: &mut AttackWorld, code: i32, text: String) {
    let run = world.hostile_run.take().expect("no command was run");
    assert_eq!(run.code, code, "{}\n{}", run.command, run.all_output());
    assert!(run.stderr.contains(&text), "{}\n{}", run.command, run.all_output());
}

#[then("the directory is still empty")]
fn still_empty(world: &mut AttackWorld) {
    assert!(std::fs::read_dir(&world.log).unwrap().next().is_none());
}

#[then(
    expr = "the report made with the verifier material names the service {string}, not {string}"
)]
fn report_service(world: &mut AttackWorld, real: String, claimed: String) {
    let args: Vec<OsString> = vec![
        "report".into(),
        world.log.clone().into(),
        "--framework".into(),
        "soc2".into(),
        "--verification-key".into(),
        world.material_file().into(),
    ];
    let run = bounded_audit(args);
    assert!(run.stdout.contains(&format!("| Service | {real} |")), "{}", run.all_output());
    assert!(!run.stdout.contains(&claimed), "{}", run.all_output());
}
