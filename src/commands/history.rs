//! `archiver history URL`: every recorded check of one link, newest first, and
//! how it stands.

use std::io::{BufWriter, Write};

use serde_json::json;

use super::scan::url_input;
use crate::classify::Classifier;
use crate::cli::{HistoryCmdArgs, SummaryFormat};
use crate::config::Settings;
use crate::state::{Row, State};
use crate::{Error, ExitStatus};

/// Prints the link's record.
///
/// # Errors
/// [`Error::State`] when there is no state database or it cannot be read;
/// [`Error::Output`] on a write error.
pub fn run(args: &HistoryCmdArgs, settings: &Settings) -> Result<ExitStatus, Error> {
    let state = State::open_existing(&settings.state.path)?;
    // As `check` records it: normalized, without its fragment.
    let (url, _) = url_input(Classifier::new(settings), &args.url);
    let mut rows = state.rows_for(&url)?;
    if rows.is_empty() && url != args.url {
        rows = state.rows_for(&args.url)?;
    }
    if rows.is_empty() {
        eprintln!(
            "archiver: {url}: no check of it is recorded in {}; `archiver check` records every link it checks",
            state.path().display()
        );
        return Ok(ExitStatus::Failure);
    }
    rows.reverse();
    let mut out = BufWriter::new(std::io::stdout().lock());
    match args.format {
        SummaryFormat::Json => {
            let doc = json!({
                "url": url,
                "failing": rows[0].streak.failing,
                "since": rows[0].streak.since,
                "runs": rows[0].streak.runs,
                "notes": rows[0].notes,
                "checks": rows.iter().map(|r| json!({
                    "run": r.run,
                    "checked_at": r.checked_at,
                    "verdict": r.verdict,
                    "status": r.status,
                    "reason": r.reason,
                    "final_url": r.final_url,
                    "moved_to": r.moved_to,
                    "flags": r.flags,
                    "cached": r.cached,
                })).collect::<Vec<_>>(),
            });
            serde_json::to_writer_pretty(&mut out, &doc).map_err(|e| Error::Output(e.into()))?;
            writeln!(out).map_err(Error::Output)?;
        }
        SummaryFormat::Text | SummaryFormat::Markdown => {
            write_text(
                &mut out,
                &url,
                &rows,
                args.format == SummaryFormat::Markdown,
            )
            .map_err(Error::Output)?;
        }
    }
    out.flush().map_err(Error::Output)?;
    Ok(ExitStatus::Success)
}

fn write_text(out: &mut dyn Write, url: &str, rows: &[Row], markdown: bool) -> std::io::Result<()> {
    let latest = &rows[0];
    let standing = if latest.streak.failing {
        "failing"
    } else {
        "working"
    };
    let runs = latest.streak.runs;
    let plural = if runs == 1 { "" } else { "s" };
    if markdown {
        writeln!(out, "## {url}\n")?;
        writeln!(
            out,
            "{standing} since {} ({runs} run{plural}); cited in {}.\n",
            latest.streak.since,
            list(&latest.notes)
        )?;
        writeln!(
            out,
            "| Run | Checked | Verdict | Status | Reason |\n| ---: | --- | --- | ---: | --- |"
        )?;
    } else {
        writeln!(out, "{url}")?;
        writeln!(
            out,
            "  {standing} since {} ({runs} run{plural})",
            latest.streak.since
        )?;
        writeln!(out, "  cited in {}\n", list(&latest.notes))?;
    }
    for row in rows {
        let status = row.status.map(|s| s.to_string()).unwrap_or_default();
        let mut reason = row.reason.clone().unwrap_or_default();
        if row.cached {
            reason = format!("reused from an earlier check; {reason}");
        }
        if markdown {
            writeln!(
                out,
                "| {} | {} | {} | {status} | {} |",
                row.run,
                row.checked_at,
                row.verdict,
                reason.replace('|', "\\|")
            )?;
        } else {
            writeln!(
                out,
                "  run {:<5} {}  {:<13} {status:>3}  {reason}",
                row.run, row.checked_at, row.verdict
            )?;
        }
    }
    Ok(())
}

fn list(notes: &[String]) -> String {
    if notes.is_empty() {
        "no note (given on the command line)".to_owned()
    } else {
        notes.join(", ")
    }
}
