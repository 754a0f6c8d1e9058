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
//! Memory is bounded: chunks are created (each with its channel) only when workers take them, at
//! most a few chunks ahead of the verifier, whatever length a segment file claims; and the payloads
//! of event records are handed over only when the verifier needs them (a deep decode, or an
//! index rebuild without the verifier material).

use std::collections::VecDeque;
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

/// How a segment is cut: `count` chunks of `size` bytes (the last to the end of the file), the
/// first of them the `first`-th chunk of the log.
struct Cut {
    path: PathBuf,
    size: u64,
    count: u64,
    first: u64,
}

struct State {
    /// The next chunk to create (a global index) and the segment it falls in.
    next: u64,
    segment: usize,
    /// Chunks the verifier created itself, not yet taken by a worker.
    pending: VecDeque<Job>,
    /// The receivers of the chunks created, not yet claimed by the verifier (global indexes).
    receivers: VecDeque<(u64, Receiver<Batch>)>,
    /// Every chunk before `done` is one the verifier is done with or will never need.
    done: u64,
    stopped: bool,
}

/// The chunks of the log in log order, each created (with its channel) only when a worker may
/// take it, that is at most a few chunks ahead of the verifier, or when the verifier needs it:
/// memory does not grow with what a segment file's length claims (a sparse file can claim
/// terabytes), and chunks of a segment the verifier walks on itself are never created.
pub(super) struct Jobs {
    cuts: Vec<Cut>,
    state: Mutex<State>,
    moved: Condvar,
    ahead: u64,
    workers: usize,
}

/// One segment's chunks, for the verifier: global indexes `first..end`.
pub(super) struct Chunks {
    first: u64,
    end: u64,
}

/// How every segment is cut, and how many workers walk the chunks.
pub(super) fn jobs(segments: &[(u64, PathBuf)]) -> Jobs {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut cuts = Vec::with_capacity(segments.len());
    let mut total = 0u64;
    for (_, path) in segments {
        let len = std::fs::symlink_metadata(path).map_or(0, |m| m.len());
        let size = (len / 8).clamp(MIN_CHUNK_BYTES, CHUNK_BYTES);
        let count = len.div_ceil(size).max(1);
        cuts.push(Cut { path: path.clone(), size, count, first: total });
        total = total.saturating_add(count);
    }
    let workers = usize::try_from(total).unwrap_or(usize::MAX).min(workers).max(1);
    let state = State {
        next: 0,
        segment: 0,
        pending: VecDeque::new(),
        receivers: VecDeque::new(),
        done: 0,
        stopped: false,
    };
    let ahead = u64::try_from((2 * workers).clamp(2, MAX_AHEAD)).unwrap_or(2);
    Jobs { cuts, state: Mutex::new(state), moved: Condvar::new(), ahead, workers }
}

