//! Reading whole runs back, for the HTML report: each finished run's counts
//! by verdict, and one run's results with what each URL was before it.

use rusqlite::params;

use super::{Row, State, row};
use crate::error::Error;
use crate::verdict::Verdict;

/// How many results of one run had one verdict and failed or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunCount {
    /// The run.
    pub run: i64,
    /// The verdict.
    pub verdict: Verdict,
    /// Whether these results failed the run.
    pub failing: bool,
    /// How many there were.
    pub count: u64,
}

/// A result with whether its URL was failing in the result before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowBefore {
    /// The result.
    pub row: Row,
    /// The URL's previous result failed; `None` when there is none.
    pub was_failing: Option<bool>,
}

impl State {
    /// Every finished run's results, counted by verdict and failing, in run
    /// order.
    ///
    /// # Errors
    /// [`Error::State`] when the database cannot be read.
    pub fn counts_by_run(&self) -> Result<Vec<RunCount>, Error> {
        let result = (|| -> rusqlite::Result<Vec<RunCount>> {
            let mut statement = self.conn.prepare(
                "SELECT run, verdict, failing, count(*) FROM results
                 WHERE run IN (SELECT id FROM runs WHERE finished_at IS NOT NULL)
                 GROUP BY run, verdict, failing ORDER BY run",
            )?;
            statement
                .query_map([], |r| {
                    let verdict: String = r.get(1)?;
                    Ok(RunCount {
                        run: r.get(0)?,
                        verdict: verdict.parse().map_err(|_| {
                            rusqlite::Error::FromSqlConversionFailure(
                                1,
                                rusqlite::types::Type::Text,
                                format!("unknown verdict `{verdict}`").into(),
                            )
                        })?,
                        failing: r.get(2)?,
                        count: u64::try_from(r.get::<_, i64>(3)?).unwrap_or(0),
                    })
                })?
                .collect()
        })();
        result.map_err(|e| self.error(e))
    }

    /// Every result of `run`, by URL, each with whether the URL's result
    /// recorded before it failed.
    ///
    /// # Errors
    /// [`Error::State`] when the database cannot be read.
    pub fn rows_of_run(&self, run: i64) -> Result<Vec<RowBefore>, Error> {
        let columns = self.columns;
        let result = (|| -> rusqlite::Result<Vec<RowBefore>> {
            let mut statement = self.conn.prepare(&format!(
                "SELECT {columns},
                        (SELECT p.failing FROM results p
                         WHERE p.url = results.url AND p.rowid < results.rowid
                         ORDER BY p.rowid DESC LIMIT 1)
                 FROM results WHERE run = ?1 ORDER BY url"
            ))?;
            statement
                .query_map(params![run], |r| {
                    Ok(RowBefore {
                        row: row(r)?,
                        // The column after the row's own.
                        was_failing: r.get(16)?,
                    })
                })?
                .collect()
        })();
        result.map_err(|e| self.error(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{Finish, Streak};

    fn result(url: &str, verdict: Verdict, failing: bool) -> Row {
        Row {
            run: 0,
            url: url.to_owned(),
            verdict,
            status: None,
            reason: None,
            final_url: None,
            moved_to: None,
            flags: Vec::new(),
            checked_at: "2026-11-01T00:00:00Z".into(),
            cached: false,
            streak: Streak {
                failing,
                since: "2026-11-01T00:00:00Z".into(),
                runs: 1,
            },
            notes: Vec::new(),
            pdf_url: None,
            answer_ms: None,
        }
    }

    #[test]
    fn runs_are_counted_and_read_back_with_what_came_before() {
        let dir = tempfile::tempdir().unwrap();
        let mut state = State::open(&dir.path().join("state.db")).unwrap();
        let finish = Finish {
            finished_at: "2026-11-01T00:01:00Z",
            interrupted: false,
        };
        let first = state.begin_run("2026-11-01T00:00:00Z", "{}").unwrap();
        state
            .finish_run(
                first,
                &finish,
                vec![
                    result("https://a.example/", Verdict::Ok, false),
                    result("https://b.example/", Verdict::Dead, true),
                ],
            )
            .unwrap();
        let second = state.begin_run("2026-11-02T00:00:00Z", "{}").unwrap();
        state
            .finish_run(
                second,
                &finish,
                vec![
                    result("https://a.example/", Verdict::Dead, true),
                    result("https://b.example/", Verdict::Ok, false),
                    result("https://c.example/", Verdict::Blocked, false),
                ],
            )
            .unwrap();
        // A run still going has no counts.
        state.begin_run("2026-11-03T00:00:00Z", "{}").unwrap();
        let counts = state.counts_by_run().unwrap();
        assert_eq!(counts.len(), 5);
        assert!(counts.iter().all(|c| c.run == first || c.run == second));
        assert_eq!(
            counts
                .iter()
                .filter(|c| c.run == second && c.failing)
                .map(|c| c.count)
                .sum::<u64>(),
            1
        );
        let rows = state.rows_of_run(second).unwrap();
        let before: Vec<_> = rows
            .iter()
            .map(|r| (r.row.url.as_str(), r.was_failing))
            .collect();
        assert_eq!(
            before,
            [
                ("https://a.example/", Some(false)),
                ("https://b.example/", Some(true)),
                ("https://c.example/", None),
            ]
        );
    }
}
