//! The JSON report: the summary, then one result per URL, sorted by URL.

use std::io::{self, Write};

use serde::Serialize;

use super::{CheckResult, Report, Reporter, Summary};

/// `--format json`.
pub struct Json;

impl Reporter for Json {
    fn write(&self, report: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
        #[derive(Serialize)]
        struct Document<'a> {
            summary: &'a Summary,
            results: &'a [CheckResult],
        }
        let doc = Document {
            summary: report.summary,
            results: report.results,
        };
        serde_json::to_writer_pretty(&mut *out, &doc)?;
        out.write_all(b"\n")
    }
}
