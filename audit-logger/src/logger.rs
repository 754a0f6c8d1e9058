//! [`AuditLogger`]: the facade. `emit` prepares an event and hands it to a lane without
//! blocking; `flush` waits for durability; `shutdown` (or `Drop`) drains and closes.

use std::mem::size_of;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use audit_events::{
    AuditEvent, AuditIdGenerator, Body, Entry, EventKind, EventRecord, RecordContext, Timestamp,
};
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError};

use crate::backend::{self, Opened};
use crate::config::AuditConfig;
use crate::error::AuditError;
use crate::prepare::{Prepared, prepare, prepare_context};
use crate::shared::{Queued, Shared};
use crate::stats::{LoggerStats, ShutdownReport};
use crate::writer::{Control, Inbox, Writer, WriterExit};
use audit_store::VerifierMaterial;

/// The audit logger a service shares (via `Arc`) among all the code that emits events.
///
/// `emit` never blocks and never panics; it validates, escapes and bounds the event, stamps it,
/// and queues it for the writer thread or refuses it with an error that says why (and counts
/// the refusal). `flush` returns once everything emitted before it is durable. `shutdown`
/// drains, seals and closes the log within a bound; dropping the logger does the same.
///
/// ```
/// use audit_logger::{AuditConfig, AuditLogger};
/// use audit_events::EventKind;
///
/// // A disabled logger validates and counts, and writes nothing.
/// let logger = AuditLogger::new(AuditConfig::disabled("orchestrator-1"))?;
/// logger.emit(EventKind::AuthSuccess.example())?;
/// logger.flush()?;
/// assert!(logger.stats().disabled);
/// assert_eq!(logger.stats().discarded_disabled, 1);
/// # Ok::<(), audit_logger::AuditError>(())
/// ```
#[derive(Debug)]
pub struct AuditLogger {
    shared: Arc<Shared>,
    lanes: Option<Lanes>,
    disabled: bool,
    verifier: Option<VerifierMaterial>,
    shutdown_timeout: Duration,
}

// Shared by reference among threads (`Arc<AuditLogger>`): checked at compile time.
const _: () = {
    const fn shareable<T: Send + Sync>() {}
    shareable::<AuditLogger>();
};

/// The sending side of the writer's channels, and the thread itself.
#[derive(Debug)]
struct Lanes {
    critical: Sender<Queued>,
    routine: Sender<Queued>,
    control: Sender<Control>,
    nudge: Sender<()>,
    done: Receiver<WriterExit>,
    thread: JoinHandle<()>,
}

impl AuditLogger {
    /// Checks the configuration, opens (or creates) the log and starts the writer thread.
    /// No async runtime is needed; the logger works the same from sync and async code.
    ///
    /// # Errors
    ///
    /// [`AuditError::Config`] for an invalid configuration (or when the system's random
    /// generator cannot seed the audit ids), [`AuditError::Store`] when the log cannot be
    /// opened or created or the writer thread cannot start.
    pub fn new(config: AuditConfig) -> Result<Self, AuditError> {
        config.validate()?;
        let opened = backend::open(&config, None)?;
        Self::start(&config, opened)
    }

    /// [`AuditLogger::new`] with the store's file operations going through `io`: for tests
    /// that inject failed syncs, full disks and torn writes
    /// (`audit_testkit::FaultyIo`).
    pub fn with_io(
        config: AuditConfig,
        io: Arc<dyn audit_store::io::Io>,
    ) -> Result<Self, AuditError> {
        config.validate()?;
        let opened = backend::open(&config, Some(io))?;
        Self::start(&config, opened)
    }

    /// Starts a logger over an opened sink (`None`: disabled).
    pub(crate) fn start(config: &AuditConfig, opened: Option<Opened>) -> Result<Self, AuditError> {
        config.validate()?;
        let ids = AuditIdGenerator::random()
            .map_err(|e| AuditError::Config { reason: format!("audit ids: {e}") })?;
        let shared = Arc::new(Shared::new(&config.queue, ids));
        let Some(Opened { sink, verifier }) = opened else {
            return Ok(Self {
                shared,
                lanes: None,
                disabled: true,
                verifier: None,
                shutdown_timeout: config.shutdown_timeout,
            });
        };
        let (critical, critical_rx) = crossbeam_channel::bounded(config.queue.critical_max_events);
        let (routine, routine_rx) = crossbeam_channel::bounded(config.queue.max_events);
        let (control, control_rx) = crossbeam_channel::unbounded();
        let (nudge, nudge_rx) = crossbeam_channel::bounded(1);
        let (done_tx, done) = crossbeam_channel::bounded(1);
        let inbox = Inbox {
            critical: critical_rx,
            routine: routine_rx,
            control: control_rx,
            nudge: nudge_rx,
        };
        let writer = Writer::new(Arc::clone(&shared), sink, inbox, config.flush);
        let guard = PoisonOnUnwind(Arc::clone(&shared));
        // The writer reports to the `tracing` subscriber current where the logger was made.
        let dispatch = tracing::dispatcher::get_default(Clone::clone);
        let thread = std::thread::Builder::new()
            .name("audit-writer".to_owned())
            .spawn(move || {
                let _tracing = tracing::dispatcher::set_default(&dispatch);
                let guard = guard;
                // `done_tx` is dropped when this closure ends, also by unwinding, so shutdown
                // learns the thread ended even if no summary was sent.
                let exit = writer.run();
                let _ = done_tx.send(exit);
                drop(guard);
            })
            .map_err(|e| AuditError::Store {
                failure: crate::error::Failure::new(crate::error::FailureKind::Other),
                cause: format!("could not start the writer thread: {e}"),
            })?;
        Ok(Self {
            shared,
            lanes: Some(Lanes { critical, routine, control, nudge, done, thread }),
            disabled: false,
            verifier,
            shutdown_timeout: config.shutdown_timeout,
        })
    }

