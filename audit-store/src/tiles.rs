//! Merkle tiles: the interior of the log's Merkle tree kept on disk as derived files, in the
//! layout of C2SP tlog-tiles, so that inclusion and consistency proofs read `O(log n)` hashes
//! instead of every record.
//!
//! A tile at level `L` and index `N` holds up to 256 consecutive hashes of Merkle level `8L`:
//! level 0 holds leaf hashes, level 1 the roots of full level-0 tiles, and so on. A full tile is
//! 8,192 bytes (`tiles/<L>/<N>`); a partial tile of width `W` (`tiles/<L>/<N>.p/<W>`) holds the
//! first `W` hashes of what will be that tile, and is written only for the size of a signed
//! checkpoint. `N` is written as in C2SP: groups of three digits, every group but the last
//! prefixed with `x` (`1234067` is `x001/x234/067`).
//!
//! Tiles are derived data and hostile input. They are regenerable from the records, read with
//! the rules of every file in the log directory (no symbolic link, never blocking, regular files
//! only, capped), and never trusted: a proof built from tiles is checked against the root of a
//! signed checkpoint before anyone sees it, and the caller falls back to the records when
//! anything about the tiles is wrong. The writer writes full tiles once the records they cover
//! are durable, and partial tiles with every checkpoint, without syncing them: a crash can leave
//! a tile missing, short or zeroed, which recovery repairs at the tail and proofs survive by
//! falling back.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write as _};
use std::os::fd::OwnedFd;
use std::os::unix::fs::FileExt as _;
use std::path::{Component, Path, PathBuf};

use rustix::fs as fs_at;
use std::sync::mpsc::{Sender, SyncSender, channel, sync_channel};
use std::thread::JoinHandle;

use audit_chain::{CompactTree, Hash, LeafHashes, node_hash};

use crate::index::{INDEX_HEADER_LEN, IndexHeader};
use crate::layout;
use crate::reader::{LogReader, StoredRecord};
use crate::segment::{self, MAX_FRAME_PAYLOAD};

/// The directory of the tiles inside a log directory.
pub(crate) const TILES_DIR: &str = "tiles";
/// Hashes in a full tile.
pub(crate) const TILE_WIDTH: usize = 256;
/// Bytes of a full tile (and the cap on every tile file).
pub(crate) const TILE_BYTES: u64 = 256 * 32;
/// Merkle levels a tile spans.
const TILE_HEIGHT: u32 = 8;

/// Why tiles could not serve a proof. The caller falls back to the records and says why.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TileError {
    /// No tile on disk covers what was needed.
    #[error("tile {level}/{index} is missing")]
    Missing { level: u32, index: u64 },
    /// A tile file was refused or is malformed.
    #[error("tile {path} is unusable: {reason}")]
    Bad { path: String, reason: String },
    /// Reading a record for the proof failed.
    #[error("{0}")]
    Record(String),
}

/// `N` in C2SP form: `x001/x234/067`.
fn index_path(index: u64) -> String {
    let digits = index.to_string();
    let pad = (3 - digits.len() % 3) % 3;
    let padded = format!("{}{digits}", "0".repeat(pad));
    let groups: Vec<&str> =
        padded.as_bytes().chunks(3).map(|g| std::str::from_utf8(g).unwrap_or("000")).collect();
    let last = groups.len().saturating_sub(1);
    groups
        .iter()
        .enumerate()
        .map(|(i, g)| if i < last { format!("x{g}") } else { (*g).to_owned() })
        .collect::<Vec<_>>()
        .join("/")
}

/// The path of a full tile, relative to the log directory.
pub(crate) fn full_path(level: u32, index: u64) -> PathBuf {
    PathBuf::from(format!("{TILES_DIR}/{level}/{}", index_path(index)))
}

/// The directory of a tile's partial versions, relative to the log directory.
fn partial_dir(level: u32, index: u64) -> PathBuf {
    PathBuf::from(format!("{TILES_DIR}/{level}/{}.p", index_path(index)))
}

/// The root of `2^k` consecutive hashes (`entries.len()` a power of two), in place.
fn subtree_root(entries: &[Hash], scratch: &mut Vec<Hash>) -> Hash {
    scratch.clear();
    scratch.extend_from_slice(entries);
    let mut len = scratch.len();
    while len > 1 {
        for i in 0..len / 2 {
            scratch[i] = node_hash(&scratch[2 * i], &scratch[2 * i + 1]);
        }
        len /= 2;
    }
    scratch.first().copied().unwrap_or(audit_chain::EMPTY_ROOT)
}

