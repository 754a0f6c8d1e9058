//! The child process of the logger's crash test (`tests/crash.rs`): it writes events to a real
//! log in `Immediate` mode and reports every flush that returned, until it is killed. Built
//! as the `crash-child` binary; cargo builds it for that test. When it creates the log it
//! writes the verifier material to `<log-dir>.material`.
//!
//! Usage: `crash-child <log-dir> <round>`. Events are `task.completed` records whose task id
//! is `r<round>-e<index>` (every seventh is a critical `auth.failure` with that reason), with
//! the index counting from 0. After each successful `flush` it writes one line to stdout and
//! flushes stdout:
//!
//! ```text
//! ack <round> <last index emitted before the flush> <last durable sequence number>
//! ```
//!
//! so every event up to that index, and every record up to that sequence number, must survive
//! any crash from then on. It exits with status 2 if the log cannot be opened and 3 if the
//! writer fails; the reason goes to stderr.

use std::io::Write;
use std::process::ExitCode;

use audit_events::{AuditEvent, EventKind, Outcome};
use audit_logger::{AuditConfig, AuditError, AuditLogger, FlushMode};

fn event(round: u64, index: u64) -> AuditEvent {
    let tag = format!("r{round}-e{index}");
    if index % 7 == 6 {
        let mut event = EventKind::AuthFailure.example();
        if let AuditEvent::AuthFailure { reason, .. } = &mut event {
            *reason = tag;
        }
        event
    } else {
        AuditEvent::TaskCompleted {
            task_id: tag,
            worker_id: "worker-gpu-0".to_owned(),
            tokens_generated: index,
            duration_ms: 1,
            outcome: Outcome::Success,
        }
    }
}

fn fail(code: u8, what: &str, err: &AuditError) -> ExitCode {
    let _ = writeln!(std::io::stderr(), "crash-child: {what}: {err}");
    ExitCode::from(code)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(dir), Some(round)) = (args.get(1), args.get(2).and_then(|r| r.parse::<u64>().ok()))
    else {
        let _ = writeln!(std::io::stderr(), "usage: crash-child <log-dir> <round>");
        return ExitCode::from(64);
    };
    let mut config = AuditConfig::local("crash-child", dir);
    config.flush = FlushMode::Immediate;
    // Seal often, so that kills also land in the middle of seals and checkpoints.
    config.seal_epoch = std::time::Duration::from_millis(20);
    let mut logger = match AuditLogger::new(config) {
        Ok(logger) => logger,
        Err(err) => return fail(2, "cannot open the log", &err),
    };
    // The first round creates the log: its verifier material goes beside it for the parent.
    if let Some(material) = logger.take_verifier_material()
        && let Err(err) = std::fs::write(format!("{dir}.material"), material.to_text().as_bytes())
    {
        let _ = writeln!(std::io::stderr(), "crash-child: cannot save the material: {err}");
        return ExitCode::from(2);
    }
    let mut stdout = std::io::stdout().lock();
    // A small xorshift stream, seeded by the round, varies the batch sizes.
    let mut state = round.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut index = 0u64;
    loop {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let batch = 1 + state % 16;
        for _ in 0..batch {
            loop {
                match logger.emit(event(round, index)) {
                    Ok(()) => break,
                    Err(AuditError::BufferFull { .. }) => {
                        if let Err(err) = logger.flush() {
                            return fail(3, "flush failed", &err);
                        }
                    }
                    Err(err) => return fail(3, "emit failed", &err),
                }
            }
            index += 1;
        }
        if let Err(err) = logger.flush() {
            return fail(3, "flush failed", &err);
        }
        let seq = logger.stats().durable_seq.unwrap_or(0);
        let line = format!("ack {round} {} {seq}\n", index - 1);
        if stdout.write_all(line.as_bytes()).and_then(|()| stdout.flush()).is_err() {
            // The parent closed the pipe: it is done with this round.
            return ExitCode::SUCCESS;
        }
    }
}
