//! The report as one self-contained HTML file: inline CSS and an inline SVG bar chart of
//! events per day by category; no script, no external resource. Every string taken from the
//! log is made display-safe and then HTML-escaped. Printed, each section starts a page, table
//! headers repeat, and no meaning rests on colour alone: every status is a word, and the
//! chart is followed by a table of the same counts per category.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use input_validation::display_safe;

use super::doc::{Block, Cell, Doc, Table};
use super::{EVENT_CATEGORIES, MAX_LISTED, day_label};

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
font-size:.9em;overflow-wrap:anywhere}th{background:#f3f3f3}td.n{text-align:right}\
.status{font-weight:bold;border:2px solid;padding:0 .3em}.good{color:#1a7f37}\
.bad{color:#c0392b}.unproven{color:#9a6700}code{font-size:.9em;word-break:break-all}\
.controls{font-size:.9em;color:#444}.limits{border-left:3px solid #999;padding-left:.8em}\
.legend span{display:inline-block;margin-right:1em;font-size:.85em}\
.legend i{display:inline-block;width:.8em;height:.8em;margin-right:.3em;border:1px solid #444}\
@media print{body{margin:0;max-width:none;font-size:10pt}section{break-before:page}\
section:first-of-type{break-before:auto}h2,h3{break-after:avoid}tr,svg,.status{break-inside:avoid}\
thead{display:table-header-group}a{color:inherit}}";

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

fn cell(c: &Cell) -> (String, bool) {
    match c {
        Cell::Own(s) | Cell::Log(s) => (h(s), false),
        Cell::Num(n) => (n.to_string(), true),
    }
}

fn table(o: &mut String, t: &Table) {
    if t.rows.is_empty() {
        let _ = writeln!(o, "<p>{}</p>", h(t.empty));
        return;
    }
    o.push_str("<table><thead><tr>");
    for c in &t.columns {
        let _ = write!(o, "<th>{}</th>", h(c));
    }
    o.push_str("</tr></thead><tbody>\n");
    for row in &t.rows {
        o.push_str("<tr>");
        for c in row {
            let (text, number) = cell(c);
            if number {
                let _ = write!(o, "<td class=n>{text}</td>");
            } else {
                let _ = write!(o, "<td>{text}</td>");
            }
        }
        o.push_str("</tr>\n");
    }
    o.push_str("</tbody></table>\n");
    let listed = u64::try_from(t.rows.len()).unwrap_or(u64::MAX);
    if t.total > listed {
        let _ =
            writeln!(o, "<p>{} more not listed (at most {MAX_LISTED} are).</p>", t.total - listed);
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
    o.push_str("</div>\n<table class=chart-data><thead><tr><th>category (colour)</th>");
    o.push_str("<th>events in the chart</th></tr></thead><tbody>");
    for (i, (c, colour)) in EVENT_CATEGORIES.iter().zip(COLOURS).enumerate() {
        let total: u64 = per_day.values().map(|counts| counts[i]).sum();
        let _ = write!(
            o,
            "<tr><td><i style=\"display:inline-block;width:.8em;height:.8em;margin-right:.3em;\
             background:{colour}\"></i>{}</td><td class=n>{total}</td></tr>",
            c.as_str()
        );
    }
    o.push_str("</tbody></table>\n");
}

/// Renders the report, up to (not including) its digest line and closing tags.
pub(crate) fn render(doc: &Doc) -> String {
    let mut o = String::new();
    let title = h(&doc.title);
    let _ = writeln!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\
         <title>{title}</title><style>{STYLE}</style></head><body>\n<header><h1>{title}</h1>\n<p>{}</p>",
        h(&doc.scope)
    );
    o.push_str("<table id=facts><tbody>");
    for (label, value) in &doc.facts {
        let _ = write!(o, "<tr><th>{}</th><td>{}</td></tr>", h(label), cell(value).0);
    }
    o.push_str("</tbody></table></header>\n<main>\n");
    for s in &doc.sections {
        let _ = writeln!(o, "<section id=\"{}\"><h2>{}</h2>", s.id, h(&s.title));
        if !s.controls.is_empty() {
            let _ = writeln!(o, "<p class=controls>Controls: {}</p>", h(&s.controls.join(", ")));
        }
        for b in &s.blocks {
            match b {
                Block::Para(text) => {
                    let _ = writeln!(o, "<p>{}</p>", h(text));
                }
                Block::Status { word, tone, text } => {
                    let _ = writeln!(
                        o,
                        "<p><span class=\"status {}\">{}</span>: {}</p>",
                        tone.class(),
                        h(word),
                        h(text)
                    );
                }
                Block::Table(t) => table(&mut o, t),
                Block::Chart(per_day) => chart(&mut o, per_day),
                Block::Limits(limits) => {
                    o.push_str("<div class=limits><h3>What this log cannot show</h3><ul>");
                    for l in limits {
                        let _ = write!(o, "<li>{}</li>", h(l));
                    }
                    o.push_str("</ul></div>\n");
                }
            }
        }
        o.push_str("</section>\n");
    }
    o.push_str("</main>\n");
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
