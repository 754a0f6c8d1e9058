//! Steps of `secrets.feature`: bearer tokens, prompts, seal keys and worker secrets passed to
//! the system near events must never reach a stored byte, an export, a query result, a
//! verification report or an error message; device pointers are produced by no code path.

use std::ffi::OsString;

use audit_events::{Actor, AuditEvent, EventKind, Outcome, PromptDigest, TokenFingerprint};
use audit_logger::{AuditConfig, AuditError, AuditLogger};
use bdd::find_pointer_like;
use cucumber::{then, when};
use input_validation::escape_for_log;

use super::{AttackWorld, assert_no_raw_dangerous, files_of, vram};

/// The secrets of a scenario and every form in which a leak would show.
#[derive(Debug, Default)]
pub(crate) struct State {
    secrets: Vec<Secret>,
    /// Debug and Display text of values that handled a secret.
    handled: Vec<String>,
    /// The prompt, or the pointer a careless caller wrote.
    text: String,
}

/// One secret: a name for messages, and the byte strings to search for.
#[derive(Debug)]
struct Secret {
    name: String,
    forms: Vec<Vec<u8>>,
}

impl Secret {
    /// A secret given as text: the text itself, as stored escaped, and as hex.
    fn text(name: &str, text: &str) -> Self {
        let forms = vec![
            text.as_bytes().to_vec(),
            escape_for_log(text).as_bytes().to_vec(),
            hex(text.as_bytes(), false).into_bytes(),
        ];
        Self { name: name.to_owned(), forms }
    }

    /// A secret key: its raw bytes, lower and upper hex, and base64 (as keys are written in
    /// key files and signed notes).
    fn key(name: &str, bytes: &[u8]) -> Self {
        let forms = vec![
            bytes.to_vec(),
            hex(bytes, false).into_bytes(),
            hex(bytes, true).into_bytes(),
            base64(bytes).into_bytes(),
        ];
        Self { name: name.to_owned(), forms }
    }

    /// The first form of this secret found in `haystack`, if any.
    fn found_in(&self, haystack: &[u8]) -> Option<usize> {
        self.forms.iter().position(|form| {
            !form.is_empty() && haystack.windows(form.len()).any(|w| w == form.as_slice())
        })
    }
}

fn hex(bytes: &[u8], upper: bool) -> String {
    if upper {
        base16ct::upper::encode_string(bytes)
    } else {
        base16ct::lower::encode_string(bytes)
    }
}

/// Standard base64 without padding (a padded encoding contains this as a prefix).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[usize::try_from((n >> (18 - 6 * i)) & 63).unwrap()]));
        }
    }
    out
}

fn keep(world: &mut AttackWorld, secret: Secret) {
    world.secrets.secrets.push(secret);
}

#[when(
    expr = "a client authenticates with the bearer token {string} and the service records it by fingerprint"
)]
fn bearer_token(world: &mut AttackWorld, token: String) {
    let fingerprint = TokenFingerprint::of_token(&token);
    let actor = Actor::from_bearer_token(&token);
    let events = [
        AuditEvent::AuthSuccess {
            actor: actor.clone(),
            method: audit_events::AuthMethod::BearerToken,
            path: "/v1/tasks".to_owned(),
            service_id: "orchestrator".to_owned(),
        },
        AuditEvent::TokenRevoked {
            actor,
            token_fingerprint: fingerprint,
            reason: "rotated after suspected leak".to_owned(),
        },
        AuditEvent::InvalidTokenUsed {
            ip: "203.0.113.7".parse().unwrap(),
            token_fingerprint: fingerprint,
            endpoint: "/v1/tasks".to_owned(),
        },
    ];
    for event in events {
        world.secrets.handled.push(format!("{event:?}"));
        world.emit(event);
    }
    world.secrets.handled.push(format!("{fingerprint:?} {fingerprint}"));
    world.close_logger();
    keep(world, Secret::text("the bearer token", &token));
}

#[then("the log shows the token's fingerprint in its place")]
fn fingerprint_shown(world: &mut AttackWorld) {
    let found = world.records().iter().any(|r| {
        matches!(r.event(), Some(AuditEvent::AuthSuccess { actor, .. }) if actor.user_id.starts_with("token:"))
    });
    assert!(found, "the actor is not named by its token fingerprint");
}

