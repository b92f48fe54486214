//! The text report: counts by verdict, then the problems by note with
//! line:column, verdict and reason.

use std::io::{self, Write};

use super::{CheckResult, Report, Reporter};

/// `--format text`.
pub struct Text;

impl Reporter for Text {
    fn write(&self, report: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "{}", report.summary.line())?;
        for (file, problems) in report.problems_by_note() {
            writeln!(out, "\n{}", file.unwrap_or("(command line)"))?;
            let at = |o: Option<&super::Occurrence>| {
                o.map_or_else(String::new, |o| format!("{}:{}", o.line, o.column))
            };
            // Positions padded to the widest in the note, so verdicts line up.
            let width = problems
                .iter()
                .map(|(o, _)| at(*o).len())
                .max()
                .unwrap_or(0);
            for (occurrence, result) in problems {
                let position = at(occurrence);
                if width > 0 {
                    write!(out, "  {position:<width$}")?;
                }
                write!(out, "  {:<13}  {}", result.verdict, result.url)?;
                if occurrence.is_some_and(|o| o.archived) {
                    // The note itself shows the archive's copy; the original is
                    // what died.
                    write!(out, "  [archived]")?;
                }
                detail(result, out)?;
            }
        }
        if let Some(recovered) = report.summary.recovered.as_ref().filter(|r| !r.is_empty()) {
            writeln!(out, "\nrecovered since the last run")?;
            for url in recovered {
                writeln!(out, "  {url}")?;
            }
        }
        Ok(())
    }
}

fn detail(r: &CheckResult, out: &mut dyn Write) -> io::Result<()> {
    if let Some(words) = r.history_words() {
        write!(out, "  [{words}]")?;
    }
    if let Some(reason) = &r.reason {
        write!(out, "  ({reason})")?;
    }
    if let Some(to) = &r.moved_to {
        write!(out, "  → {to}")?;
    }
    if let Some(copy) = &r.archived_copy {
        write!(out, "  [archived copy: {copy}]")?;
    }
    writeln!(out)
}
