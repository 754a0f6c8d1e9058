//! The log writer: the one process that appends to a log directory.
//!
//! Every batch is staged in memory (records encoded, chain and Merkle tree extended), written
//! with one `write` and made durable with one `fdatasync` before `append_batch` returns: group
//! commit. Seals and checkpoints are due at every epoch boundary and are written before the next
//! batch, on rotation and on close. After any failed write or sync the writer is poisoned and
//! every later call returns [`StoreError::Poisoned`]: nothing is retried, because after a failed
//! `fsync` the state of the file is unknown.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use audit_chain::{
    Checkpoint, CompactTree, Hash, NoteSigner, SealInput, SealKey, genesis_chain_hash,
    sign_checkpoint,
};
use audit_events::{
    AuditIdGenerator, Body, Entry, HashValue, LogId, MAX_IDENTIFIER_BYTES, MAX_TEXT_BYTES,
    RecordKind, RotationReason, SystemKind, SystemRecord, Timestamp,
};

use crate::config::LogConfig;
use crate::error::StoreError;
use crate::index::SegmentIndex;
use crate::io::{Io, IoFile, OsIo};
use crate::keys;
use crate::layout::{self, CHECKPOINT_FILE, META_FILE, WriterLock};
use crate::meta::{LogMeta, VerifierMaterial};
use crate::recovery::{MAX_COMMIT_BYTES, PrefixCheck, recover_tail};
use crate::resume::{self, Carried, RESUME_EVERY, ResumeNote};
use crate::segment::{self, FRAME_OVERHEAD, SegmentHeader};
use crate::tiles::TileBuilder;
use sha2::{Digest as _, Sha256};

/// The longest reason a legal hold record may carry, in bytes.
const MAX_HOLD_REASON: usize = 256;

/// Sequence numbers a batch was given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AppendOutcome {
    /// The first record's sequence number (the log's size before the batch).
    pub first_seq: u64,
    /// How many records the batch added (not counting seals written before it).
    pub count: u64,
}

/// The lock and keys a writer holds.
struct Keys {
    lock: WriterLock,
    signer: NoteSigner,
    seal_key: SealKey,
}

/// Where the log ends: the next sequence number, the chain and tree there, and how many records
/// since the last seal.
struct Position {
    next_seq: u64,
    chain: Hash,
    tree: CompactTree,
    unsealed: u64,
}

/// The segment being appended to.
struct ActiveSegment {
    first_seq: u64,
    name: String,
    file: Box<dyn IoFile>,
    bytes: u64,
    utc_day: i64,
    /// The index of the segment's frames; only of those after the resume note's offset while
    /// `prefix` runs.
    index: SegmentIndex,
    /// The state over the segment's records, as recovery would find it (for the resume note).
    carried: Carried,
    /// The check of the records before the resume note's offset (when the writer reopened from
    /// a note), which also yields their index.
    prefix: Option<PrefixCheck>,
    /// `bytes` when the last resume note was written.
    noted_at: u64,
}

/// The writer of one log directory. Holds the directory's exclusive lock for its lifetime.
pub struct LogWriter {
    dir: PathBuf,
    io: Arc<dyn Io>,
    config: LogConfig,
    meta: LogMeta,
    _lock: WriterLock,
    signer: NoteSigner,
    seal_key: SealKey,
    ids: AuditIdGenerator,
    next_seq: u64,
    chain: Hash,
    tree: CompactTree,
    /// Records appended since the last seal.
    unsealed: u64,
    /// Latest time used for a record the store wrote itself (kept monotonic).
    last_time: Timestamp,
    segment: ActiveSegment,
    /// Frames staged but not yet written.
    staged: Vec<u8>,
    /// Scratch buffer for one record's encoding.
    scratch: Vec<u8>,
    /// The key state changed and must be persisted after the next commit.
    key_dirty: bool,
    /// A seal was staged: write a checkpoint after the next commit.
    checkpoint_due: bool,
    /// The legal hold in force (from the chain), with its reason.
    legal_hold: Option<String>,
    poisoned: Option<String>,
    /// The Merkle tiles being filled; `None` when they cannot be kept (see `tiles.rs`).
    tiles: Option<TileBuilder>,
}

