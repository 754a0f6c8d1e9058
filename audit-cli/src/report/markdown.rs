//! The report as Markdown. Every string taken from the log is made display-safe and then
//! Markdown-escaped, so it can neither break a table nor become a link, an image or HTML.

use std::fmt::Write as _;

use input_validation::display_safe;

use super::doc::{Block, Cell, Doc, Table};
use super::{EVENT_CATEGORIES, MAX_LISTED, day_label};

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

/// Text the report wrote: only what could break a table cell is escaped.
fn own(text: &str) -> String {
    display_safe(text).replace('|', "\\|")
}

fn cell(c: &Cell) -> String {
    match c {
        Cell::Own(s) => own(s),
        Cell::Log(s) => md(s),
        Cell::Num(n) => n.to_string(),
    }
}

fn table(o: &mut String, t: &Table) {
    if t.rows.is_empty() {
        let _ = writeln!(o, "{}\n", t.empty);
        return;
    }
    let _ = writeln!(o, "| {} |", t.columns.join(" | "));
    let _ = writeln!(o, "|{}", "---|".repeat(t.columns.len()));
    for row in &t.rows {
        let cells: Vec<String> = row.iter().map(cell).collect();
        let _ = writeln!(o, "| {} |", cells.join(" | "));
    }
    let listed = t.rows.len() as u64;
    if t.total > listed {
        let _ = writeln!(o, "\n{} more not listed (at most {MAX_LISTED} are).", t.total - listed);
    }
    o.push('\n');
}

/// Renders the report, up to (not including) its digest line.
pub(crate) fn render(doc: &Doc) -> String {
    let mut o = String::new();
    let _ = write!(o, "# {}\n\n{}\n\n| | |\n|---|---|\n", doc.title, doc.scope);
    for (label, value) in &doc.facts {
        let _ = writeln!(o, "| {label} | {} |", cell(value));
    }
    o.push('\n');
    for s in &doc.sections {
        let _ = writeln!(o, "## {}\n", s.title);
        if !s.controls.is_empty() {
            let _ = writeln!(o, "Controls: {}\n", s.controls.join(", "));
        }
        for b in &s.blocks {
            match b {
                Block::Para(text) => {
                    let _ = writeln!(o, "{}\n", md(text));
                }
                Block::Status { word, text, .. } => {
                    let _ = writeln!(o, "**{word}**: {}\n", md(text));
                }
                Block::Table(t) => table(&mut o, t),
                Block::Chart(per_day) => {
                    if per_day.is_empty() {
                        o.push_str("No events in this period.\n\n");
                        continue;
                    }
                    o.push_str("Events per day by category:\n\n| date |");
                    for c in EVENT_CATEGORIES {
                        let _ = write!(o, " {} |", c.as_str());
                    }
                    let _ = writeln!(o, "\n|---|{}", "---|".repeat(EVENT_CATEGORIES.len()));
                    for (day, counts) in per_day.iter().take(MAX_LISTED) {
                        let _ = write!(o, "| {} |", day_label(*day));
                        for n in counts {
                            let _ = write!(o, " {n} |");
                        }
                        o.push('\n');
                    }
                    o.push('\n');
                }
                Block::Limits(limits) => {
                    o.push_str("What this log cannot show:\n\n");
                    for l in limits {
                        let _ = writeln!(o, "- {}", md(l));
                    }
                    o.push('\n');
                }
            }
        }
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
