//! The crash test: a real child process (`tests/crash/child.rs`) writes events in
//! `Immediate` mode and reports each flush that returned; this test kills it with SIGKILL at a
//! random point, reopens and verifies the log, and checks that every acknowledged event is
//! there, many times over on the same log.
//!
//! `CRASH_ROUNDS` sets the number of kills (default 30; a soak run uses more) and `CRASH_SEED`
//! replays a run. The child seals every 20 ms so that kills also land inside seals and
//! checkpoints; verification therefore allows seals to come late by more epochs than the
//! default (a kill and restart takes many 20 ms epochs), which is a timing allowance, not a
//! weaker integrity check: chain, Merkle roots, seal MACs and checkpoints are all checked.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stderr)]

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use audit_events::{AuditEvent, Record};
use audit_store::{VerifierMaterial, VerifyOptions, verify};
use audit_testkit::tamper;

/// Verifies the whole log in `dir` with the verifier material the child saved, and returns
/// its records, or says what verification found.
fn verify_log(dir: &Path) -> Result<Vec<Record>, String> {
    let material_path = format!("{}.material", dir.display());
    let text =
        std::fs::read_to_string(&material_path).map_err(|e| format!("{material_path}: {e}"))?;
    let material = VerifierMaterial::parse(&text).map_err(|e| e.to_string())?;
    let options = {
        let mut options = VerifyOptions::with_material(material);
        options.seal_slack_epochs = Some(100_000);
        options
    };
    let report = verify(dir, &options).map_err(|e| e.to_string())?;
    if let Some(failure) = &report.failure {
        return Err(format!("verification failed: {failure}"));
    }
    tamper::read_records(dir).map_err(|e| e.to_string())
}

/// The child program, which cargo builds for this test.
fn child_program() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_crash-child"))
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// One acknowledged flush: every event up to `index` of the round and every record up to
/// `seq` are durable.
#[derive(Debug)]
struct Ack {
    index: u64,
    seq: u64,
}

fn parse_ack(line: &str, round: u64) -> Ack {
    let parts: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(parts.len(), 4, "malformed ack line {line:?}");
    assert_eq!(parts[0], "ack");
    assert_eq!(parts[1].parse::<u64>().unwrap(), round);
    Ack { index: parts[2].parse().unwrap(), seq: parts[3].parse().unwrap() }
}

fn tag(record: &Record) -> Option<&str> {
    match record.event()? {
        AuditEvent::TaskCompleted { task_id, .. } => Some(task_id),
        AuditEvent::AuthFailure { reason, .. } => Some(reason),
        _ => None,
    }
}

#[test]
fn acknowledged_events_survive_sigkill_at_random_points() {
    let rounds = env_u64("CRASH_ROUNDS").unwrap_or(30);
    let seed = env_u64("CRASH_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| u64::from(d.subsec_nanos()) | 1)
    });
    eprintln!("crash test: {rounds} rounds, CRASH_SEED={seed}");
    let mut rng = Rng(seed);
    let program = child_program();
    assert!(program.exists(), "{} is not built", program.display());
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("log");

    for round in 0..rounds {
        let mut child = Command::new(&program)
            .arg(&log)
            .arg(round.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let kill_after = 1 + rng.next() % 24;
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut acks = Vec::new();
        for line in lines.by_ref() {
            acks.push(parse_ack(&line.unwrap(), round));
            if acks.len() as u64 >= kill_after {
                child.kill().unwrap();
                break;
            }
        }
        let status = child.wait().unwrap();
        // Acks already in the pipe when the kill landed count too.
        for line in lines {
            acks.push(parse_ack(&line.unwrap(), round));
        }
        if (acks.len() as u64) < kill_after {
            let mut stderr = String::new();
            child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
            panic!("round {round}: the child stopped by itself ({status}): {stderr}");
        }

        let records =
            verify_log(&log).unwrap_or_else(|e| panic!("round {round} (CRASH_SEED={seed}): {e}"));
        for (i, record) in records.iter().enumerate() {
            assert_eq!(record.seq, i as u64, "round {round}: sequence gap");
        }
        let tags: Vec<&str> = records.iter().filter_map(tag).collect();
        let unique: BTreeSet<&str> = tags.iter().copied().collect();
        assert_eq!(unique.len(), tags.len(), "round {round}: an event was written twice");
        let last = acks.last().unwrap();
        for index in 0..=last.index {
            let wanted = format!("r{round}-e{index}");
            assert!(
                unique.contains(wanted.as_str()),
                "round {round} (CRASH_SEED={seed}): acknowledged event {wanted} is missing"
            );
        }
        assert!(
            records.len() as u64 > last.seq,
            "round {round}: acknowledged record {} is missing",
            last.seq
        );
    }
}
