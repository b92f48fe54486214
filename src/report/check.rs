//! `archiver check` output: a text report for people (counts, then the problems
//! by note) and JSON for programs (one result per URL, sorted by URL).

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::Arc;

use serde::Serialize;

use crate::link::Kind;
use crate::verdict::Verdict;

/// Output formats of `archiver check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum CheckFormat {
    /// Counts by verdict, then the problems grouped by note with line:column.
    #[default]
    Text,
    /// `{"summary": {…}, "results": [ … ]}`, one result per URL.
    Json,
}

/// Where a checked URL is cited.
#[derive(Debug, Clone, Serialize)]
pub struct Occurrence {
    /// The note (`-` for standard input).
    pub file: Arc<str>,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
    /// The link's kind.
    pub kind: Kind,
}

/// The verdict on one URL and where it is cited.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    /// The URL checked (normalized, without fragment), or the local path.
    pub url: String,
    /// The verdict.
    pub verdict: Verdict,
    /// The final HTTP status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Where redirects ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub final_url: Option<String>,
    /// The successor a moved page names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moved_to: Option<String>,
    /// Why, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Facts about the target.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
    /// Where the notes cite it (empty for a URL given on the command line).
    pub occurrences: Vec<Occurrence>,
}

/// The whole run.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Results per verdict, every verdict present, in [`Verdict::ALL`] order.
    #[serde(serialize_with = "super::links::ordered_map")]
    pub by_verdict: Vec<(Verdict, usize)>,
    /// URLs checked.
    pub urls: usize,
    /// Link occurrences they stand for.
    pub links: usize,
    /// Wall time, in seconds.
    pub seconds: f64,
    /// Whether the run was stopped before it finished.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub interrupted: bool,
}

impl Summary {
    /// Counts `results`.
    #[must_use]
    pub fn of(results: &[CheckResult], seconds: f64, interrupted: bool) -> Self {
        let by_verdict = Verdict::ALL
            .iter()
            .map(|&v| (v, results.iter().filter(|r| r.verdict == v).count()))
            .collect();
        Summary {
            by_verdict,
            urls: results.len(),
            links: results.iter().map(|r| r.occurrences.len().max(1)).sum(),
            seconds: (seconds * 1000.0).round() / 1000.0,
            interrupted,
        }
    }

    /// One line for people: `42 URLs (57 links) checked in 3.1s: 38 ok, 4 dead`.
    #[must_use]
    pub fn line(&self) -> String {
        let counts: Vec<String> = self
            .by_verdict
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(v, n)| format!("{n} {v}"))
            .collect();
        let mut line = format!(
            "{} URLs ({} links) checked in {:.1}s",
            self.urls, self.links, self.seconds
        );
        if self.interrupted {
            line.push_str(", interrupted");
        }
        if !counts.is_empty() {
            line.push_str(": ");
            line.push_str(&counts.join(", "));
        }
        line
    }
}

/// Whether a result belongs in the list of problems a person reads.
fn is_problem(verdict: Verdict) -> bool {
    !verdict.is_alive() && !matches!(verdict, Verdict::Excluded | Verdict::Unsupported)
}

/// Writes the report.
///
/// # Errors
/// A write error of `out`.
pub fn write(
    format: CheckFormat,
    summary: &Summary,
    results: &[CheckResult],
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        CheckFormat::Json => {
            #[derive(Serialize)]
            struct Document<'a> {
                summary: &'a Summary,
                results: &'a [CheckResult],
            }
            let doc = Document { summary, results };
            serde_json::to_writer_pretty(&mut *out, &doc)?;
            out.write_all(b"\n")
        }
        CheckFormat::Text => write_text(summary, results, out),
    }
}

fn write_text(summary: &Summary, results: &[CheckResult], out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "{}", summary.line())?;
    // Problems grouped by note, in note order, then by position.
    let mut by_file: BTreeMap<&str, Vec<(&Occurrence, &CheckResult)>> = BTreeMap::new();
    let mut from_command_line = Vec::new();
    for result in results.iter().filter(|r| is_problem(r.verdict)) {
        if result.occurrences.is_empty() {
            from_command_line.push(result);
        }
        for occurrence in &result.occurrences {
            by_file
                .entry(&occurrence.file)
                .or_default()
                .push((occurrence, result));
        }
    }
    for (file, mut problems) in by_file {
        problems.sort_by_key(|(o, _)| (o.line, o.column));
        writeln!(out, "\n{file}")?;
        for (o, r) in problems {
            write!(
                out,
                "  {}:{}  {:<13}  {}",
                o.line, o.column, r.verdict, r.url
            )?;
            write_detail(r, out)?;
        }
    }
    if !from_command_line.is_empty() {
        writeln!(out, "\n(command line)")?;
        for r in from_command_line {
            write!(out, "  {:<13}  {}", r.verdict, r.url)?;
            write_detail(r, out)?;
        }
    }
    Ok(())
}

fn write_detail(r: &CheckResult, out: &mut dyn Write) -> io::Result<()> {
    if let Some(reason) = &r.reason {
        write!(out, "  ({reason})")?;
    }
    if let Some(to) = &r.moved_to {
        write!(out, "  → {to}")?;
    }
    writeln!(out)
}
