//! Steps of `traversal.feature` and `log_directory.feature`: traversal attempts against input
//! validation (as a service would validate a pool id and the file path it becomes), the
//! `PathTraversalAttempt` event a service records for each, and log directories reached
//! through a symbolic link or `..`.

use std::path::PathBuf;

use audit_events::{Actor, AuditEvent, AuthMethod, MAX_IDENTIFIER_BYTES};
use audit_logger::{AuditConfig, AuditError, AuditLogger, KeyHandling};
use cucumber::{given, then, when};
use input_validation::{ValidationError, unescape_log, validate_identifier, validate_path};

use super::{AttackWorld, SERVICE_ID, assert_no_raw_dangerous};

/// What the scenario sent and what validation said.
#[derive(Debug, Default)]
pub(crate) struct State {
    /// The directory the simulated service serves pool files from.
    data_root: Option<PathBuf>,
    /// The pool id the client sent, exactly.
    input: String,
    /// `validate_identifier`'s verdict on it.
    identifier: Option<Result<(), ValidationError>>,
    /// `validate_path`'s verdict on it, under the data root.
    path: Option<Result<PathBuf, ValidationError>>,
    /// The directory a symbolic link points to.
    elsewhere: Option<PathBuf>,
    /// The link.
    link: Option<PathBuf>,
    /// What starting a logger on an unsafe directory returned.
    refused: Option<AuditError>,
}

/// A short, stable name for a path validation error, as the feature file writes it.
fn error_name(error: &ValidationError) -> String {
    match error {
        ValidationError::ParentTraversal => "parent traversal".to_owned(),
        ValidationError::OutsideRoot => "outside the root".to_owned(),
        ValidationError::SymlinkEscape => "symbolic link escape".to_owned(),
        ValidationError::ForbiddenCharacter { code_point, .. } => {
            format!("forbidden character U+{code_point:04X}")
        }
        other => format!("{other:?}"),
    }
}

/// Asserts an error message names the problem without carrying the hostile input along.
fn assert_message_is_inert(input: &str, message: &str) {
    assert_no_raw_dangerous("the error message", message);
    assert!(!message.contains(input), "the message echoes the input: {message}");
    if input.contains("etc") {
        assert!(!message.contains("etc"), "the message echoes part of the input: {message}");
    }
}

#[given("a data directory the service serves pool files from")]
fn data_root(world: &mut AttackWorld) {
    let root = world.tmp().join("data");
    std::fs::create_dir_all(root.join("pools")).unwrap();
    std::fs::write(root.join("pools/pool-llama.json"), b"{}").unwrap();
    // Something outside the root that a traversal would reach.
    std::fs::write(world.tmp().join("secret.txt"), b"not for clients").unwrap();
    world.traversal.data_root = Some(root);
}

#[when(expr = "a client asks for pool {string}")]
fn client_asks(world: &mut AttackWorld, input: String) {
    let root = world.traversal.data_root.clone().expect("no data directory");
    let identifier = validate_identifier(&input, MAX_IDENTIFIER_BYTES).map(|_| ());
    let path = validate_path(&input, &root).map(|p| p.into_inner());
    if identifier.is_err() || path.is_err() {
        // What a service does with a refused path: record the attempt, hostile text and all.
        world.emit(AuditEvent::PathTraversalAttempt {
            actor: Actor::new("client-7", AuthMethod::ApiKey),
            attempted_path: input.clone(),
            endpoint: "/v1/pools".to_owned(),
        });
    }
    world.logger().flush().unwrap();
    world.close_logger();
    world.traversal.input = input;
    world.traversal.identifier = Some(identifier);
    world.traversal.path = Some(path);
}

#[then("the pool id is rejected by input validation without echoing it")]
fn identifier_rejected(world: &mut AttackWorld) {
    let input = world.traversal.input.clone();
    match world.traversal.identifier.clone().unwrap() {
        Ok(()) => panic!("{input:?} passed as a pool id"),
        Err(e) => assert_message_is_inert(&input, &e.to_string()),
    }
}

#[then(expr = "the path is rejected by input validation as {string} without echoing it")]
fn path_rejected(world: &mut AttackWorld, expected: String) {
    let input = world.traversal.input.clone();
    match world.traversal.path.clone().unwrap() {
        Ok(resolved) => panic!("{input:?} passed as a path: {}", resolved.display()),
        Err(e) => {
            assert_eq!(error_name(&e), expected, "{e}");
            assert_message_is_inert(&input, &e.to_string());
        }
    }
}