/// The perfect subtrees that `entries` (hashes of one Merkle level) make, largest first: one per
/// set bit of their count.
fn fold_bits(entries: &[Hash]) -> Vec<(u32, Hash)> {
    let mut out = Vec::new();
    let mut scratch = Vec::new();
    let mut start = 0usize;
    for bit in (0..usize::BITS).rev() {
        let len = 1usize << bit;
        if entries.len() & len != 0 {
            out.push((bit, subtree_root(&entries[start..start + len], &mut scratch)));
            start += len;
        }
    }
    out
}

/// The frontier of a tree as (level, hash), largest subtree first.
fn frontier_levels(tree: &CompactTree) -> BTreeMap<u32, Hash> {
    let size = tree.size();
    (0..u64::BITS)
        .rev()
        .filter(|b| size >> b & 1 == 1)
        .zip(tree.frontier().iter().copied())
        .collect()
}

/// Checks that a path below the log directory crosses no symbolic link: every directory on the
/// way must be a real directory.
fn check_dirs(dir: &Path, relative: &Path) -> Result<(), String> {
    let mut at = dir.to_path_buf();
    let components: Vec<_> = relative.components().collect();
    for component in components.iter().take(components.len().saturating_sub(1)) {
        at.push(component);
        match fs::symlink_metadata(&at) {
            Ok(meta) if meta.file_type().is_dir() => {}
            Ok(_) => return Err(format!("{} is not a directory", at.display())),
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(())
}

/// Reads a tile file of exactly `width` hashes, as hostile input.
fn read_tile_file(
    dir: &Path,
    relative: &Path,
    width: usize,
    bytes_read: &Cell<u64>,
) -> Result<Option<Vec<Hash>>, TileError> {
    let shown = relative.display().to_string();
    let bad = |reason: String| TileError::Bad { path: shown.clone(), reason };
    match fs::symlink_metadata(dir.join(relative)) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.raw_os_error() == Some(libc::ENOTDIR) => return Ok(None),
        _ => {}
    }
    check_dirs(dir, relative).map_err(bad)?;
    let bytes = match crate::io::read_capped(&dir.join(relative), TILE_BYTES) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(bad(e.to_string())),
    };
    bytes_read.set(bytes_read.get() + u64::try_from(bytes.len()).unwrap_or(0));
    if bytes.len() != width * 32 {
        return Err(bad(format!("{} bytes where {} were expected", bytes.len(), width * 32)));
    }
    Ok(Some(bytes.chunks_exact(32).map(|c| c.try_into().unwrap_or([0; 32])).collect()))
}

/// The first `need` hashes of tile `level`/`index`, from the full tile or from any partial
/// version at least that wide.
fn read_tile(
    dir: &Path,
    level: u32,
    index: u64,
    need: usize,
    bytes_read: &Cell<u64>,
) -> Result<Vec<Hash>, TileError> {
    let full = full_path(level, index);
    if let Some(hashes) = read_tile_file(dir, &full, TILE_WIDTH, bytes_read)? {
        return Ok(hashes);
    }
    let partials = partial_dir(level, index);
    if need < TILE_WIDTH {
        if let Some(hashes) =
            read_tile_file(dir, &partials.join(need.to_string()), need, bytes_read)?
        {
            return Ok(hashes);
        }
        // A wider partial written for a later checkpoint holds the same hashes first.
        let listed = fs::symlink_metadata(dir.join(&partials))
            .is_ok_and(|m| m.file_type().is_dir())
            .then(|| fs::read_dir(dir.join(&partials)));
        let mut widths: Vec<usize> = match listed {
            Some(Ok(entries)) => entries
                .filter_map(Result::ok)
                .filter_map(|e| e.file_name().to_str().and_then(parse_width))
                .filter(|w| *w >= need)
                .collect(),
            _ => Vec::new(),
        };
        widths.sort_unstable();
        if let Some(width) = widths.last() {
            let relative = partials.join(width.to_string());
            if let Some(hashes) = read_tile_file(dir, &relative, *width, bytes_read)? {
                return Ok(hashes);
            }
        }
    }
    // The full tile may have replaced the partial ones while they were being looked for.
    read_tile_file(dir, &full, TILE_WIDTH, bytes_read)?.ok_or(TileError::Missing { level, index })
}

/// A partial tile's width from its file name: decimal `1..=255`, no leading zero.
fn parse_width(name: &str) -> Option<usize> {
    if name.starts_with('0') || name.len() > 3 || !name.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    name.parse().ok().filter(|w| (1..TILE_WIDTH).contains(w))
}

/// Hashes for the proofs of one tree size, read from the tiles on demand (each tile at most
/// once). Every hash is untrusted until the proof built from it checks against a signed root.
pub(crate) struct TileSource<'a> {
    dir: &'a Path,
    size: u64,
    tiles: RefCell<BTreeMap<(u32, u64), Vec<Hash>>>,
    bytes_read: Cell<u64>,
}

