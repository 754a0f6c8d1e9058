//! `audit tail`: the last records of a log, and with `-f` every new record once it is in the
//! log, in text, JSON lines or CSV (one JSON array without `-f`).
//!
//! Following is event-driven: the log directory is watched with inotify (a segment written, a
//! new segment created, a checkpoint renamed into place), and each event wakes the command to
//! read what follows the last record printed. Readers see only complete frames, and the
//! command syncs the segment (`fdatasync` through its own descriptor) after reading new records
//! and before printing them: a record is printed once it is durable, even if the writer's own
//! sync has not returned yet, and recovery keeps every complete, chain-valid frame on the
//! medium, so a power loss never takes back a record a follower has shown. The watch is set
//! before the first read, so nothing written in between is missed.

use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use audit_store::{LogReader, StoredRecord};
use inotify::{EventMask, Inotify, WatchMask};

use crate::Ctx;
use crate::cli::{QueryFormat, TailArgs};
use crate::error::{ExitStatus, usage};
use crate::output::RecordSink;

pub(crate) fn run(args: &TailArgs, ctx: &mut Ctx<'_>) -> anyhow::Result<ExitStatus> {
    if args.follow && args.format == QueryFormat::Json {
        return Err(usage(
            "--format json prints one array, which a follower never closes: use --format jsonl \
             with -f",
        ));
    }
    let mut watch = if args.follow { Some(Watch::new(&args.dir)?) } else { None };
    let mut reader =
        LogReader::open(&args.dir).with_context(|| format!("opening {}", args.dir.display()))?;
    let end = next_seq(&reader)?;
    let mut sink = RecordSink::new(&mut *ctx.out, args.format)?;
    let mut next = print_from(&reader, end.saturating_sub(args.lines), &mut sink)?;
    let Some(watch) = &mut watch else {
        sink.finish()?;
        return Ok(ExitStatus::Success);
    };
    sink.flush()?;
    loop {
        watch.wait()?;
        reader.refresh().context("listing the log's segments")?;
        next = print_from(&reader, next, &mut sink)?;
        sink.flush()?;
    }
}

/// An inotify watch on the log directory.
struct Watch {
    inotify: Inotify,
    buffer: Vec<u8>,
}

impl Watch {
    fn new(dir: &Path) -> anyhow::Result<Self> {
        let inotify = Inotify::init().context("starting inotify")?;
        inotify
            .watches()
            .add(
                dir,
                WatchMask::MODIFY
                    | WatchMask::CREATE
                    | WatchMask::MOVED_TO
                    | WatchMask::CLOSE_WRITE
                    | WatchMask::DELETE_SELF
                    | WatchMask::MOVE_SELF,
            )
            .with_context(|| format!("watching {}", dir.display()))?;
        Ok(Self { inotify, buffer: vec![0; 4096] })
    }

    /// Blocks until something in the directory changed (every event queued is consumed; the
    /// caller then reads everything after the last record printed).
    fn wait(&mut self) -> anyhow::Result<()> {
        let events = self
            .inotify
            .read_events_blocking(&mut self.buffer)
            .context("reading inotify events")?;
        for event in events {
            if event
                .mask
                .intersects(EventMask::DELETE_SELF | EventMask::MOVE_SELF | EventMask::IGNORED)
            {
                anyhow::bail!("the log directory was removed or moved; stopped following it");
            }
        }
        Ok(())
    }
}

/// Waits in a command-line loop (while the demo fleet runs). Nothing races on this wait: it
/// only paces the command.
#[allow(clippy::disallowed_methods)]
pub(crate) fn wait(interval: Duration) {
    std::thread::sleep(interval);
}

/// The sequence number after the last complete record (read from the last segment only).
fn next_seq(reader: &LogReader) -> anyhow::Result<u64> {
    let Some((first, _)) = reader.segments().last() else { return Ok(0) };
    let mut next = *first;
    for record in reader.records_from(*first) {
        next = record.context("reading the log (run `audit verify` for details)")?.seq + 1;
    }
    Ok(next)
}

/// Records read before one sync and print: a follower that fell far behind holds at most this
/// many at a time.
const CHUNK: usize = 4096;

/// Prints every record from `from` on; returns the sequence number to continue from. Records
/// are read, then made durable ([`LogReader::sync_from`]), then printed, so nothing printed can
/// be lost to a power failure.
fn print_from(reader: &LogReader, from: u64, sink: &mut RecordSink<'_>) -> anyhow::Result<u64> {
    let mut next = from;
    let mut chunk = Vec::new();
    for stored in reader.records_from(from) {
        chunk.push(stored.context("reading the log (run `audit verify` for details)")?);
        if chunk.len() == CHUNK {
            next = print_durable(reader, &mut chunk, sink)?.unwrap_or(next);
        }
    }
    Ok(print_durable(reader, &mut chunk, sink)?.unwrap_or(next))
}

/// Syncs the segments that hold `chunk`, prints it and empties it; returns the sequence number
/// after its last record.
fn print_durable(
    reader: &LogReader,
    chunk: &mut Vec<StoredRecord>,
    sink: &mut RecordSink<'_>,
) -> anyhow::Result<Option<u64>> {
    let Some(first) = chunk.first() else { return Ok(None) };
    reader.sync_from(first.seq).context("making the records read durable before printing them")?;
    let mut next = None;
    for stored in chunk.drain(..) {
        sink.write(&stored.decode()?, &stored.prev_chain, &stored.chain)?;
        next = Some(stored.seq + 1);
    }
    Ok(next)
}
