//! The per-segment part of verification, on every core: worker threads walk whole segments
//! ahead of the verifier (framing, leaf and chain hashes, sequence numbers and log id, through
//! the one chain walk, `segment::ChainedFrames`), each from its own header, and hand the checked
//! frames over in batches. The verifier consumes the segments strictly in order and does
//! everything that depends on what came before (the header's continuity with the previous
//! segment, the Merkle tree, seals, checkpoints, order, indexes), so the verdict, the report and
//! the first failure are those of a walk on one core.
//!
//! A worker's walk from the header's chain hash and first sequence number is the walk the
//! verifier would make: it checks, before taking any frame, that the header continues the
//! previous segment exactly there. Memory is bounded: each segment's channel holds a few batches,
//! and at most one segment per worker is in flight.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use audit_chain::Hash;
use audit_events::LogId;

use crate::segment::{Chained, ChainedFrames, FrameReader, OpenFault, WalkStop};

/// Frames per batch.
const BATCH_FRAMES: usize = 1024;
/// Batches a worker may be ahead of the verifier, per segment.
const AHEAD: usize = 2;

/// Frames walked by a worker.
pub(super) struct Batch {
    /// Where the walk started: the header's previous chain hash and first sequence number (in the
    /// first batch only).
    start: Option<(Hash, u64)>,
    frames: Vec<(Chained, Range<usize>)>,
    payloads: Vec<u8>,
    /// How the walk ended, in the last batch: `None` at a clean end of file.
    stop: Option<WalkStop>,
    last: bool,
}

/// One segment's job: its path and the channel to the verifier.
type Job = (PathBuf, SyncSender<Batch>);

/// The segments still to be walked, in order.
pub(super) type Jobs = Mutex<std::vec::IntoIter<Job>>;

/// One job per segment, and one receiver per segment for the verifier. Dropping a receiver
/// stops its segment's worker at its next batch.
pub(super) fn jobs(segments: &[(u64, PathBuf)]) -> (Jobs, Vec<Receiver<Batch>>) {
    let mut receivers = Vec::with_capacity(segments.len());
    let mut jobs = Vec::with_capacity(segments.len());
    for (_, path) in segments {
        let (tx, rx) = sync_channel(AHEAD);
        receivers.push(rx);
        jobs.push((path.clone(), tx));
    }
    (Mutex::new(jobs.into_iter()), receivers)
}

/// Starts one worker per core on `scope`; each takes the next segment in order until none is
/// left.
pub(super) fn start<'scope>(
    scope: &'scope std::thread::Scope<'scope, '_>,
    jobs: &'scope Jobs,
    count: usize,
    log_id: Option<LogId>,
) {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).min(count);
    for _ in 0..workers {
        scope.spawn(move || {
            loop {
                // Taken in segment order, so the segment the verifier waits for is always
                // being walked.
                let job = match jobs.lock() {
                    Ok(mut jobs) => jobs.next(),
                    Err(_) => None,
                };
                let Some((path, tx)) = job else { break };
                walk(&path, log_id, &tx);
            }
        });
    }
}

/// Walks one segment, sending its frames in batches; stops early if the verifier hung up.
fn walk(path: &Path, log_id: Option<LogId>, tx: &SyncSender<Batch>) {
    let empty =
        |start| Batch { start, frames: Vec::new(), payloads: Vec::new(), stop: None, last: false };
    let (header, reader) = match FrameReader::open(path) {
        Ok(opened) => opened,
        Err(fault) => {
            let e = match fault {
                OpenFault::Io(e) => e,
                OpenFault::Header(reason) => std::io::Error::other(reason),
            };
            let _ = tx.send(Batch { stop: Some(WalkStop::Io(e)), last: true, ..empty(None) });
            return;
        }
    };
    let log_id = log_id.unwrap_or(header.log_id);
    let mut frames = ChainedFrames::new(reader, header.prev_chain, header.first_seq, log_id);
    let mut batch = empty(Some((header.prev_chain, header.first_seq)));
    let mut payload = Vec::new();
    loop {
        match frames.next(&mut payload) {
            Ok(Some(frame)) => {
                let from = batch.payloads.len();
                batch.payloads.extend_from_slice(&payload);
                batch.frames.push((frame, from..batch.payloads.len()));
                if batch.frames.len() == BATCH_FRAMES {
                    let full = std::mem::replace(&mut batch, empty(None));
                    if tx.send(full).is_err() {
                        return;
                    }
                }
            }
            Ok(None) => break,
            Err(stop) => {
                batch.stop = Some(stop);
                break;
            }
        }
    }
    batch.last = true;
    let _ = tx.send(batch);
}

/// The verifier's side of one segment: its frames in order, as the workers checked them.
pub(super) struct Frames {
    rx: Receiver<Batch>,
    batch: Batch,
    next: usize,
    /// Offset just past the last frame taken (the end of the header before any).
    end: u64,
}

impl Frames {
    /// Takes the segment's frames from `rx`, for a walk that must start after chain hash `chain`
    /// at sequence number `seq`, just after a header ending at `header_end`. An error if the
    /// worker read another start (the file changed since the verifier read the header).
    pub(super) fn new(
        rx: Receiver<Batch>,
        chain: Hash,
        seq: u64,
        header_end: u64,
    ) -> Result<Self, WalkStop> {
        let mut batch = rx.recv().map_err(|_| hung_up())?;
        if batch.start.is_none() {
            // The worker could not open the segment the verifier just opened.
            return Err(batch.stop.take().unwrap_or_else(hung_up));
        }
        if batch.start != Some((chain, seq)) {
            return Err(WalkStop::Io(std::io::Error::other(
                "the segment changed while it was verified",
            )));
        }
        Ok(Self { rx, batch, next: 0, end: header_end })
    }

    /// The next frame and its payload; `Ok(None)` at a clean end of file.
    pub(super) fn next(&mut self) -> Result<Option<(Chained, &[u8])>, WalkStop> {
        while self.next == self.batch.frames.len() {
            if self.batch.last {
                return match self.batch.stop.take() {
                    Some(stop) => Err(stop),
                    None => Ok(None),
                };
            }
            self.batch = self.rx.recv().map_err(|_| hung_up())?;
            self.next = 0;
        }
        let (frame, range) = &self.batch.frames[self.next];
        self.next += 1;
        self.end = frame.end;
        Ok(Some((*frame, &self.batch.payloads[range.clone()])))
    }

    /// The offset just past the last frame taken.
    pub(super) fn offset(&self) -> u64 {
        self.end
    }
}

fn hung_up() -> WalkStop {
    WalkStop::Io(std::io::Error::other("a verification worker stopped"))
}
