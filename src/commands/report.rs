//! `archiver report --since 7d`: what happened to the links over a period, from
//! the state database: which died, recovered, flapped or stayed dead, counted by
//! host and by note.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write;
use std::time::SystemTime;

use serde::Serialize;

use crate::cli::{ReportArgs, ReportFormat};
use crate::config::Settings;
use crate::state::{self, Change, LinkRecord, State, Window};
use crate::{Error, ExitStatus};

/// The changes, in the order reports list them.
const CHANGES: [Change; 4] = [
    Change::Died,
    Change::Recovered,
    Change::Flapped,
    Change::StillFailing,
];

/// Counts of each change for one host or note.
type Tally = BTreeMap<&'static str, usize>;

#[derive(Serialize)]
struct Document<'a> {
    #[serde(flatten)]
    window: &'a Window,
    by_host: BTreeMap<String, Tally>,
    by_note: BTreeMap<String, Tally>,
}

/// Prints the summary of the period.
///
/// # Errors
/// [`Error::ConfigValue`] for a `--since` that is neither a duration nor a
/// date; [`Error::State`] when the database is missing or unreadable;
/// [`Error::Output`] on a write error; [`Error::WriteFile`] when `--output`
/// cannot be written. `--format html` is [`super::report_page::run`]'s.
pub fn run(args: &ReportArgs, settings: &Settings) -> Result<ExitStatus, Error> {
    if args.format == ReportFormat::Html {
        return super::report_page::run(args, settings);
    }
    let since = state::period_start(
        args.since.as_deref().unwrap_or(DEFAULT_SINCE),
        SystemTime::now(),
    )?;
    let state = State::open_existing(&settings.state.path)?;
    let runs = state.runs_since(&since)?;
    let rows = state.rows_around(&since)?;
    let (urls, links) = runs
        .first()
        .map(|first| state::summarize(&rows, first.id))
        .unwrap_or_default();
    let window = Window {
        since,
        runs: runs.len(),
        urls,
        links,
    };
    let mut by_host: BTreeMap<String, Tally> = BTreeMap::new();
    let mut by_note: BTreeMap<String, Tally> = BTreeMap::new();
    for link in &window.links {
        *by_host
            .entry(host(&link.url))
            .or_default()
            .entry(link.change.as_str())
            .or_default() += 1;
        for note in &link.notes {
            *by_note
                .entry(note.clone())
                .or_default()
                .entry(link.change.as_str())
                .or_default() += 1;
        }
    }
    let doc = Document {
        window: &window,
        by_host,
        by_note,
    };
    // Made whole first: with --output, the file is written at once.
    let mut text = Vec::new();
    match args.format {
        ReportFormat::Json => {
            serde_json::to_writer_pretty(&mut text, &doc).map_err(|e| Error::Output(e.into()))?;
            writeln!(text).map_err(Error::Output)?;
        }
        // Html is written by `report_page`.
        ReportFormat::Text | ReportFormat::Html => {
            write_text(&mut text, &doc).map_err(Error::Output)?;
        }
        ReportFormat::Markdown => write_markdown(&mut text, &doc).map_err(Error::Output)?,
    }
    if let Some(path) = &args.output {
        crate::store::write_atomic(path, &text).map_err(|source| Error::WriteFile {
            path: path.clone(),
            source,
        })?;
    } else {
        let mut out = std::io::stdout().lock();
        out.write_all(&text).map_err(Error::Output)?;
        out.flush().map_err(Error::Output)?;
    }
    Ok(ExitStatus::Success)
}

/// The period a summary covers without `--since`.
const DEFAULT_SINCE: &str = "7d";

fn host(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| "(local files)".to_owned())
}

fn counts(tally: &Tally) -> String {
    CHANGES
        .iter()
        .filter_map(|c| tally.get(c.as_str()).map(|n| format!("{n} {}", words(*c))))
        .collect::<Vec<_>>()
        .join(", ")
}

fn words(change: Change) -> &'static str {
    match change {
        Change::Died => "died",
        Change::Recovered => "recovered",
        Change::Flapped => "flapped",
        Change::StillFailing => "still failing",
    }
}

fn of<'a>(doc: &Document<'a>, change: Change) -> Vec<&'a LinkRecord> {
    doc.window
        .links
        .iter()
        .filter(|l| l.change == change)
        .collect()
}

fn headline(doc: &Document<'_>) -> String {
    let w = doc.window;
    let mut totals = Tally::new();
    for link in &w.links {
        *totals.entry(link.change.as_str()).or_default() += 1;
    }
    let tally = counts(&totals);
    format!(
        "since {}: {} runs, {} URLs checked; {}",
        w.since,
        w.runs,
        w.urls,
        if tally.is_empty() {
            "no link died or recovered".to_owned()
        } else {
            tally
        }
    )
}

fn detail(link: &LinkRecord) -> String {
    let mut text = format!("{}  ({}", link.url, link.verdict);
    if let Some(reason) = &link.reason {
        text.push_str(": ");
        text.push_str(reason);
    }
    let _ = match link.change {
        Change::Flapped => write!(text, ", {} changes", link.transitions),
        _ => write!(text, ", since {}", link.since),
    };
    text.push(')');
    text
}

fn write_text(out: &mut dyn Write, doc: &Document<'_>) -> std::io::Result<()> {
    writeln!(out, "{}", headline(doc))?;
    for change in CHANGES {
        let links = of(doc, change);
        if links.is_empty() {
            continue;
        }
        writeln!(out, "\n{}", words(change))?;
        for link in links {
            writeln!(out, "  {}", detail(link))?;
        }
    }
    for (title, groups) in [("by host", &doc.by_host), ("by note", &doc.by_note)] {
        if groups.is_empty() {
            continue;
        }
        writeln!(out, "\n{title}")?;
        let width = groups.keys().map(|k| k.chars().count()).max().unwrap_or(0);
        for (name, tally) in groups {
            writeln!(out, "  {name:<width$}  {}", counts(tally))?;
        }
    }
    Ok(())
}

fn write_markdown(out: &mut dyn Write, doc: &Document<'_>) -> std::io::Result<()> {
    let cell = |s: &str| s.replace('|', "\\|");
    writeln!(out, "## Link health {}\n", cell(&headline(doc)))?;
    for change in CHANGES {
        let links = of(doc, change);
        if links.is_empty() {
            continue;
        }
        writeln!(out, "### {} ({})\n", words(change), links.len())?;
        for link in links {
            writeln!(out, "- {}", cell(&detail(link)))?;
        }
        writeln!(out)?;
    }
    for (title, groups) in [("By host", &doc.by_host), ("By note", &doc.by_note)] {
        if groups.is_empty() {
            continue;
        }
        writeln!(out, "### {title}\n\n| | Changes |\n| --- | --- |")?;
        for (name, tally) in groups {
            writeln!(out, "| {} | {} |", cell(name), counts(tally))?;
        }
        writeln!(out)?;
    }
    Ok(())
}
