//! `audit tail`: the last records of a log, and with `-f` every new record once it is in the
//! log (the writer makes each batch durable before it returns, and readers see only complete
//! frames).

use std::time::Duration;

use anyhow::Context as _;
use audit_store::LogReader;

use crate::Ctx;
use crate::cli::TailArgs;
use crate::error::ExitStatus;
use crate::output::text_line;

/// How often `-f` looks for new records.
const POLL_INTERVAL: Duration = Duration::from_millis(200);

pub(crate) fn run(args: &TailArgs, ctx: &mut Ctx<'_>) -> anyhow::Result<ExitStatus> {
    let mut reader =
        LogReader::open(&args.dir).with_context(|| format!("opening {}", args.dir.display()))?;
    let end = next_seq(&reader)?;
    let mut next = print_from(&reader, end.saturating_sub(args.lines), ctx)?;
    ctx.out.flush()?;
    if !args.follow {
        return Ok(ExitStatus::Success);
    }
    loop {
        wait(POLL_INTERVAL);
        reader.refresh().context("listing the log's segments")?;
        next = print_from(&reader, next, ctx)?;
        ctx.out.flush()?;
    }
}

/// Waits in a command-line loop (between reads of the log; while the demo fleet runs). Nothing
/// races on this wait: it only paces the command.
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

/// Prints every record from `from` on; returns the sequence number to continue from.
fn print_from(reader: &LogReader, from: u64, ctx: &mut Ctx<'_>) -> anyhow::Result<u64> {
    let mut next = from;
    for stored in reader.records_from(from) {
        let stored = stored.context("reading the log (run `audit verify` for details)")?;
        writeln!(ctx.out, "{}", text_line(&stored.decode()?))?;
        next = stored.seq + 1;
    }
    Ok(next)
}