impl<'a> TileSource<'a> {
    pub(crate) fn new(dir: &'a Path, size: u64) -> Self {
        Self { dir, size, tiles: RefCell::new(BTreeMap::new()), bytes_read: Cell::new(0) }
    }

    /// Bytes of tile files read so far.
    pub(crate) fn bytes_read(&self) -> u64 {
        self.bytes_read.get()
    }

    /// The root of hashes `[first, first + count)` of Merkle level `8 * tile_level`.
    fn root_of(&self, tile_level: u32, first: u64, count: usize) -> Result<Hash, TileError> {
        let index = first >> TILE_HEIGHT;
        let offset = usize::try_from(first & 0xff).unwrap_or(0);
        // Hashes of this level that exist in a tree of `size` leaves, in this tile.
        let level_len = self.size.checked_shr(TILE_HEIGHT * tile_level).unwrap_or(0);
        let width = usize::try_from(level_len.saturating_sub(index << TILE_HEIGHT).min(256))
            .unwrap_or(TILE_WIDTH);
        if offset + count > width {
            return Err(TileError::Missing { level: tile_level, index });
        }
        let mut tiles = self.tiles.borrow_mut();
        let hashes = match tiles.entry((tile_level, index)) {
            std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::btree_map::Entry::Vacant(e) => {
                e.insert(read_tile(self.dir, tile_level, index, width, &self.bytes_read)?)
            }
        };
        let slice = hashes
            .get(offset..offset + count)
            .ok_or(TileError::Missing { level: tile_level, index })?;
        Ok(subtree_root(slice, &mut Vec::new()))
    }
}

impl LeafHashes for TileSource<'_> {
    type Error = TileError;

    fn leaf_hash(&self, index: u64) -> Result<Hash, TileError> {
        self.root_of(0, index, 1)
    }

    fn perfect_subtree(&self, level: u32, index: u64) -> Result<Option<Hash>, TileError> {
        let (tile_level, within) = (level / TILE_HEIGHT, level % TILE_HEIGHT);
        let first = index.checked_shl(within).unwrap_or(u64::MAX);
        self.root_of(tile_level, first, 1usize << within).map(Some)
    }
}

/// One record read straight from its frame through the segment's index (a handful of small
/// reads), or by walking the segment when it has no index. The result is untrusted: the caller
/// checks its leaf hash through a proof against a signed root.
pub(crate) fn record_at(
    reader: &LogReader,
    seq: u64,
    bytes_read: &Cell<u64>,
) -> Result<StoredRecord, TileError> {
    let fail = |reason: String| TileError::Record(reason);
    let Some((first, path)) = reader.segments().iter().rev().find(|(first, _)| *first <= seq)
    else {
        return Err(fail(format!("record {seq} is not in the log")));
    };
    let name = layout::segment_name(*first);
    let index_path = reader.dir().join(layout::index_name(*first));
    let located = (|| -> Option<(u64, Hash)> {
        let file = crate::io::open_read(&index_path).ok()?;
        let mut header = vec![0u8; INDEX_HEADER_LEN];
        file.read_exact_at(&mut header, 0).ok()?;
        let parsed = IndexHeader::parse(&header)?;
        let at = usize::try_from(seq.checked_sub(parsed.first_seq)?).ok()?;
        if parsed.first_seq != *first || at >= parsed.count {
            return None;
        }
        let mut entry = [0u8; 8];
        file.read_exact_at(&mut entry, u64::try_from(INDEX_HEADER_LEN + 18 * at).ok()?).ok()?;
        bytes_read.set(bytes_read.get() + u64::try_from(INDEX_HEADER_LEN).ok()? + 8);
        let offset = u64::from_le_bytes(entry);
        let segment = crate::io::open_read(path).ok()?;
        // The chain hash before the frame: the previous frame's last 32 bytes, or the header's.
        let mut prev = [0u8; 32];
        if at == 0 {
            segment.read_exact_at(&mut prev, 44).ok()?;
        } else {
            segment.read_exact_at(&mut prev, offset.checked_sub(32)?).ok()?;
        }
        bytes_read.set(bytes_read.get() + 32);
        Some((offset, prev))
    })();
    if let Some((offset, prev_chain)) = located {
        let segment = crate::io::open_read(path).map_err(|e| fail(e.to_string()))?;
        let mut len = [0u8; 4];
        segment.read_exact_at(&mut len, offset).map_err(|e| fail(e.to_string()))?;
        let len = u32::from_le_bytes(len);
        if len == 0 || len > MAX_FRAME_PAYLOAD {
            return Err(fail(format!("the index of {name} points at no frame")));
        }
        let mut frame = vec![0u8; usize::try_from(len).unwrap_or(0) + 32];
        segment.read_exact_at(&mut frame, offset + 4).map_err(|e| fail(e.to_string()))?;
        bytes_read.set(bytes_read.get() + 4 + u64::from(len) + 32);
        let split = frame.len() - 32;
        let chain: Hash = frame[split..].try_into().unwrap_or([0; 32]);
        frame.truncate(split);
        let (_, expected) = segment::link(&prev_chain, &frame);
        let seq_ok = audit_events::RecordHeader::peek(&frame).is_ok_and(|h| h.seq == seq);
        if expected == chain && seq_ok {
            return Ok(StoredRecord {
                seq,
                segment: name,
                offset,
                bytes: frame,
                prev_chain,
                chain,
            });
        }
    }
    let record = reader
        .records_from(seq)
        .next()
        .transpose()
        .map_err(|e| fail(e.to_string()))?
        .filter(|r| r.seq == seq)
        .ok_or_else(|| fail(format!("record {seq} is not in the log")))?;
    bytes_read.set(bytes_read.get() + u64::try_from(record.bytes.len()).unwrap_or(0));
    Ok(record)
}

