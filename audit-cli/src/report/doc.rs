//! The report as a document: facts, then sections of blocks. The framework modules build it;
//! the Markdown, HTML and JSON renderers only lay it out, so the three formats say the same
//! things.

use std::collections::BTreeMap;

/// One table cell.
pub(crate) enum Cell {
    /// Text the report wrote itself (kind names, times, verdict words): escaped for the
    /// format, but not made display-safe twice.
    Own(String),
    /// Text taken from the log or the file system: made display-safe, then escaped.
    Log(String),
    /// A count or sequence number.
    Num(u64),
}

/// A table with a header row. `total` counts every row that exists; at most
/// [`super::MAX_LISTED`] are listed, and the renderers say how many were left out.
pub(crate) struct Table {
    pub(crate) columns: Vec<&'static str>,
    pub(crate) rows: Vec<Vec<Cell>>,
    pub(crate) total: u64,
    /// What to say when there is no row.
    pub(crate) empty: &'static str,
}

impl Table {
    pub(crate) fn new(columns: &[&'static str], empty: &'static str) -> Self {
        Self { columns: columns.to_vec(), rows: Vec::new(), total: 0, empty }
    }

    /// Adds a row; totals keep counting past the list limit.
    pub(crate) fn push(&mut self, row: Vec<Cell>) {
        self.total += 1;
        if self.rows.len() < super::MAX_LISTED {
            self.rows.push(row);
        }
    }
}

/// How a status word is shown: the word itself always says it; colour only repeats it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tone {
    Good,
    Bad,
    Unproven,
}

impl Tone {
    pub(crate) fn class(self) -> &'static str {
        match self {
            Self::Good => "good",
            Self::Bad => "bad",
            Self::Unproven => "unproven",
        }
    }
}

/// One piece of a section.
pub(crate) enum Block {
    /// A paragraph the report wrote; it may quote the log, so it is escaped like log text.
    Para(String),
    /// A status word and what it means (`NOT PROVEN: ...`).
    Status { word: String, tone: Tone, text: String },
    /// A table.
    Table(Table),
    /// The chart of events per day by category (HTML; a table in Markdown and JSON).
    Chart(BTreeMap<i64, [u64; 7]>),
    /// What the log cannot show for this section, and who must supply it.
    Limits(Vec<String>),
}

/// A section serving one or more controls.
pub(crate) struct Section {
    /// Stable identifier (HTML id, JSON key, tests).
    pub(crate) id: &'static str,
    pub(crate) title: String,
    /// The controls the section serves, as docs/COMPLIANCE.md lists them.
    pub(crate) controls: &'static [&'static str],
    pub(crate) blocks: Vec<Block>,
}

impl Section {
    pub(crate) fn new(id: &'static str, title: &str, controls: &'static [&'static str]) -> Self {
        Self { id, title: title.to_owned(), controls, blocks: Vec::new() }
    }

    pub(crate) fn para(&mut self, text: impl Into<String>) -> &mut Self {
        self.blocks.push(Block::Para(text.into()));
        self
    }

    pub(crate) fn table(&mut self, table: Table) -> &mut Self {
        self.blocks.push(Block::Table(table));
        self
    }

    pub(crate) fn status(&mut self, word: &str, tone: Tone, text: impl Into<String>) -> &mut Self {
        self.blocks.push(Block::Status { word: word.to_owned(), tone, text: text.into() });
        self
    }

    pub(crate) fn limits(&mut self, limits: &[&str]) -> &mut Self {
        self.blocks.push(Block::Limits(limits.iter().map(|s| (*s).to_owned()).collect()));
        self
    }
}

/// The whole report.
pub(crate) struct Doc {
    pub(crate) title: String,
    /// What the report is evidence for, in one paragraph.
    pub(crate) scope: String,
    /// Label and value rows at the top: log, service, period, checkpoint, query.
    pub(crate) facts: Vec<(&'static str, Cell)>,
    pub(crate) sections: Vec<Section>,
}