    /// Queues one event for the log. Never blocks, never panics.
    ///
    /// Every text field is escaped with `input_validation::escape_for_log` (paths listed in
    /// the record's `escaped`), the bounds are applied with an escape-aware cut (paths in
    /// `truncated`), and the event is stamped with the time and an audit id. Critical events
    /// go to their own lane, which routine events cannot fill, and make the writer write at
    /// once.
    ///
    /// # Errors
    ///
    /// [`AuditError::BufferFull`] when the event's lane is full,
    /// [`AuditError::WriterPoisoned`] once the writer has failed, [`AuditError::ShutDown`]
    /// once it has stopped, [`AuditError::InvalidEvent`] if the event cannot be bounded. Every
    /// refusal is counted by kind and recorded in the log at the writer's next batch.
    pub fn emit(&self, event: AuditEvent) -> Result<(), AuditError> {
        self.emit_with(event, RecordContext::default())
    }

    /// [`AuditLogger::emit`] with the envelope's correlation fields: the request or correlation
    /// id, the client's user agent, and the time the event happened as the service states it
    /// (`claimed_time`, for an event reported after the fact; the record's own time stays the
    /// time it was queued). Both text fields are escaped and bounded like event text (paths
    /// `envelope.request_id`, `envelope.user_agent`).
    ///
    /// ```
    /// use audit_logger::{AuditConfig, AuditLogger};
    /// use audit_events::{EventKind, RecordContext};
    ///
    /// let logger = AuditLogger::new(AuditConfig::disabled("orchestrator-1"))?;
    /// let context = RecordContext {
    ///     request_id: Some("req-7f3a9c01".to_owned()),
    ///     user_agent: Some("curl/8.5.0".to_owned()),
    ///     ..RecordContext::default()
    /// };
    /// logger.emit_with(EventKind::AuthSuccess.example(), context)?;
    /// # Ok::<(), audit_logger::AuditError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`AuditLogger::emit`].
    pub fn emit_with(
        &self,
        mut event: AuditEvent,
        mut context: RecordContext,
    ) -> Result<(), AuditError> {
        let now = Timestamp::now();
        let kind = event.kind();
        let critical = event.is_critical();
        if let Some(err) = self.shared.unavailable() {
            self.refuse(kind, now, &self.shared.refused_unavailable);
            return Err(err);
        }
        let mut prepared = match prepare(&mut event) {
            Ok(prepared) => prepared,
            Err(err) => {
                self.refuse(kind, now, &self.shared.refused_invalid);
                return Err(err);
            }
        };
        if !context.is_empty() {
            prepare_context(&mut context, &mut prepared);
        }
        let Prepared { escaped, truncated, heap } = prepared;
        let Some(lanes) = &self.lanes else {
            self.shared.discarded_disabled.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        };
        let cost = u64::try_from(size_of::<Queued>() + heap).unwrap_or(u64::MAX);
        let (budget, lane) = if critical {
            (&self.shared.critical, &lanes.critical)
        } else {
            (&self.shared.routine, &lanes.routine)
        };
        if !budget.try_reserve(cost) {
            self.refuse(kind, now, &self.shared.refused_full);
            return Err(AuditError::BufferFull { kind });
        }
        let entry = Entry {
            time: now,
            audit_id: self.shared.stamp.ids.next_id(),
            body: Body::Event(EventRecord { event, escaped, truncated }),
            context,
        };
        match lane.try_send(Queued { entry, cost }) {
            Ok(()) => {
                self.shared.stamp.accepted.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            // The budget admits no more events than the channel holds, so `Full` means a bug
            // in that accounting; refuse rather than block.
            Err(TrySendError::Full(_)) => {
                budget.release(1, cost);
                self.refuse(kind, now, &self.shared.refused_full);
                Err(AuditError::BufferFull { kind })
            }
            Err(TrySendError::Disconnected(_)) => {
                budget.release(1, cost);
                self.refuse(kind, now, &self.shared.refused_unavailable);
                Err(self.shared.unavailable().unwrap_or(AuditError::ShutDown))
            }
        }
    }

    fn refuse(&self, kind: EventKind, now: Timestamp, reason: &std::sync::atomic::AtomicU64) {
        reason.fetch_add(1, Ordering::Relaxed);
        self.shared.drops.record(kind, now);
        if let Some(lanes) = &self.lanes {
            // Wake an idle writer so the refusal is recorded now, not at its next event. A full
            // nudge channel means a wake-up is already on its way.
            let _ = lanes.nudge.try_send(());
        }
    }

    /// Returns once every event emitted before this call (and every refusal counted before
    /// it) is durable in the log. A disabled logger returns `Ok` at once. There is no timeout:
    /// while the disk stalls, `flush` waits (a slow sync is not an error the logger can see).
    ///
    /// # Errors
    ///
    /// [`AuditError::WriterPoisoned`] if the writer failed before those events were durable,
    /// [`AuditError::ShutDown`] if it stopped.
    pub fn flush(&self) -> Result<(), AuditError> {
        if let Some(err) = self.shared.unavailable() {
            return Err(err);
        }
        let Some(lanes) = &self.lanes else {
            return Ok(());
        };
        // Budgets are released only after the events are durable (or, after a failure, after
        // the poison flag is set), so an empty queue means everything before is durable.
        if !self.shared.in_flight() && !self.shared.drops.any_pending() {
            return self.shared.unavailable().map_or(Ok(()), Err);
        }
        let (reply, answer) = crossbeam_channel::bounded(1);
        if lanes.control.send(Control::Flush(reply)).is_err() {
            return Err(self.shared.unavailable().unwrap_or(AuditError::ShutDown));
        }
        match answer.recv() {
            Ok(result) => result,
            Err(_) => Err(self.shared.unavailable().unwrap_or(AuditError::ShutDown)),
        }
    }

    /// A snapshot of the logger's counters.
    pub fn stats(&self) -> LoggerStats {
        LoggerStats::read(&self.shared, self.disabled)
    }

    /// The verifier material of a log this logger created, once; `None` when it opened an
    /// existing log, after the first call, and for a disabled logger.
    pub fn take_verifier_material(&mut self) -> Option<VerifierMaterial> {
        self.verifier.take()
    }

    /// Stops accepting events, writes everything queued, seals and closes the log (final
    /// checkpoint and clean-shutdown record), and waits for the writer thread for at most the
    /// configured shutdown timeout.
    ///
    /// # Errors
    ///
    /// [`AuditError::WriterPoisoned`] if the writer had failed (queued events were lost; see
    /// [`LoggerStats::lost_unwritten`]), [`AuditError::Store`] if closing the log failed.
    /// A writer that does not finish in time is not an error: the report says so.
    pub fn shutdown(mut self) -> Result<ShutdownReport, AuditError> {
        self.stop()
    }

    fn stop(&mut self) -> Result<ShutdownReport, AuditError> {
        let Some(lanes) = self.lanes.take() else {
            return Ok(ShutdownReport::read(&self.shared, true));
        };
        let Lanes { critical, routine, control, nudge, done, thread } = lanes;
        let deadline = Instant::now() + self.shutdown_timeout;
        let _ = control.send(Control::Shutdown);
        drop((critical, routine, nudge, control));
        let exit = match done.recv_deadline(deadline) {
            Ok(exit) => Some(exit),
            Err(RecvTimeoutError::Disconnected) => None,
            Err(RecvTimeoutError::Timeout) => {
                // Leave the thread running; it finishes (or not) on its own.
                self.shared.stop();
                return Ok(ShutdownReport::read(&self.shared, false));
            }
        };
        // The summary is sent just before the thread's closure returns: wait for the channel
        // to close (the closure's end), then joining takes only the thread's own teardown.
        let finished = !matches!(done.recv_deadline(deadline), Err(RecvTimeoutError::Timeout));
        if finished {
            let _ = thread.join();
        }
        self.shared.stop();
        match exit {
            Some(WriterExit { result: Ok(()) }) => Ok(ShutdownReport::read(&self.shared, finished)),
            Some(WriterExit { result: Err(err) }) => Err(err),
            None => Err(self.shared.unavailable().unwrap_or(AuditError::ShutDown)),
        }
    }
}

impl Drop for AuditLogger {
    /// The same bounded shutdown as [`AuditLogger::shutdown`], its result discarded: call
    /// `shutdown` to see it.
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

/// Marks the logger poisoned if the writer thread unwinds past its own panic handling.
#[derive(Debug)]
struct PoisonOnUnwind(Arc<Shared>);

impl Drop for PoisonOnUnwind {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.poison(
                "writer thread panicked outside its loop".to_owned(),
                crate::error::Failure::new(crate::error::FailureKind::Panic),
            );
        }
        self.0.stop();
    }
}
