//! The state database's side of the report: the latest run's counts and how it
//! stands against the run before, link health run by run, and the hosts.

use std::collections::BTreeMap;

use super::chart::{self, Chart, Column, SeriesSpec, Unit};
use super::model::{Changes, HostRow, LatestRun, MAX_HOSTS, VerdictCount};
use crate::state::{History, HistoryState, RowBefore, Run, RunCount, Streak};
use crate::verdict::Verdict;

/// The health chart's lines.
const HEALTH: [SeriesSpec; 3] = [
    SeriesSpec {
        name: "failing",
        unit: Unit::Count,
        right: false,
    },
    SeriesSpec {
        name: "blocked",
        unit: Unit::Count,
        right: false,
    },
    // Measured on its own axis: a few failures among thousands of working
    // links would otherwise lie flat on the bottom.
    SeriesSpec {
        name: "ok",
        unit: Unit::Count,
        right: true,
    },
];

/// The run the report is of: the last finished run with results (a run the
/// network was down for has none), else the last finished one.
#[must_use]
pub fn latest_run<'a>(runs: &'a [Run], counts: &[RunCount]) -> Option<&'a Run> {
    let finished = || runs.iter().rev().filter(|r| r.finished_at.is_some());
    finished()
        .find(|r| counts.iter().any(|c| c.run == r.id))
        .or_else(|| finished().next())
}

/// What the page says about the run shown.
#[must_use]
pub fn describe(run: &Run, rows: &[RowBefore], runs: &[Run]) -> LatestRun {
    LatestRun {
        id: run.id,
        started_at: run.started_at.clone(),
        urls: rows.len() as u64,
        interrupted: run.interrupted,
        runs: runs.iter().filter(|r| r.finished_at.is_some()).count(),
    }
}

/// A result's place in its URL's history, as `check` reported it.
#[must_use]
pub fn history_of(row: &RowBefore) -> History {
    let before = row.was_failing.map(|failing| Streak {
        failing,
        since: String::new(),
        runs: 0,
    });
    History::of(before.as_ref(), &row.row.streak)
}

/// The run's results by verdict: every verdict, in [`Verdict::ALL`] order, as
/// `check --format json`'s summary counts them.
#[must_use]
pub fn verdict_counts(rows: &[RowBefore]) -> Vec<VerdictCount> {
    Verdict::ALL
        .iter()
        .map(|&verdict| {
            let of: Vec<&RowBefore> = rows.iter().filter(|r| r.row.verdict == verdict).collect();
            VerdictCount {
                verdict: verdict.as_str(),
                count: of.len() as u64,
                failing: of.iter().any(|r| r.row.streak.failing),
            }
        })
        .collect()
}

/// New, still failing and recovered results of the run.
#[must_use]
pub fn changes(rows: &[RowBefore]) -> Changes {
    let mut changes = Changes::default();
    for row in rows {
        match history_of(row).state {
            HistoryState::New => changes.new += 1,
            HistoryState::StillFailing => changes.still_failing += 1,
            HistoryState::Recovered => changes.recovered += 1,
            HistoryState::Ok => {}
        }
    }
    changes
}

/// Failing, blocked and ok links of every finished run, oldest first: one
/// point per run.
#[must_use]
pub fn health_chart(runs: &[Run], counts: &[RunCount]) -> Option<Chart> {
    let mut by_run: BTreeMap<i64, [u64; 3]> = BTreeMap::new();
    for c in counts {
        let values = by_run.entry(c.run).or_default();
        if c.failing {
            values[0] += c.count;
        } else if c.verdict == Verdict::Blocked {
            values[1] += c.count;
        } else if matches!(c.verdict, Verdict::Ok | Verdict::Redirected) {
            values[2] += c.count;
        }
    }
    let columns: Vec<Column> = runs
        .iter()
        .filter(|r| r.finished_at.is_some())
        .map(|r| Column {
            key: r.id.to_string(),
            time: r.started_at.clone(),
            values: by_run.get(&r.id).copied().unwrap_or_default().to_vec(),
        })
        .collect();
    chart::draw(&columns, &HEALTH)
}

/// The hosts of the run, the most failures first (then the most blocked, then
/// by name); at most [`MAX_HOSTS`], and how many were left out.
#[must_use]
pub fn hosts(rows: &[RowBefore]) -> (Vec<HostRow>, usize) {
    let mut by_host: BTreeMap<String, HostRow> = BTreeMap::new();
    for RowBefore { row, .. } in rows {
        let host = host(&row.url);
        let line = by_host.entry(host.clone()).or_insert_with(|| HostRow {
            host,
            ..HostRow::default()
        });
        line.urls += 1;
        line.failures += u64::from(row.streak.failing);
        line.blocked += u64::from(row.verdict == Verdict::Blocked);
        line.timeouts += u64::from(row.verdict == Verdict::Timeout);
        // A result reused from an earlier run keeps that run's time.
        if let Some(ms) = row.answer_ms.filter(|_| !row.cached)
            && line.slowest_ms.is_none_or(|slowest| ms > slowest)
        {
            line.slowest_ms = Some(ms);
            line.slowest_url = Some(row.url.clone());
        }
    }
    let mut lines: Vec<HostRow> = by_host.into_values().collect();
    lines.sort_by(|a, b| {
        (b.failures, b.blocked, b.timeouts)
            .cmp(&(a.failures, a.blocked, a.timeouts))
            .then_with(|| a.host.cmp(&b.host))
    });
    let left_out = lines.len().saturating_sub(MAX_HOSTS);
    lines.truncate(MAX_HOSTS);
    (lines, left_out)
}

