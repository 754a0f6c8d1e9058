//! `audit export`: every record (events and system records) in order, one per line, with its
//! chain hashes, streamed from the segments in constant memory.

use anyhow::Context as _;
use audit_store::LogReader;

use crate::Ctx;
use crate::cli::{ExportArgs, ExportFormat};
use crate::error::ExitStatus;
use crate::output::{CSV_HEADER, csv_row, json_line, record_json};
use crate::time::parse_time;

pub(crate) fn run(args: &ExportArgs, ctx: &mut Ctx<'_>) -> anyhow::Result<ExitStatus> {
    let since = args.since.as_deref().map(|t| parse_time(t, ctx.now)).transpose()?;
    let until = args.until.as_deref().map(|t| parse_time(t, ctx.now)).transpose()?;
    let reader =
        LogReader::open(&args.dir).with_context(|| format!("opening {}", args.dir.display()))?;
    let out = &mut *ctx.out;
    if args.format == ExportFormat::Csv {
        out.write_all(CSV_HEADER.as_bytes())?;
    }
    for stored in reader.records() {
        let stored = stored.context("reading the log (run `audit verify` for details)")?;
        let record = stored.decode()?;
        if since.is_some_and(|s| record.time < s) || until.is_some_and(|u| record.time >= u) {
            continue;
        }
        match args.format {
            ExportFormat::Jsonl => writeln!(
                out,
                "{}",
                json_line(&record_json(&record, &stored.prev_chain, &stored.chain)?)
            )?,
            ExportFormat::Csv => {
                out.write_all(csv_row(&record, &stored.prev_chain, &stored.chain).as_bytes())?;
            }
        }
    }
    Ok(ExitStatus::Success)
}
