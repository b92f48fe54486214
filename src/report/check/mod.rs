//! `archiver check` output: a text report for people (counts, then the problems
//! by note) and JSON for programs (one result per URL, sorted by URL).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Write};
use std::sync::Arc;

use serde::Serialize;

use crate::link::Kind;
use crate::state::{History, HistoryState};
use crate::verdict::Verdict;

mod github;
mod json;
mod junit;
mod markdown;
mod sarif;
mod text;

/// Output formats of `archiver check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum CheckFormat {
    /// Counts by verdict, then the problems grouped by note with line:column.
    #[default]
    Text,
    /// `{"summary": {…}, "results": [ … ]}`, one result per URL.
    Json,
    /// A report to paste into an issue or a job summary.
    Markdown,
    /// JUnit XML for CI test views: a test case per link occurrence.
    Junit,
    /// SARIF 2.1.0 for code-scanning dashboards.
    Sarif,
    /// GitHub Actions annotations (`::error` for failures, `::warning` for blocked).
    Github,
}

/// The flag of a result reused from an earlier run (`--max-age`).
pub const CACHED: &str = "cached";

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
    /// The note points here at the archive's copy (`archiver rewrite`); the URL
    /// checked is the one the rewrite journal recorded.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub archived: bool,
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
    /// A paper's PDF, as the site's API names it (arXiv).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pdf_url: Option<String>,
    /// Why, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Facts about the target.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
    /// How long the final answer took to come, in milliseconds (none for a
    /// local file, an API's verdict, or no answer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer_ms: Option<u64>,
    /// For a failing URL the archive holds, the archived copy (the archive
    /// folder joined with the object's path): what the notes can point at
    /// instead (`archiver rewrite --only-failing`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub archived_copy: Option<String>,
    /// Where the notes cite it (empty for a URL given on the command line).
    pub occurrences: Vec<Occurrence>,
    /// How this result stands against the URL's earlier ones (when a state
    /// database is kept).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<History>,
}

impl CheckResult {
    /// The words a report adds for the result's history: `new`, `still failing
    /// since …`; nothing for a result that is not failing.
    #[must_use]
    pub fn history_words(&self) -> Option<String> {
        self.history
            .as_ref()
            .filter(|h| matches!(h.state, HistoryState::New | HistoryState::StillFailing))
            .map(History::words)
    }
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
    /// URLs not checked because the run was stopped.
    #[serde(skip_serializing_if = "is_zero")]
    pub unchecked: usize,
    /// URLs answered from the state database instead of the network
    /// (`--max-age`).
    #[serde(skip_serializing_if = "is_zero")]
    pub cached: usize,
    /// URLs that were failing last time and work now (when a state database is
    /// kept).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovered: Option<Vec<String>>,
    /// Failing URLs listed in the baseline (`--baseline`), which do not fail
    /// the run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baselined: Option<usize>,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // the signature `skip_serializing_if` requires
fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl Summary {
    /// Counts `results`.
    #[must_use]
    pub fn of(results: &[CheckResult], seconds: f64, unchecked: Option<usize>) -> Self {
        let by_verdict = Verdict::ALL
            .iter()
            .map(|&v| (v, results.iter().filter(|r| r.verdict == v).count()))
            .collect();
        Summary {
            by_verdict,
            urls: results.len(),
            links: results.iter().map(|r| r.occurrences.len().max(1)).sum(),
            seconds: (seconds * 1000.0).round() / 1000.0,
            interrupted: unchecked.is_some(),
            unchecked: unchecked.unwrap_or(0),
            cached: results
                .iter()
                .filter(|r| r.flags.iter().any(|f| f == CACHED))
                .count(),
            recovered: None,
            baselined: None,
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
            let _ = write!(line, ", interrupted with {} not checked", self.unchecked);
        }
        if self.cached > 0 {
            let _ = write!(line, " ({} from the last runs)", self.cached);
        }
        if !counts.is_empty() {
            line.push_str(": ");
            line.push_str(&counts.join(", "));
        }
        if let Some(recovered) = self.recovered.as_ref().filter(|r| !r.is_empty()) {
            let _ = write!(line, "; {} recovered", recovered.len());
        }
        if let Some(n) = self.baselined.filter(|n| *n > 0) {
            let _ = write!(line, "; {n} failing as in the baseline");
        }
        line
    }
}

/// Everything a report is made from.
#[derive(Debug, Clone, Copy)]
pub struct Report<'a> {
    /// The counts.
    pub summary: &'a Summary,
    /// One result per URL, sorted by URL.
    pub results: &'a [CheckResult],
    /// The verdicts that fail the run.
    pub fail_on: &'a [Verdict],
}