impl Drop for LogWriter {
    fn drop(&mut self) {
        // The tile thread finishes what it was handed (tiles, and the resume note after them)
        // before the lock is released: no other writer of this directory runs alongside it.
        drop(self.tiles.take());
    }
}

impl std::fmt::Debug for LogWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogWriter")
            .field("dir", &self.dir)
            .field("log_id", &self.meta.log_id)
            .field("next_seq", &self.next_seq)
            .field("epoch", &self.seal_key.epoch())
            .field("segment", &self.segment.name)
            .field("poisoned", &self.poisoned)
            .finish_non_exhaustive()
    }
}

impl LogWriter {
    /// Creates a new log in `dir` (created with mode 0700 if missing; an existing directory must
    /// be empty). Returns the writer and the verifier material, which holds the initial seal key:
    /// hand it to the verifier and do not keep it on this host.
    pub fn create(
        dir: &Path,
        config: LogConfig,
        now: Timestamp,
    ) -> Result<(Self, VerifierMaterial), StoreError> {
        Self::create_with_io(dir, config, now, Arc::new(OsIo))
    }

    /// [`LogWriter::create`] through a given I/O seam (tests inject faults with it).
    pub fn create_with_io(
        dir: &Path,
        config: LogConfig,
        now: Timestamp,
        io: Arc<dyn Io>,
    ) -> Result<(Self, VerifierMaterial), StoreError> {
        config.validate()?;
        let dir = layout::confine(dir)?;
        layout::create_log_dir(&dir)?;
        if let Some(parent) = dir.parent() {
            io.sync_dir(parent).map_err(|e| StoreError::io("syncing", parent, e))?;
        }
        let lock = WriterLock::acquire(&dir)?;
        let log_id = LogId::random().map_err(|_| StoreError::Random)?;
        let origin = format!("audit/{}/{}", config.service_id, log_id);
        let signer = NoteSigner::from_seed(&origin, *keys::random_secret()?)?;
        let initial = keys::random_secret()?;
        let seal_key = SealKey::from_initial(*initial);
        keys::write_signing_key(io.as_ref(), &dir, &signer)?;
        keys::write_seal_key(io.as_ref(), &dir, &seal_key)?;
        let meta = LogMeta {
            log_id,
            service_id: config.service_id.clone(),
            origin: origin.clone(),
            created_at: now,
            epoch_nanos: config.epoch_nanos(),
            public_key: signer.verifier_key(),
        };
        let meta_path = dir.join(META_FILE);
        io.write_atomic(&meta_path, meta.to_text().as_bytes())
            .map_err(|e| StoreError::io("writing", meta_path, e))?;
        let material = VerifierMaterial {
            log_id,
            origin,
            created_at: now,
            epoch_nanos: config.epoch_nanos(),
            min_retention_days: config.retention.days,
            public_key: signer.verifier_key(),
            initial_seal_key: initial,
        };
        let chain = genesis_chain_hash(&log_id.0);
        let tree = CompactTree::new();
        let segment = create_segment(io.as_ref(), &dir, log_id, 0, now, chain, &tree)?;
        let keys = Keys { lock, signer, seal_key };
        let position = Position { next_seq: 0, chain, tree, unsealed: 0 };
        let mut writer = Self::assemble(dir, io, config, meta, keys, position, segment, now)?;
        writer.tiles = Some(TileBuilder::new(&writer.dir).in_background());
        let writer_name = writer.config.writer.clone();
        writer.guarded(|w| {
            w.stage_system(SystemRecord::LogCreated { writer_version: writer_name }, now)?;
            w.hold_if_configured(now)?;
            w.commit()
        })?;
        Ok((writer, material))
    }

    /// Opens an existing log to continue it: recovers a torn final frame (discarding only an
    /// incomplete frame, never a complete one), seals records the previous writer left unsealed,
    /// and appends `crash_recovery` (if bytes were discarded) and `log_resumed` records. The chain
    /// and sequence numbers continue where they stopped.
    pub fn open(dir: &Path, config: LogConfig, now: Timestamp) -> Result<Self, StoreError> {
        Self::open_with_io(dir, config, now, Arc::new(OsIo))
    }

