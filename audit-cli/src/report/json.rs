//! The report as one JSON object: the same facts and sections as the other formats (tables as
//! arrays of objects keyed by column), plus the figures a script wants without parsing them.

use serde_json::{Map, Value, json};

use super::doc::{Block, Cell, Doc};
use super::{EVENT_CATEGORIES, Report, day_label};
use crate::output::json_pretty;
use audit_events::Category;

fn cell(c: &Cell) -> Value {
    match c {
        Cell::Own(s) | Cell::Log(s) => json!(s),
        Cell::Num(n) => json!(n),
    }
}

fn block(b: &Block) -> Value {
    match b {
        Block::Para(text) => json!({ "text": text }),
        Block::Status { word, text, .. } => json!({ "status": word, "text": text }),
        Block::Table(t) => {
            let rows: Vec<Value> = t
                .rows
                .iter()
                .map(|row| {
                    let object: Map<String, Value> = t
                        .columns
                        .iter()
                        .zip(row)
                        .map(|(c, v)| ((*c).to_owned(), cell(v)))
                        .collect();
                    Value::Object(object)
                })
                .collect();
            json!({ "table": { "total": t.total, "rows": rows } })
        }
        Block::Chart(per_day) => {
            let days: Vec<Value> = per_day
                .iter()
                .map(|(day, counts)| {
                    let by: Map<String, Value> = EVENT_CATEGORIES
                        .iter()
                        .zip(counts)
                        .map(|(c, n)| (c.as_str().to_owned(), json!(n)))
                        .collect();
                    json!({ "date": day_label(*day), "events": by })
                })
                .collect();
            json!({ "events_per_day": days })
        }
        Block::Limits(limits) => json!({ "cannot_show": limits }),
    }
}

/// Renders the report, without its digest member.
pub(crate) fn render(doc: &Doc, r: &Report) -> String {
    let facts: Map<String, Value> =
        doc.facts.iter().map(|(label, value)| ((*label).to_owned(), cell(value))).collect();
    let sections: Vec<Value> = doc
        .sections
        .iter()
        .map(|s| {
            json!({
                "id": s.id,
                "title": s.title,
                "controls": s.controls,
                "blocks": s.blocks.iter().map(block).collect::<Vec<_>>(),
            })
        })
        .collect();
    let categories: Map<String, Value> = Category::ALL
        .iter()
        .zip(r.categories)
        .map(|(c, n)| (c.as_str().to_owned(), json!(n)))
        .collect();
    let value = json!({
        "title": doc.title,
        "framework": r.framework_name(),
        "scope": doc.scope,
        "generated_at": r.generated_at.to_string(),
        "facts": facts,
        "checkpoint": match &r.checkpoint {
            Ok(c) => json!({
                "origin": c.origin, "tree_size": c.size, "root": c.root,
                "authenticated": c.authenticated, "signature": c.signature,
            }),
            Err(e) => json!({ "error": e }),
        },
        "records_after_checkpoint": r.after_checkpoint,
        "period": {
            "since": r.since.map(|t| t.to_string()),
            "until": r.until.map(|t| t.to_string()),
            "records": r.records,
            "events": r.events,
        },
        "integrity": {
            "verdict": r.verdict.word(),
            "authenticated": r.verdict.is_authenticated(),
            "proven": r.verdict == audit_store::Verdict::Pass && r.passed(),
            "intact": r.intact,
            "conclusion": r.conclusion,
            "read_error": r.read_error,
        },
        "retention": {
            "policy_days": r.policy.as_ref().map(|p| p.days),
            "policy_source": r.policy.as_ref().map(|p| p.source),
            "log_age_days": r.age_days(),
            "purges": r.purges.len(),
        },
        "categories": categories,
        "kinds": r.kinds,
        "sections": sections,
    });
    json_pretty(&value)
}
