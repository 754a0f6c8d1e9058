//! The shipper: follows a log directory (read access is enough) and ships every record covered
//! by a signed checkpoint to the collector, with a consistency proof to that checkpoint.
//!
//! It resumes from the collector's position (so restarts of the shipper, the collector or the
//! database lose and duplicate nothing), retries with exponential backoff while the collector
//! is unreachable or cannot store, waits for the writer with inotify (a new checkpoint is
//! renamed into place), and writes each cosigned checkpoint it gets back as
//! `cosigned-<size, 20 digits>.note` (by default into the log directory, where `audit verify
//! --witness-key` finds it).
//!
//! The shipper keeps the log's whole Merkle tree in memory to build the proofs (every level,
//! about 64 bytes a record), read once from the log when it starts.

use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use audit_chain::{MemoryTree, consistency_proof};
use audit_store::{LogReader, consistency_proof_from_tiles, latest_checkpoint};

use crate::client::{CollectorClient, ShipReply};
use crate::error::CollectorError;
use crate::shipment::{Frame, MAX_RECORDS, Shipment};

/// Most payload bytes in one shipment.
const BATCH_BYTES: usize = 8 * 1024 * 1024;
/// Longest wait between retries.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// How long to wait for a change in the directory before asking the collector again.
const IDLE_RECHECK: Duration = Duration::from_secs(30);

/// How to ship.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ShipOptions {
    /// The log directory.
    pub dir: PathBuf,
    /// Where cosigned checkpoints are written.
    pub cosign_dir: PathBuf,
    /// Records per shipment (at most [`MAX_RECORDS`]).
    pub batch_records: usize,
    /// Keep following the log; otherwise stop once everything checkpointed is shipped.
    pub follow: bool,
}

impl ShipOptions {
    /// Ships the log in `dir` in shipments of `batch_records`, writing cosigned checkpoints
    /// back into `dir`; `follow` keeps following the log.
    pub fn new(dir: impl Into<PathBuf>, batch_records: usize, follow: bool) -> Self {
        let dir = dir.into();
        Self { cosign_dir: dir.clone(), dir, batch_records, follow }
    }

    /// Writes cosigned checkpoints into `cosign_dir` instead of the log directory.
    #[must_use]
    pub fn with_cosign_dir(mut self, cosign_dir: impl Into<PathBuf>) -> Self {
        self.cosign_dir = cosign_dir.into();
        self
    }
}

/// What the shipper reports after each shipment.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Progress {
    /// Records the collector holds.
    pub shipped: u64,
    /// Size of the log's newest checkpoint.
    pub checkpoint: u64,
    /// Records covered by the checkpoint and not yet at the collector.
    pub lag: u64,
    /// Size of the newest cosigned checkpoint written.
    pub cosigned: Option<u64>,
}

/// Tells a following shipper to stop, waking it from a retry wait at once.
#[derive(Debug, Default)]
pub struct Stop {
    set: Mutex<bool>,
    changed: Condvar,
}

impl Stop {
    /// A signal not yet set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the signal.
    pub fn stop(&self) {
        *self.set.lock().unwrap_or_else(PoisonError::into_inner) = true;
        self.changed.notify_all();
    }