    /// [`LogWriter::open`] through a given I/O seam.
    pub fn open_with_io(
        dir: &Path,
        config: LogConfig,
        now: Timestamp,
        io: Arc<dyn Io>,
    ) -> Result<Self, StoreError> {
        config.validate()?;
        let dir = layout::confine(dir)?;
        layout::require_dir(&dir)?;
        layout::check_writer_access(&dir)?;
        let lock = WriterLock::acquire(&dir)?;
        let meta = LogMeta::read(&dir)?;
        if meta.service_id != config.service_id {
            return Err(StoreError::Config {
                reason: "the log belongs to another service id".to_owned(),
            });
        }
        let signer = keys::read_signing_key(&dir)?;
        let mut seal_key = keys::read_seal_key(&dir)?;
        let tail = recover_tail(io.as_ref(), &dir, &meta, seal_key.epoch())?;
        // The key file may be one step behind seals that are durable (a crash after the frames
        // were synced and before the key was replaced): the old epoch's key must not seal again.
        let key_behind = seal_key.epoch() < tail.key_floor;
        if key_behind {
            seal_key = seal_key.seek(tail.key_floor)?;
        }
        let now = now.max(tail.last_time);
        let segment = match tail.segment {
            Some(found) => {
                let path = dir.join(&found.name);
                let file =
                    io.open_append(&path).map_err(|e| StoreError::io("opening", &path, e))?;
                ActiveSegment {
                    first_seq: found.first_seq,
                    name: found.name,
                    file,
                    bytes: found.end,
                    utc_day: found.created.utc_day(),
                    index: found.index,
                    carried: found.carried,
                    prefix: found.prefix,
                    noted_at: found.end,
                }
            }
            None => create_segment(
                io.as_ref(),
                &dir,
                meta.log_id,
                tail.next_seq,
                now,
                tail.chain,
                &tail.tree,
            )?,
        };
        let keys = Keys { lock, signer, seal_key };
        let position = Position {
            next_seq: tail.next_seq,
            chain: tail.chain,
            tree: tail.tree,
            unsealed: tail.unsealed,
        };
        let mut writer = Self::assemble(dir, io, config, meta, keys, position, segment, now)?;
        writer.key_dirty = key_behind;
        writer.legal_hold = tail.legal_hold.clone();
        let since_note = tail.since_note.as_ref().map(|(tree, leaves)| (tree, leaves.as_slice()));
        writer.tiles = TileBuilder::resume(&writer.dir, &writer.tree, since_note)
            .map(TileBuilder::in_background);
        let writer_name = writer.config.writer.clone();
        let (recovered_torn, previous_clean) = (tail.torn.is_some(), tail.previous_clean);
        writer.guarded(|w| {
            if w.unsealed > 0 {
                // Records written before the crash are sealed with the epoch key they were
                // written under, so their seal stays within the epoch of their time.
                w.stage_seal(now)?;
            }
            if let Some(torn) = tail.torn {
                w.stage_system(torn, now)?;
            }
            let target = w.epoch_of(now);
            if target > w.seal_key.epoch() {
                w.seal_key = w.seal_key.seek(target)?;
                w.key_dirty = true;
            }
            w.stage_system(
                SystemRecord::LogResumed {
                    writer_version: writer_name,
                    previous_clean: tail.previous_clean,
                },
                now,
            )?;
            w.hold_if_configured(now)?;
            // Sealed in the same write, before the key file moves on: a `log_resumed` without
            // its seal can then only be a torn write (with the key file not yet replaced), and
            // one appended by anyone else does not explain a key ahead of the log. The key then
            // evolves past the resume seal's epoch, so that a key file one epoch past a clean
            // close proves that nothing was sealed after that close.
            w.stage_seal(now)?;
            w.seal_key.evolve()?;
            w.key_dirty = true;
            w.commit()
        })?;
        if recovered_torn {
            tracing::warn!(
                service = %writer.config.service_id,
                next_seq = writer.next_seq,
                "audit log recovered: the remains of a torn write were cut and recorded"
            );
        }
        tracing::info!(
            service = %writer.config.service_id,
            next_seq = writer.next_seq,
            previous_clean,
            "audit log resumed"
        );
        Ok(writer)
    }

