//! The per-frame part of verification, on every core. Each segment is cut into chunks of at
//! most `CHUNK_BYTES`; worker threads walk the chunks in log order, ahead of the verifier (framing,
//! leaf and chain hashes, sequence numbers and log id, through the one chain walk,
//! `segment::ChainedFrames`), and hand the checked frames over in batches. The verifier takes
//! them strictly in order and does everything that depends on what came before (the header's
//! continuity with the previous segment, the Merkle tree, seals, checkpoints, order, indexes), so
//! the verdict, the report and the first failure are those of a walk on one core.
//!
//! A segment's first chunk is walked from its header. A later chunk is walked from the first
//! frame at or after its first byte that links to the 32 bytes before it
//! (`FrameReader::sync`); the verifier takes such a chunk only if the walk before it ended at
//! exactly that frame, with exactly that chain hash and sequence number, which is the walk one
//! core would have made. Otherwise (damage at the edge, or bytes inside a record made to look
//! like a frame) the verifier walks the rest of the segment itself from where the walk before
//! ended, so what it finds there is found as on one core.
//!
//! Memory is bounded: workers stay at most a few chunks ahead of the verifier, and the payloads
//! of event records are handed over only when the verifier needs them (a deep decode, or an
//! index rebuild without the verifier material).

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Condvar, Mutex, MutexGuard};

use audit_chain::Hash;
use audit_events::{LogId, RecordKind};

use crate::segment::{Chained, ChainedFrames, FrameReader, OpenFault, WalkStop};

/// Frames per batch.
const BATCH_FRAMES: usize = 1024;
/// The most bytes of a segment file per chunk: small enough that two cores share the segment
/// the verifier is in, large enough that finding a chunk's first frame costs little.
const CHUNK_BYTES: u64 = 2 * 1024 * 1024;
/// The fewest bytes per chunk. A segment is cut into at least eight chunks where this allows,
/// so that small segments (the tests') are walked through chunk edges too.
const MIN_CHUNK_BYTES: u64 = 512;
/// The most chunks walked ahead of the verifier, whatever the number of cores (memory).
const MAX_AHEAD: usize = 8;

/// What the workers need to know besides the segments.
#[derive(Clone, Copy)]
pub(super) struct Plan {
    /// The log's id (the segment header's when none is known).
    pub(super) log_id: Option<LogId>,
    /// Hand over the payloads of event records too (system records' always are).
    pub(super) event_payloads: bool,
}

/// Where a chunk's walk started.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Start {
    offset: u64,
    chain: Hash,
    seq: u64,
}

/// How a chunk's walk ended.
enum End {
    /// At a clean end of the file.
    Eof,
    /// At the first frame boundary at or past the chunk's end: the next chunk continues.
    Bound,
    /// Before a clean end of file.
    Stop(WalkStop),
    /// No frame was found to start the chunk from.
    NoSync,
}

/// Frames walked by a worker.
pub(super) struct Batch {
    /// Where the walk started (in the first batch of a chunk only).
    start: Option<Start>,
    frames: Vec<(Chained, Range<usize>)>,
    payloads: Vec<u8>,
    /// How the walk ended (in the last batch of a chunk only).
    end: Option<End>,
}

impl Batch {
    fn new(start: Option<Start>) -> Self {
        Self { start, frames: Vec::with_capacity(BATCH_FRAMES), payloads: Vec::new(), end: None }
    }

    fn ended(start: Option<Start>, end: End) -> Self {
        Self { start, frames: Vec::new(), payloads: Vec::new(), end: Some(end) }
    }
}

/// One chunk to walk.
struct Job {
    path: PathBuf,
    /// Its first byte; `None` for the first chunk, walked from the header.
    from: Option<u64>,
    /// Its end; `None` for the last chunk, walked to the end of the file.
    bound: Option<u64>,
    tx: Sender<Batch>,
}

