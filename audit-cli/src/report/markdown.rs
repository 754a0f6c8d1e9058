//! The report as Markdown. Every string taken from the log is made display-safe and then
//! Markdown-escaped, so it can neither break a table nor become a link, an image or HTML.

use std::fmt::Write as _;

use audit_events::{Category, Timestamp};
use input_validation::display_safe;

use super::{EVENT_CATEGORIES, Item, MAX_LISTED, Report, day_label};

/// Display-safe, then every character that could make Markdown act escaped with a backslash:
/// emphasis, code, links and images, HTML, tables, entities, and the starts of autolinks
/// (`://`, `www.`). Strings from the log only ever appear mid-line, so line-start markers
/// (`#`, `-`, `+`) cannot take effect and are left alone.
pub(crate) fn md(text: &str) -> String {
    let safe = display_safe(text);
    let mut out = String::with_capacity(safe.len() + 8);
    for c in safe.chars() {
        if matches!(c, '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '!' | '~' | '&') {
            out.push('\\');
        }
        out.push(c);
    }
    out.replace("://", "\\:\\/\\/").replace("www.", "www\\.")
}

fn time_or_dash(t: Option<Timestamp>) -> String {
    t.map_or_else(|| "-".to_owned(), |t| t.to_string())
}

fn items(out: &mut String, items: &[Item], total: u64) {
    if items.is_empty() {
        out.push_str("None in this period.\n\n");
        return;
    }
    out.push_str(
        "| seq | time | kind | severity | subject | details |\n|---|---|---|---|---|---|\n",
    );
    for i in items {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            i.seq,
            i.time,
            i.kind,
            i.severity,
            md(&i.subject),
            md(&i.details)
        );
    }
    if total > items.len() as u64 {
        let _ = writeln!(
            out,
            "\n{} more not listed (at most {MAX_LISTED} are).",
            total - items.len() as u64
        );
    }
    out.push('\n');
}

/// Renders the whole report.
pub(crate) fn render(r: &Report) -> String {
    let mut o = String::new();
    let _ = write!(
        o,
        "# {} audit log report\n\n{}\n\n| | |\n|---|---|\n| Log directory | {} |\n| Log id | {} |\n\
         | Service | {} |\n| Generated | {} |\n| Period requested | {} to {} |\n",
        r.framework_name(),
        r.framework_scope(),
        md(&r.dir),
        md(&r.log_id),
        md(&r.service_id),
        r.generated_at,
        r.since.map_or_else(|| "start of log".to_owned(), |t| t.to_string()),
        r.until.map_or_else(|| "end of log".to_owned(), |t| t.to_string()),
    );
    let _ = writeln!(
        o,
        "| Found in period | {} records ({} events), first {} at {}, last {} at {} |\n",
        r.records,
        r.events,
        r.first.map_or_else(|| "-".to_owned(), |(s, _)| format!("seq {s}")),
        time_or_dash(r.first.map(|(_, t)| t)),
        r.last.map_or_else(|| "-".to_owned(), |(s, _)| format!("seq {s}")),
        time_or_dash(r.last.map(|(_, t)| t)),
    );

    o.push_str("## Integrity\n\n");
    let _ = writeln!(
        o,
        "**{}**: {}.\n\n- Checked with: {}\n- {}",
        r.verdict.word(),
        md(&r.conclusion),
        r.checked_with,
        md(&r.integrity_summary)
    );
    if let Some(failure) = &r.integrity_failure {
        let _ = writeln!(o, "- First failure: {}", md(failure));
    }
    if let Some(error) = &r.read_error {
        let _ =
            writeln!(o, "- The log could not be read to the end; counts stop there: {}", md(error));
    }
    for w in &r.integrity_warnings {
        let _ = writeln!(o, "- Warning: {}", md(w));
    }
    o.push('\n');

    o.push_str("## Events by category\n\n| category | records |\n|---|---|\n");
    for (c, n) in Category::ALL.iter().zip(r.categories) {
        let _ = writeln!(o, "| {} | {n} |", c.as_str());
    }
    o.push_str("\n## Events by kind\n\n");
    if r.kinds.is_empty() {
        o.push_str("None in this period.\n\n");
    } else {
        o.push_str("| kind | records |\n|---|---|\n");
        for (k, n) in &r.kinds {
            let _ = writeln!(o, "| {k} | {n} |");
        }
        o.push('\n');
    }
    if !r.per_day.is_empty() {
        o.push_str("## Events per day\n\n| date |");
        for c in EVENT_CATEGORIES {
            let _ = write!(o, " {} |", c.as_str());
        }
        o.push_str("\n|---|");
        o.push_str(&"---|".repeat(EVENT_CATEGORIES.len()));
        o.push('\n');
        for (day, counts) in r.per_day.iter().take(MAX_LISTED) {
            let _ = write!(o, "| {} |", day_label(*day));
            for n in counts {
                let _ = write!(o, " {n} |");
            }
            o.push('\n');
        }
        o.push('\n');
    }

    let _ = writeln!(o, "## Security incidents ({})\n", r.incidents_total);
    items(&mut o, &r.incidents, r.incidents_total);

    let _ = writeln!(o, "## Authentication failures by actor and IP ({})\n", r.auth_failures_total);
    if r.auth_failures.is_empty() {
        o.push_str("None in this period.\n\n");
    } else {
        o.push_str("| actor | ip | failures | first seq | last seq |\n|---|---|---|---|---|\n");
        for ((actor, ip), f) in &r.auth_failures {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} |",
                md(actor),
                md(ip),
                f.count,
                f.first_seq,
                f.last_seq
            );
        }
        o.push('\n');
    }

    let _ = writeln!(o, "## GDPR requests and erasures ({})\n", r.gdpr_total);
    items(&mut o, &r.gdpr, r.gdpr_total);

    let _ = writeln!(o, "## Retention\n\n{}\n", md(&r.retention_status()));
    for p in &r.purges {
        let _ = writeln!(
            o,
            "- seq {} at {}: records {}..{} removed, {}-day retention",
            p.seq, p.time, p.first_seq, p.last_seq, p.retention_days
        );
    }
    if !r.purges.is_empty() {
        o.push('\n');
    }

    let _ = writeln!(
        o,
        "## Dropped events, restarts and recoveries\n\n- Events dropped: {}",
        r.dropped_total
    );
    for d in &r.drops {
        let by: Vec<String> = d.by_kind.iter().map(|(k, n)| format!("{} {n}", md(k))).collect();
        let _ = writeln!(o, "  - seq {} at {}: {} ({})", d.seq, d.time, d.total, by.join(", "));
    }
    let _ = writeln!(o, "- Writer restarts: {}", r.restarts.len());
    for (seq, t, clean) in &r.restarts {
        let how = if *clean { "after a clean close" } else { "after an unclean stop" };
        let _ = writeln!(o, "  - seq {seq} at {t}, {how}");
    }
    let _ = writeln!(o, "- Crash recoveries: {}", r.recoveries.len());
    for (seq, t, segment, bytes) in &r.recoveries {
        let _ =
            writeln!(o, "  - seq {seq} at {t}: {bytes} torn bytes discarded from {}", md(segment));
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_escaping_neutralises_links_tables_html_and_controls() {
        let hostile = "[click](http://x) | <script> `x` \u{1b}[31m\u{202e}";
        let shown = md(hostile);
        assert!(!shown.contains("[click]") && !shown.contains("| <"), "{shown}");
        assert!(!shown.chars().any(input_validation::is_dangerous), "{shown}");
        assert!(shown.contains(r"\\x1b"), "{shown}");
    }
}
