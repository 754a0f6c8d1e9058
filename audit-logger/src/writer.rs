//! The writer thread: the only code that touches the log.
//!
//! Each round it blocks until there is something to do (an event, a flush or shutdown request,
//! a nudge about refused events, or the next seal or batch deadline), takes every control
//! message, then drains the critical lane and then the routine lane, seals the epochs that have
//! ended, and appends what it took as one batch made durable with one sync (group commit).
//! Then it gives the batch's budget back and answers the flush requests it took before the
//! drain: every event emitted before such a request was queued before it, so it is in this
//! batch or an earlier one.
//!
//! Any sink error or panic poisons the logger. From then on the writer only answers: queued
//! events are counted as lost, flushes get the error, and shutdown ends the thread.

use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use audit_events::{Body, Entry, Timestamp};
use crossbeam_channel::{Receiver, Sender, select};

use crate::config::FlushMode;
use crate::error::{AuditError, Failure, FailureKind};
use crate::shared::{Queued, Shared};
use crate::sink::{LogSink, SinkError};

/// How often retention runs, after the run at start.
const RETENTION_INTERVAL: Duration = Duration::from_secs(3600);
/// How long the writer watches for work before it parks.
const SPIN: Duration = Duration::from_micros(50);
/// At most one `tracing` event about refused events per this interval; the refusals between
/// two such events are added up into the next one.
const DROP_TRACE_INTERVAL: Duration = Duration::from_secs(10);
/// The shortest wait for a seal, so a sink whose next seal stays in the past cannot spin.
const MIN_SEAL_WAIT: Duration = Duration::from_millis(1);

/// Requests from the logger to the writer.
#[derive(Debug)]
pub(crate) enum Control {
    /// Answer once every event queued before this request is durable.
    Flush(Sender<Result<(), AuditError>>),
    /// Drain, write, close the log and exit.
    Shutdown,
}

/// How the writer thread ended.
#[derive(Debug)]
pub(crate) struct WriterExit {
    pub(crate) result: Result<(), AuditError>,
}

/// The channels the writer reads.
#[derive(Debug)]
pub(crate) struct Inbox {
    pub(crate) critical: Receiver<Queued>,
    pub(crate) routine: Receiver<Queued>,
    pub(crate) control: Receiver<Control>,
    pub(crate) nudge: Receiver<()>,
}

/// Events taken from one lane and not yet durable, with the budget they hold.
#[derive(Debug, Default)]
struct Taken {
    entries: Vec<Entry>,
    bytes: u64,
}

impl Taken {
    fn push(&mut self, queued: Queued) {
        self.bytes += queued.cost;
        self.entries.push(queued.entry);
    }
}

pub(crate) struct Writer {
    shared: Arc<Shared>,
    sink: Option<Box<dyn LogSink>>,
    inbox: Inbox,
    flush: FlushMode,
    critical: Taken,
    routine: Taken,
    /// Budget held by the batch being appended: (critical events, bytes, routine events,
    /// bytes). Kept apart so a failure in the middle of an append still releases it.
    in_flight: (u64, u64, u64, u64),
    batch: Vec<Entry>,
    waiters: Vec<Sender<Result<(), AuditError>>>,
    oldest_pending: Option<Instant>,
    next_retention: Instant,
    shutting_down: bool,
    /// When refusals were last reported to `tracing`, and how many were recorded since.
    drop_trace: (Option<Instant>, u64),
}

impl Writer {
    pub(crate) fn new(
        shared: Arc<Shared>,
        sink: Box<dyn LogSink>,
        inbox: Inbox,
        flush: FlushMode,
    ) -> Self {
        Self {
            shared,
            sink: Some(sink),
            inbox,
            flush,
            critical: Taken::default(),
            routine: Taken::default(),
            in_flight: (0, 0, 0, 0),
            batch: Vec::new(),
            waiters: Vec::new(),
            oldest_pending: None,
            next_retention: Instant::now(),
            shutting_down: false,
            drop_trace: (None, 0),
        }
    }

    /// Runs until shutdown; never panics out (a panic inside poisons and is contained).
    pub(crate) fn run(mut self) -> WriterExit {
        let healthy = panic::catch_unwind(AssertUnwindSafe(|| self.run_healthy()));
        let result = match healthy {
            Ok(Ok(())) => Ok(()),
            Ok(Err(Stop::Closed(e))) => {
                trace_poisoned(e.cause());
                self.shared.poison(e.cause().to_owned(), e.failure());
                Err(AuditError::Store { cause: e.cause().to_owned(), failure: e.failure() })
            }
            Ok(Err(Stop::Failed(e))) => {
                trace_poisoned(e.cause());
                self.run_poisoned(e.cause().to_owned(), e.failure());
                Err(self.shared.poison_error())
            }
            Err(payload) => {
                let cause = panic_cause(payload.as_ref());
                trace_poisoned(&cause);
                self.run_poisoned(cause, Failure::new(FailureKind::Panic));
                Err(self.shared.poison_error())
            }
        };
        self.shared.stop();
        WriterExit { result }
    }