/// The writer's side: the partial tile of every level, and the full tiles waiting for the
/// records they cover to be durable. The files are written by [`TileFiles`], on a thread of its
/// own once the writer runs ([`TileBuilder::in_background`]): a batch hands its full tiles over
/// and goes on; a write with a checkpoint waits until every tile of the checkpoint's size is
/// written.
#[derive(Debug)]
pub(crate) struct TileBuilder {
    size: u64,
    /// `levels[L]`: the hashes of the tile of level `L` being filled (fewer than 256).
    levels: Vec<Vec<Hash>>,
    /// Full tiles to write after the next commit: (level, index, hashes).
    pending: Vec<(u32, u64, Vec<Hash>)>,
    files: Files,
}

/// Where tile files get written.
#[derive(Debug)]
enum Files {
    /// By the caller, as it goes.
    Inline(TileFiles),
    /// By a thread that takes work in order; dropping the builder waits for it to finish.
    Thread { sender: Option<SyncSender<TileWork>>, handle: Option<JoinHandle<()>> },
}

/// Tiles to write: full ones, then the partial ones of a checkpoint's size.
#[derive(Debug, Default)]
struct TileWork {
    full: Vec<(u32, u64, Vec<Hash>)>,
    partials: Vec<(u32, u64, Vec<Hash>)>,
    /// Told when this work (and all before it) is written.
    done: Option<Sender<()>>,
    /// A resume note to write once these tiles are (see `resume.rs`): a note on disk then
    /// always finds the partial tiles of its size, a crash of the process included.
    note: Option<String>,
}

/// Writes tile files and removes the partial versions they replace.
#[derive(Debug)]
struct TileFiles {
    dir: PathBuf,
    /// The partial tile last written, per level: (index, width).
    partial_written: Vec<Option<(u64, usize)>>,
    /// Per level, the tile whose partial versions may be on disk (to remove once it is full).
    maybe_partial: Vec<Option<u64>>,
}

impl TileFiles {
    /// Writes `work`. Tiles are derived: they are not synced, and a failure leaves a tile for
    /// recovery or for the fallback to the records.
    fn apply(&mut self, work: TileWork) -> io::Result<()> {
        let mut result = Ok(());
        for (level, index, hashes) in work.full {
            let written = self.write(&full_path(level, index), &hashes);
            let slot = usize::try_from(level).ok().and_then(|l| self.maybe_partial.get_mut(l));
            if let Some(slot) = slot
                && written.is_ok()
                && *slot == Some(index)
            {
                *slot = None;
                let _ignored = remove_partials(&self.dir, level, index);
            }
            result = result.and(written);
        }
        for (tile_level, index, hashes) in work.partials {
            let level = usize::try_from(tile_level).unwrap_or(usize::MAX);
            if self.partial_written.len() <= level {
                self.partial_written.resize(level + 1, None);
                self.maybe_partial.resize(level + 1, None);
            }
            let width = hashes.len();
            if self.partial_written[level] == Some((index, width)) {
                continue;
            }
            self.maybe_partial[level] = Some(index);
            let written =
                self.write(&partial_dir(tile_level, index).join(width.to_string()), &hashes);
            if written.is_ok() {
                self.partial_written[level] = Some((index, width));
                // Narrower versions (of earlier checkpoints, or of an earlier writer) hold a
                // prefix of this one: readers find what they need here.
                let _ignored = remove_partials_below(&self.dir, tile_level, index, width);
            }
            result = result.and(written);
        }
        if let Some(note) = work.note
            && result.is_ok()
        {
            result = crate::resume::write_note(&self.dir, &note);
        }
        result
    }

