//! `audit legal-hold`: place a legal hold on a log, or lift it.
//!
//! The hold is a `legal_hold` record appended to the chain by a writer that opens the log for
//! the purpose (so no other writer may hold it), with the operator's reason escaped like any text
//! a log stores. While a hold is in force the writer removes nothing by retention, and `audit
//! verify` reports a purge made under it as a finding. Exit 0 when the hold is in the state asked
//! for (placing a hold already in force records nothing), 2 for a bad reason, 3 when the log
//! could not be written (another writer holds it, an I/O error).

use anyhow::Context as _;
use audit_events::Timestamp;
use audit_store::{LogConfig, LogReader, LogWriter, StoreError};
use input_validation::{display_safe, escape_for_log};

use crate::Ctx;
use crate::cli::LegalHoldArgs;
use crate::error::{ExitStatus, usage};
use crate::output::print_json;
use serde_json::json;

pub(crate) fn run(args: &LegalHoldArgs, ctx: &mut Ctx<'_>) -> anyhow::Result<ExitStatus> {
    let (held, reason) = match (&args.set, &args.release) {
        (Some(reason), None) => (true, reason),
        (None, Some(reason)) => (false, reason),
        _ => return Err(usage("give one of --set REASON or --release REASON")),
    };
    let reason = escape_for_log(reason);
    let dir = &args.dir;
    let reader = LogReader::open(dir).with_context(|| format!("opening {}", dir.display()))?;
    let config = LogConfig::new(reader.meta().service_id.clone());
    drop(reader);
    let now = Timestamp::now();
    let mut writer = LogWriter::open(dir, config, now).map_err(|e| match e {
        StoreError::Locked { .. } => anyhow::anyhow!(
            "{} is held by another writer (a running service or `audit emit`); nothing was \
             written. Stop it first, or configure the hold in that service",
            dir.display()
        ),
        e => anyhow::Error::new(e).context(format!("opening {} for writing", dir.display())),
    })?;
    let changed = writer.set_legal_hold(held, &reason, now).context("recording the hold")?;
    let in_force = writer.legal_hold().map(ToOwned::to_owned);
    writer.close(Timestamp::now()).context("closing the log")?;
    if args.format.json() {
        print_json(
            ctx.out,
            &json!({
                "dir": dir.display().to_string(),
                "held": held,
                "changed": changed,
                "reason": if changed { Some(&*reason) } else { in_force.as_deref() },
            }),
        )?;
        return Ok(ExitStatus::Success);
    }
    let dir = display_safe(&dir.display().to_string()).into_owned();
    let line = match (held, changed, in_force) {
        (true, true, _) => format!("legal hold placed on {dir}: {}", display_safe(&reason)),
        (true, false, Some(kept)) => format!(
            "a legal hold was already in force on {dir} (nothing recorded): {}",
            display_safe(&kept)
        ),
        (false, true, _) => format!("legal hold lifted on {dir}: {}", display_safe(&reason)),
        _ => format!("no legal hold was in force on {dir} (nothing recorded)"),
    };
    writeln!(ctx.out, "{line}")?;
    Ok(ExitStatus::Success)
}
