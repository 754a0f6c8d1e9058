//! The report as one self-contained HTML file: inline CSS and an inline SVG bar chart of
//! events per day by category; no script, no external resource. Every string taken from the
//! log is made display-safe and then HTML-escaped.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use audit_events::Category;
use audit_store::Verdict;
use input_validation::display_safe;

use super::{EVENT_CATEGORIES, Item, MAX_LISTED, Report, day_label};

/// At most this many bars; longer periods are grouped into buckets of several days.
const MAX_BARS: i64 = 92;
const CHART_WIDTH: i64 = 760;
const CHART_HEIGHT: i64 = 220;
/// Bars of a short period stay narrow instead of filling the chart.
const MAX_BAR_WIDTH: i64 = 40;
/// One colour per event category, in [`EVENT_CATEGORIES`] order.
const COLOURS: [&str; 7] =
    ["#4e79a7", "#59a14f", "#9c755f", "#b07aa1", "#e15759", "#f28e2b", "#76b7b2"];

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em auto;max-width:60em;\
color:#222;line-height:1.4}table{border-collapse:collapse;margin:.5em 0 1.5em}\
th,td{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top;\
font-size:.9em}th{background:#f3f3f3}td.n{text-align:right}.pass{color:#1a7f37;\
font-weight:bold}.fail{color:#c0392b;font-weight:bold}.unproven{color:#9a6700;\
font-weight:bold}code{font-size:.9em}\
.legend span{display:inline-block;margin-right:1em;font-size:.85em}\
.legend i{display:inline-block;width:.8em;height:.8em;margin-right:.3em}";

