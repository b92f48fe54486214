//! What a result means next to the ones before it: a new failure, one still
//! failing since some date, a recovery, or nothing to say.

use serde::Serialize;

/// The run of consecutive results a URL's latest result belongs to: failing or
/// not, since when, for how many runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Streak {
    /// Whether these results failed (their verdict was one `check` fails on).
    pub failing: bool,
    /// When the first of them was checked (RFC 3339).
    pub since: String,
    /// How many runs it has lasted, this one included.
    pub runs: u32,
}

impl Streak {
    /// The streak a result checked at `at` continues or starts, given the
    /// URL's previous streak.
    #[must_use]
    pub fn next(previous: Option<&Streak>, failing: bool, at: &str) -> Streak {
        match previous {
            Some(p) if p.failing == failing => Streak {
                failing,
                since: p.since.clone(),
                runs: p.runs.saturating_add(1),
            },
            _ => Streak {
                failing,
                since: at.to_owned(),
                runs: 1,
            },
        }
    }
}

/// How a result stands against the URL's history, as reports show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum HistoryState {
    /// Failing, and it was not failing last time (or was never checked).
    New,
    /// Failing, as it was last time.
    StillFailing,
    /// Not failing, though it was last time.
    Recovered,
    /// Not failing, nor was it last time.
    Ok,
}

/// A result's place in its URL's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct History {
    /// What changed.
    pub state: HistoryState,
    /// When the current streak began (RFC 3339): the first failure of a failing
    /// streak, the recovery of a working one.
    pub since: String,
    /// Runs in the current streak, this one included.
    pub runs: u32,
}

impl History {
    /// The history of a result whose streak is `now`, the URL's previous
    /// streak being `previous`.
    #[must_use]
    pub fn of(previous: Option<&Streak>, now: &Streak) -> History {
        let was_failing = previous.is_some_and(|p| p.failing);
        let state = match (now.failing, was_failing) {
            (true, false) => HistoryState::New,
            (true, true) => HistoryState::StillFailing,
            (false, true) => HistoryState::Recovered,
            (false, false) => HistoryState::Ok,
        };
        History {
            state,
            since: now.since.clone(),
            runs: now.runs,
        }
    }

    /// How a report says it: `new`, `still failing since 2026-11-20, 3 runs`,
    /// `recovered`; empty for `ok`.
    #[must_use]
    pub fn words(&self) -> String {
        match self.state {
            HistoryState::New => "new".to_owned(),
            HistoryState::StillFailing => format!(
                "still failing since {}, {} runs",
                self.since.get(..10).unwrap_or(&self.since),
                self.runs
            ),
            HistoryState::Recovered => "recovered".to_owned(),
            HistoryState::Ok => String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_is_new_then_still_failing_then_recovered() {
        let ok = Streak::next(None, false, "d1");
        assert_eq!(History::of(None, &ok).state, HistoryState::Ok);
        let dead = Streak::next(Some(&ok), true, "d2");
        let h = History::of(Some(&ok), &dead);
        assert_eq!(
            (h.state, h.since.as_str(), h.runs),
            (HistoryState::New, "d2", 1)
        );
        let still = Streak::next(Some(&dead), true, "d3");
        let h = History::of(Some(&dead), &still);
        assert_eq!(
            (h.state, h.since.as_str(), h.runs),
            (HistoryState::StillFailing, "d2", 2)
        );
        let back = Streak::next(Some(&still), false, "d4");
        let h = History::of(Some(&still), &back);
        assert_eq!(
            (h.state, h.since.as_str(), h.runs),
            (HistoryState::Recovered, "d4", 1)
        );
        let again = Streak::next(Some(&back), false, "d5");
        assert_eq!(History::of(Some(&back), &again).state, HistoryState::Ok);
        // Never seen before and failing: new.
        assert_eq!(
            History::of(None, &Streak::next(None, true, "d1")).state,
            HistoryState::New
        );
    }

    #[test]
    fn still_failing_is_said_with_the_day_it_began() {
        let h = History {
            state: HistoryState::StillFailing,
            since: "2026-11-20T03:00:00Z".into(),
            runs: 3,
        };
        assert_eq!(h.words(), "still failing since 2026-11-20, 3 runs");
    }
}