struct State {
    jobs: std::vec::IntoIter<Job>,
    /// Chunks taken by workers, and chunks the verifier is done with (in log order).
    taken: usize,
    done: usize,
    stopped: bool,
}

/// The chunks still to be walked, in log order, and how far workers may run ahead.
pub(super) struct Jobs {
    state: Mutex<State>,
    moved: Condvar,
    ahead: usize,
    workers: usize,
}

/// One segment's chunks, for the verifier.
pub(super) struct Chunks {
    receivers: Vec<Receiver<Batch>>,
    /// The global index of its first chunk.
    first: usize,
}

/// The chunks of every segment, and the verifier's side of each segment.
pub(super) fn jobs(segments: &[(u64, PathBuf)]) -> (Jobs, Vec<Chunks>) {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut all = Vec::new();
    let mut chunks = Vec::with_capacity(segments.len());
    for (_, path) in segments {
        let len = std::fs::symlink_metadata(path).map_or(0, |m| m.len());
        let size = (len / 8).clamp(MIN_CHUNK_BYTES, CHUNK_BYTES);
        let count = len.div_ceil(size).max(1);
        let first = all.len();
        let mut receivers = Vec::new();
        for j in 0..count {
            let (tx, rx) = channel();
            receivers.push(rx);
            all.push(Job {
                path: path.clone(),
                from: (j > 0).then(|| j * size),
                bound: (j + 1 < count).then(|| (j + 1) * size),
                tx,
            });
        }
        chunks.push(Chunks { receivers, first });
    }
    let workers = workers.min(all.len()).max(1);
    let state = State { jobs: all.into_iter(), taken: 0, done: 0, stopped: false };
    let ahead = (2 * workers).clamp(2, MAX_AHEAD);
    (Jobs { state: Mutex::new(state), moved: Condvar::new(), ahead, workers }, chunks)
}

impl Jobs {
    fn lock(&self) -> Option<MutexGuard<'_, State>> {
        self.state.lock().ok()
    }

    /// The next chunk, once it is few enough chunks ahead of the verifier; `None` when there is
    /// none or verification stopped.
    fn next(&self) -> Option<Job> {
        let mut state = self.lock()?;
        while !state.stopped && state.taken >= state.done + self.ahead {
            state = self.moved.wait(state).ok()?;
        }
        if state.stopped {
            return None;
        }
        let job = state.jobs.next()?;
        state.taken += 1;
        Some(job)
    }

    /// The verifier is done with every chunk before `upto` (a global index).
    fn done(&self, upto: usize) {
        if let Some(mut state) = self.lock() {
            state.done = state.done.max(upto);
        }
        self.moved.notify_all();
    }

    /// Stops the workers at their next chunk.
    pub(super) fn stop(&self) {
        if let Some(mut state) = self.lock() {
            state.stopped = true;
        }
        self.moved.notify_all();
    }
}

/// Stops the workers when dropped (however verification ends), so that none waits forever.
pub(super) struct StopOnDrop<'a>(pub(super) &'a Jobs);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.stop();
    }
}

/// Starts one worker per core on `scope`; each takes the next chunk in order until none is
/// left.
pub(super) fn start<'scope>(
    scope: &'scope std::thread::Scope<'scope, '_>,
    jobs: &'scope Jobs,
    plan: Plan,
) {
    for _ in 0..jobs.workers {
        scope.spawn(move || {
            while let Some(job) = jobs.next() {
                walk(&job, plan);
            }
        });
    }
}

