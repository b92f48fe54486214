//! `archiver fetch` output: one result per unique URL, sorted by URL, as text
//! for people or JSON for programs.

use std::io::{self, Write};
use std::sync::Arc;

use serde::Serialize;

use crate::manifest::Source;
use crate::media::MediaKind;
use crate::units::human_size;

/// Output formats of `archiver fetch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum FetchFormat {
    /// A line per URL fetched, failed or skipped, then a summary line.
    #[default]
    Text,
    /// `{"summary": {…}, "results": [ … ]}`, one result per URL.
    Json,
}

/// What became of one URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FetchOutcome {
    /// Downloaded and archived in this run.
    Fetched,
    /// Archived by an earlier run; not downloaded again.
    Present,
    /// Wanted but not archived; the reason says why.
    Failed,
    /// Not attempted; the reason says why (a URL given on the command line that
    /// is no image, PDF, paper or video).
    Skipped,
}

/// Where a URL is first cited, for messages.
#[derive(Debug, Clone, Serialize)]
pub struct Citation {
    /// The note.
    pub file: Arc<str>,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
}

/// One URL's result.
#[derive(Debug, Clone, Serialize)]
pub struct FetchResult {
    /// The URL (normalized, without fragment).
    pub url: String,
    /// What it was fetched as (none for a URL skipped as no media at all).
    pub kind: Option<MediaKind>,
    /// What became of it.
    pub outcome: FetchOutcome,
    /// A short code for programs when it failed or was skipped: `too-large`,
    /// `not-an-image`, `not-a-pdf`, `truncated`, `http-404`, `timeout` …
    pub reason_code: Option<String>,
    /// The reason in words.
    pub reason: Option<String>,
    /// The object's path relative to the archive folder.
    pub object: Option<String>,
    /// The object's sha256.
    pub sha256: Option<String>,
    /// The object's media type.
    pub media_type: Option<String>,
    /// The object's size in bytes.
    pub size: Option<u64>,
    /// Where the object's bytes came from.
    pub source: Option<Source>,
    /// For a Wayback Machine capture, its timestamp.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub captured_at: Option<String>,
    /// Where the notes first cite it (absent for a URL given on the command line).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cited_at: Option<Citation>,
    /// Whether fetching it wrote a new object (not bytes the archive held).
    #[serde(skip)]
    pub new_object: bool,
}

/// The whole run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FetchSummary {
    /// URLs wanted.
    pub total: usize,
    /// Downloaded and archived now.
    pub fetched: usize,
    /// Already archived.
    pub present: usize,
    /// Not archived, for the reasons given.
    pub failed: usize,
    /// Not attempted.
    pub skipped: usize,
    /// Bytes downloaded and archived in this run.
    pub bytes: u64,
    /// New objects written (the rest were bytes the archive already held).
    pub new_objects: usize,
    /// Wall time in seconds.
    pub elapsed_seconds: f64,
    /// Whether the run was stopped (Ctrl-C, SIGTERM) before the end.
    pub interrupted: bool,
}

impl FetchSummary {
    /// Counts the results.
    #[must_use]
    pub fn of(results: &[FetchResult], elapsed_seconds: f64, interrupted: bool) -> Self {
        let mut s = FetchSummary {
            total: results.len(),
            elapsed_seconds: (elapsed_seconds * 1000.0).round() / 1000.0,
            interrupted,
            ..FetchSummary::default()
        };
        for r in results {
            match r.outcome {
                FetchOutcome::Fetched => {
                    s.fetched += 1;
                    s.bytes += r.size.unwrap_or(0);
                    s.new_objects += usize::from(r.new_object);
                }
                FetchOutcome::Present => s.present += 1,
                FetchOutcome::Failed => s.failed += 1,
                FetchOutcome::Skipped => s.skipped += 1,
            }
        }
        s
    }

    /// One line: `fetched 3, already present 2, failed 1, skipped 0; 1.2 MB in 0.4s`.
    #[must_use]
    pub fn line(&self) -> String {
        let stopped = if self.interrupted {
            " (stopped before the end)"
        } else {
            ""
        };
        format!(
            "fetched {}, already present {}, failed {}, skipped {}; {} downloaded in {:.1}s{stopped}",
            self.fetched,
            self.present,
            self.failed,
            self.skipped,
            human_size(self.bytes),
            self.elapsed_seconds
        )
    }
}

/// Writes the report in `format`.
///
/// # Errors
/// A write error on `out`.
pub fn write(
    format: FetchFormat,
    summary: &FetchSummary,
    results: &[FetchResult],
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        FetchFormat::Json => {
            #[derive(Serialize)]
            struct Document<'a> {
                summary: &'a FetchSummary,
                results: &'a [FetchResult],
            }
            serde_json::to_writer_pretty(&mut *out, &Document { summary, results })?;
            out.write_all(b"\n")
        }
        FetchFormat::Text => {
            for r in results {
                let word = match r.outcome {
                    FetchOutcome::Present => continue,
                    FetchOutcome::Fetched => "fetched",
                    FetchOutcome::Failed => "failed ",
                    FetchOutcome::Skipped => "skipped",
                };
                let at = r
                    .cited_at
                    .as_ref()
                    .map(|c| format!("{}:{}:{}  ", c.file, c.line, c.column))
                    .unwrap_or_default();
                match r.outcome {
                    FetchOutcome::Fetched => {
                        let from = match &r.captured_at {
                            Some(at) if r.source == Some(Source::Wayback) => {
                                format!(", from the Wayback Machine's capture of {at}")
                            }
                            _ => String::new(),
                        };
                        writeln!(
                            out,
                            "{word}  {at}{}  → {} ({}, {}{from})",
                            r.url,
                            r.object.as_deref().unwrap_or_default(),
                            r.media_type.as_deref().unwrap_or_default(),
                            human_size(r.size.unwrap_or(0))
                        )?;
                    }
                    _ => writeln!(
                        out,
                        "{word}  {at}{}  {} [{}]",
                        r.url,
                        r.reason.as_deref().unwrap_or_default(),
                        r.reason_code.as_deref().unwrap_or_default()
                    )?,
                }
            }
            writeln!(out, "{}", summary.line())
        }
    }
}
