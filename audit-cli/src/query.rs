//! `audit query`: search by actor, kind, category, severity, resource, time, client address,
//! sequence number and audit id, oldest or newest first, with an offset and a limit, in text,
//! JSON, JSON lines or CSV, or only the count. Exit 0 with matches, 1 with none.

use anyhow::Context as _;
use audit_events::{EventKind, RecordKind, SystemKind};
use std::ops::ControlFlow;

use audit_store::{IndexFallback, Order, Query, QueryHit, QuerySink, query_each};
use input_validation::display_safe;

use crate::Ctx;
use crate::cli::{QueryArgs, QueryFormat};
use crate::error::{ExitStatus, usage};
use crate::output::{CSV_HEADER, csv_row, json_line, record_json, text_line};
use crate::time::parse_time;

pub(crate) fn run(args: &QueryArgs, ctx: &mut Ctx<'_>) -> anyhow::Result<ExitStatus> {
    let mut kinds = Vec::new();
    for name in &args.kind {
        kinds.extend(parse_kinds(name)?);
    }
    let q = Query {
        actor: args.actor.clone(),
        kinds,
        category: args.category,
        min_severity: args.severity,
        resource: args.resource.clone(),
        since: args.since.as_deref().map(|t| parse_time(t, ctx.now)).transpose()?,
        until: args.until.as_deref().map(|t| parse_time(t, ctx.now)).transpose()?,
        ip: args.ip,
        seqs: args.seq,
        audit_id: args.audit_id,
        limit: args.limit.map(|n| n.saturating_add(args.offset)),
        order: if args.reverse { Order::Descending } else { Order::Ascending },
    };
    let mut sink = Printer {
        out: &mut *ctx.out,
        err: &mut *ctx.err,
        format: args.format,
        count_only: args.count,
        skip: args.offset,
        printed: 0,
        begun: false,
        failed: None,
    };
    let searched = query_each(&args.dir, &q, &mut sink);
    if let Some(e) = sink.failed.take() {
        return Err(e);
    }
    searched.with_context(|| format!("searching {}", args.dir.display()))?;
    let printed = sink.printed;
    if args.count {
        writeln!(ctx.out, "{printed}")?;
        return Ok(if printed == 0 { ExitStatus::Finding } else { ExitStatus::Success });
    }
    sink.end()?;
    if printed == 0 {
        writeln!(ctx.err, "no record matched")?;
        return Ok(ExitStatus::Finding);
    }
    Ok(ExitStatus::Success)
}

/// Prints each hit as the search finds it (after skipping `--offset` hits), so memory does not
/// grow with the number of results.
struct Printer<'a> {
    out: &'a mut dyn std::io::Write,
    err: &'a mut dyn std::io::Write,
    format: QueryFormat,
    count_only: bool,
    skip: usize,
    printed: usize,
    /// The opening of the output (JSON's `[`, the CSV header) was written: it is written with
    /// the first hit, or at the end, so a search that fails prints nothing.
    begun: bool,
    /// The first failure to write: the search is stopped and this is returned.
    failed: Option<anyhow::Error>,
}

impl Printer<'_> {
    fn begin(&mut self) -> anyhow::Result<()> {
        if std::mem::replace(&mut self.begun, true) {
            return Ok(());
        }
        match self.format {
            QueryFormat::Json => writeln!(self.out, "[")?,
            QueryFormat::Csv => self.out.write_all(CSV_HEADER.as_bytes())?,
            QueryFormat::Text | QueryFormat::Jsonl => {}
        }
        Ok(())
    }

    fn end(&mut self) -> anyhow::Result<()> {
        self.begin()?;
        if self.format == QueryFormat::Json {
            if self.printed > 0 {
                writeln!(self.out)?;
            }
            writeln!(self.out, "]")?;
        }
        Ok(())
    }

    fn print(&mut self, hit: &QueryHit) -> anyhow::Result<()> {
        self.begin()?;
        let out = &mut *self.out;
        match self.format {
            QueryFormat::Text => writeln!(out, "{}", text_line(&hit.record))?,
            QueryFormat::Jsonl => writeln!(
                out,
                "{}",
                json_line(&record_json(&hit.record, &hit.prev_chain, &hit.chain)?)
            )?,
            QueryFormat::Json => {
                if self.printed > 0 {
                    writeln!(out, ",")?;
                }
                let value = record_json(&hit.record, &hit.prev_chain, &hit.chain)?;
                write!(out, "{}", json_line(&value))?;
            }
            QueryFormat::Csv => {
                out.write_all(csv_row(&hit.record, &hit.prev_chain, &hit.chain).as_bytes())?;
            }
        }
        Ok(())
    }
}

impl QuerySink for Printer<'_> {
    fn hit(&mut self, hit: QueryHit) -> ControlFlow<()> {
        if self.skip > 0 {
            self.skip -= 1;
            return ControlFlow::Continue(());
        }
        if !self.count_only
            && let Err(e) = self.print(&hit)
        {
            self.failed = Some(e);
            return ControlFlow::Break(());
        }
        self.printed += 1;
        ControlFlow::Continue(())
    }

    fn index_not_used(&mut self, fallback: IndexFallback) {
        let written = writeln!(
            self.err,
            "note: index of {} not used ({}); the segment was searched frame by frame",
            display_safe(&fallback.segment),
            display_safe(&fallback.reason)
        );
        if let Err(e) = written {
            self.failed.get_or_insert(e.into());
        }
    }
}

/// A dotted kind name, or a family `prefix.*` (`auth.*`, `security.*`, `system.*`).
pub(crate) fn parse_kinds(name: &str) -> anyhow::Result<Vec<RecordKind>> {
    if let Some(prefix) = name.strip_suffix(".*") {
        let family = format!("{prefix}.");
        let mut kinds: Vec<RecordKind> = EventKind::ALL
            .iter()
            .filter(|k| k.as_str().starts_with(&family))
            .map(|k| RecordKind::Event(*k))
            .collect();
        kinds.extend(
            SystemKind::ALL
                .iter()
                .filter(|k| k.as_str().starts_with(&family))
                .map(|k| RecordKind::System(*k)),
        );
        if !kinds.is_empty() {
            return Ok(kinds);
        }
    } else if let Ok(kind) = name.parse::<RecordKind>() {
        return Ok(vec![kind]);
    }
    Err(usage(format!(
        "unknown kind `{}`: use a dotted name such as auth.failure or system.seal, or a family \
         such as auth.*, security.*, system.* (`audit kinds` lists the event kinds)",
        display_safe(name)
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_families_parse() {
        assert_eq!(
            parse_kinds("auth.failure").unwrap(),
            [RecordKind::Event(EventKind::AuthFailure)]
        );
        assert_eq!(parse_kinds("system.*").unwrap().len(), SystemKind::ALL.len());
        assert_eq!(parse_kinds("security.*").unwrap().len(), 8);
        assert_eq!(parse_kinds("auth.*").unwrap().len(), 2);
        for bad in ["auth", "nope.*", "auth.nope", ".*", "*"] {
            assert!(parse_kinds(bad).is_err(), "{bad}");
        }
    }
}
