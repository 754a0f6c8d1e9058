//! Crash images, for tests: an [`Io`] seam that lets everything through until its `n`-th
//! durability point, there saves what the medium may hold if the machine died at that moment,
//! and then fails, as a crash would end the writer.
//!
//! The durability points are every operation of the seam that changes what is on disk: creating
//! a file, syncing a file, an atomic replacement, syncing the directory, cutting and removing
//! files. At point `n` the images saved are the directory as it is just before the operation and,
//! for a file sync, the variants a crash may leave of the bytes written since that file's last
//! sync: none of them, all of them, or the first half followed by zeros from the next sector
//! boundary (a torn write whose last sectors were allocated but never written). For a directory sync, a file created since the
//! previous directory sync may also be missing. This is the approach of redb's crash tests: enumerate
//! every point, and prove each image reopens and verifies.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use audit_store::io::{Io, IoFile, OsIo};

/// What turns a copy of the directory into one crash image.
type Adjust = Box<dyn Fn(&Path) -> io::Result<()>>;

/// The unit a disk writes whole.
const SECTOR: u64 = 512;

/// See the module documentation.
#[derive(Debug, Clone)]
pub struct CrashIo {
    state: Arc<Mutex<CrashState>>,
}

#[derive(Debug)]
struct CrashState {
    /// The durability point to crash at (1-based); `u64::MAX` never crashes.
    crash_at: u64,
    /// Durability points seen so far.
    points: u64,
    /// Where images go: `<images>/<n>-<variant>/` (a copy of the log directory).
    images: PathBuf,
    /// The images written.
    written: Vec<PathBuf>,
    /// Per file: its length at its last sync.
    synced: BTreeMap<PathBuf, u64>,
    /// Files created since the directory was last synced.
    created: Vec<PathBuf>,
    crashed: bool,
}

impl CrashIo {
    /// A seam that crashes at durability point `crash_at` (1-based), saving images under
    /// `images`; `u64::MAX` counts points without crashing.
    pub fn new(crash_at: u64, images: &Path) -> Self {
        let state = CrashState {
            crash_at,
            points: 0,
            images: images.to_owned(),
            written: Vec::new(),
            synced: BTreeMap::new(),
            created: Vec::new(),
            crashed: false,
        };
        Self { state: Arc::new(Mutex::new(state)) }
    }

    /// Durability points passed so far.
    pub fn points(&self) -> u64 {
        self.lock().points
    }

    /// Whether the crash happened.
    pub fn crashed(&self) -> bool {
        self.lock().crashed
    }

    /// The crash images saved, each a directory holding a copy of the log directory.
    pub fn images(&self) -> Vec<PathBuf> {
        self.lock().written.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, CrashState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts a durability point at an operation on `path`; at the crash point, saves the images
    /// and returns the error that ends the writer.
    fn point(&self, path: &Path, file_sync: Option<u64>, dir_sync: bool) -> io::Result<()> {
        let mut state = self.lock();
        if state.crashed {
            return Err(io::Error::other("simulated crash (the machine is down)"));
        }
        state.points += 1;
        if state.points != state.crash_at {
            return Ok(());
        }
        state.crashed = true;
        let dir = if dir_sync { path.to_owned() } else { path.parent().unwrap_or(path).to_owned() };
        let n = state.points;
        let mut variants: Vec<(String, Adjust)> =
            vec![("as-is".to_owned(), Box::new(|_: &Path| Ok(())))];
        if let Some(len) = file_sync {
            let synced = state.synced.get(path).copied().unwrap_or(0);
            let name = path.file_name().map(ToOwned::to_owned).unwrap_or_default();
            if len > synced {
                let lost = name.clone();
                variants.push((
                    "unwritten".to_owned(),
                    Box::new(move |image: &Path| truncate(&image.join(&lost), synced)),
                ));
                // Half of the pending bytes arrived; the sectors after them were allocated but
                // never written (sectors are written whole, so the zeros start on a boundary).
                let half = (synced + (len - synced) / 2).div_ceil(SECTOR) * SECTOR;
                if half < len {
                    let torn = name;
                    variants.push((
                        "torn".to_owned(),
                        Box::new(move |image: &Path| zero_from(&image.join(&torn), half, len)),
                    ));
                }
            }
        }
        if dir_sync {
            for created in state.created.clone() {
                let name = created.file_name().map(ToOwned::to_owned).unwrap_or_default();
                variants.push((
                    format!("without-{}", name.to_string_lossy()),
                    Box::new(move |image: &Path| std::fs::remove_file(image.join(&name))),
                ));
            }
        }
        for (label, adjust) in variants {
            let image = state.images.join(format!("{n:05}-{label}"));
            copy_dir(&dir, &image)?;
            adjust(&image)?;
            state.written.push(image);
        }
        Err(io::Error::other("simulated crash"))
    }

    fn synced(&self, path: &Path, len: u64) {
        self.lock().synced.insert(path.to_owned(), len);
    }
}

fn truncate(path: &Path, len: u64) -> io::Result<()> {
    std::fs::OpenOptions::new().write(true).open(path)?.set_len(len)
}

fn zero_from(path: &Path, from: u64, len: u64) -> io::Result<()> {
    use std::io::{Seek as _, SeekFrom, Write as _};
    let mut file = std::fs::OpenOptions::new().write(true).open(path)?;
    file.seek(SeekFrom::Start(from))?;
    let zeros = vec![0u8; usize::try_from(len - from).unwrap_or(0)];
    file.write_all(&zeros)
}

fn copy_dir(from: &Path, to: &Path) -> io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        if entry.file_type()?.is_file() && entry.file_name() != "lock" {
            std::fs::copy(entry.path(), to.join(entry.file_name()))?;
        }
    }
    Ok(())
}

struct CrashFile {
    inner: Box<dyn IoFile>,
    path: PathBuf,
    len: u64,
    io: CrashIo,
}

impl IoFile for CrashFile {
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        if self.io.crashed() {
            return Err(io::Error::other("simulated crash (the machine is down)"));
        }
        self.inner.write_all(buf)?;
        self.len += u64::try_from(buf.len()).unwrap_or(0);
        Ok(())
    }

    fn sync_data(&mut self) -> io::Result<()> {
        self.io.point(&self.path, Some(self.len), false)?;
        self.inner.sync_data()?;
        self.io.synced(&self.path, self.len);
        Ok(())
    }
}

impl Io for CrashIo {
    fn create_new(&self, path: &Path) -> io::Result<Box<dyn IoFile>> {
        self.point(path, None, false)?;
        let inner = OsIo.create_new(path)?;
        self.lock().created.push(path.to_owned());
        self.synced(path, 0);
        Ok(Box::new(CrashFile { inner, path: path.to_owned(), len: 0, io: self.clone() }))
    }

    fn open_append(&self, path: &Path) -> io::Result<Box<dyn IoFile>> {
        let inner = OsIo.open_append(path)?;
        let len = std::fs::metadata(path)?.len();
        self.synced(path, len);
        Ok(Box::new(CrashFile { inner, path: path.to_owned(), len, io: self.clone() }))
    }

    fn write_atomic(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        self.point(path, None, false)?;
        OsIo.write_atomic(path, bytes)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        self.point(dir, None, true)?;
        OsIo.sync_dir(dir)?;
        self.lock().created.clear();
        Ok(())
    }

    fn truncate(&self, path: &Path, len: u64) -> io::Result<()> {
        self.point(path, None, false)?;
        OsIo.truncate(path, len)?;
        self.synced(path, len);
        Ok(())
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        self.point(path, None, false)?;
        OsIo.remove(path)
    }
}