/// Walks one chunk, sending its frames in batches; stops early if the verifier hung up.
fn walk(job: &Job, plan: Plan) {
    let Some((reader, start, log_id)) = open(job, plan) else { return };
    let mut frames = ChainedFrames::new(reader, start.chain, start.seq, log_id);
    let mut batch = Batch::new(Some(start));
    let mut payload = Vec::new();
    let end = loop {
        if job.bound.is_some_and(|bound| frames.offset() >= bound) {
            break End::Bound;
        }
        match frames.next(&mut payload) {
            Ok(Some(frame)) => {
                let from = batch.payloads.len();
                if plan.event_payloads || matches!(frame.kind, RecordKind::System(_)) {
                    batch.payloads.extend_from_slice(&payload);
                }
                batch.frames.push((frame, from..batch.payloads.len()));
                if batch.frames.len() == BATCH_FRAMES {
                    let full = std::mem::replace(&mut batch, Batch::new(None));
                    if job.tx.send(full).is_err() {
                        return;
                    }
                }
            }
            Ok(None) => break End::Eof,
            Err(stop) => break End::Stop(stop),
        }
    };
    batch.end = Some(end);
    let _ = job.tx.send(batch);
}

/// Opens a chunk where its walk starts: after the header for the first chunk, at the first frame
/// [`FrameReader::sync`] finds for a later one. `None`, once the verifier was told why, if it
/// cannot be opened or no frame is found: the verifier then walks on itself from where the chunk
/// before ended, and meets what is wrong there.
fn open(job: &Job, plan: Plan) -> Option<(FrameReader, Start, LogId)> {
    let ended = |end| {
        let _ = job.tx.send(Batch::ended(None, end));
        None
    };
    let Some(from) = job.from else {
        return match FrameReader::open(&job.path) {
            Ok((header, reader)) => {
                let (chain, seq) = (header.prev_chain, header.first_seq);
                let start = Start { offset: reader.offset(), chain, seq };
                Some((reader, start, plan.log_id.unwrap_or(header.log_id)))
            }
            Err(OpenFault::Io(e)) => ended(End::Stop(WalkStop::Io(e))),
            Err(OpenFault::Header(reason)) => {
                ended(End::Stop(WalkStop::Io(std::io::Error::other(reason))))
            }
        };
    };
    let Some(log_id) = plan.log_id else { return ended(End::NoSync) };
    let Ok(mut reader) = FrameReader::open_bare(&job.path) else { return ended(End::NoSync) };
    match reader.sync(from, log_id) {
        Ok(Some((chain, seq))) => {
            let start = Start { offset: reader.offset(), chain, seq };
            Some((reader, start, log_id))
        }
        Ok(None) | Err(_) => ended(End::NoSync),
    }
}

/// The verifier's side of one segment: its frames in order, as the workers checked them.
pub(super) struct Frames<'a> {
    jobs: &'a Jobs,
    path: PathBuf,
    log_id: LogId,
    /// The receivers of the chunks after the current one.
    chunks: std::vec::IntoIter<Receiver<Batch>>,
    rx: Receiver<Batch>,
    /// Global indexes of the current chunk and of the chunk after the segment's last.
    job: usize,
    end_job: usize,
    batch: Batch,
    next: usize,
    /// Offset just past the last frame taken (the end of the header before any), that frame's
    /// chain hash and the sequence number after it.
    end: u64,
    chain: Hash,
    seq: u64,
    /// The walk the verifier makes itself once a chunk could not be joined to the one before.
    own: Option<(ChainedFrames, Vec<u8>)>,
}

impl<'a> Frames<'a> {
    /// Takes the segment's frames from its chunks, for a walk that must start after chain hash
    /// `chain` at sequence number `seq`, just after a header ending at `header_end`. An error if
    /// the worker read another start (the file changed since the verifier read the header).
    pub(super) fn new(
        jobs: &'a Jobs,
        chunks: Chunks,
        path: &Path,
        log_id: LogId,
        start: (Hash, u64, u64),
    ) -> Result<Self, WalkStop> {
        let (chain, seq, header_end) = start;
        let end_job = chunks.first + chunks.receivers.len();
        let mut receivers = chunks.receivers.into_iter();
        let rx = receivers.next().ok_or_else(hung_up)?;
        let mut batch = rx.recv().map_err(|_| hung_up())?;
        if batch.start.is_none() {
            // The worker could not open the segment the verifier just opened.
            jobs.done(end_job);
            return Err(match batch.end.take() {
                Some(End::Stop(stop)) => stop,
                _ => hung_up(),
            });
        }
        if batch.start != Some(Start { offset: header_end, chain, seq }) {
            jobs.done(end_job);
            return Err(WalkStop::Io(std::io::Error::other(
                "the segment changed while it was verified",
            )));
        }
        Ok(Self {
            jobs,
            path: path.to_owned(),
            log_id,
            chunks: receivers,
            rx,
            job: chunks.first,
            end_job,
            batch,
            next: 0,
            end: header_end,
            chain,
            seq,
            own: None,
        })
    }