    /// Writes one tile: a temporary file, then a rename over the name (no sync: derived data).
    /// Every directory on the way is opened below the log directory without following a
    /// symlink, and the file operations are relative to the tile's own directory, so a link
    /// planted or swapped in by an intruder never makes the writer create, truncate or rename
    /// anything outside the log. The temporary is created afresh (`O_EXCL`): a file planted
    /// under its name, a hard link to a file elsewhere included, is unlinked, never written.
    fn write(&mut self, relative: &Path, hashes: &[Hash]) -> io::Result<()> {
        let (Some(parent), Some(name)) = (relative.parent(), relative.file_name()) else {
            return Err(io::Error::other("a tile path without a file name"));
        };
        let dir = open_dir_below(&self.dir, parent, true)?;
        let mut tmp = name.to_os_string();
        tmp.push(".tmp");
        match fs_at::unlinkat(&dir, tmp.as_os_str(), fs_at::AtFlags::empty()) {
            Ok(()) | Err(rustix::io::Errno::NOENT) => {}
            Err(e) => return Err(e.into()),
        }
        let flags = fs_at::OFlags::WRONLY
            | fs_at::OFlags::CREATE
            | fs_at::OFlags::EXCL
            | fs_at::OFlags::NOFOLLOW
            | fs_at::OFlags::NONBLOCK
            | fs_at::OFlags::CLOEXEC;
        let fd = fs_at::openat(&dir, tmp.as_os_str(), flags, fs_at::Mode::from_raw_mode(0o600))?;
        let mut bytes = Vec::with_capacity(hashes.len() * 32);
        for hash in hashes {
            bytes.extend_from_slice(hash);
        }
        let mut file = fs::File::from(fd);
        file.write_all(&bytes)?;
        drop(file);
        fs_at::renameat(&dir, tmp.as_os_str(), &dir, name)?;
        Ok(())
    }
}

impl Drop for TileBuilder {
    fn drop(&mut self) {
        if let Files::Thread { sender, handle } = &mut self.files {
            drop(sender.take());
            if let Some(handle) = handle.take() {
                let _finished = handle.join();
            }
        }
    }
}

impl TileBuilder {
    /// The tiles of an empty log.
    pub(crate) fn new(dir: &Path) -> Self {
        Self {
            size: 0,
            levels: Vec::new(),
            pending: Vec::new(),
            files: Files::Inline(TileFiles {
                dir: dir.to_path_buf(),
                partial_written: Vec::new(),
                maybe_partial: Vec::new(),
            }),
        }
    }

    /// Moves the writing of files to a thread of its own (if one can be started), so that
    /// [`TileBuilder::flush`] only hands the work over.
    pub(crate) fn in_background(mut self) -> Self {
        let Files::Inline(files) = &mut self.files else { return self };
        let mut files = TileFiles {
            dir: files.dir.clone(),
            partial_written: std::mem::take(&mut files.partial_written),
            maybe_partial: std::mem::take(&mut files.maybe_partial),
        };
        // A bounded queue: a thread that falls behind slows the writer instead of filling memory.
        let (sender, receiver) = sync_channel::<TileWork>(64);
        let spawned = std::thread::Builder::new().name("audit-tiles".to_owned()).spawn(move || {
            for mut work in receiver {
                let done = work.done.take();
                let _derived_only = files.apply(work);
                if let Some(done) = done {
                    let _waiter_gone = done.send(());
                }
            }
        });
        if let Ok(handle) = spawned {
            self.files = Files::Thread { sender: Some(sender), handle: Some(handle) };
        }
        self
    }

    fn maybe_partial_mut(&mut self) -> Option<&mut Vec<Option<u64>>> {
        match &mut self.files {
            Files::Inline(files) => Some(&mut files.maybe_partial),
            Files::Thread { .. } => None,
        }
    }

    /// Adds the next leaf hash; call it before the leaf goes into the tree, and hand the tree's
    /// completed subtrees to [`TileBuilder::completed`].
    pub(crate) fn push_leaf(&mut self, leaf: Hash) {
        self.size += 1;
        self.add(0, leaf);
    }

    /// The root of a perfect subtree of `level` that the last leaf completed (as
    /// `CompactTree::try_push_reporting` reports it): the roots of levels 8, 16, ... are the
    /// hashes of tiles above level 0, so tiles cost no hashing beyond the tree's own.
    pub(crate) fn completed(&mut self, level: u32, root: &Hash) {
        if level.is_multiple_of(TILE_HEIGHT) {
            self.add(level / TILE_HEIGHT, *root);
        }
    }

    /// Adds the leaf to the tree and to the tiles.
    pub(crate) fn push_with(&mut self, tree: &mut CompactTree, leaf: Hash) {
        self.push_leaf(leaf);
        let _full = tree.try_push_reporting(leaf, |level, root| self.completed(level, root));
    }

