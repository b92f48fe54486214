//! JUnit XML, which CI systems show as test results: a test suite per note, a test
//! case per link occurrence, a failure for each failing verdict, skipped for
//! links that were left out.

use std::collections::BTreeMap;
use std::io::{self, Write};

use super::{CheckResult, Occurrence, Report, Reporter};
use crate::verdict::Verdict;

/// `--format junit`.
pub struct Junit;

impl Reporter for Junit {
    fn write(&self, report: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
        let mut suites: BTreeMap<&str, Vec<(Option<&Occurrence>, &CheckResult)>> = BTreeMap::new();
        for result in report.results {
            if result.occurrences.is_empty() {
                suites
                    .entry("(command line)")
                    .or_default()
                    .push((None, result));
            }
            for o in &result.occurrences {
                suites.entry(&o.file).or_default().push((Some(o), result));
            }
        }
        let total: usize = suites.values().map(Vec::len).sum();
        let failures = suites
            .values()
            .flatten()
            .filter(|(_, r)| report.fails(r.verdict))
            .count();
        let interrupted = report.summary.interrupted;
        writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
        writeln!(
            out,
            r#"<testsuites name="archiver check" tests="{}" failures="{failures}" errors="{}" time="{:.3}">"#,
            total + usize::from(interrupted),
            usize::from(interrupted),
            report.summary.seconds
        )?;
        if interrupted {
            // The run did not finish: say so where CI looks, as an error.
            writeln!(
                out,
                r#"  <testsuite name="archiver" tests="1" failures="0" errors="1">"#
            )?;
            writeln!(
                out,
                r#"    <testcase classname="archiver" name="the run finished">"#
            )?;
            writeln!(
                out,
                r#"      <error message="interrupted: {} URLs were not checked"/>"#,
                report.summary.unchecked
            )?;
            writeln!(out, "    </testcase>\n  </testsuite>")?;
        }
        for (file, mut cases) in suites {
            cases.sort_by_key(|(o, r)| (o.map(|o| (o.line, o.column)), r.url.as_str()));
            let failed = cases
                .iter()
                .filter(|(_, r)| report.fails(r.verdict))
                .count();
            let skipped = cases.iter().filter(|(_, r)| left_out(r.verdict)).count();
            writeln!(
                out,
                r#"  <testsuite name="{}" tests="{}" failures="{failed}" skipped="{skipped}">"#,
                xml(file),
                cases.len()
            )?;
            for (occurrence, result) in cases {
                let name = match occurrence {
                    Some(o) => format!("{}:{} {}", o.line, o.column, result.url),
                    None => result.url.clone(),
                };
                write!(
                    out,
                    r#"    <testcase classname="{}" name="{}""#,
                    xml(file),
                    xml(&name)
                )?;
                if let Some(o) = occurrence {
                    write!(out, r#" file="{}" line="{}""#, xml(file), o.line)?;
                }
                let message = super::message(result);
                if report.fails(result.verdict) {
                    writeln!(out, ">")?;
                    writeln!(
                        out,
                        r#"      <failure type="{}" message="{}">{}</failure>"#,
                        result.verdict,
                        xml(&message),
                        xml(&message)
                    )?;
                    writeln!(out, "    </testcase>")?;
                } else if left_out(result.verdict) {
                    writeln!(out, ">")?;
                    writeln!(out, r#"      <skipped message="{}"/>"#, xml(&message))?;
                    writeln!(out, "    </testcase>")?;
                } else if super::is_problem(result.verdict) {
                    // Not a failure, but worth a look (blocked, timeout, moved …).
                    writeln!(out, ">")?;
                    writeln!(out, "      <system-out>{}</system-out>", xml(&message))?;
                    writeln!(out, "    </testcase>")?;
                } else {
                    writeln!(out, "/>")?;
                }
            }
            writeln!(out, "  </testsuite>")?;
        }
        writeln!(out, "</testsuites>")
    }
}

fn left_out(verdict: Verdict) -> bool {
    matches!(verdict, Verdict::Excluded | Verdict::Unsupported)
}

/// Text escaped for an XML attribute or element; characters XML 1.0 cannot hold
/// become U+FFFD.
fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}
