//! `report --populations DIR`: every record of each population the report summarises, as one
//! CSV file per population, for an auditor to draw samples from. Cells are display-safe and
//! formula-neutral (a cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return gets a
//! leading `'`).

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::Item;

/// Every population, by file name (`<name>.csv`); a population without records still gets its
/// file, with the header only.
pub(crate) const NAMES: [&str; 9] = [
    "sign-ins",
    "access-decisions",
    "tokens",
    "permission-changes",
    "changes",
    "security-events",
    "data-subject-requests",
    "erasures",
    "personal-data-access",
];

/// The CSV header of every population file.
const HEADER: [&str; 7] = ["seq", "time", "kind", "severity", "subject", "details", "action_taken"];

/// The population files being written.
pub(crate) struct Populations {
    dir: PathBuf,
    files: BTreeMap<&'static str, csv::Writer<File>>,
}

use crate::output::csv_cell as cell;

impl Populations {
    /// Creates the directory if needed.
    pub(crate) fn create(dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(Self { dir: dir.to_owned(), files: BTreeMap::new() })
    }

    /// The writer of population `name`, its file created with the header on first use.
    fn writer(&mut self, name: &'static str) -> anyhow::Result<&mut csv::Writer<File>> {
        Ok(match self.files.entry(name) {
            std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::btree_map::Entry::Vacant(e) => {
                let path = self.dir.join(format!("{name}.csv"));
                let file =
                    File::create(&path).with_context(|| format!("creating {}", path.display()))?;
                let mut writer = csv::Writer::from_writer(file);
                writer.write_record(HEADER)?;
                e.insert(writer)
            }
        })
    }

    /// Appends one record to population `name`.
    pub(crate) fn write(&mut self, name: &'static str, item: &Item) -> anyhow::Result<()> {
        self.writer(name)?.write_record([
            item.seq.to_string(),
            item.time.to_string(),
            item.kind.to_owned(),
            item.severity.to_string(),
            cell(&item.subject),
            cell(&item.details),
            cell(item.action.as_deref().unwrap_or("")),
        ])?;
        Ok(())
    }

    /// Flushes every file; returns the directory as shown in the report.
    pub(crate) fn finish(mut self) -> anyhow::Result<String> {
        for name in NAMES {
            self.writer(name)?;
        }
        for (name, mut writer) in self.files {
            writer.flush().with_context(|| format!("writing {name}.csv"))?;
        }
        Ok(self.dir.display().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised() {
        assert_eq!(cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell("-1+2"), "'-1+2");
        assert_eq!(cell("alice"), "alice");
        assert!(!cell("a\u{1b}[2J").contains('\u{1b}'));
    }
}