#[when(
    expr = "a client submits a task with the prompt {string} and the service records it by digest"
)]
fn prompt_by_digest(world: &mut AttackWorld, prompt: String) {
    let mut event = EventKind::TaskSubmitted.example();
    if let AuditEvent::TaskSubmitted { prompt: digest, .. } = &mut event {
        *digest = PromptDigest::of_prompt(&prompt);
    }
    world.secrets.handled.push(format!("{event:?}"));
    world.emit(event);
    world.emit(AuditEvent::TaskCompleted {
        task_id: "task-000042".to_owned(),
        worker_id: "worker-gpu-0".to_owned(),
        tokens_generated: 12,
        duration_ms: 40,
        outcome: Outcome::Success,
    });
    world.close_logger();
    keep(world, Secret::text("the prompt", &prompt));
    world.secrets.text = prompt;
}

#[then("the log shows the prompt's length and digest in its place")]
fn digest_shown(world: &mut AttackWorld) {
    let prompt = world.secrets.text.clone();
    let expected = PromptDigest::of_prompt(&prompt);
    let found = world.records().iter().any(|r| {
        matches!(r.event(), Some(AuditEvent::TaskSubmitted { prompt, .. }) if *prompt == expected)
    });
    assert!(found, "no task.submitted with the prompt's digest");
    assert_eq!(expected.length, u64::try_from(prompt.len()).unwrap());
}

#[when("events are written and the log is closed and reopened")]
fn write_and_reopen(world: &mut AttackWorld) {
    for kind in [EventKind::AuthFailure, EventKind::PoolCreated] {
        world.emit(kind.example());
    }
    world.close_logger();
    let mut config = world.config();
    config.keys = audit_logger::KeyHandling::ExistingOnly;
    world.start_logger(config);
    world.emit(EventKind::TaskCanceled.example());
    world.close_logger();
    let material = world.material.clone().unwrap();
    world.secrets.handled.push(format!("{material:?}"));
    keep(world, Secret::key("the initial seal key", &material.initial_seal_key[..]));
}

#[when("a shard is sealed, verified, corrupted, verified again and released")]
fn vram_life(world: &mut AttackWorld) {
    vram::seal(world);
    vram::verify(world);
    vram::corrupt(world);
    vram::verify(world);
    world.secrets.handled.push(world.vram.manager_debug());
    world
        .secrets
        .handled
        .push(format!("{:?}", vram_residency::WorkerSecret::new(vram::worker_secret_bytes())));
    for error in &world.vram.errors {
        world.secrets.handled.push(format!("{error} {error:?}"));
    }
    vram::finish(world);
    keep(world, Secret::key("the worker secret", &vram::worker_secret_bytes()));
}

#[then("none of the secrets appears in any file of the log directory")]
fn not_in_files(world: &mut AttackWorld) {
    assert!(!world.secrets.secrets.is_empty(), "the scenario registered no secret");
    for file in files_of(&world.log) {
        let bytes = std::fs::read(&file).unwrap();
        for secret in &world.secrets.secrets {
            if let Some(form) = secret.found_in(&bytes) {
                panic!("{} (form {form}) is in {}", secret.name, file.display());
            }
        }
    }
}

#[then("none of the secrets appears in the output of the audit command")]
fn not_in_outputs(world: &mut AttackWorld) {
    let log: OsString = world.log.clone().into();
    let material: OsString = world.material_file().into();
    let commands: Vec<Vec<OsString>> = vec![
        vec!["export".into(), log.clone(), "--format".into(), "jsonl".into()],
        vec!["export".into(), log.clone(), "--format".into(), "csv".into()],
        vec!["query".into(), log.clone(), "--format".into(), "text".into()],
        vec!["query".into(), log.clone(), "--format".into(), "json".into()],
        vec!["tail".into(), log.clone(), "-n".into(), "100".into()],
        vec!["checkpoint".into(), log.clone()],
        vec!["verify".into(), log.clone(), "--verification-key".into(), material.clone()],
        vec!["verify".into(), log, "--verification-key".into(), material, "--json".into()],
    ];
    for args in commands {
        let run = world.audit(args);
        assert!(matches!(run.code, 0 | 1), "{}\n{}", run.command, run.all_output());
        for secret in &world.secrets.secrets {
            if let Some(form) = secret.found_in(run.all_output().as_bytes()) {
                panic!("{} (form {form}) is in the output of {}", secret.name, run.command);
            }
        }
    }
}

