//! `audit query`: search by actor, kind, category, severity, resource, time, client address,
//! sequence number, audit id, outcome and request id, oldest or newest first, with an offset
//! and a limit, in text, JSON, JSON lines or CSV, or only the count. Hits are printed as the
//! search finds them. Exit 0 with matches, 1 with none.

use anyhow::Context as _;
use audit_events::{EventKind, RecordKind, SystemKind};
use std::ops::ControlFlow;

use audit_store::{IndexFallback, Order, Query, QueryHit, QuerySink, query_each};
use input_validation::display_safe;

use crate::Ctx;
use crate::cli::{QueryArgs, QueryFormat};
use crate::error::{ExitStatus, usage};
use crate::output::RecordSink;
use crate::time::parse_range;

pub(crate) fn run(args: &QueryArgs, ctx: &mut Ctx<'_>) -> anyhow::Result<ExitStatus> {
    let mut kinds = Vec::new();
    for name in &args.kind {
        kinds.extend(parse_kinds(name)?);
    }
    let (since, until) =
        parse_range(args.since.as_deref(), args.until.as_deref(), ctx.now, &ctx.zone)?;
    let q = Query {
        actor: args.actor.clone(),
        kinds,
        category: args.category,
        min_severity: args.severity,
        resource: args.resource.clone(),
        since,
        until,
        ip: args.ip,
        seqs: args.seq,
        audit_id: args.audit_id,
        outcome: args.outcome,
        request_id: args.request_id.clone(),
        limit: args.limit.map(|n| n.saturating_add(args.offset)),
        order: if args.reverse { Order::Descending } else { Order::Ascending },
    };
    let mut sink = Printer {
        out: Some(&mut *ctx.out),
        err: &mut *ctx.err,
        format: args.format,
        count_only: args.count,
        skip: args.offset,
        printed: 0,
        records: None,
        failed: None,
    };
    let searched = query_each(&args.dir, &q, &mut sink);
    if let Some(e) = sink.failed.take() {
        return Err(e);
    }
    searched.with_context(|| format!("searching {}", args.dir.display()))?;
    let printed = sink.printed;
    if args.count {
        sink.out.take().map_or(Ok(()), |out| writeln!(out, "{printed}"))?;
        return Ok(if printed == 0 { ExitStatus::Finding } else { ExitStatus::Success });
    }
    sink.begin()?;
    if let Some(records) = sink.records.take() {
        records.finish()?;
    }
    if printed == 0 {
        writeln!(sink.err, "no record matched")?;
        return Ok(ExitStatus::Finding);
    }
    Ok(ExitStatus::Success)
}

/// Prints each hit as the search finds it (after skipping `--offset` hits), so memory does not
/// grow with the number of results.
struct Printer<'a> {
    /// The output, until the record writer takes it.
    out: Option<&'a mut dyn std::io::Write>,
    err: &'a mut dyn std::io::Write,
    format: QueryFormat,
    count_only: bool,
    skip: usize,
    printed: usize,
    /// The record writer, started (JSON's `[`, the CSV header) with the first hit or at the
    /// end, so a search that fails prints nothing.
    records: Option<RecordSink<'a>>,
    /// The first failure to write: the search is stopped and this is returned.
    failed: Option<anyhow::Error>,
}

impl Printer<'_> {
    fn begin(&mut self) -> anyhow::Result<()> {
        if let Some(out) = self.out.take() {
            self.records = Some(RecordSink::new(out, self.format)?);
        }
        Ok(())
    }

    fn print(&mut self, hit: &QueryHit) -> anyhow::Result<()> {
        self.begin()?;
        if let Some(records) = &mut self.records {
            records.write(&hit.record, &hit.prev_chain, &hit.chain)?;
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