impl Jobs {
    fn lock(&self) -> Option<MutexGuard<'_, State>> {
        self.state.lock().ok()
    }

    /// Creates the next chunk (skipping those the verifier will never need): its job, its
    /// receiver queued for the verifier. `None` once every chunk was created.
    fn create(&self, state: &mut State) -> Option<Job> {
        state.next = state.next.max(state.done);
        while self
            .cuts
            .get(state.segment)
            .is_some_and(|c| c.first.saturating_add(c.count) <= state.next)
        {
            state.segment += 1;
        }
        let cut = self.cuts.get(state.segment)?;
        let j = state.next - cut.first;
        let (tx, rx) = channel();
        state.receivers.push_back((state.next, rx));
        state.next += 1;
        Some(Job {
            path: cut.path.clone(),
            from: (j > 0).then(|| j * cut.size),
            bound: (j + 1 < cut.count).then(|| (j + 1) * cut.size),
            tx,
        })
    }

    /// The next chunk for a worker, once it is few enough chunks ahead of the verifier; `None`
    /// when there is none or verification stopped.
    fn next(&self) -> Option<Job> {
        let mut state = self.lock()?;
        loop {
            if state.stopped {
                return None;
            }
            if let Some(job) = state.pending.pop_front() {
                return Some(job);
            }
            if state.next.max(state.done) < state.done + self.ahead {
                return self.create(&mut state);
            }
            state = self.moved.wait(state).ok()?;
        }
    }

    /// The chunks of segment `index` (the verifier takes the segments in order).
    pub(super) fn chunks(&self, index: usize) -> Option<Chunks> {
        self.cuts
            .get(index)
            .map(|c| Chunks { first: c.first, end: c.first.saturating_add(c.count) })
    }

    /// The receiver of chunk `k` (a global index), creating the chunk for the workers if no
    /// worker has yet; `None` if verification stopped.
    fn receiver(&self, k: u64) -> Option<Receiver<Batch>> {
        let mut state = self.lock()?;
        state.done = state.done.max(k);
        while state.receivers.front().is_some_and(|(i, _)| *i < k) {
            state.receivers.pop_front();
        }
        if state.receivers.is_empty() {
            let job = self.create(&mut state)?;
            state.pending.push_back(job);
        }
        self.moved.notify_all();
        match state.receivers.pop_front() {
            Some((i, rx)) if i == k => Some(rx),
            _ => None,
        }
    }

    /// The verifier is done with every chunk before `upto` (a global index).
    fn done(&self, upto: u64) {
        if let Some(mut state) = self.lock() {
            state.done = state.done.max(upto);
            // Receivers of chunks no longer needed are dropped: their workers stop.
            while state.receivers.front().is_some_and(|(i, _)| *i < upto) {
                state.receivers.pop_front();
            }
        }
        self.moved.notify_all();
    }

    /// Stops the workers at their next chunk.
    pub(super) fn stop(&self) {
        if let Some(mut state) = self.lock() {
            state.stopped = true;
            state.receivers.clear();
            state.pending.clear();
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
    rx: Receiver<Batch>,
    /// Global indexes of the current chunk and of the chunk after the segment's last.
    job: u64,
    end_job: u64,
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
        let end_job = chunks.end;
        let rx = jobs.receiver(chunks.first).ok_or_else(hung_up)?;
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
                    let next =
                        if self.job < self.end_job { self.jobs.receiver(self.job) } else { None };
                    let first = match next {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_created_only_within_reach_of_the_verifier_whatever_a_file_claims() {
        // A sparse file can claim terabytes at no cost: its chunks are counted, never created
        // in advance (each has a channel), and those the verifier no longer needs are skipped.
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("seg-00000000000000000000.log");
        let file = std::fs::File::create(&path).unwrap();
        let mut len = 1u64 << 60;
        while file.set_len(len).is_err() {
            len /= 2;
        }
        let jobs = jobs(&[(0, path.clone()), (7, path)]);
        let count = len.div_ceil(CHUNK_BYTES);
        let chunks = jobs.chunks(1).unwrap();
        assert_eq!((chunks.first, chunks.end), (count, 2 * count));
        let mut taken = Vec::new();
        while jobs.lock().unwrap().next < jobs.ahead {
            taken.push(jobs.next().unwrap());
        }
        let state = jobs.lock().unwrap();
        assert_eq!(state.receivers.len(), usize::try_from(jobs.ahead).unwrap());
        assert!(state.pending.is_empty());
        drop(state);
        assert_eq!(taken[1].from, Some(CHUNK_BYTES));
        // The verifier moves to the second segment: the first one's chunks are never created.
        jobs.done(count);
        let rx = jobs.receiver(count);
        assert!(rx.is_some());
        let state = jobs.lock().unwrap();
        assert_eq!(state.next, count + 1);
        assert!(state.receivers.is_empty());
        assert_eq!(
            state.pending.front().map(|j| (j.from, j.bound)),
            Some((None, Some(CHUNK_BYTES)))
        );
    }
}
