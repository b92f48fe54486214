//! What happened to the links over a stretch of runs (`archiver report
//! --since 7d`): which died, which recovered, which flapped, which stayed dead.

use serde::Serialize;

use std::time::SystemTime;

use super::Row;
use crate::error::Error;
use crate::verdict::Verdict;

/// How a link fared over the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Change {
    /// Started failing in the window and was still failing at its end.
    Died,
    /// Stopped failing in the window and was still working at its end.
    Recovered,
    /// Changed between failing and working more than once.
    Flapped,
    /// Failing all through the window.
    StillFailing,
}

impl Change {
    /// The word reports use.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Died => "died",
            Change::Recovered => "recovered",
            Change::Flapped => "flapped",
            Change::StillFailing => "still-failing",
        }
    }
}

/// One link with something to report over the window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LinkRecord {
    /// The URL.
    pub url: String,
    /// How it fared.
    pub change: Change,
    /// Changes between failing and working in the window.
    pub transitions: u32,
    /// Its latest verdict.
    pub verdict: Verdict,
    /// The latest verdict's reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When its current streak began (RFC 3339).
    pub since: String,
    /// The notes citing it at its latest check.
    pub notes: Vec<String>,
}

/// The window summarized.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Window {
    /// Its start (RFC 3339).
    pub since: String,
    /// Runs that started in it.
    pub runs: usize,
    /// URLs checked in it.
    pub urls: usize,
    /// The links with something to report, by change then URL.
    pub links: Vec<LinkRecord>,
}

/// Summarizes `rows` (by URL, oldest first, as [`super::State::rows_around`]
/// gives them): rows of runs before `first_run` only say how a URL came into
/// the window.
#[must_use]
pub fn summarize(rows: &[Row], first_run: i64) -> (usize, Vec<LinkRecord>) {
    let mut links = Vec::new();
    let mut urls = 0;
    for group in rows.chunk_by(|a, b| a.url == b.url) {
        let (before, inside): (Vec<&Row>, Vec<&Row>) =
            group.iter().partition(|r| r.run < first_run);
        let Some(last) = inside.last() else { continue };
        urls += 1;
        // A URL first seen failing counts as having died then.
        let mut failing = before.last().is_some_and(|r| r.streak.failing);
        let mut transitions = 0;
        for row in &inside {
            if row.streak.failing != failing {
                transitions += 1;
                failing = row.streak.failing;
            }
        }
        let change = match (transitions, failing) {
            (0, false) => continue,
            (0, true) => Change::StillFailing,
            (1, true) => Change::Died,
            (1, false) => Change::Recovered,
            _ => Change::Flapped,
        };
        links.push(LinkRecord {
            url: last.url.clone(),
            change,
            transitions,
            verdict: last.verdict,
            reason: last.reason.clone(),
            since: last.streak.since.clone(),
            notes: last.notes.clone(),
        });
    }
    links.sort_by(|a, b| (a.change, &a.url).cmp(&(b.change, &b.url)));
    (urls, links)
}

/// The start of the period `--since` gives, as stored timestamps compare: a
/// duration back from `now` (`7d`), a date (midnight UTC) or an RFC 3339 time.
///
/// # Errors
/// [`Error::ConfigValue`] for anything else.
pub fn period_start(since: &str, now: SystemTime) -> Result<String, Error> {
    let bad = || {
        Error::config_value(
            "--since",
            format!(
                "`{since}` is neither a duration (7d, 24h) nor a date (2026-11-01) or time (2026-11-01T08:00:00Z)"
            ),
        )
    };
    if let Ok(back) = humantime::parse_duration(since.trim()) {
        let at = now.checked_sub(back).unwrap_or(SystemTime::UNIX_EPOCH);
        return Ok(super::timestamp(at));
    }
    let text = since.trim();
    let full = if text.len() == 10 {
        format!("{text}T00:00:00Z")
    } else {
        text.to_owned()
    };
    humantime::parse_rfc3339_weak(&full)
        .map(super::timestamp)
        .map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::super::Streak;
    use super::*;

    #[test]
    fn a_period_is_a_duration_back_or_a_date() {
        let now = humantime::parse_rfc3339("2026-11-27T12:00:00Z").unwrap();
        assert_eq!(period_start("7d", now).unwrap(), "2026-11-20T12:00:00Z");
        assert_eq!(period_start("24h", now).unwrap(), "2026-11-26T12:00:00Z");
        assert_eq!(
            period_start("2026-11-01", now).unwrap(),
            "2026-11-01T00:00:00Z"
        );
        assert_eq!(
            period_start("2026-11-01T08:30:00Z", now).unwrap(),
            "2026-11-01T08:30:00Z"
        );
        assert!(period_start("last tuesday", now).is_err());
    }

    fn row(url: &str, run: i64, failing: bool) -> Row {
        Row {
            run,
            url: url.to_owned(),
            verdict: if failing { Verdict::Dead } else { Verdict::Ok },
            status: None,
            reason: None,
            final_url: None,
            moved_to: None,
            flags: Vec::new(),
            checked_at: format!("d{run}"),
            cached: false,
            streak: Streak {
                failing,
                since: format!("d{run}"),
                runs: 1,
            },
            notes: vec!["n.md".into()],
            pdf_url: None,
            answer_ms: None,
        }
    }

    #[test]
    fn each_link_is_told_by_how_it_changed_in_the_window() {
        let rows = vec![
            // Working before and all through: nothing to say.
            row("a", 1, false),
            row("a", 2, false),
            row("a", 3, false),
            // Died in the window.
            row("b", 1, false),
            row("b", 2, false),
            row("b", 3, true),
            // Recovered.
            row("c", 1, true),
            row("c", 2, false),
            // Flapped.
            row("d", 2, true),
            row("d", 3, false),
            row("d", 4, true),
            // Dead before and all through.
            row("e", 1, true),
            row("e", 2, true),
            // Died before the window, not checked in it: not counted.
            row("f", 1, true),
        ];
        let (urls, links) = summarize(&rows, 2);
        assert_eq!(urls, 5);
        let got: Vec<(&str, Change, u32)> = links
            .iter()
            .map(|l| (l.url.as_str(), l.change, l.transitions))
            .collect();
        assert_eq!(
            got,
            [
                ("b", Change::Died, 1),
                ("c", Change::Recovered, 1),
                ("d", Change::Flapped, 3),
                ("e", Change::StillFailing, 0),
            ]
        );
    }
}