    /// Whether the signal is set.
    pub fn is_set(&self) -> bool {
        *self.set.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits up to `timeout` for the signal; returns whether it is set.
    pub fn wait(&self, timeout: Duration) -> bool {
        let guard = self.set.lock().unwrap_or_else(PoisonError::into_inner);
        let (guard, _) = self
            .changed
            .wait_timeout_while(guard, timeout, |set| !*set)
            .unwrap_or_else(PoisonError::into_inner);
        *guard
    }
}

/// Ships until everything checkpointed is shipped (or, following, until `stop` is set).
pub fn run(
    client: &CollectorClient,
    options: &ShipOptions,
    stop: &Stop,
    progress: &mut dyn FnMut(&Progress),
) -> Result<(), CollectorError> {
    let mut reader = LogReader::open(&options.dir)?;
    let log_id = reader.meta().log_id.to_string();
    let origin = reader.meta().origin.clone();
    // Leaf hashes for the proofs, kept only when the log's tiles cannot give them.
    let mut leaves = None;
    let mut waiter = if options.follow { Some(Waiter::new(&options.dir)?) } else { None };
    let mut backoff = Duration::from_millis(100);
    let mut cosigned = None;
    while !stop.is_set() {
        let attempt = ship_once(
            client,
            options,
            &mut reader,
            &log_id,
            &origin,
            &mut leaves,
            &mut cosigned,
            progress,
        );
        match attempt {
            Ok(()) => backoff = Duration::from_millis(100),
            Err(e) if retryable(&e) => {
                // The collector is away: wait (or stop), then try again from its position.
                if stop.wait(backoff) {
                    break;
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
            Err(e) => return Err(e),
        }
        match &mut waiter {
            None => return Ok(()),
            Some(w) => w.wait(IDLE_RECHECK, stop)?,
        }
    }
    Ok(())
}

/// The leaf hashes of the first `size` records, read from the log into `leaves` (kept between
/// calls, extended as the log grows): the proofs' source when the tiles cannot serve them.
fn leaves_up_to<'a>(
    reader: &LogReader,
    leaves: &'a mut Option<MemoryTree>,
    size: u64,
) -> Result<&'a MemoryTree, CollectorError> {
    let leaves = leaves.get_or_insert_with(MemoryTree::new);
    if leaves.size() < size {
        for stored in reader.records_from(leaves.size()) {
            leaves.push(stored?.leaf_hash());
            if leaves.size() == size {
                break;
            }
        }
        if leaves.size() < size {
            return Err(CollectorError::Invalid(format!(
                "the log holds {} records but its checkpoint claims {size}",
                leaves.size()
            )));
        }
    }
    Ok(leaves)
}

/// Errors worth retrying: the collector is unreachable or cannot store now.
fn retryable(e: &CollectorError) -> bool {
    matches!(e, CollectorError::Transport(_) | CollectorError::Refused { status: 502..=504, .. })
}

#[allow(clippy::too_many_arguments)]
fn ship_once(
    client: &CollectorClient,
    options: &ShipOptions,
    reader: &mut LogReader,
    log_id: &str,
    origin: &str,
    leaves: &mut Option<MemoryTree>,
    cosigned: &mut Option<u64>,
    progress: &mut dyn FnMut(&Progress),
) -> Result<(), CollectorError> {
    let (note, checkpoint) = match latest_checkpoint(&options.dir) {
        Ok(found) => found,
        Err(audit_store::StoreError::Io { source, .. })
            if source.kind() == std::io::ErrorKind::NotFound =>
        {
            return Ok(()); // nothing sealed yet
        }
        Err(e) => return Err(e.into()),
    };
    let mut position = client.position(log_id)?.size;
    if checkpoint.size < position {
        // The log is shorter than what the collector holds: a rollback. Show the collector the
        // checkpoint (it records the refusal as evidence) and stop.
        let evidence = Shipment {
            origin: origin.to_owned(),
            first: checkpoint.size,
            note,
            proof: Vec::new(),
            frames: Vec::new(),
        };
        let answer = client.ship(&evidence);
        return Err(CollectorError::Invalid(format!(
            "the log's newest checkpoint is for {} records but the collector holds {position}: \
             the local log was rolled back ({answer:?})",
            checkpoint.size
        )));
    }
    reader.refresh()?;
    let batch_records = options.batch_records.clamp(1, MAX_RECORDS as usize);
    let mut records = reader.records_from(position);
    while position < checkpoint.size {
        let mut frames = Vec::new();
        let mut bytes = 0;
        while position + (frames.len() as u64) < checkpoint.size
            && frames.len() < batch_records
            && bytes < BATCH_BYTES
        {
            let Some(stored) = records.next() else { break };
            let stored = stored?;
            bytes += stored.bytes.len();
            frames.push(Frame { bytes: stored.bytes, chain: stored.chain });
        }
        if frames.is_empty() {
            return Err(CollectorError::Invalid("the log ended before its checkpoint".into()));
        }
        let end = position + frames.len() as u64;
        let proof = match consistency_proof_from_tiles(&options.dir, end, &note) {
            Ok(bundle) => bundle.proof.path,
            Err(_) => {
                let leaves = leaves_up_to(reader, leaves, checkpoint.size)?;
                consistency_proof(leaves, end, checkpoint.size)
                    .map_err(|e| CollectorError::Invalid(format!("cannot build the proof: {e}")))?
                    .path
            }
        };
        let shipment = Shipment {
            origin: origin.to_owned(),
            first: position,
            note: note.clone(),
            proof,
            frames,
        };
        match client.ship(&shipment)? {
            ShipReply::Accepted { size, cosigned: note } => {
                position = size;
                if let Some(note) = note {
                    write_cosigned(&options.cosign_dir, size, &note)?;
                    *cosigned = Some(size);
                }
            }
            ShipReply::Conflict { size, .. } => {
                // Someone (this shipper before a restart) got there first: resume from there.
                position = size;
                records = reader.records_from(position);
            }
        }
        progress(&Progress {
            shipped: position,
            checkpoint: checkpoint.size,
            lag: checkpoint.size.saturating_sub(position),
            cosigned: *cosigned,
        });
    }
    Ok(())
}

/// Writes a cosigned checkpoint atomically (temporary file, sync, rename, directory sync).
fn write_cosigned(dir: &Path, size: u64, note: &str) -> Result<(), CollectorError> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let name = format!("cosigned-{size:020}.note");
    let tmp = dir.join(format!("{name}.tmp"));
    let io = |what: &str, source| CollectorError::Io {
        what: format!("{what} {}", tmp.display()),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&tmp)
        .map_err(|e| io("creating", e))?;
    file.write_all(note.as_bytes()).map_err(|e| io("writing", e))?;
    file.sync_data().map_err(|e| io("syncing", e))?;
    std::fs::rename(&tmp, dir.join(&name)).map_err(|e| io("renaming", e))?;
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io("syncing the directory of", e))?;
    Ok(())
}