fn host(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| "(local files)".to_owned())
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::state::Row;

    /// A result of run 2 with its reason, from `notes/a.md`, and what the
    /// URL was before.
    pub(in crate::report::html) fn row(
        url: &str,
        verdict: Verdict,
        failing: bool,
        before: Option<bool>,
    ) -> RowBefore {
        RowBefore {
            row: Row {
                run: 2,
                url: url.to_owned(),
                verdict,
                status: None,
                reason: Some("why".into()),
                final_url: None,
                moved_to: None,
                flags: Vec::new(),
                checked_at: "2026-11-02T00:00:00Z".into(),
                cached: false,
                streak: Streak {
                    failing,
                    since: "2026-11-01T00:00:00Z".into(),
                    runs: if before == Some(failing) { 2 } else { 1 },
                },
                notes: vec!["notes/a.md".into()],
                pdf_url: None,
                answer_ms: None,
            },
            was_failing: before,
        }
    }

    fn run(id: i64, finished: bool) -> Run {
        Run {
            id,
            started_at: format!("2026-11-0{id}T03:00:00Z"),
            finished_at: finished.then(|| format!("2026-11-0{id}T03:01:00Z")),
            interrupted: false,
        }
    }

    #[test]
    fn counts_and_changes_are_those_check_reported() {
        let rows = [
            row("https://a.example/1", Verdict::Dead, true, Some(true)),
            row("https://a.example/2", Verdict::Dead, true, None),
            row("https://b.example/", Verdict::Ok, false, Some(true)),
            row("https://c.example/", Verdict::Blocked, false, Some(false)),
            row("https://c.example/t", Verdict::Timeout, false, None),
        ];
        let counts = verdict_counts(&rows);
        assert_eq!(counts.len(), Verdict::ALL.len());
        let dead = counts.iter().find(|c| c.verdict == "dead").unwrap();
        assert_eq!((dead.count, dead.failing), (2, true));
        assert_eq!(counts.iter().map(|c| c.count).sum::<u64>(), 5);
        assert_eq!(
            changes(&rows),
            Changes {
                new: 1,
                still_failing: 1,
                recovered: 1
            }
        );
        let (hosts, left_out) = hosts(&rows);
        assert_eq!(left_out, 0);
        assert_eq!(hosts[0].host, "a.example");
        assert_eq!((hosts[0].urls, hosts[0].failures), (2, 2));
        let c = hosts.iter().find(|h| h.host == "c.example").unwrap();
        assert_eq!((c.blocked, c.timeouts), (1, 1));
        assert_eq!(c.slowest_ms, None, "no answer times recorded");
    }

    #[test]
    fn each_host_names_its_slowest_answer_of_the_run() {
        let timed = |url: &str, ms: u64, cached: bool| {
            let mut r = row(url, Verdict::Ok, false, Some(false));
            r.row.answer_ms = Some(ms);
            r.row.cached = cached;
            r
        };
        let rows = [
            timed("https://a.example/fast", 20, false),
            timed("https://a.example/slow", 900, false),
            // Reused from an earlier run: not this run's answer.
            timed("https://a.example/cached", 5_000, true),
            row("https://b.example/", Verdict::Timeout, false, None),
        ];
        let (hosts, _) = hosts(&rows);
        let a = hosts.iter().find(|h| h.host == "a.example").unwrap();
        assert_eq!(a.slowest_ms, Some(900));
        assert_eq!(a.slowest_url.as_deref(), Some("https://a.example/slow"));
        let b = hosts.iter().find(|h| h.host == "b.example").unwrap();
        assert_eq!((b.slowest_ms, b.timeouts), (None, 1));
    }

    #[test]
    fn every_finished_run_is_a_point() {
        let runs = [run(1, true), run(2, true), run(3, false)];
        let counts = [
            RunCount {
                run: 1,
                verdict: Verdict::Ok,
                failing: false,
                count: 3,
            },
            RunCount {
                run: 2,
                verdict: Verdict::Dead,
                failing: true,
                count: 1,
            },
        ];
        assert_eq!(latest_run(&runs, &counts).unwrap().id, 2);
        let chart = health_chart(&runs, &counts).unwrap();
        let keys: Vec<&str> = chart.columns.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(keys, ["1", "2"]);
        assert!(chart.columns[1].title.contains("1 failing"));
        assert!(health_chart(&[run(1, false)], &[]).is_none());
    }
}
