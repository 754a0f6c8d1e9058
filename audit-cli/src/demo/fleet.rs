//! The simulated fleet of `audit demo`: an orchestrator, a pool manager and two GPU workers
//! sharing one logger, each on its own thread, plus a third worker on an integrated GPU that
//! the VRAM-only policy refuses. The workers run on the host VRAM backend, so their events
//! carry worker ids ending in `+host-test-backend`.
//!
//! Clients of the orchestrator include an attacker whose user names, paths and model
//! references carry ANSI sequences, forged log lines, NUL, bidi overrides and zero-width
//! characters: the logger escapes them on the way in, and the command escapes again on the way
//! out.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use audit_events::{AuditEvent, EventKind, FieldChange, PromptDigest, RiskScore};
use audit_logger::AuditLogger;
use vram_residency::{AuditSink, HostBackend, HostDeviceConfig, VramManager, WorkerSecret};

/// A user name that clears the screen and forges a log line of its own.
pub(crate) const HOSTILE_USER: &str =
    "admin\u{1b}[2J\u{1b}[H\r\n2026-11-22T09:00:00Z auth.success user=admin";
/// A path with traversal, a NUL and a zero-width space.
const HOSTILE_PATH: &str = "../../../etc/shadow\u{0}\u{200b}.png";
/// A model reference whose right-to-left override disguises its extension.
const HOSTILE_MODEL: &str = "hf:acme/llama-7b\u{202e}fdp.exe";
/// A terminal hyperlink (OSC 8) hidden in a cancellation reason.
const HOSTILE_REASON: &str = "\u{1b}]8;;http://evil.example\u{7}user request\u{1b}]8;;\u{7}";

const MIB: u64 = 1024 * 1024;

/// Forwards every event to the logger and notes which kinds got in.
pub(crate) struct FleetSink {
    logger: Arc<AuditLogger>,
    seen: Mutex<BTreeSet<EventKind>>,
    refused: AtomicU64,
}

impl FleetSink {
    pub(crate) fn new(logger: Arc<AuditLogger>) -> Self {
        Self { logger, seen: Mutex::new(BTreeSet::new()), refused: AtomicU64::new(0) }
    }

    /// Emits an event; a refusal is counted (and recorded in the log by the logger).
    pub(crate) fn send(&self, event: AuditEvent) {
        let _ = AuditSink::emit(self, event);
    }

    /// Kinds accepted so far.
    pub(crate) fn seen(&self) -> BTreeSet<EventKind> {
        self.seen.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Events the logger refused.
    pub(crate) fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }
}

impl AuditSink for FleetSink {
    fn emit(&self, event: AuditEvent) -> Result<(), audit_logger::AuditError> {
        let kind = event.kind();
        match self.logger.emit(event) {
            Ok(()) => {
                self.seen.lock().unwrap_or_else(PoisonError::into_inner).insert(kind);
                Ok(())
            }
            Err(e) => {
                self.refused.fetch_add(1, Ordering::Relaxed);
                Err(e)
            }
        }
    }
}

/// Waits one interval; false once the demo is over (the stop channel closed).
fn next_tick(stop: &Receiver<()>, interval: Duration) -> bool {
    matches!(stop.recv_timeout(interval), Err(RecvTimeoutError::Timeout))
}

/// Sets every text field at `path` (`actor.user_id`, `task_id`...) of an example event.
fn with(mut event: AuditEvent, path: &str, value: &str) -> AuditEvent {
    event.for_each_text_mut(&mut |field, _, text| {
        if field.to_string() == path {
            *text = value.to_owned();
        }
    });
    event
}

/// The orchestrator: sign-ins, tokens, access decisions, tasks, data access, GDPR requests,
/// and an attacker probing it.
pub(crate) fn orchestrator(sink: &FleetSink, stop: &Receiver<()>) {
    let users = ["alice@example.com", "bob@example.com", "carol@example.com", "svc-batch"];
    let mut tick = 0usize;
    loop {
        let user = users[tick % users.len()];
        let task = format!("task-{tick:05}");
        sink.send(with(EventKind::AuthSuccess.example(), "actor.user_id", user));
        let mut submitted = with(EventKind::TaskSubmitted.example(), "task_id", &task);
        if let AuditEvent::TaskSubmitted { prompt, actor, .. } = &mut submitted {
            *prompt = PromptDigest::of_prompt(&format!("summarise report {tick}"));
            user.clone_into(&mut actor.user_id);
        }
        sink.send(submitted);
        sink.send(with(EventKind::InferenceExecuted.example(), "job_id", &task));
        sink.send(with(EventKind::TaskCompleted.example(), "task_id", &task));
        if tick.is_multiple_of(5) {
            sink.send(with(EventKind::AuthorizationGranted.example(), "actor.user_id", user));
            sink.send(with(EventKind::TokenCreated.example(), "actor.user_id", user));
        }
        if tick % 7 == 3 {
            sink.send(EventKind::AuthorizationDenied.example());
        }
        if tick % 9 == 4 {
            let canceled = with(EventKind::TaskCanceled.example(), "task_id", &task);
            sink.send(with(canceled, "reason", HOSTILE_REASON));
        }
        if tick % 10 == 5 {
            attack(sink, tick);
        }
        if tick % 11 == 6 {
            sink.send(EventKind::ModelAccessed.example());
        }
        if tick % 15 == 7 {
            sink.send(EventKind::GdprDataAccessRequest.example());
            sink.send(EventKind::GdprDataExport.example());
            sink.send(EventKind::DataDeleted.example());
            sink.send(EventKind::GdprRightToErasure.example());
            sink.send(EventKind::TokenRevoked.example());
            sink.send(EventKind::PermissionChanged.example());
        }
        tick += 1;
        if !next_tick(stop, Duration::from_millis(40)) {
            break;
        }
    }
}