    fn sink(&mut self) -> Result<&mut Box<dyn LogSink>, SinkError> {
        self.sink.as_mut().ok_or_else(|| SinkError::new("the log was already closed"))
    }

    fn run_healthy(&mut self) -> Result<(), Stop> {
        let now = Timestamp::now();
        self.sink().and_then(|s| s.apply_retention(now)).map_err(Stop::Failed)?;
        self.next_retention = Instant::now() + RETENTION_INTERVAL;
        loop {
            let wait = self.wait_time();
            self.wait_for_work(wait);
            self.take_controls();
            self.drain_lanes();
            let now = Timestamp::now();
            self.sink().and_then(|s| s.seal_if_due(now)).map_err(Stop::Failed)?;
            if self.should_write() {
                self.write_batch(now).map_err(Stop::Failed)?;
            }
            if self.pending() == 0 {
                for waiter in self.waiters.drain(..) {
                    let _ = waiter.send(Ok(()));
                }
            }
            if Instant::now() >= self.next_retention {
                self.sink().and_then(|s| s.apply_retention(now)).map_err(Stop::Failed)?;
                self.next_retention = Instant::now() + RETENTION_INTERVAL;
            }
            if self.shutting_down {
                let sink = self
                    .sink
                    .take()
                    .ok_or_else(|| Stop::Failed(SinkError::new("the log was already closed")))?;
                sink.close(Timestamp::now()).map_err(Stop::Closed)?;
                return Ok(());
            }
        }
    }

    /// How long to block: until the next seal, the batch deadline or retention, whichever
    /// comes first; no wait at all if refusals are waiting to be recorded.
    fn wait_time(&self) -> Duration {
        if self.shared.drops.any_pending() || self.shutting_down {
            return Duration::ZERO;
        }
        let now = Timestamp::now();
        let mut wait = self.sink.as_ref().map_or(Duration::ZERO, |s| {
            let nanos = s.next_seal_due().as_nanos().saturating_sub(now.as_nanos());
            Duration::from_nanos(u64::try_from(nanos).unwrap_or(0)).max(MIN_SEAL_WAIT)
        });
        if let (FlushMode::Batched { max_interval, .. }, Some(oldest)) =
            (self.flush, self.oldest_pending)
        {
            wait = wait.min((oldest + max_interval).saturating_duration_since(Instant::now()));
        }
        wait.min(self.next_retention.saturating_duration_since(Instant::now()))
    }

    /// Blocks until one message arrives or `wait` passes; takes that message.
    fn wait_for_work(&mut self, wait: Duration) {
        if wait >= SPIN && self.spin_for_work() {
            return;
        }
        select! {
            recv(self.inbox.control) -> msg => match msg {
                Ok(control) => self.control(control),
                // The logger is gone without a shutdown request: close like a shutdown.
                Err(_) => self.shutting_down = true,
            },
            recv(self.inbox.critical) -> msg => {
                if let Ok(queued) = msg {
                    self.take(queued, true);
                }
            },
            recv(self.inbox.routine) -> msg => {
                if let Ok(queued) = msg {
                    self.take(queued, false);
                }
            },
            recv(self.inbox.nudge) -> _ => {},
            default(wait) => {},
        }
    }

    /// Before parking, watches the lanes for a short while, yielding the core to anyone who
    /// wants it. While the writer is awake an `emit` costs no wake-up system call (several
    /// microseconds on a virtual machine); under a steady stream of events the writer then
    /// never parks between batches.
    fn spin_for_work(&self) -> bool {
        let until = Instant::now() + SPIN;
        loop {
            if !self.inbox.critical.is_empty()
                || !self.inbox.routine.is_empty()
                || !self.inbox.control.is_empty()
                || !self.inbox.nudge.is_empty()
            {
                return true;
            }
            if Instant::now() >= until {
                return false;
            }
            std::thread::yield_now();
        }
    }

    fn control(&mut self, control: Control) {
        match control {
            Control::Flush(reply) => self.waiters.push(reply),
            Control::Shutdown => self.shutting_down = true,
        }
    }

    fn take_controls(&mut self) {
        while let Ok(control) = self.inbox.control.try_recv() {
            self.control(control);
        }
    }

