//! The Markdown report, to paste into an issue or a CI job summary: counts, then
//! the problems by note with line, verdict and reason.

use std::io::{self, Write};

use super::{Report, Reporter};

/// `--format markdown`.
pub struct Markdown;

impl Reporter for Markdown {
    fn write(&self, report: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
        let summary = report.summary;
        let failing = report
            .results
            .iter()
            .filter(|r| report.fails(r.verdict))
            .count();
        writeln!(
            out,
            "## Link check: {} URLs, {failing} failing\n",
            summary.urls
        )?;
        writeln!(
            out,
            "{} links checked in {:.1} s{}.\n",
            summary.links,
            summary.seconds,
            if summary.interrupted {
                format!(" (interrupted: {} URLs not checked)", summary.unchecked)
            } else {
                String::new()
            }
        )?;
        writeln!(out, "| Verdict | URLs |\n| --- | ---: |")?;
        for (verdict, n) in summary.by_verdict.iter().filter(|(_, n)| *n > 0) {
            writeln!(out, "| {verdict} | {n} |")?;
        }
        if let Some(recovered) = summary.recovered.as_ref().filter(|r| !r.is_empty()) {
            writeln!(out, "\n### Recovered since the last run\n")?;
            for url in recovered {
                writeln!(out, "- {}", cell(url))?;
            }
        }
        let problems = report.problems_by_note();
        if problems.is_empty() {
            return Ok(());
        }
        writeln!(out, "\n### Problems")?;
        for (file, entries) in problems {
            writeln!(out, "\n**{}**\n", cell(file.unwrap_or("(command line)")))?;
            writeln!(
                out,
                "| Line | Verdict | URL | Reason |\n| ---: | --- | --- | --- |"
            )?;
            for (occurrence, result) in entries {
                let at =
                    occurrence.map_or_else(String::new, |o| format!("{}:{}", o.line, o.column));
                let mut verdict = if report.fails(result.verdict) {
                    format!("**{}**", result.verdict)
                } else {
                    result.verdict.to_string()
                };
                if let Some(words) = result.history_words() {
                    verdict = format!("{verdict} ({words})");
                }
                let reason = match (&result.reason, &result.moved_to) {
                    (Some(reason), Some(to)) => format!("{reason} → {to}"),
                    (Some(reason), None) => reason.clone(),
                    (None, Some(to)) => format!("→ {to}"),
                    (None, None) => String::new(),
                };
                writeln!(
                    out,
                    "| {at} | {verdict} | {} | {} |",
                    cell(&result.url),
                    cell(&reason)
                )?;
            }
        }
        Ok(())
    }
}

/// Text made safe for a table cell: pipes escaped, line breaks and markup
/// characters neutralised.
fn cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '|' => out.push_str("\\|"),
            '\n' | '\r' => out.push(' '),
            '<' => out.push_str("&lt;"),
            '`' | '*' | '_' | '[' | ']' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}
