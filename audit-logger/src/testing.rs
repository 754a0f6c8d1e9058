//! An in-memory log for tests and benchmarks of code that emits audit events, with hooks to
//! make the writer fail, panic or stall on demand.
//!
//! Nothing here is durable: records live in the process and die with it. [`AuditMode`] never
//! selects this sink; only [`AuditLogger::with_memory_sink`] does, and its name says so.
//!
//! The sink behaves like the store where the logger can tell: it assigns consecutive sequence
//! numbers that continue across loggers, writes its own log-created, log-resumed and log-closed
//! records, keeps each record in its canonical encoding (so a record that would not encode or
//! decode fails the test), and seals on the epoch the configuration sets. It keeps no hash
//! chain, no Merkle tree and no keys: seals are counted, not written.
//!
//! [`AuditMode`]: crate::AuditMode

use std::sync::Arc;
use std::time::{Duration, Instant};

use audit_events::{Body, Entry, EventError, LogId, Record, SystemRecord, Timestamp};
use parking_lot::{Condvar, Mutex, MutexGuard};

use crate::backend::{Opened, WRITER_VERSION};
use crate::config::AuditConfig;
use crate::error::AuditError;
use crate::logger::AuditLogger;
use crate::sink::{LogSink, SinkError};

/// An in-memory log shared by the test and the logger writing to it. Cloning gives another
/// handle to the same log.
#[derive(Clone, Debug)]
pub struct MemorySink {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Debug)]
struct State {
    log_id: LogId,
    retain: bool,
    records: Vec<Vec<u8>>,
    next_seq: u64,
    event_records: u64,
    batches: u64,
    open: bool,
    seal_epoch: i64,
    next_seal: Timestamp,
    seals: u64,
    seal_checks: u64,
    retention_runs: u64,
    fail_next: Option<String>,
    panic_next: bool,
    holds: u64,
    writer_waiting: bool,
    closes: u64,
    last_closed: bool,
}

/// What the next append does instead of writing.
enum Fault {
    Fail(String),
    Panic,
}

impl Default for MemorySink {
    fn default() -> Self {
        Self::new()
    }
}

impl MemorySink {
    /// An empty log that keeps every record.
    pub fn new() -> Self {
        Self::build(true)
    }

    /// An empty log that encodes and counts records but keeps none of them (benchmarks).
    pub fn discarding() -> Self {
        Self::build(false)
    }

    fn build(retain: bool) -> Self {
        let state = State {
            log_id: LogId([0x42; 16]),
            retain,
            records: Vec::new(),
            next_seq: 0,
            event_records: 0,
            batches: 0,
            open: false,
            seal_epoch: 60 * Timestamp::NANOS_PER_SECOND,
            next_seal: Timestamp(i64::MAX),
            seals: 0,
            seal_checks: 0,
            retention_runs: 0,
            fail_next: None,
            panic_next: false,
            holds: 0,
            writer_waiting: false,
            closes: 0,
            last_closed: false,
        };
        Self { inner: Arc::new(Inner { state: Mutex::new(state), changed: Condvar::new() }) }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.inner.state.lock()
    }

    /// Every record kept so far, decoded from its stored encoding.
    ///
    /// # Errors
    ///
    /// The decoding error if a stored record does not decode (a bug the test should see).
    pub fn records(&self) -> Result<Vec<Record>, EventError> {
        self.lock().records.iter().map(|bytes| Record::decode(bytes)).collect()
    }

    /// Event records appended so far (kept or not).
    pub fn event_records(&self) -> u64 {
        self.lock().event_records
    }

    /// Batches appended so far (each one "sync").
    pub fn batches(&self) -> u64 {
        self.lock().batches
    }

    /// Epochs sealed so far.
    pub fn seals(&self) -> u64 {
        self.lock().seals
    }

    /// Times the writer asked whether a seal was due (once per wake-up).
    pub fn seal_checks(&self) -> u64 {
        self.lock().seal_checks
    }

    /// Times retention was applied.
    pub fn retention_runs(&self) -> u64 {
        self.lock().retention_runs
    }

    /// Times a writer closed the log cleanly.
    pub fn closes(&self) -> u64 {
        self.lock().closes
    }

    /// Whether a writer has the log open.
    pub fn is_open(&self) -> bool {
        self.lock().open
    }