    fn take(&mut self, queued: Queued, critical: bool) {
        if self.oldest_pending.is_none() {
            self.oldest_pending = Some(Instant::now());
        }
        if critical { self.critical.push(queued) } else { self.routine.push(queued) }
    }

    /// Takes everything queued, critical lane first. Terminates: a lane holds at most its
    /// event bound, and nothing taken is released before it is written.
    fn drain_lanes(&mut self) {
        while let Ok(queued) = self.inbox.critical.try_recv() {
            self.take(queued, true);
        }
        while let Ok(queued) = self.inbox.routine.try_recv() {
            self.take(queued, false);
        }
        while let Ok(()) = self.inbox.nudge.try_recv() {}
    }

    fn pending(&self) -> usize {
        self.critical.entries.len() + self.routine.entries.len()
    }

    fn should_write(&self) -> bool {
        let pending = self.pending();
        if pending == 0 {
            return self.shared.drops.any_pending();
        }
        match self.flush {
            FlushMode::Immediate => true,
            FlushMode::Batched { max_events, max_interval } => {
                self.shutting_down
                    || !self.waiters.is_empty()
                    || !self.critical.entries.is_empty()
                    || pending >= max_events
                    || self.shared.drops.any_pending()
                    // Do not let the byte bound refuse events while waiting for the count.
                    || self.shared.routine.bytes() * 2 > self.shared.routine.max_bytes()
                    || self.oldest_pending.is_some_and(|t| t.elapsed() >= max_interval)
            }
        }
    }

    /// Appends the pending refusals record, the critical events and the routine events as one
    /// durable batch, then releases their budget.
    fn write_batch(&mut self, now: Timestamp) -> Result<(), SinkError> {
        let dropped = self.shared.drops.take_record(now);
        let events = self.pending();
        if events == 0 && dropped.is_none() {
            return Ok(());
        }
        self.batch.clear();
        let has_drop_record = dropped.is_some();
        let dropped_total = match &dropped {
            Some(audit_events::SystemRecord::EventsDropped { total, .. }) => *total,
            _ => 0,
        };
        if let Some(record) = dropped {
            let audit_id = self.shared.stamp.ids.next_id();
            self.batch.push(Entry::new(now, audit_id, Body::System(record)));
        }
        self.in_flight = (
            len64(&self.critical.entries),
            self.critical.bytes,
            len64(&self.routine.entries),
            self.routine.bytes,
        );
        self.batch.append(&mut self.critical.entries);
        self.batch.append(&mut self.routine.entries);
        self.critical.bytes = 0;
        self.routine.bytes = 0;
        self.oldest_pending = None;

        let sink =
            self.sink.as_mut().ok_or_else(|| SinkError::new("the log was already closed"))?;
        let (_, last) = sink.append_batch(&self.batch, now)?;
        // Free the events before giving their budget back: the budget bounds memory.
        self.batch.clear();
        let shared = &self.shared;
        shared.set_durable_seq(last);
        shared.out.written.fetch_add(len_u64(events), Ordering::AcqRel);
        shared.out.batches.fetch_add(1, Ordering::AcqRel);
        if has_drop_record {
            shared.out.drop_records.fetch_add(1, Ordering::AcqRel);
        }
        self.release_in_flight();
        self.trace_drops(dropped_total);
        Ok(())
    }

    /// Reports refusals just recorded in the log to `tracing`, at most once per
    /// [`DROP_TRACE_INTERVAL`] (the counts add up meanwhile). Counts only, never an event.
    fn trace_drops(&mut self, recorded: u64) {
        let (last, untraced) = &mut self.drop_trace;
        *untraced = untraced.saturating_add(recorded);
        if *untraced == 0 || last.is_some_and(|t| t.elapsed() < DROP_TRACE_INTERVAL) {
            return;
        }
        tracing::warn!(
            refused = *untraced,
            "audit events were refused (queue full or writer unavailable); each refusal is \
             recorded in the log as an events-dropped record"
        );
        *last = Some(Instant::now());
        *untraced = 0;
    }

    fn release_in_flight(&mut self) {
        let (ce, cb, re, rb) = std::mem::take(&mut self.in_flight);
        self.shared.critical.release(ce, cb);
        self.shared.routine.release(re, rb);
    }