/// Display-safe, then HTML-escaped for text and attribute values.
pub(crate) fn h(text: &str) -> String {
    let safe = display_safe(text);
    let mut out = String::with_capacity(safe.len() + 8);
    for c in safe.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

fn items(o: &mut String, items: &[Item], total: u64) {
    if items.is_empty() {
        o.push_str("<p>None in this period.</p>\n");
        return;
    }
    o.push_str(
        "<table><tr><th>seq</th><th>time</th><th>kind</th><th>severity</th><th>subject</th>\
         <th>details</th></tr>\n",
    );
    for i in items {
        let _ = writeln!(
            o,
            "<tr><td class=n>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
            i.seq,
            i.time,
            i.kind,
            i.severity,
            h(&i.subject),
            h(&i.details)
        );
    }
    o.push_str("</table>\n");
    let listed = u64::try_from(items.len()).unwrap_or(u64::MAX);
    if total > listed {
        let _ =
            writeln!(o, "<p>{} more not listed (at most {MAX_LISTED} are).</p>", total - listed);
    }
}

/// The stacked bar chart: one bar per day (or bucket of days), one colour per category.
fn chart(o: &mut String, per_day: &BTreeMap<i64, [u64; 7]>) {
    let (Some(first), Some(last)) = (per_day.keys().next(), per_day.keys().next_back()) else {
        o.push_str("<p>No events in this period.</p>\n");
        return;
    };
    let days = last - first + 1;
    let per_bar = (days + MAX_BARS - 1) / MAX_BARS;
    let bars = (days + per_bar - 1) / per_bar;
    let mut totals = vec![[0u64; 7]; usize::try_from(bars).unwrap_or(0)];
    for (day, counts) in per_day {
        let bar = usize::try_from((day - first) / per_bar).unwrap_or(0);
        if let Some(slot) = totals.get_mut(bar) {
            for (t, n) in slot.iter_mut().zip(counts) {
                *t += n;
            }
        }
    }
    let max = totals.iter().map(|t| t.iter().sum::<u64>()).max().unwrap_or(0).max(1);
    let left = 40;
    let plot = CHART_HEIGHT - 30;
    let width = ((CHART_WIDTH - left) / bars.max(1)).min(MAX_BAR_WIDTH);
    let _ = writeln!(
        o,
        "<svg width=\"{CHART_WIDTH}\" height=\"{CHART_HEIGHT}\" \
         role=\"img\" aria-label=\"events per day by category\">"
    );
    let _ = writeln!(
        o,
        "<line x1=\"{left}\" y1=\"{plot}\" x2=\"{CHART_WIDTH}\" y2=\"{plot}\" stroke=\"#888\"/>\
         <text x=\"{}\" y=\"12\" font-size=\"11\" text-anchor=\"end\">{max}</text>\
         <text x=\"{}\" y=\"{plot}\" font-size=\"11\" text-anchor=\"end\">0</text>",
        left - 4,
        left - 4
    );
    for (i, counts) in totals.iter().enumerate() {
        let i = i64::try_from(i).unwrap_or(0);
        let x = left + i * width;
        let label = if per_bar == 1 {
            day_label(first + i * per_bar)
        } else {
            format!(
                "{} to {}",
                day_label(first + i * per_bar),
                day_label(first + (i + 1) * per_bar - 1)
            )
        };
        let total: u64 = counts.iter().sum();
        let mut y = plot;
        let _ = write!(o, "<g><title>{label}: {total} events</title>");
        for (c, n) in counts.iter().enumerate() {
            if *n == 0 {
                continue;
            }
            let height =
                i64::try_from(*n * u64::try_from(plot - 12).unwrap_or(0) / max).unwrap_or(0).max(1);
            y -= height;
            let _ = write!(
                o,
                "<rect x=\"{x}\" y=\"{y}\" width=\"{}\" height=\"{height}\" fill=\"{}\"/>",
                (width - 1).max(1),
                COLOURS[c]
            );
        }
        o.push_str("</g>\n");
    }
    let _ = writeln!(
        o,
        "<text x=\"{left}\" y=\"{}\" font-size=\"11\">{}</text>\
         <text x=\"{CHART_WIDTH}\" y=\"{}\" font-size=\"11\" text-anchor=\"end\">{}</text></svg>",
        plot + 16,
        day_label(*first),
        plot + 16,
        day_label(*last)
    );
    o.push_str("<div class=legend>");
    for (c, colour) in EVENT_CATEGORIES.iter().zip(COLOURS) {
        let _ = write!(o, "<span><i style=\"background:{colour}\"></i>{}</span>", c.as_str());
    }
    o.push_str("</div>\n");
}

/// Renders the whole report.
pub(crate) fn render(r: &Report) -> String {
    let mut o = String::new();
    let title = format!("{} audit log report", r.framework_name());
    let _ = writeln!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\
         <title>{title}</title><style>{STYLE}</style></head><body>\n<h1>{title}</h1>\n<p>{}</p>",
        r.framework_scope()
    );
    let period = format!(
        "{} to {}",
        r.since.map_or_else(|| "start of log".to_owned(), |t| t.to_string()),
        r.until.map_or_else(|| "end of log".to_owned(), |t| t.to_string())
    );
    let found = match (r.first, r.last) {
        (Some((fs, ft)), Some((ls, lt))) => format!(
            "{} records ({} events), seq {fs} at {ft} to seq {ls} at {lt}",
            r.records, r.events
        ),
        _ => "no records".to_owned(),
    };
    let _ = writeln!(
        o,
        "<table><tr><th>Log directory</th><td>{}</td></tr><tr><th>Log id</th><td>{}</td></tr>\
         <tr><th>Service</th><td>{}</td></tr><tr><th>Generated</th><td>{}</td></tr>\
         <tr><th>Period requested</th><td>{period}</td></tr><tr><th>Found in period</th><td>{found}</td></tr></table>",
        h(&r.dir),
        h(&r.log_id),
        h(&r.service_id),
        r.generated_at
    );

    o.push_str("<h2>Integrity</h2>\n");
    let class = match r.verdict {
        Verdict::Pass => "pass",
        Verdict::Fail => "fail",
        _ => "unproven",
    };
    let _ = writeln!(
        o,
        "<p><span class={class}>{}</span>: {}.</p>",
        r.verdict.word(),
        h(&r.conclusion)
    );
    let _ = write!(
        o,
        "<ul><li>Checked with: {}</li><li>{}</li>",
        r.checked_with,
        h(&r.integrity_summary)
    );
    if let Some(failure) = &r.integrity_failure {
        let _ = write!(o, "<li>First failure: {}</li>", h(failure));
    }
    if let Some(error) = &r.read_error {
        let _ = write!(
            o,
            "<li>The log could not be read to the end; counts stop there: {}</li>",
            h(error)
        );
    }
    for w in &r.integrity_warnings {
        let _ = write!(o, "<li>Warning: {}</li>", h(w));
    }
    o.push_str("</ul>\n<h2>Events per day by category</h2>\n");
    chart(&mut o, &r.per_day);

    o.push_str("<h2>Events by category</h2>\n<table><tr><th>category</th><th>records</th></tr>");
    for (c, n) in Category::ALL.iter().zip(r.categories) {
        let _ = write!(o, "<tr><td>{}</td><td class=n>{n}</td></tr>", c.as_str());
    }
    o.push_str("</table>\n<h2>Events by kind</h2>\n<table><tr><th>kind</th><th>records</th></tr>");
    for (k, n) in &r.kinds {
        let _ = write!(o, "<tr><td>{k}</td><td class=n>{n}</td></tr>");
    }
    o.push_str("</table>\n");

    let _ = writeln!(o, "<h2>Security incidents ({})</h2>", r.incidents_total);
    items(&mut o, &r.incidents, r.incidents_total);

    let _ =
        writeln!(o, "<h2>Authentication failures by actor and IP ({})</h2>", r.auth_failures_total);
    if r.auth_failures.is_empty() {
        o.push_str("<p>None in this period.</p>\n");
    } else {
        o.push_str("<table><tr><th>actor</th><th>ip</th><th>failures</th><th>first seq</th><th>last seq</th></tr>\n");
        for ((actor, ip), f) in &r.auth_failures {
            let _ = writeln!(
                o,
                "<tr><td>{}</td><td>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td></tr>",
                h(actor),
                h(ip),
                f.count,
                f.first_seq,
                f.last_seq
            );
        }
        o.push_str("</table>\n");
    }

    let _ = writeln!(o, "<h2>GDPR requests and erasures ({})</h2>", r.gdpr_total);
    items(&mut o, &r.gdpr, r.gdpr_total);

    let class = if r.retention_ok() { "pass" } else { "fail" };
    let _ = writeln!(o, "<h2>Retention</h2>\n<p class={class}>{}</p>", h(&r.retention_status()));
    if !r.purges.is_empty() {
        o.push_str("<ul>");
        for p in &r.purges {
            let _ = write!(
                o,
                "<li>seq {} at {}: records {}..{} removed, {}-day retention</li>",
                p.seq, p.time, p.first_seq, p.last_seq, p.retention_days
            );
        }
        o.push_str("</ul>\n");
    }

    let _ = write!(
        o,
        "<h2>Dropped events, restarts and recoveries</h2>\n<ul><li>Events dropped: {}",
        r.dropped_total
    );
    if !r.drops.is_empty() {
        o.push_str("<ul>");
        for d in &r.drops {
            let by: Vec<String> = d.by_kind.iter().map(|(k, n)| format!("{} {n}", h(k))).collect();
            let _ =
                write!(o, "<li>seq {} at {}: {} ({})</li>", d.seq, d.time, d.total, by.join(", "));
        }
        o.push_str("</ul>");
    }
    let _ = write!(o, "</li><li>Writer restarts: {}", r.restarts.len());
    if !r.restarts.is_empty() {
        o.push_str("<ul>");
        for (seq, t, clean) in &r.restarts {
            let how = if *clean { "after a clean close" } else { "after an unclean stop" };
            let _ = write!(o, "<li>seq {seq} at {t}, {how}</li>");
        }
        o.push_str("</ul>");
    }
    let _ = write!(o, "</li><li>Crash recoveries: {}", r.recoveries.len());
    if !r.recoveries.is_empty() {
        o.push_str("<ul>");
        for (seq, t, segment, bytes) in &r.recoveries {
            let _ = write!(
                o,
                "<li>seq {seq} at {t}: {bytes} torn bytes discarded from {}</li>",
                h(segment)
            );
        }
        o.push_str("</ul>");
    }
    o.push_str("</li></ul>\n</body></html>\n");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_period_is_grouped_into_at_most_the_bar_limit() {
        let first = 20_000;
        let per_day: BTreeMap<i64, [u64; 7]> =
            (0..400).map(|d| (first + d, [1, 0, 0, 0, 2, 0, 0])).collect();
        let mut svg = String::new();
        chart(&mut svg, &per_day);
        let bars = svg.matches("<g>").count();
        assert!((80..=92).contains(&bars), "{bars} bars");
        assert_eq!(svg.matches("<rect ").count(), 2 * bars);
        assert!(svg.contains(&format!(
            "<title>{} to {}: ",
            day_label(first),
            day_label(first + 4)
        )));
        let mut empty = String::new();
        chart(&mut empty, &BTreeMap::new());
        assert!(empty.contains("No events"));
    }

    #[test]
    fn html_escaping_neutralises_markup_and_controls() {
        let shown = h("<img src=x onerror=alert(1)> \"'& \u{1b}[2J\u{202e}");
        assert!(!shown.contains('<') && !shown.contains('"') && !shown.contains('\''), "{shown}");
        assert!(shown.contains("&lt;img") && shown.contains(r"\x1b[2J"), "{shown}");
        assert!(!shown.chars().any(input_validation::is_dangerous), "{shown}");
    }
}