    /// Makes the next append fail with this cause, as an I/O error or failed sync would; the
    /// batch is not written.
    pub fn fail_next_append(&self, cause: &str) {
        self.lock().fail_next = Some(cause.to_owned());
    }

    /// Makes the next append panic (by unwinding, without running the panic hook); the batch
    /// is not written.
    pub fn panic_next_append(&self) {
        self.lock().panic_next = true;
    }

    /// Stalls every append until the returned hold is dropped, as a slow disk would.
    pub fn hold_appends(&self) -> AppendHold {
        self.lock().holds += 1;
        AppendHold { sink: self.clone() }
    }

    /// Waits until `done` holds for the sink's state or `timeout` passes; returns whether it
    /// held. Wakes on every change, never polls.
    fn wait_until(&self, timeout: Duration, done: impl Fn(&State) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        let mut state = self.lock();
        while !done(&state) {
            if self.inner.changed.wait_until(&mut state, deadline).timed_out() {
                return done(&state);
            }
        }
        true
    }

    /// Waits until at least `n` event records were appended; false on timeout.
    pub fn wait_for_event_records(&self, n: u64, timeout: Duration) -> bool {
        self.wait_until(timeout, |s| s.event_records >= n)
    }

    /// Waits until at least `n` epochs were sealed; false on timeout.
    pub fn wait_for_seals(&self, n: u64, timeout: Duration) -> bool {
        self.wait_until(timeout, |s| s.seals >= n)
    }

    /// Waits until the writer asked about seals at least `n` times; false on timeout.
    pub fn wait_for_seal_checks(&self, n: u64, timeout: Duration) -> bool {
        self.wait_until(timeout, |s| s.seal_checks >= n)
    }

    /// Waits until at least `n` records (of any kind) are kept; false on timeout.
    pub fn wait_for_records(&self, n: usize, timeout: Duration) -> bool {
        self.wait_until(timeout, |s| s.records.len() >= n)
    }

    /// Opens the log for one writer, as the store does: records log-created or log-resumed.
    fn open(&self, config: &AuditConfig) -> Result<MemoryWriter, SinkError> {
        let mut state = self.lock();
        if state.open {
            return Err(SinkError::new("the memory log is already open by another writer"));
        }
        state.seal_epoch = i64::try_from(config.seal_epoch.as_nanos()).unwrap_or(i64::MAX);
        let now = Timestamp::now();
        state.next_seal = Timestamp(now.as_nanos().saturating_add(state.seal_epoch));
        let body = match state.previous_clean() {
            None => SystemRecord::LogCreated { writer_version: WRITER_VERSION.to_owned() },
            Some(last_closed) => SystemRecord::LogResumed {
                writer_version: WRITER_VERSION.to_owned(),
                previous_clean: last_closed,
            },
        };
        let entry = Entry::new(now, system_id(state.next_seq), Body::System(body));
        let service_id = config.service_id.clone();
        state.push(&entry, &service_id)?;
        state.open = true;
        drop(state);
        self.inner.changed.notify_all();
        Ok(MemoryWriter { sink: self.clone(), service_id, closed: false })
    }
}

impl State {
    /// `None` for an empty log, else whether its last record is a clean close.
    fn previous_clean(&self) -> Option<bool> {
        if self.next_seq == 0 {
            return None;
        }
        Some(self.last_closed)
    }

    fn push(&mut self, entry: &Entry, service_id: &str) -> Result<u64, SinkError> {
        let seq = self.next_seq;
        let mut bytes = Vec::new();
        entry
            .encode_as_record(&self.log_id, seq, service_id, &mut bytes)
            .map_err(SinkError::new)?;
        self.last_closed = matches!(entry.body, Body::System(SystemRecord::LogClosed));
        if matches!(entry.body, Body::Event(_)) {
            self.event_records += 1;
        }
        if self.retain {
            self.records.push(bytes);
        }
        self.next_seq += 1;
        Ok(seq)
    }
}

/// An audit id for a record the sink writes itself.
fn system_id(seq: u64) -> audit_events::AuditId {
    let mut bytes = [0xff; 16];
    bytes[8..].copy_from_slice(&seq.to_be_bytes());
    audit_events::AuditId(bytes)
}