impl Report<'_> {
    /// Whether `verdict` fails the run.
    #[must_use]
    pub fn fails(&self, verdict: Verdict) -> bool {
        self.fail_on.contains(&verdict)
    }

    /// Problems a person should read about (not alive, not left out on purpose),
    /// by note and position; results from the command line come last, under `None`.
    #[must_use]
    pub fn problems_by_note(&self) -> Vec<(Option<&str>, Vec<Problem<'_>>)> {
        let mut by_file: BTreeMap<&str, Vec<Problem<'_>>> = BTreeMap::new();
        let mut loose = Vec::new();
        for result in self.results.iter().filter(|r| is_problem(r.verdict)) {
            if result.occurrences.is_empty() {
                loose.push((None, result));
            }
            for occurrence in &result.occurrences {
                by_file
                    .entry(&occurrence.file)
                    .or_default()
                    .push((Some(occurrence), result));
            }
        }
        let mut grouped: Vec<_> = by_file
            .into_iter()
            .map(|(file, mut problems)| {
                problems.sort_by_key(|(o, _)| o.map(|o| (o.line, o.column)));
                (Some(file), problems)
            })
            .collect();
        if !loose.is_empty() {
            grouped.push((None, loose));
        }
        grouped
    }
}

/// A problem to report: where it is cited (if anywhere) and its result.
pub type Problem<'a> = (Option<&'a Occurrence>, &'a CheckResult);

/// Whether a result belongs in the list a person reads: every verdict but the
/// plainly fine ones and those left out on purpose. A moved page is listed, with
/// its new address.
#[must_use]
pub fn is_problem(verdict: Verdict) -> bool {
    !matches!(
        verdict,
        Verdict::Ok | Verdict::Redirected | Verdict::Excluded | Verdict::Unsupported
    )
}

/// Writes a report in one format.
pub trait Reporter {
    /// Writes `report` to `out`.
    ///
    /// # Errors
    /// A write error of `out`.
    fn write(&self, report: &Report<'_>, out: &mut dyn Write) -> io::Result<()>;
}

/// The reporter for `format`.
#[must_use]
pub fn reporter(format: CheckFormat) -> Box<dyn Reporter> {
    match format {
        CheckFormat::Text => Box::new(text::Text),
        CheckFormat::Json => Box::new(json::Json),
        CheckFormat::Markdown => Box::new(markdown::Markdown),
        CheckFormat::Junit => Box::new(junit::Junit),
        CheckFormat::Sarif => Box::new(sarif::Sarif),
        CheckFormat::Github => Box::new(github::Github),
    }
}

/// A short description of each verdict, for formats that explain their rules.
#[must_use]
pub fn describe(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Ok => "The link works.",
        Verdict::Redirected => "The link works after redirects.",
        Verdict::Moved => "The page names its successor.",
        Verdict::Dead => {
            "The link is dead: not found, gone, no such host, refused, or a redirect loop."
        }
        Verdict::SoftDead => "The page answers but says its content is gone.",
        Verdict::Blocked => "A bot wall or rate limit stands in the way; the link may be alive.",
        Verdict::Expired => "A signed media link has expired.",
        Verdict::Timeout => "The host did not answer in time.",
        Verdict::Error => "The check failed (TLS, a resolver failure, a server error).",
        Verdict::LocalMissing => "A relative link to a file that does not exist.",
        Verdict::Invalid => "Not a valid URL.",
        Verdict::Unsupported => "A kind of link that is not checked.",
        Verdict::Excluded => "Left out by a pattern or an archiver-ignore comment.",
    }
}

/// The text of a result for one line of a report: verdict reason, successor.
#[must_use]
pub fn message(result: &CheckResult) -> String {
    let mut text = format!("{}: {}", result.verdict, result.url);
    if let Some(reason) = &result.reason {
        let _ = write!(text, " ({reason})");
    }
    if let Some(to) = &result.moved_to {
        let _ = write!(text, " → {to}");
    }
    if let Some(copy) = &result.archived_copy {
        let _ = write!(text, " [archived copy: {copy}]");
    }
    text
}