/// Waits for changes in the log directory with inotify.
struct Waiter {
    runtime: tokio::runtime::Runtime,
    stream: inotify::EventStream<Vec<u8>>,
}

impl Waiter {
    fn new(dir: &Path) -> Result<Self, CollectorError> {
        let io =
            |source| CollectorError::Io { what: format!("watching {}", dir.display()), source };
        let runtime =
            tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(io)?;
        let inotify = inotify::Inotify::init().map_err(io)?;
        inotify
            .watches()
            .add(
                dir,
                inotify::WatchMask::MOVED_TO
                    | inotify::WatchMask::CLOSE_WRITE
                    | inotify::WatchMask::CREATE,
            )
            .map_err(io)?;
        let stream = {
            let _guard = runtime.enter();
            inotify.into_event_stream(vec![0u8; 4096]).map_err(io)?
        };
        Ok(Self { runtime, stream })
    }

    /// Returns after a change in the directory, after `idle`, or soon after `stop` is set.
    fn wait(&mut self, idle: Duration, stop: &Stop) -> Result<(), CollectorError> {
        use futures_util::StreamExt as _;
        let deadline = Instant::now() + idle;
        while !stop.is_set() && Instant::now() < deadline {
            // Short slices so that `stop` is seen promptly; the event itself wakes at once.
            let slice =
                Duration::from_millis(200).min(deadline.saturating_duration_since(Instant::now()));
            let stream = &mut self.stream;
            let next =
                self.runtime.block_on(async { tokio::time::timeout(slice, stream.next()).await });
            match next {
                Ok(Some(Ok(event))) => {
                    let name = event.name.as_ref().and_then(|n| n.to_str()).unwrap_or("");
                    if name == "checkpoint" || name.starts_with("checkpoint-") {
                        return Ok(());
                    }
                }
                Ok(Some(Err(e))) => {
                    return Err(CollectorError::Io {
                        what: "reading inotify events".into(),
                        source: e,
                    });
                }
                Ok(None) => return Ok(()),
                Err(_) => {}
            }
        }
        Ok(())
    }
}
