//! SARIF 2.1.0, for code-scanning dashboards: one rule per verdict, one result per
//! problem occurrence with its physical location (columns in Unicode code points).

use std::io::{self, Write};

use serde_json::{Value, json};

use super::{Report, Reporter, describe, is_problem};
use crate::verdict::Verdict;

/// `--format sarif`.
pub struct Sarif;

impl Reporter for Sarif {
    fn write(&self, report: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
        let rules: Vec<Value> = Verdict::ALL
            .iter()
            .filter(|v| is_problem(**v))
            .map(|v| {
                json!({
                    "id": v.as_str(),
                    "name": v.as_str(),
                    "shortDescription": { "text": describe(*v) },
                    "defaultConfiguration": { "level": if report.fails(*v) { "error" } else { "warning" } },
                })
            })
            .collect();
        let mut results = Vec::new();
        for (file, problems) in report.problems_by_note() {
            // Code scanning wants every result in a file; URLs given on the
            // command line have none, and other formats report them.
            if file.is_none() {
                continue;
            }
            for (occurrence, result) in problems {
                let mut entry = json!({
                    "ruleId": result.verdict.as_str(),
                    "level": if report.fails(result.verdict) { "error" } else { "warning" },
                    "message": { "text": super::message(result) },
                    "properties": { "url": result.url },
                });
                if let (Some(file), Some(o)) = (file, occurrence) {
                    entry["locations"] = json!([{
                        "physicalLocation": {
                            "artifactLocation": { "uri": uri(file) },
                            "region": { "startLine": o.line, "startColumn": o.column },
                        }
                    }]);
                }
                results.push(entry);
            }
        }
        let log = json!({
            "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
            "version": "2.1.0",
            "runs": [{
                "tool": {
                    "driver": {
                        "name": "archiver",
                        "version": env!("CARGO_PKG_VERSION"),
                        "rules": rules,
                    }
                },
                "columnKind": "unicodeCodePoints",
                "invocations": [{
                    "executionSuccessful": !report.summary.interrupted,
                    "toolExecutionNotifications": if report.summary.interrupted {
                        json!([{
                            "level": "error",
                            "message": { "text": format!("interrupted: {} URLs were not checked", report.summary.unchecked) },
                        }])
                    } else {
                        json!([])
                    },
                }],
                "results": results,
            }]
        });
        serde_json::to_writer_pretty(&mut *out, &log)?;
        out.write_all(b"\n")
    }
}

/// A note's path as a relative URI reference: forward slashes, reserved
/// characters percent-encoded.
fn uri(path: &str) -> String {
    const KEEP: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'/')
        .remove(b'.')
        .remove(b'-')
        .remove(b'_')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(&path.replace('\\', "/"), KEEP).to_string()
}