#[then("none of the secrets appears in the debug or error text of the values that handled them")]
fn not_in_debug(world: &mut AttackWorld) {
    assert!(!world.secrets.handled.is_empty(), "nothing handled a secret");
    for text in &world.secrets.handled {
        for secret in &world.secrets.secrets {
            if let Some(form) = secret.found_in(text.as_bytes()) {
                panic!("{} (form {form}) is in {text}", secret.name);
            }
        }
    }
}

#[when(expr = "a careless caller writes the device pointer {string} into a reason")]
fn careless_pointer(world: &mut AttackWorld, pointer: String) {
    let mut event = EventKind::TaskCanceled.example();
    if let AuditEvent::TaskCanceled { reason, .. } = &mut event {
        *reason = format!("kernel fault at {pointer}");
    }
    world.emit(event);
    world.close_logger();
    world.secrets.text = pointer;
}

#[then("the pointer is kept as evidence, exactly as the caller wrote it")]
fn pointer_kept(world: &mut AttackWorld) {
    let pointer = world.secrets.text.clone();
    let kept = world.records().iter().any(|r| {
        matches!(r.event(), Some(AuditEvent::TaskCanceled { reason, .. }) if reason.ends_with(&pointer))
    });
    assert!(kept, "the caller's text was altered or dropped");
}

#[then("no VRAM event, error or debug text carries anything that looks like a memory address")]
fn no_pointers(world: &mut AttackWorld) {
    let log = world.log.clone();
    let run =
        world.audit(["export".into(), log.into_os_string(), "--format".into(), "jsonl".into()]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert!(run.stdout.lines().count() > 5, "{}", run.stdout);
    if let Some(pointer) = find_pointer_like(&run.stdout) {
        panic!("the log holds {pointer}");
    }
    for text in &world.secrets.handled {
        if let Some(pointer) = find_pointer_like(text) {
            panic!("{pointer} in {text}");
        }
    }
}

#[when("a logger is configured with a service id holding a terminal escape sequence")]
fn hostile_service_id(world: &mut AttackWorld) {
    let hostile = "svc\u{1b}]0;owned\u{7}\u{202e}";
    let error = match AuditLogger::new(AuditConfig::local(hostile, world.tmp().join("other"))) {
        Ok(_) => panic!("a hostile service id was accepted"),
        Err(e) => e,
    };
    assert!(matches!(error, AuditError::Config { .. }), "{error:?}");
    world.secrets.handled.push(error.to_string());
    world.secrets.handled.push(format!("{error:?}"));
    keep(world, Secret::text("the hostile service id", hostile));
}

#[when("the audit command is given a hostile kind name and a hostile directory")]
fn hostile_arguments(world: &mut AttackWorld) {
    let log: OsString = world.log.clone().into();
    let kind = "auth.failure\u{1b}[2J\u{202e}";
    let dir = world.tmp().join("no\u{1b}[31mlog\r\nFAKE");
    let runs = [
        world.audit(["query".into(), log, "--kind".into(), OsString::from(kind)]),
        world.audit(["verify".into(), dir.into_os_string()]),
        world.audit([
            "export".into(),
            world.log.clone().into_os_string(),
            "--format".into(),
            OsString::from("x\u{9b}1m"),
        ]),
    ];
    for run in runs {
        assert_eq!(run.code, 2, "{}\n{}", run.command, run.all_output());
        world.secrets.handled.push(run.all_output());
    }
}

#[then("every error message names the problem without a raw dangerous character")]
fn errors_inert(world: &mut AttackWorld) {
    assert!(!world.secrets.handled.is_empty());
    for text in &world.secrets.handled {
        assert_no_raw_dangerous("the error message", text.trim_end_matches('\n'));
        assert!(!text.trim().is_empty());
    }
}