    /// After a failure: count every event that was taken or is still queued as lost, then set
    /// the poison flag, answer every flush with the error, and wait for shutdown.
    ///
    /// The losses are counted before the flag is set, because `emit` and `flush` return the
    /// error as soon as they see the flag: a caller that has the error finds every loss in the
    /// stats. Budgets are released only after the flag is set, so a flush that finds the
    /// queues empty never takes lost events for durable ones.
    fn run_poisoned(&mut self, cause: String, failure: Failure) {
        // The sink may be half-way through a write; nothing more goes to it.
        drop(self.sink.take());
        let (ce, cb, re, rb) = std::mem::take(&mut self.in_flight);
        let critical_events = ce + len64(&self.critical.entries);
        let critical_bytes = cb + std::mem::take(&mut self.critical.bytes);
        let routine_events = re + len64(&self.routine.entries);
        let routine_bytes = rb + std::mem::take(&mut self.routine.bytes);
        let lost: Vec<Entry> = self
            .batch
            .drain(..)
            .chain(self.critical.entries.drain(..))
            .chain(self.routine.entries.drain(..))
            .collect();
        for entry in &lost {
            self.count_lost(entry);
        }
        drop(lost);
        let queued_critical: Vec<Queued> = self.inbox.critical.try_iter().collect();
        let queued_routine: Vec<Queued> = self.inbox.routine.try_iter().collect();
        for queued in queued_critical.iter().chain(&queued_routine) {
            self.count_lost(&queued.entry);
        }
        self.shared.poison(cause, failure);
        self.shared.critical.release(critical_events, critical_bytes);
        self.shared.routine.release(routine_events, routine_bytes);
        for (queued, lane) in queued_critical
            .into_iter()
            .map(|q| (q, &self.shared.critical))
            .chain(queued_routine.into_iter().map(|q| (q, &self.shared.routine)))
        {
            lane.release(1, queued.cost);
        }
        self.lose_queued();
        self.answer_waiters();
        while !self.shutting_down {
            select! {
                recv(self.inbox.control) -> msg => match msg {
                    Ok(Control::Flush(reply)) => {
                        // Count what was queued before this request first, so the caller
                        // sees every loss in the stats once it has the error.
                        self.lose_queued();
                        let _ = reply.send(Err(self.shared.poison_error()));
                    }
                    Ok(Control::Shutdown) | Err(_) => self.shutting_down = true,
                },
                recv(self.inbox.critical) -> msg => match msg {
                    Ok(queued) => self.lose(queued, true),
                    Err(_) => self.shutting_down = true,
                },
                recv(self.inbox.routine) -> msg => match msg {
                    Ok(queued) => self.lose(queued, false),
                    Err(_) => self.shutting_down = true,
                },
                recv(self.inbox.nudge) -> msg => {
                    if msg.is_err() {
                        self.shutting_down = true;
                    }
                },
            }
        }
        self.lose_queued();
        self.answer_waiters();
    }

    fn lose_queued(&self) {
        while let Ok(queued) = self.inbox.critical.try_recv() {
            self.lose(queued, true);
        }
        while let Ok(queued) = self.inbox.routine.try_recv() {
            self.lose(queued, false);
        }
    }

    fn answer_waiters(&mut self) {
        for waiter in self.waiters.drain(..) {
            let _ = waiter.send(Err(self.shared.poison_error()));
        }
        while let Ok(control) = self.inbox.control.try_recv() {
            if let Control::Flush(reply) = control {
                let _ = reply.send(Err(self.shared.poison_error()));
            } else {
                self.shutting_down = true;
            }
        }
    }

    fn lose(&self, queued: Queued, critical: bool) {
        self.count_lost(&queued.entry);
        drop(queued.entry);
        let lane = if critical { &self.shared.critical } else { &self.shared.routine };
        lane.release(1, queued.cost);
    }

    fn count_lost(&self, entry: &Entry) {
        if let Body::Event(record) = &entry.body {
            self.shared.drops.record(record.event.kind(), Timestamp::now());
            self.shared.out.lost.fetch_add(1, Ordering::AcqRel);
        }
    }
}

/// Why the healthy loop ended early.
enum Stop {
    /// A sink call failed while running.
    Failed(SinkError),
    /// Closing the log at shutdown failed.
    Closed(SinkError),
}

fn len64<T>(v: &[T]) -> u64 {
    len_u64(v.len())
}

fn len_u64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// The panic message, escaped (it may quote anything), or a fixed text.
/// The writer failed: every later emit and flush returns `WriterPoisoned` with this cause (an
/// I/O step and OS error, or a panic message; never event content).
fn trace_poisoned(cause: &str) {
    tracing::error!(cause, "audit writer poisoned: every later emit and flush fails");
}

fn panic_cause(payload: &(dyn std::any::Any + Send)) -> String {
    let message = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("no message");
    format!("writer thread panicked: {}", input_validation::escape_for_log(message))
}