    fn add(&mut self, tile_level: u32, hash: Hash) {
        let level = usize::try_from(tile_level).unwrap_or(usize::MAX);
        while self.levels.len() <= level {
            self.levels.push(Vec::with_capacity(TILE_WIDTH));
        }
        self.levels[level].push(hash);
        if self.levels[level].len() == TILE_WIDTH {
            let full = std::mem::replace(&mut self.levels[level], Vec::with_capacity(TILE_WIDTH));
            let index = tile_index(self.size, tile_level).saturating_sub(1);
            self.pending.push((tile_level, index, full));
        }
    }

    /// Writes (or hands over for writing) the full tiles completed so far, whose records are
    /// durable, and with `partials` the partial tiles of the current size (at every checkpoint
    /// and resume note), then `note` (a signed resume note of the current size). With `wait`,
    /// returns only once the thread has written them.
    pub(crate) fn flush(
        &mut self,
        partials: bool,
        wait: bool,
        note: Option<String>,
    ) -> io::Result<()> {
        let mut work = TileWork {
            full: std::mem::take(&mut self.pending),
            partials: Vec::new(),
            done: None,
            note,
        };
        if partials {
            for (level, hashes) in self.levels.iter().enumerate() {
                if hashes.is_empty() {
                    continue;
                }
                let tile_level = u32::try_from(level).unwrap_or(u32::MAX);
                work.partials.push((tile_level, tile_index(self.size, tile_level), hashes.clone()));
            }
        }
        if work.full.is_empty() && work.partials.is_empty() && work.note.is_none() {
            return Ok(());
        }
        match &mut self.files {
            Files::Inline(files) => files.apply(work),
            Files::Thread { sender: Some(sender), .. } => {
                let stopped = |_| io::Error::other("the tile writer stopped");
                if !wait {
                    return sender.send(work).map_err(stopped);
                }
                // The checkpoint is written after this returns: every tile of its size is then
                // on disk, so a proof at that size never waits for the thread to catch up.
                let (done, written) = channel();
                work.done = Some(done);
                sender.send(work).map_err(stopped)?;
                written.recv().map_err(|_| io::Error::other("the tile writer stopped"))
            }
            Files::Thread { sender: None, .. } => Ok(()),
        }
    }

    /// Writes one tile now.
    fn write_now(&mut self, relative: &Path, hashes: &[Hash]) -> io::Result<()> {
        match &mut self.files {
            Files::Inline(files) => files.write(relative, hashes),
            Files::Thread { .. } => Err(io::Error::other("tiles are written in the background")),
        }
    }

    /// Picks up the tiles of an existing log of the size and frontier `tree` (which recovery
    /// computed from the records): reads the partial tile of every level and checks it against
    /// the frontier, then checks every full tile those partial tiles name (the most recent ones,
    /// which a crash may have left short or zeroed) against the hash its parent holds, rewriting
    /// a bad leaf tile from its records. When anything else is missing or wrong, every tile is
    /// regenerated from the records. `None` when that is impossible (records removed by
    /// retention are needed): the writer then writes no tiles, and proofs come from the records.
    ///
    /// The tiles alone are tried first: after a clean close, and after a crash when the partial
    /// tiles of the resume note's size (`since_note`: the tree there and the leaf hashes after
    /// it, which recovery read) are on disk, no record is read. Reading the records of the last
    /// segment (from its header) is the fallback.
    pub(crate) fn resume(
        dir: &Path,
        tree: &CompactTree,
        since_note: Option<(&CompactTree, &[Hash])>,
    ) -> Option<Self> {
        let reader = LogReader::open(dir).ok()?;
        if let Some(builder) = Self::resume_from_disk(dir, &reader, tree, false) {
            return Some(builder);
        }
        if let Some((at_note, leaves)) = since_note
            && let Some(mut builder) = Self::resume_from_disk(dir, &reader, at_note, false)
        {
            let mut check = at_note.clone();
            for leaf in leaves {
                builder.push_with(&mut check, *leaf);
            }
            if check == *tree {
                return Some(builder);
            }
        }
        match Self::resume_from_disk(dir, &reader, tree, true) {
            Some(builder) => Some(builder),
            None => Self::rebuild(dir, &reader, tree),
        }
    }