#[then("a path traversal attempt is recorded with the exact path sent")]
fn attempt_recorded(world: &mut AttackWorld) {
    let input = world.traversal.input.clone();
    let attempts: Vec<String> = world
        .records()
        .iter()
        .filter_map(|r| match r.event() {
            Some(AuditEvent::PathTraversalAttempt { attempted_path, .. }) => {
                Some(attempted_path.clone())
            }
            _ => None,
        })
        .collect();
    assert_eq!(attempts.len(), 1, "{attempts:?}");
    assert_no_raw_dangerous("the stored path", &attempts[0]);
    assert_eq!(unescape_log(&attempts[0]).unwrap(), input);
    assert_eq!(world.stats.as_ref().unwrap().dropped_total, 0);
    let log = world.log.clone();
    let run = world.audit([
        "query".into(),
        log.into_os_string(),
        "--kind".into(),
        "security.path_traversal_attempt".into(),
        "--format".into(),
        "text".into(),
    ]);
    assert_eq!(run.code, 0, "{}\n{}", run.command, run.all_output());
    assert_eq!(run.stdout.lines().count(), 1, "{}", run.stdout);
    assert_no_raw_dangerous(&run.command, &run.all_output());
}

#[given("a directory elsewhere and a symbolic link to it")]
fn symlink_elsewhere(world: &mut AttackWorld) {
    let elsewhere = world.tmp().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let link = world.tmp().join("link");
    std::os::unix::fs::symlink(&elsewhere, &link).unwrap();
    world.traversal.elsewhere = Some(elsewhere);
    world.traversal.link = Some(link);
}

#[given("a log written by the real logger in the directory elsewhere")]
fn log_elsewhere(world: &mut AttackWorld) {
    world.log = world.traversal.elsewhere.clone().unwrap().join("log");
    let config = world.config();
    world.start_logger(config);
    world.emit(audit_events::EventKind::AuthFailure.example());
    world.close_logger();
}

fn start_on(world: &mut AttackWorld, dir: PathBuf, keys: KeyHandling) {
    let mut config = AuditConfig::local(SERVICE_ID, dir);
    config.keys = keys;
    match AuditLogger::new(config) {
        Ok(_) => panic!("a logger started on an unsafe log directory"),
        Err(e) => world.traversal.refused = Some(e),
    }
}

#[when("a logger is started on a new log directory under the link")]
fn start_under_link(world: &mut AttackWorld) {
    let dir = world.traversal.link.clone().unwrap().join("log");
    start_on(world, dir, KeyHandling::CreateOnFirstUse);
}

#[when("a logger is started on the existing log through the link")]
fn start_through_link(world: &mut AttackWorld) {
    let dir = world.traversal.link.clone().unwrap().join("log");
    start_on(world, dir, KeyHandling::ExistingOnly);
}

#[when("a logger is started on a log directory whose path holds a parent component")]
fn start_with_parent(world: &mut AttackWorld) {
    std::fs::create_dir(world.tmp().join("a")).unwrap();
    let dir = world.tmp().join("a").join("..").join("log");
    start_on(world, dir, KeyHandling::CreateOnFirstUse);
}

#[then(expr = "the logger refuses to start because the path {string}")]
fn logger_refused(world: &mut AttackWorld, reason: String) {
    match world.traversal.refused.take() {
        Some(AuditError::Store { cause, failure }) => {
            assert!(cause.contains(&reason), "{cause}");
            assert_eq!(failure.kind, audit_logger::FailureKind::Integrity, "{cause}");
        }
        other => panic!("expected a store error, got {other:?}"),
    }
}

#[then("nothing was created through the link")]
fn nothing_created(world: &mut AttackWorld) {
    let elsewhere = world.traversal.elsewhere.clone().unwrap();
    let entries: Vec<_> = std::fs::read_dir(&elsewhere).unwrap().collect();
    assert!(entries.is_empty(), "{} holds {} entries", elsewhere.display(), entries.len());
}

#[then("nothing was created beside it")]
fn nothing_beside(world: &mut AttackWorld) {
    assert!(!world.tmp().join("log").exists());
}

#[then(expr = "{string} through the link exits 2 saying the path {string}")]
fn cli_refuses_link(world: &mut AttackWorld, command: String, reason: String) {
    let dir = world.traversal.link.clone().unwrap().join("log");
    let mut words = command.split_whitespace();
    assert_eq!(words.next(), Some("audit"));
    let mut args: Vec<std::ffi::OsString> = vec![words.next().unwrap().into(), dir.into()];
    args.extend(words.map(Into::into));
    if command.starts_with("audit verify") {
        args.push("--verification-key".into());
        args.push(world.material_file().into());
    }
    let run = world.audit(args);
    assert_eq!(run.code, 2, "{}\n{}", run.command, run.all_output());
    assert!(run.stderr.contains(&reason), "{}", run.stderr);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
}

#[given("a symbolic link inside the data directory that leads out of it")]
fn escaping_link(world: &mut AttackWorld) {
    let root = world.traversal.data_root.clone().expect("no data directory");
    std::os::unix::fs::symlink(world.tmp(), root.join("pools").join("escape")).unwrap();
}
