//! `audit query`: search by actor, kind, category, severity, resource, time, client address,
//! sequence number, audit id, outcome and request id, oldest or newest first, with an offset and a limit, in text,
//! JSON, JSON lines or CSV, or only the count. Exit 0 with matches, 1 with none.

use anyhow::Context as _;
use audit_events::{EventKind, RecordKind, SystemKind};
use audit_store::{Order, Query, query_outcome};
use input_validation::display_safe;

use crate::Ctx;
use crate::cli::QueryArgs;
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
    let outcome = query_outcome(&args.dir, &q)
        .with_context(|| format!("searching {}", args.dir.display()))?;
    for fallback in &outcome.rebuilt_indexes {
        writeln!(
            ctx.err,
            "note: index of {} not used ({}); the segment was searched frame by frame",
            display_safe(&fallback.segment),
            display_safe(&fallback.reason)
        )?;
    }
    let hits: Vec<_> = outcome.hits.into_iter().skip(args.offset).collect();
    if args.count {
        writeln!(ctx.out, "{}", hits.len())?;
        return Ok(if hits.is_empty() { ExitStatus::Finding } else { ExitStatus::Success });
    }
    let mut sink = RecordSink::new(&mut *ctx.out, args.format)?;
    for hit in &hits {
        sink.write(&hit.record, &hit.prev_chain, &hit.chain)?;
    }
    sink.finish()?;
    if hits.is_empty() {
        writeln!(ctx.err, "no record matched")?;
        return Ok(ExitStatus::Finding);
    }
    Ok(ExitStatus::Success)
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