/// A burst from one attacker: failed sign-ins with an injected user name, a rate limit, an
/// invalid token, a path traversal, and the suspicious-activity verdict.
fn attack(sink: &FleetSink, tick: usize) {
    for _ in 0..3 {
        let mut failure = EventKind::AuthFailure.example();
        if let AuditEvent::AuthFailure { attempted_user, .. } = &mut failure {
            *attempted_user = Some(HOSTILE_USER.to_owned());
        }
        sink.send(failure);
    }
    sink.send(EventKind::RateLimitExceeded.example());
    sink.send(EventKind::InvalidTokenUsed.example());
    sink.send(with(EventKind::PathTraversalAttempt.example(), "attempted_path", HOSTILE_PATH));
    let mut suspicious = EventKind::SuspiciousActivity.example();
    if let AuditEvent::SuspiciousActivity { risk_score, details, .. } = &mut suspicious {
        *risk_score = RiskScore::saturating(u8::try_from(60 + tick % 40).unwrap_or(99));
        *details = format!("{} failed sign-ins, then a path traversal", 3 * (tick / 10 + 1));
    }
    sink.send(suspicious);
}

/// The pool manager: nodes join, a pool is created, scaled, limited and finally removed, and a
/// disguised model is refused.
pub(crate) fn pool_manager(sink: &FleetSink, stop: &Receiver<()>) {
    sink.send(with(EventKind::NodeRegistered.example(), "node_id", "gpu-node-1"));
    sink.send(with(EventKind::NodeRegistered.example(), "node_id", "gpu-node-2"));
    sink.send(EventKind::PoolCreated.example());
    let mut tick = 0u32;
    let mut replicas = 2u32;
    while next_tick(stop, Duration::from_millis(100)) {
        tick += 1;
        if tick.is_multiple_of(5) {
            let mut modified = EventKind::PoolModified.example();
            if let AuditEvent::PoolModified { changes, .. } = &mut modified {
                *changes = vec![FieldChange {
                    field: "replicas".to_owned(),
                    old: replicas.to_string(),
                    new: (replicas + 1).to_string(),
                }];
            }
            replicas += 1;
            sink.send(modified);
        }
        if tick % 8 == 3 {
            sink.send(EventKind::ResourceLimitViolation.example());
        }
        if tick == 4 {
            sink.send(with(
                EventKind::MalformedModelRejected.example(),
                "model_ref",
                HOSTILE_MODEL,
            ));
        }
    }
    sink.send(EventKind::PoolDeleted.example());
    sink.send(with(EventKind::NodeDeregistered.example(), "node_id", "gpu-node-2"));
}

/// A GPU worker on one simulated 8 MiB device: seals a 4 MiB shard and verifies it before each
/// use. Worker 1's shard is corrupted in memory once (a failed verification and an integrity
/// violation) and reloaded; worker 0 once asks for more memory than is left.
pub(crate) fn gpu_worker(
    sink: Arc<FleetSink>,
    index: u8,
    stop: &Receiver<()>,
) -> Result<(), String> {
    let backend = Arc::new(HostBackend::new(&[8 * MIB]));
    let worker = format!("worker-gpu-{index}");
    let manager =
        VramManager::new(backend.clone(), &worker, WorkerSecret::new([index + 1; 32]), sink)
            .map_err(|e| format!("{worker}: {e}"))?;
    let bytes: Vec<u8> = (0..4 * MIB).map(|i| u8::try_from(i % 251).unwrap_or(0) ^ index).collect();
    let mut shard_id = format!("llama-7b-shard-{index}");
    let mut shard =
        manager.seal_model(&shard_id, 0, &bytes).map_err(|e| format!("{worker}: {e}"))?;
    let mut tick = 0u32;
    while next_tick(stop, Duration::from_millis(100)) {
        tick += 1;
        if index == 1 && tick == 5 {
            // A fault (or an attacker) flips a bit of the sealed weights in device memory.
            if let Some(id) = manager.allocation_id(0, &shard_id) {
                let _ = backend.corrupt_byte(id, 4096);
            }
        }
        if manager.verify_sealed(&shard).is_err() {
            // Refuse the corrupted shard and load it again.
            let _ = manager.release(&shard);
            shard_id = format!("llama-7b-shard-{index}-reloaded");
            shard =
                manager.seal_model(&shard_id, 0, &bytes).map_err(|e| format!("{worker}: {e}"))?;
        }
        if index == 0 && tick == 3 {
            // More than the device has left: refused before anything is allocated.
            let _ = manager.seal_model(
                "llama-7b-shard-extra",
                0,
                &vec![1u8; usize::try_from(6 * MIB).unwrap_or(0)],
            );
        }
    }
    manager.release(&shard).map_err(|e| format!("{worker}: {e}"))
}

/// A worker on an integrated GPU, whose memory is host memory: the VRAM-only policy refuses
/// it at start (a policy violation on record).
pub(crate) fn integrated_gpu_worker(sink: Arc<FleetSink>) {
    let mut device = HostDeviceConfig::new(8 * MIB);
    device.integrated = true;
    let backend = Arc::new(HostBackend::with_devices(vec![device]));
    let _ = VramManager::new(backend, "worker-igpu-0", WorkerSecret::new([9; 32]), sink);
}
