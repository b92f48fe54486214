//! The failing links of the latest run, and those it found recovered, note by
//! note, where each stands: the notes read for the report give line and
//! column; a URL none of them cites is listed under the notes the run recorded
//! for it.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use super::health::history_of;
use super::model::{Failure, NoteFailures};
use super::paths::{absolute, relative_href};
use crate::state::{HistoryState, RowBefore};

/// Where a note cites a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Citation {
    /// The note as it was read (`notes/a.md`).
    pub note: String,
    /// Where it is on this machine, absolute; `None` for standard input.
    pub path: Option<PathBuf>,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
}

/// Every URL the notes read cite, with where.
pub type Citations = HashMap<String, Vec<Citation>>;

/// The group of failures cited nowhere the report knows.
const UNCITED: &str = "(no note read cites these)";

/// The run's failing and recovered results, grouped by note (sorted by name),
/// each group in line order. `copy` gives a failing URL's archived copy, relative to the
/// report; `out_dir` is the report's folder, absolute.
#[must_use]
pub fn by_note(
    rows: &[RowBefore],
    citations: &Citations,
    copy: impl Fn(&str) -> Option<String>,
    out_dir: &Path,
) -> Vec<NoteFailures> {
    let mut groups: BTreeMap<String, NoteFailures> = BTreeMap::new();
    for before in rows {
        let row = &before.row;
        let history = history_of(before);
        // Failing links, and those that failed last time and work now.
        if history.state == HistoryState::Ok {
            continue;
        }
        let failure = |line: u32, column: u32| Failure {
            url: row.url.clone(),
            line,
            column,
            verdict: row.verdict.as_str(),
            reason: row.reason.clone(),
            history: match history.state {
                HistoryState::New => "new",
                HistoryState::StillFailing => "still-failing",
                HistoryState::Recovered | HistoryState::Ok => "recovered",
            },
            history_words: history.words(),
            copy: copy(&row.url),
        };
        let mut put = |note: &str, path: Option<&Path>, failure: Failure| {
            groups
                .entry(note.to_owned())
                .or_insert_with(|| NoteFailures {
                    note: note.to_owned(),
                    href: path.map(|p| relative_href(out_dir, p)),
                    items: Vec::new(),
                })
                .items
                .push(failure);
        };
        match citations.get(&row.url) {
            Some(cited) if !cited.is_empty() => {
                for c in cited {
                    put(&c.note, c.path.as_deref(), failure(c.line, c.column));
                }
            }
            _ if !row.notes.is_empty() => {
                for note in &row.notes {
                    let path = absolute(Path::new(note));
                    let path = path.is_file().then_some(path);
                    put(note, path.as_deref(), failure(0, 0));
                }
            }
            _ => put(UNCITED, None, failure(0, 0)),
        }
    }
    let mut groups: Vec<NoteFailures> = groups.into_values().collect();
    for g in &mut groups {
        g.items
            .sort_by(|a, b| (a.line, a.column, &a.url).cmp(&(b.line, b.column, &b.url)));
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::Verdict;

    fn failing(url: &str, before: Option<bool>, notes: &[&str]) -> RowBefore {
        result(url, true, before, notes)
    }

    fn result(url: &str, fails: bool, before: Option<bool>, notes: &[&str]) -> RowBefore {
        let verdict = if fails { Verdict::Dead } else { Verdict::Ok };
        let mut result = super::super::health::tests::row(url, verdict, fails, before);
        result.row.status = Some(404);
        result.row.reason = Some("HTTP 404".into());
        result.row.notes = notes.iter().map(|n| (*n).to_owned()).collect();
        result
    }

    fn cite(note: &str, line: u32) -> Citation {
        Citation {
            note: note.to_owned(),
            path: Some(PathBuf::from(format!("/home/me/{note}"))),
            line,
            column: 3,
        }
    }

    #[test]
    fn failures_stand_under_each_note_citing_them_in_line_order() {
        let rows = [
            failing("https://x.example/gone", Some(true), &["notes/a.md"]),
            failing("https://x.example/<script>", None, &["notes/b.md"]),
            failing("https://x.example/nowhere", None, &[]),
            result("https://x.example/back", false, Some(true), &["notes/a.md"]),
            result(
                "https://x.example/fine",
                false,
                Some(false),
                &["notes/a.md"],
            ),
        ];
        let mut citations = Citations::new();
        citations.insert(
            rows[0].row.url.clone(),
            vec![cite("notes/b.md", 9), cite("notes/a.md", 4)],
        );
        citations.insert(rows[1].row.url.clone(), vec![cite("notes/b.md", 2)]);
        let copy = |url: &str| {
            url.ends_with("gone")
                .then(|| "archive/objects/x.html".to_owned())
        };
        let groups = by_note(&rows, &citations, copy, Path::new("/home/me/out"));
        let names: Vec<&str> = groups.iter().map(|g| g.note.as_str()).collect();
        assert_eq!(names, [UNCITED, "notes/a.md", "notes/b.md"]);
        let b = &groups[2];
        assert_eq!(b.href.as_deref(), Some("../notes/b.md"));
        let lines: Vec<(u32, &str)> = b.items.iter().map(|f| (f.line, f.history)).collect();
        assert_eq!(lines, [(2, "new"), (9, "still-failing")]);
        assert_eq!(b.items[1].copy.as_deref(), Some("archive/objects/x.html"));
        assert!(
            b.items[1]
                .history_words
                .starts_with("still failing since 2026-11-01")
        );
        // The URL is kept as the server gave it: the template escapes it.
        assert_eq!(b.items[0].url, "https://x.example/<script>");
        assert_eq!(groups[0].items[0].line, 0);
        // A recovery is listed, where the run recorded it; a link that works
        // as it did is not.
        let a: Vec<(&str, &str)> = groups[1]
            .items
            .iter()
            .map(|f| (f.url.as_str(), f.history))
            .collect();
        assert_eq!(
            a,
            [
                ("https://x.example/back", "recovered"),
                ("https://x.example/gone", "still-failing")
            ]
        );
    }
}