    /// The tiles at the size and frontier of `tree`, from the partial tiles on disk, each checked
    /// against the frontier. With `records`, leaf hashes the tiles lack are read from the
    /// records; without, `None` when a tile is missing or wrong.
    fn resume_from_disk(
        dir: &Path,
        reader: &LogReader,
        tree: &CompactTree,
        records: bool,
    ) -> Option<Self> {
        let size = tree.size();
        let frontier = frontier_levels(tree);
        let bytes_read = Cell::new(0);
        let mut builder = Self::new(dir);
        builder.size = size;
        let mut tile_level = 0u32;
        while size.checked_shr(TILE_HEIGHT * tile_level).unwrap_or(0) > 0 {
            let level_len = size.checked_shr(TILE_HEIGHT * tile_level).unwrap_or(0);
            let width = usize::try_from(level_len & 0xff).unwrap_or(0);
            let index = level_len >> TILE_HEIGHT;
            let folds = |entries: &[Hash]| {
                entries.len() == width
                    && fold_bits(entries).into_iter().all(|(bit, hash)| {
                        frontier.get(&(bit + TILE_HEIGHT * tile_level)) == Some(&hash)
                    })
            };
            let mut entries = if width == 0 {
                Vec::new()
            } else {
                let mut hashes =
                    read_tile(dir, tile_level, index, width, &bytes_read).unwrap_or_default();
                hashes.truncate(width);
                hashes
            };
            if !folds(&entries) {
                if tile_level != 0 || !records {
                    return None;
                }
                entries = leaves_of(reader, size - u64::try_from(width).unwrap_or(0), size)?;
                if !folds(&entries) {
                    return None;
                }
            }
            builder.levels.push(entries);
            if let Some(maybe) = builder.maybe_partial_mut() {
                maybe.push(Some(index));
            }
            tile_level += 1;
        }
        // The full tiles each partial tile names must hash to what it holds.
        let mut scratch = Vec::new();
        for level in 1..builder.levels.len() {
            let tile_level = u32::try_from(level).unwrap_or(u32::MAX);
            let parent_index = tile_index(size, tile_level);
            for (i, expected) in builder.levels[level].clone().iter().enumerate() {
                let child = (parent_index << TILE_HEIGHT) + u64::try_from(i).unwrap_or(0);
                let found = read_tile(dir, tile_level - 1, child, TILE_WIDTH, &bytes_read);
                if found.is_ok_and(|h| subtree_root(&h, &mut scratch) == *expected) {
                    continue;
                }
                if tile_level != 1 || !records {
                    return None;
                }
                let first = child << TILE_HEIGHT;
                let leaves = leaves_of(reader, first, first + 256)?;
                if subtree_root(&leaves, &mut scratch) != *expected {
                    return None;
                }
                builder.write_now(&full_path(0, child), &leaves).ok()?;
            }
        }
        Some(builder)
    }

    /// Regenerates every tile from the records (all of them must be present).
    fn rebuild(dir: &Path, reader: &LogReader, tree: &CompactTree) -> Option<Self> {
        if reader.segments().first().is_none_or(|(first, _)| *first != 0) {
            return None;
        }
        // Everything is written anew; what was there (partial versions included) goes.
        match fs::remove_dir_all(dir.join(TILES_DIR)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return None,
            _ => {}
        }
        let mut builder = Self::new(dir);
        let mut check = CompactTree::new();
        for record in reader.records() {
            let record = record.ok()?;
            if record.seq >= tree.size() {
                break;
            }
            builder.push_with(&mut check, record.leaf_hash());
            if builder.pending.len() >= 64 {
                builder.flush(false, false, None).ok()?;
            }
        }
        if check != *tree {
            return None;
        }
        builder.flush(true, true, None).ok()?;
        Some(builder)
    }
}

/// The index of the tile of `tile_level` that the hash after the first `size` leaves goes into.
fn tile_index(size: u64, tile_level: u32) -> u64 {
    size.checked_shr(TILE_HEIGHT * (tile_level + 1)).unwrap_or(0)
}

/// The leaf hashes of records `from..to`, all of which must be present.
fn leaves_of(reader: &LogReader, from: u64, to: u64) -> Option<Vec<Hash>> {
    let mut leaves = Vec::new();
    for record in reader.records_from(from) {
        let record = record.ok()?;
        if record.seq >= to {
            break;
        }
        if record.seq != from + u64::try_from(leaves.len()).ok()? {
            return None;
        }
        leaves.push(record.leaf_hash());
    }
    (u64::try_from(leaves.len()).ok()? == to - from).then_some(leaves)
}