/// Stalls appends while it lives; see [`MemorySink::hold_appends`].
#[derive(Debug)]
pub struct AppendHold {
    sink: MemorySink,
}

impl AppendHold {
    /// Waits until the writer is stalled inside an append; false on timeout.
    pub fn wait_until_writer_stalled(&self, timeout: Duration) -> bool {
        self.sink.wait_until(timeout, |s| s.writer_waiting)
    }
}

impl Drop for AppendHold {
    fn drop(&mut self) {
        let mut state = self.sink.lock();
        state.holds = state.holds.saturating_sub(1);
        drop(state);
        self.sink.inner.changed.notify_all();
    }
}

/// The writer's side of a [`MemorySink`].
#[derive(Debug)]
struct MemoryWriter {
    sink: MemorySink,
    service_id: String,
    closed: bool,
}

impl LogSink for MemoryWriter {
    fn append_batch(
        &mut self,
        entries: &[Entry],
        _now: Timestamp,
    ) -> Result<(u64, u64), SinkError> {
        let inner = &self.sink.inner;
        let mut state = inner.state.lock();
        if state.holds > 0 {
            state.writer_waiting = true;
            inner.changed.notify_all();
            while state.holds > 0 {
                inner.changed.wait(&mut state);
            }
            state.writer_waiting = false;
        }
        let fault = if let Some(cause) = state.fail_next.take() {
            Some(Fault::Fail(cause))
        } else if std::mem::take(&mut state.panic_next) {
            Some(Fault::Panic)
        } else {
            None
        };
        match fault {
            Some(Fault::Fail(cause)) => return Err(SinkError::new(cause)),
            Some(Fault::Panic) => {
                drop(state);
                std::panic::resume_unwind(Box::new("injected panic in the memory sink"));
            }
            None => {}
        }
        let first = state.next_seq;
        for entry in entries {
            state.push(entry, &self.service_id)?;
        }
        state.batches += 1;
        let last = state.next_seq.saturating_sub(1);
        drop(state);
        inner.changed.notify_all();
        Ok((first, last))
    }

    fn seal_if_due(&mut self, now: Timestamp) -> Result<(), SinkError> {
        let mut state = self.sink.lock();
        state.seal_checks += 1;
        while now >= state.next_seal {
            state.seals += 1;
            state.next_seal =
                Timestamp(state.next_seal.as_nanos().saturating_add(state.seal_epoch));
        }
        drop(state);
        self.sink.inner.changed.notify_all();
        Ok(())
    }

    fn next_seal_due(&self) -> Timestamp {
        self.sink.lock().next_seal
    }

    fn apply_retention(&mut self, _now: Timestamp) -> Result<(), SinkError> {
        self.sink.lock().retention_runs += 1;
        Ok(())
    }

    fn close(mut self: Box<Self>, now: Timestamp) -> Result<(), SinkError> {
        let mut state = self.sink.lock();
        state.seals += 1;
        let entry =
            Entry::new(now, system_id(state.next_seq), Body::System(SystemRecord::LogClosed));
        state.push(&entry, &self.service_id)?;
        state.closes += 1;
        state.open = false;
        drop(state);
        self.closed = true;
        self.sink.inner.changed.notify_all();
        Ok(())
    }
}

impl Drop for MemoryWriter {
    /// A writer that goes away without closing (a failure) releases the log, unclean.
    fn drop(&mut self) {
        if !self.closed {
            self.sink.lock().open = false;
            self.sink.inner.changed.notify_all();
        }
    }
}

impl AuditLogger {
    /// A logger writing to an in-memory log instead of the one its configuration names
    /// (`config.mode` is ignored). For tests and benchmarks only: nothing is durable.
    ///
    /// # Errors
    ///
    /// [`AuditError::Config`] for an invalid configuration, [`AuditError::Store`] if another
    /// logger has the sink open.
    pub fn with_memory_sink(config: AuditConfig, sink: &MemorySink) -> Result<Self, AuditError> {
        config.validate()?;
        let writer = sink
            .open(&config)
            .map_err(|e| AuditError::Store { cause: e.cause().to_owned(), failure: e.failure() })?;
        Self::start(&config, Some(Opened { sink: Box::new(writer), verifier: None }))
    }
}