    /// The next frame and its payload (empty for an event record unless the plan asked for
    /// event payloads); `Ok(None)` at a clean end of file.
    pub(super) fn next(&mut self) -> Result<Option<(Chained, &[u8])>, WalkStop> {
        if self.own.is_none() && !self.ready()? {
            return Ok(None);
        }
        if let Some((walk, payload)) = &mut self.own {
            return match walk.next(payload)? {
                Some(frame) => {
                    self.end = frame.end;
                    Ok(Some((frame, payload.as_slice())))
                }
                None => Ok(None),
            };
        }
        let (frame, range) = &self.batch.frames[self.next];
        self.next += 1;
        self.end = frame.end;
        self.chain = frame.chain;
        self.seq = frame.seq.saturating_add(1);
        Ok(Some((*frame, &self.batch.payloads[range.clone()])))
    }

    /// Makes a frame ready to take from the current batch, or switches to the verifier's own
    /// walk; `Ok(false)` at a clean end of file.
    fn ready(&mut self) -> Result<bool, WalkStop> {
        while self.next == self.batch.frames.len() {
            match self.batch.end.take() {
                None => {
                    self.batch = self.rx.recv().map_err(|_| hung_up())?;
                    self.next = 0;
                }
                Some(End::Eof) => {
                    self.jobs.done(self.end_job);
                    return Ok(false);
                }
                Some(End::Stop(stop)) => {
                    self.jobs.done(self.end_job);
                    return Err(stop);
                }
                Some(End::Bound) => {
                    self.job += 1;
                    self.jobs.done(self.job);
                    let first = match self.chunks.next() {
                        Some(rx) => {
                            let first = rx.recv().map_err(|_| hung_up())?;
                            self.rx = rx;
                            first
                        }
                        None => Batch::ended(None, End::NoSync),
                    };
                    let here = Start { offset: self.end, chain: self.chain, seq: self.seq };
                    if first.start != Some(here) {
                        self.walk_on()?;
                        return Ok(true);
                    }
                    self.batch = first;
                    self.next = 0;
                }
                Some(End::NoSync) => {
                    self.walk_on()?;
                    return Ok(true);
                }
            }
        }
        Ok(true)
    }

    /// Walks the rest of the segment in this thread, from just after the last frame taken.
    fn walk_on(&mut self) -> Result<(), WalkStop> {
        self.jobs.done(self.end_job);
        self.chunks = Vec::new().into_iter();
        let (_, reader) = FrameReader::open(&self.path).map_err(|fault| match fault {
            OpenFault::Io(e) => WalkStop::Io(e),
            OpenFault::Header(reason) => WalkStop::Io(std::io::Error::other(reason)),
        })?;
        let mut walk = ChainedFrames::new(reader, self.chain, self.seq, self.log_id);
        walk.seek(self.end, self.chain, self.seq).map_err(WalkStop::Io)?;
        self.own = Some((walk, Vec::new()));
        Ok(())
    }

    /// The offset just past the last frame taken.
    pub(super) fn offset(&self) -> u64 {
        self.end
    }
}

fn hung_up() -> WalkStop {
    WalkStop::Io(std::io::Error::other("a verification worker stopped"))
}