/// Opens the directory `relative` (plain names only) below the log directory `root` one
/// component at a time, refusing any component that is not a real directory (a symlink gives
/// `ELOOP` or `ENOTDIR`); with `create`, missing components are made (mode 0700).
fn open_dir_below(root: &Path, relative: &Path, create: bool) -> io::Result<OwnedFd> {
    let flags = fs_at::OFlags::RDONLY
        | fs_at::OFlags::DIRECTORY
        | fs_at::OFlags::NOFOLLOW
        | fs_at::OFlags::CLOEXEC;
    let mut dir = fs_at::open(root, flags, fs_at::Mode::empty())?;
    for component in relative.components() {
        let Component::Normal(name) = component else {
            return Err(io::Error::other("a tile path that is not a plain relative path"));
        };
        let next = match fs_at::openat(&dir, name, flags, fs_at::Mode::empty()) {
            Err(rustix::io::Errno::NOENT) if create => {
                match fs_at::mkdirat(&dir, name, fs_at::Mode::from_raw_mode(0o700)) {
                    Ok(()) | Err(rustix::io::Errno::EXIST) => {}
                    Err(e) => return Err(e.into()),
                }
                fs_at::openat(&dir, name, flags, fs_at::Mode::empty())?
            }
            other => other?,
        };
        dir = next;
    }
    Ok(dir)
}

/// Unlinks the regular files of the directory `dir` whose names `remove` selects; nothing
/// else (a symlink, a directory) is touched, and nothing is followed.
fn unlink_files_in(dir: &OwnedFd, remove: impl Fn(&str) -> bool) -> io::Result<()> {
    let mut names = Vec::new();
    for entry in fs_at::Dir::read_from(dir)? {
        let entry = entry?;
        let Ok(name) = entry.file_name().to_str() else { continue };
        if entry.file_type() == fs_at::FileType::RegularFile && remove(name) {
            names.push(name.to_owned());
        }
    }
    for name in names {
        fs_at::unlinkat(dir, name.as_str(), fs_at::AtFlags::empty())?;
    }
    Ok(())
}

/// Removes the partial versions of a tile narrower than `width`.
fn remove_partials_below(dir: &Path, level: u32, index: u64, width: usize) -> io::Result<()> {
    let partials = open_dir_below(dir, &partial_dir(level, index), false)?;
    unlink_files_in(&partials, |name| parse_width(name).is_some_and(|w| w < width))
}

/// Removes the partial versions of a tile once the full tile is written.
fn remove_partials(dir: &Path, level: u32, index: u64) -> io::Result<()> {
    let relative = partial_dir(level, index);
    let (Some(parent), Some(name)) = (relative.parent(), relative.file_name()) else {
        return Ok(());
    };
    let parent = match open_dir_below(dir, parent, false) {
        Ok(parent) => parent,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let flags = fs_at::OFlags::RDONLY
        | fs_at::OFlags::DIRECTORY
        | fs_at::OFlags::NOFOLLOW
        | fs_at::OFlags::CLOEXEC;
    let partials = match fs_at::openat(&parent, name, flags, fs_at::Mode::empty()) {
        Ok(partials) => partials,
        Err(rustix::io::Errno::NOENT) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    unlink_files_in(&partials, |_| true)?;
    fs_at::unlinkat(&parent, name, fs_at::AtFlags::REMOVEDIR)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use audit_chain::{MemoryTree, leaf_hash};

    #[test]
    fn tile_indexes_are_written_as_c2sp_paths() {
        assert_eq!(index_path(0), "000");
        assert_eq!(index_path(67), "067");
        assert_eq!(index_path(1234067), "x001/x234/067");
        assert_eq!(full_path(1, 1000).to_str(), Some("tiles/1/x001/000"));
        assert_eq!(partial_dir(0, 5).join("17").to_str(), Some("tiles/0/005.p/17"));
        assert_eq!(parse_width("17"), Some(17));
        for bad in ["0", "017", "256", "x", "", "1000"] {
            assert_eq!(parse_width(bad), None, "{bad}");
        }
    }

    #[test]
    fn tiles_serve_every_subtree_of_the_tree() {
        let dir = tempfile::tempdir().unwrap();
        let leaves: Vec<Hash> = (0u32..70_000).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let mut builder = TileBuilder::new(dir.path());
        let mut tree = CompactTree::new();
        for leaf in &leaves {
            builder.push_with(&mut tree, *leaf);
        }
        builder.flush(true, true, None).unwrap();
        let memory = MemoryTree::from_leaves(leaves.iter().copied());
        let size = memory.size();
        let source = TileSource::new(dir.path(), size);
        assert_eq!(audit_chain::root_at(&source, size).unwrap(), memory.root());
        for (old, new) in [(1, size), (256, size), (65_536, size), (69_999, size), (300, 65_537)] {
            assert_eq!(
                audit_chain::consistency_proof(&source, old, new).unwrap(),
                audit_chain::consistency_proof(&memory, old, new).unwrap(),
                "{old} -> {new}"
            );
        }
        for index in [0, 255, 256, 65_535, 65_536, 69_999] {
            assert_eq!(
                audit_chain::inclusion_proof(&source, index, size).unwrap(),
                audit_chain::inclusion_proof(&memory, index, size).unwrap()
            );
        }
    }
}
