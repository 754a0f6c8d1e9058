//! `audit export`: every record (events and system records) in order, with its chain hashes,
//! streamed from the segments in constant memory: JSON lines (the default), one JSON array, CSV
//! or text lines.

use anyhow::Context as _;
use audit_store::LogReader;

use crate::Ctx;
use crate::cli::ExportArgs;
use crate::error::ExitStatus;
use crate::output::RecordSink;
use crate::time::parse_range;

pub(crate) fn run(args: &ExportArgs, ctx: &mut Ctx<'_>) -> anyhow::Result<ExitStatus> {
    let (since, until) =
        parse_range(args.since.as_deref(), args.until.as_deref(), ctx.now, &ctx.zone)?;
    let reader =
        LogReader::open(&args.dir).with_context(|| format!("opening {}", args.dir.display()))?;
    let mut sink = RecordSink::new(&mut *ctx.out, args.format)?;
    for stored in reader.records() {
        let stored = stored.context("reading the log (run `audit verify` for details)")?;
        let record = stored.decode()?;
        if since.is_some_and(|s| record.time < s) || until.is_some_and(|u| record.time >= u) {
            continue;
        }
        sink.write(&record, &stored.prev_chain, &stored.chain)?;
    }
    sink.finish()?;
    Ok(ExitStatus::Success)
}