    /// A writer over an opened directory, positioned where the log ends.
    #[allow(clippy::too_many_arguments)]
    fn assemble(
        dir: PathBuf,
        io: Arc<dyn Io>,
        config: LogConfig,
        meta: LogMeta,
        keys: Keys,
        position: Position,
        segment: ActiveSegment,
        now: Timestamp,
    ) -> Result<Self, StoreError> {
        Ok(Self {
            dir,
            io,
            config,
            meta,
            _lock: keys.lock,
            signer: keys.signer,
            seal_key: keys.seal_key,
            ids: AuditIdGenerator::random().map_err(|_| StoreError::Random)?,
            next_seq: position.next_seq,
            chain: position.chain,
            tree: position.tree,
            unsealed: position.unsealed,
            last_time: now,
            segment,
            staged: Vec::new(),
            scratch: Vec::new(),
            key_dirty: false,
            checkpoint_due: false,
            legal_hold: None,
            poisoned: None,
            tiles: None,
        })
    }

    /// Appends `entries` as consecutive records and makes them durable before returning (one
    /// write, one `fdatasync`). Seals due by `now` are written first, and the segment is rotated
    /// first if it is full or the UTC day changed.
    ///
    /// Entries may be events or `events_dropped` system records; every other system record is
    /// the store's own and is refused. A request id over 256 bytes or a user agent over 1024
    /// bytes (the logger's bounds) is refused too, before anything is written.
    pub fn append_batch(
        &mut self,
        entries: &[Entry],
        now: Timestamp,
    ) -> Result<AppendOutcome, StoreError> {
        self.check()?;
        for (index, entry) in entries.iter().enumerate() {
            if let Body::System(s) = &entry.body
                && s.kind() != SystemKind::EventsDropped
            {
                return Err(StoreError::InvalidEntry {
                    index,
                    reason: "only events and events-dropped records may be appended",
                });
            }
            let context = &entry.context;
            if context.request_id.as_ref().is_some_and(|r| r.len() > MAX_IDENTIFIER_BYTES)
                || context.user_agent.as_ref().is_some_and(|u| u.len() > MAX_TEXT_BYTES)
            {
                return Err(StoreError::InvalidEntry {
                    index,
                    reason: "a request id over 256 bytes or a user agent over 1024 bytes",
                });
            }
        }
        // Seals must never cover a record dated after them, even if an entry's clock ran ahead.
        let newest = entries.iter().map(|e| e.time).max().unwrap_or(now);
        let now = now.max(self.last_time).max(newest);
        self.guarded(|w| {
            w.stage_due_seals(now)?;
            w.rotate_if_needed(now)?;
            let first_seq = w.next_seq;
            for entry in entries {
                w.stage(entry)?;
            }
            w.commit()?;
            Ok(AppendOutcome { first_seq, count: w.next_seq - first_seq })
        })
    }

    /// Writes the seals (and the checkpoint) of every epoch that ended by `now`. Call it on a
    /// timer: an idle epoch is sealed too, which is what lets a verifier notice records removed
    /// from the end of the log while it kept running.
    pub fn seal_if_due(&mut self, now: Timestamp) -> Result<(), StoreError> {
        self.check()?;
        let now = now.max(self.last_time);
        if now < self.next_seal_due() {
            return Ok(());
        }
        self.guarded(|w| {
            w.stage_due_seals(now)?;
            w.commit()
        })?;
        tracing::debug!(
            service = %self.config.service_id,
            next_seq = self.next_seq,
            epoch = self.seal_key.epoch(),
            "audit log sealed"
        );
        Ok(())
    }

    /// When the current epoch ends and its seal is due.
    pub fn next_seal_due(&self) -> Timestamp {
        self.epoch_start(self.seal_key.epoch().saturating_add(1))
    }

    /// Starts a new segment now (sealing the current one).
    pub fn rotate(&mut self, now: Timestamp) -> Result<(), StoreError> {
        self.check()?;
        let now = now.max(self.last_time);
        self.guarded(|w| {
            w.stage_due_seals(now)?;
            w.rotate_segment(RotationReason::Requested, now)
        })
    }

