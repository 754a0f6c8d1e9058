//! `audit kinds`: the event catalogue, every kind with its category, severity, lane and fields.
//!
//! Text is one block per kind; `--format json` is the object of
//! [`audit_events::catalogue_json`]. Both come from the catalogue table in `audit-events`, the
//! same data `docs/EVENTS.md` is generated from.

use std::fmt::Write as _;

use audit_events::{EventKind, catalogue_json};

use crate::Ctx;
use crate::cli::{KindsArgs, KindsFormat};
use crate::error::ExitStatus;
use crate::output::json_pretty;

pub(crate) fn run(args: &KindsArgs, ctx: &mut Ctx<'_>) -> anyhow::Result<ExitStatus> {
    let text = match args.format {
        KindsFormat::Text => text(),
        KindsFormat::Json => json_pretty(&catalogue_json()),
    };
    ctx.out.write_all(text.as_bytes())?;
    Ok(ExitStatus::Success)
}

/// One block per kind: the name line, then one line per field.
fn text() -> String {
    let mut out = String::new();
    for kind in EventKind::ALL {
        let _ = writeln!(
            out,
            "{}  category={}  severity={}  lane={}",
            kind.as_str(),
            kind.category().as_str(),
            kind.severity_rule(),
            kind.lane_rule(),
        );
        let _ = writeln!(out, "  {}", kind.summary());
        for field in kind.fields() {
            let bound = field.bound();
            if bound.is_empty() {
                let _ = writeln!(out, "  - {}: {}", field.name, field.type_label());
            } else {
                let _ = writeln!(out, "  - {}: {} ({bound})", field.name, field.type_label());
            }
        }
    }
    let _ = writeln!(
        out,
        "{} kinds. Records the log writes about itself are system.* kinds (audit query --kind \
         'system.*'); docs/EVENTS.md describes every field type.",
        EventKind::ALL.len()
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_block() {
        let text = text();
        let headers =
            text.lines().filter(|l| !l.starts_with(' ') && l.contains("category=")).count();
        assert_eq!(headers, EventKind::ALL.len());
        assert!(text.contains("auth.failure  category=authentication  severity=medium"));
    }
}
