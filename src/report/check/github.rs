//! GitHub Actions workflow commands: an `::error` annotation on the line of each
//! failing link, a `::warning` for the other problems (bot walls, timeouts), which
//! GitHub shows on the pull request's diff.

use std::io::{self, Write};

use super::{Report, Reporter};

/// `--format github`.
pub struct Github;

impl Reporter for Github {
    fn write(&self, report: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
        for (file, problems) in report.problems_by_note() {
            for (occurrence, result) in problems {
                let level = if report.fails(result.verdict) {
                    "error"
                } else {
                    "warning"
                };
                let title = format!("{} link", result.verdict);
                write!(out, "::{level} ")?;
                if let (Some(file), Some(o)) = (file, occurrence) {
                    write!(
                        out,
                        "file={},line={},col={},",
                        property(file),
                        o.line,
                        o.column
                    )?;
                }
                writeln!(
                    out,
                    "title={}::{}",
                    property(&title),
                    data(&super::message(result))
                )?;
            }
        }
        writeln!(out, "{}", report.summary.line())
    }
}

/// Escapes a message as workflow commands require.
fn data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a property value, which also may not hold `:` or `,`.
fn property(text: &str) -> String {
    data(text).replace(':', "%3A").replace(',', "%2C")
}