    /// Closes the log cleanly: seals due epochs, appends `index_committed` (the digest of the
    /// segment's index), `log_closed`, a final seal and a checkpoint, writes the committed index,
    /// and releases the lock.
    pub fn close(mut self, now: Timestamp) -> Result<(), StoreError> {
        self.check()?;
        let now = now.max(self.last_time);
        self.guarded(|w| {
            w.stage_due_seals(now)?;
            let index = w.stage_index_commitment(now)?;
            w.stage_system(SystemRecord::LogClosed, now)?;
            w.stage_seal(now)?;
            // The final epoch's key is not left behind: whoever reads the directory later must
            // not be able to seal the last epoch again.
            w.seal_key.evolve()?;
            w.key_dirty = true;
            w.commit()?;
            w.keep_checkpoint()?;
            w.write_index(&index)
        })
    }

    /// Places a legal hold on the log (`held`), or lifts it, recording why in the chain (a
    /// `legal_hold` record, durable when this returns). While a hold is in force nothing is
    /// removed by retention, and a verifier reports any purge made under it. Returns whether the
    /// state changed (placing a hold already in force records nothing).
    pub fn set_legal_hold(
        &mut self,
        held: bool,
        reason: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        self.check()?;
        if reason.is_empty()
            || reason.len() > MAX_HOLD_REASON
            || reason.chars().any(char::is_control)
        {
            return Err(StoreError::Config {
                reason: format!(
                    "a legal hold's reason must be 1 to {MAX_HOLD_REASON} bytes without control characters"
                ),
            });
        }
        if self.legal_hold.is_some() == held {
            return Ok(false);
        }
        let now = now.max(self.last_time);
        self.guarded(|w| {
            w.stage_due_seals(now)?;
            w.stage_system(SystemRecord::LegalHold { held, reason: reason.to_owned() }, now)?;
            w.legal_hold = held.then(|| reason.to_owned());
            w.commit()
        })?;
        Ok(true)
    }

    /// The legal hold in force, with its reason. Right after a reopen from a resume note this is
    /// the note's word until the records before the note's offset have been read again (see
    /// FORMAT.md, "Resume note"); retention waits for that reading before it decides.
    pub fn legal_hold(&self) -> Option<&str> {
        self.legal_hold.as_deref()
    }

    /// Places the hold the configuration asks for, if the chain does not hold one yet.
    fn hold_if_configured(&mut self, now: Timestamp) -> Result<(), StoreError> {
        if self.config.retention.legal_hold && self.legal_hold.is_none() {
            let reason = "placed by the writer's configuration".to_owned();
            self.stage_system(SystemRecord::LegalHold { held: true, reason: reason.clone() }, now)?;
            self.legal_hold = Some(reason);
        }
        Ok(())
    }

    /// The log id.
    pub fn log_id(&self) -> LogId {
        self.meta.log_id
    }

