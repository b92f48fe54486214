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
        // serde_json writes in pieces of a few bytes: buffered here, where
        // the buffer's type is known, they cost a copy each rather than a
        // call through `out`.
        let mut buffered = io::BufWriter::with_capacity(1 << 16, out);
        serde_json::to_writer_pretty(&mut buffered, &doc)?;
        buffered.write_all(b"\n")?;
        buffered.flush()
    }
}