    /// The log's metadata.
    pub fn meta(&self) -> &LogMeta {
        &self.meta
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The sequence number the next record will get (the log's size).
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// The current seal-key epoch.
    pub fn epoch(&self) -> u64 {
        self.seal_key.epoch()
    }

    /// The Merkle root over every record so far.
    pub fn root(&self) -> Hash {
        self.tree.root()
    }

    /// The cause, if the writer is poisoned.
    pub fn poisoned(&self) -> Option<&str> {
        self.poisoned.as_deref()
    }

    /// The configuration in force.
    pub fn config(&self) -> &LogConfig {
        &self.config
    }

    pub(crate) fn io(&self) -> &dyn Io {
        self.io.as_ref()
    }

    fn check(&self) -> Result<(), StoreError> {
        match &self.poisoned {
            Some(cause) => Err(StoreError::Poisoned { cause: cause.clone() }),
            None => Ok(()),
        }
    }

    /// Runs `f`; any error poisons the writer (the in-memory state may be ahead of the disk).
    pub(crate) fn guarded<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let result = f(self);
        if let Err(e) = &result {
            // The error names the step, file and OS error, never record content.
            tracing::error!(
                service = %self.config.service_id,
                next_seq = self.next_seq,
                error = %e,
                "audit log writer poisoned: it writes nothing more"
            );
            self.poisoned = Some(e.to_string());
            self.staged.clear();
        }
        result
    }

    pub(crate) fn epoch_start(&self, epoch: u64) -> Timestamp {
        crate::epoch_start(self.meta.created_at, self.meta.epoch_nanos, epoch)
    }

    pub(crate) fn epoch_of(&self, time: Timestamp) -> u64 {
        crate::epoch_of(self.meta.created_at, self.meta.epoch_nanos, time)
    }

    /// Encodes `entry` as the next record into the staging buffer and extends chain and tree.
    pub(crate) fn stage(&mut self, entry: &Entry) -> Result<(), StoreError> {
        self.scratch.clear();
        entry.encode_as_record(
            &self.meta.log_id,
            self.next_seq,
            &self.meta.service_id,
            &mut self.scratch,
        )?;
        let (leaf, chain) = segment::link(&self.chain, &self.scratch);
        let offset = self.segment.bytes + u64::try_from(self.staged.len()).unwrap_or(0);
        segment::push_frame(&mut self.staged, &self.scratch, &chain);
        let frame_len = u64::try_from(self.scratch.len()).unwrap_or(0) + FRAME_OVERHEAD;
        self.segment.index.add(offset, frame_len, chain, entry.time, &entry.body);
        let (kind, seal, hold) = match &entry.body {
            Body::Event(e) => (RecordKind::Event(e.event.kind()), None, None),
            Body::System(SystemRecord::Seal { epoch, sealed_at, .. }) => {
                (RecordKind::System(SystemKind::Seal), Some((*epoch, *sealed_at)), None)
            }
            Body::System(SystemRecord::LegalHold { held, reason }) => {
                (RecordKind::System(SystemKind::LegalHold), None, Some((*held, reason.as_str())))
            }
            Body::System(s) => (RecordKind::System(s.kind()), None, None),
        };
        self.segment.carried.observe(kind, entry.time, seal, hold);
        match &mut self.tiles {
            Some(tiles) => {
                tiles.push_leaf(leaf);
                self.tree.try_push_reporting(leaf, |level, root| tiles.completed(level, root))?;
            }
            None => self.tree.try_push(leaf)?,
        }
        self.chain = chain;
        self.next_seq += 1;
        self.last_time = self.last_time.max(entry.time);
        self.unsealed = match &entry.body {
            Body::System(SystemRecord::Seal { .. }) => 0,
            _ => self.unsealed + 1,
        };
        Ok(())
    }

    pub(crate) fn stage_system(
        &mut self,
        record: SystemRecord,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.last_time = self.last_time.max(now);
        let entry = Entry::new(self.last_time, self.ids.next_id(), Body::System(record));
        self.stage(&entry)
    }

    /// Stages a seal over everything so far with the current epoch's key.
    fn stage_seal(&mut self, now: Timestamp) -> Result<(), StoreError> {
        let sealed_at = self.last_time.max(now);
        let input = SealInput {
            epoch: self.seal_key.epoch(),
            tree_size: self.next_seq,
            root: self.tree.root(),
            last_chain: self.chain,
            time_ns: sealed_at.0,
        };
        let tag = self.seal_key.seal(&input)?;
        self.checkpoint_due = true;
        self.stage_system(
            SystemRecord::Seal {
                epoch: input.epoch,
                tree_size: input.tree_size,
                root: HashValue(input.root),
                last_chain: HashValue(input.last_chain),
                sealed_at,
                mac: HashValue(tag.0),
            },
            sealed_at,
        )
    }

    /// Seals every epoch that has ended by `now`, evolving the key after each (in memory; the
    /// new state is persisted after the seals are durable).
    pub(crate) fn stage_due_seals(&mut self, now: Timestamp) -> Result<(), StoreError> {
        let mut staged = 0u32;
        while now >= self.next_seal_due() {
            self.stage_seal(now)?;
            self.seal_key.evolve()?;
            self.key_dirty = true;
            staged += 1;
            // A writer that was suspended for a long time catches up in bounded batches.
            if staged.is_multiple_of(4096) {
                self.commit()?;
            }
        }
        Ok(())
    }

    /// Writes and syncs the staged frames; then the checkpoint and key state if they changed.
    pub(crate) fn commit(&mut self) -> Result<(), StoreError> {
        if self.staged.is_empty() {
            return Ok(());
        }
        // A reopened writer writes nothing more once the records before its resume point are
        // found not to be what the resume note says.
        self.settle_prefix(false)?;
        let path = self.dir.join(&self.segment.name);
        // One write and one sync per piece of at most MAX_COMMIT_BYTES: recovery relies on a
        // torn write never being larger.
        for piece in self.staged.chunks(MAX_COMMIT_BYTES) {
            self.segment.file.write_all(piece).map_err(|e| StoreError::io("writing", &path, e))?;
            self.segment.file.sync_data().map_err(|e| StoreError::io("syncing", &path, e))?;
        }
        self.segment.bytes += u64::try_from(self.staged.len()).unwrap_or(0);
        self.staged.clear();
        let note_due =
            self.checkpoint_due || self.segment.bytes - self.segment.noted_at >= RESUME_EVERY;
        let note = if note_due { self.resume_note() } else { None };
        // Derived data, written once the records are durable and before the checkpoint that
        // names their size; a failure costs only speed (proofs fall back to records, reopening
        // reads more). The partial tiles go with every resume note, which the tile thread writes
        // after them, so that a reopening writer finds the tiles of the note's size.
        match &mut self.tiles {
            Some(tiles) => {
                let _derived_only = tiles.flush(note_due, self.checkpoint_due, note);
            }
            None => {
                if let Some(note) = note {
                    let _derived_only = resume::write_note(&self.dir, &note);
                }
            }
        }
        if self.checkpoint_due {
            self.write_checkpoint()?;
            self.checkpoint_due = false;
        }
        if self.key_dirty {
            keys::write_seal_key(self.io.as_ref(), &self.dir, &self.seal_key)?;
            self.key_dirty = false;
        }
        Ok(())
    }

    /// Takes in the result of the check of the records before the resume point, waiting for it
    /// if `wait`: their index is put in front of the index of the frames since; a failed check is
    /// the error (which poisons the writer).
    pub(crate) fn settle_prefix(&mut self, wait: bool) -> Result<(), StoreError> {
        let Some(check) = self.segment.prefix.take() else { return Ok(()) };
        if !wait && !check.is_finished() {
            self.segment.prefix = Some(check);
            return Ok(());
        }
        let mut index = check.join()?;
        index.append(std::mem::take(&mut self.segment.index));
        self.segment.index = index;
        Ok(())
    }

    /// The signed resume note of the state now (everything staged is durable), to be written
    /// after the partial tiles of this size; `None` if it cannot be made (then the next open
    /// reads more of the segment).
    fn resume_note(&mut self) -> Option<String> {
        let segment = &self.segment;
        let last_frame = segment.index.offsets.last().copied();
        if last_frame.is_none() && self.next_seq != segment.first_seq {
            return None;
        }
        let note = ResumeNote {
            segment: segment.first_seq,
            size: self.next_seq,
            end: segment.bytes,
            last_frame,
            chain: self.chain,
            frontier: self.tree.frontier().to_vec(),
            carried: segment.carried.clone(),
        };
        let text = note.sign(&self.signer).ok()?;
        self.segment.noted_at = self.segment.bytes;
        Some(text)
    }

    fn checkpoint_note(&self) -> Result<String, StoreError> {
        let checkpoint = Checkpoint {
            origin: self.meta.origin.clone(),
            size: self.next_seq,
            root: self.tree.root(),
            extensions: Vec::new(),
        };
        Ok(sign_checkpoint(&checkpoint, &self.signer)?)
    }

    /// Replaces the latest checkpoint file.
    fn write_checkpoint(&mut self) -> Result<(), StoreError> {
        let note = self.checkpoint_note()?;
        let path = self.dir.join(CHECKPOINT_FILE);
        self.io.write_atomic(&path, note.as_bytes()).map_err(|e| StoreError::io("writing", path, e))
    }

    /// Writes a checkpoint that is kept for good (at rotation and close).
    fn keep_checkpoint(&mut self) -> Result<(), StoreError> {
        let note = self.checkpoint_note()?;
        let path = self.dir.join(layout::kept_checkpoint_name(self.next_seq));
        self.io.write_atomic(&path, note.as_bytes()).map_err(|e| StoreError::io("writing", path, e))
    }

    /// Stages the `index_committed` record for the index of every frame of the segment so far
    /// and returns the index bytes it commits to (to be written once the record is durable).
    fn stage_index_commitment(&mut self, now: Timestamp) -> Result<Vec<u8>, StoreError> {
        self.settle_prefix(true)?;
        let index = &self.segment.index;
        let bytes = index.encode();
        let record = SystemRecord::IndexCommitted {
            first_seq: self.segment.first_seq,
            records: u64::try_from(index.len()).unwrap_or(u64::MAX),
            end_offset: index.end_offset,
            digest: HashValue(Sha256::digest(&bytes).into()),
        };
        self.stage_system(record, now)?;
        Ok(bytes)
    }

    fn write_index(&mut self, bytes: &[u8]) -> Result<(), StoreError> {
        let path = self.dir.join(layout::index_name(self.segment.first_seq));
        self.io.write_atomic(&path, bytes).map_err(|e| StoreError::io("writing", path, e))
    }

    fn rotate_if_needed(&mut self, now: Timestamp) -> Result<(), StoreError> {
        let reason = if self.segment.bytes >= self.config.max_segment_bytes {
            Some(RotationReason::Size)
        } else if self.config.rotate_daily && now.utc_day() != self.segment.utc_day {
            Some(RotationReason::Day)
        } else {
            None
        };
        match reason {
            Some(reason) if self.next_seq > self.segment.first_seq => {
                self.rotate_segment(reason, now)
            }
            _ => Ok(()),
        }
    }

    /// Ends the segment with the index commitment, a rotation record and a seal, keeps a
    /// checkpoint and the index, and starts the next segment.
    fn rotate_segment(&mut self, reason: RotationReason, now: Timestamp) -> Result<(), StoreError> {
        let index = self.stage_index_commitment(now)?;
        self.stage_system(SystemRecord::SegmentRotated { reason }, now)?;
        self.stage_seal(now)?;
        self.commit()?;
        tracing::info!(
            service = %self.config.service_id,
            next_seq = self.next_seq,
            reason = ?reason,
            "audit log segment rotated"
        );
        self.keep_checkpoint()?;
        self.write_index(&index)?;
        self.segment = create_segment(
            self.io.as_ref(),
            &self.dir,
            self.meta.log_id,
            self.next_seq,
            now,
            self.chain,
            &self.tree,
        )?;
        // An active hold is restated as the new segment's first record, so that the state is
        // known from the last segment alone (and survives the purge of older segments).
        if let Some(reason) = self.legal_hold.clone() {
            self.stage_system(SystemRecord::LegalHold { held: true, reason }, now)?;
        }
        Ok(())
    }

    pub(crate) fn last_record_time(&self) -> Timestamp {
        self.last_time
    }

    pub(crate) fn active_first_seq(&self) -> u64 {
        self.segment.first_seq
    }
}

/// Creates a segment file starting at `first_seq`, writes and syncs its header, syncs the
/// directory.
fn create_segment(
    io: &dyn Io,
    dir: &Path,
    log_id: LogId,
    first_seq: u64,
    now: Timestamp,
    chain: Hash,
    tree: &CompactTree,
) -> Result<ActiveSegment, StoreError> {
    let name = layout::segment_name(first_seq);
    let path = dir.join(&name);
    let header = SegmentHeader {
        log_id,
        first_seq,
        created_at: now,
        prev_chain: chain,
        frontier: tree.frontier().to_vec(),
    };
    let bytes = header.encode();
    let mut file = io.create_new(&path).map_err(|e| StoreError::io("creating", &path, e))?;
    file.write_all(&bytes).map_err(|e| StoreError::io("writing", &path, e))?;
    file.sync_data().map_err(|e| StoreError::io("syncing", &path, e))?;
    io.sync_dir(dir).map_err(|e| StoreError::io("syncing", dir, e))?;
    let header_len = u64::try_from(bytes.len()).unwrap_or(0);
    Ok(ActiveSegment {
        first_seq,
        name,
        file,
        bytes: header_len,
        utc_day: now.utc_day(),
        index: SegmentIndex::new(first_seq, header_len, chain),
        carried: Carried::at_header(now),
        prefix: None,
        noted_at: header_len,
    })
}
