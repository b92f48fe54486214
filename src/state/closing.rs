//! A run's end, in one transaction under the write lock: each result joined to
//! its URL's previous streak, then every row written with the run's end.
//!
//! The two steps are apart so that what the joining says (a new failure, a
//! recovery) can go out in the report while the rows are being written.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::{Row, State, Streak, state_error};
use crate::error::Error;
use crate::verdict::Verdict;

/// How a run ended, for [`Closing::write`].
#[derive(Debug)]
pub struct Finish<'a> {
    /// When the run ended.
    pub finished_at: &'a str,
    /// Whether it was stopped early.
    pub interrupted: bool,
}

/// A result as it comes to its URL's history.
#[derive(Debug, Clone, Copy)]
pub struct Fresh<'a> {
    /// The URL (or local path) checked.
    pub url: &'a str,
    /// Its verdict.
    pub verdict: Verdict,
    /// Whether the verdict fails the run.
    pub failing: bool,
    /// When it was checked: the start of a streak it begins (RFC 3339).
    pub at: &'a str,
}

impl<'a> Fresh<'a> {
    /// What `row` brings: its URL, verdict, and its own streak's failing and
    /// start.
    #[must_use]
    pub fn of(row: &'a Row) -> Self {
        Fresh {
            url: &row.url,
            verdict: row.verdict,
            failing: row.streak.failing,
            at: &row.streak.since,
        }
    }
}

/// A URL's previous streak, if it has one, and the streak this run records.
pub type Placement = (Option<Streak>, Streak);

/// A run whose results are placed in their URLs' histories and not yet
/// written. It holds the database's write lock until [`Closing::write`];
/// dropped without it, nothing of the run's end is written.
pub struct Closing<'a> {
    tx: Transaction<'a>,
    path: &'a Path,
    run: i64,
}

impl std::fmt::Debug for Closing<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Closing")
            .field("run", &self.run)
            .finish_non_exhaustive()
    }
}

impl State {
    /// Takes the write lock to end run `run`, and joins each result's streak
    /// to its URL's previous one as it is stored: under the lock, so that two
    /// runs at once each continue the history the other committed. A result
    /// whose verdict is not conclusive ([`Verdict::is_conclusive`]) and does
    /// not fail the run carries the previous streak on, failing or not.
    /// Returns the run's end to write and, result by result in the order they
    /// came, the URL's previous streak and the one to record.
    ///
    /// # Errors
    /// [`Error::State`] when the database cannot be read or locked (another
    /// run has held it for longer than [`super::BUSY_WAIT`]).
    pub fn close_run<'r>(
        &mut self,
        run: i64,
        results: impl IntoIterator<Item = Fresh<'r>>,
    ) -> Result<(Closing<'_>, Vec<Placement>), Error> {
        match place(&mut self.conn, run, results) {
            Ok((tx, streaks)) => Ok((
                Closing {
                    tx,
                    path: &self.path,
                    run,
                },
                streaks,
            )),
            Err(e) => Err(state_error(&self.path, e)),
        }
    }

    /// [`State::close_run`] and [`Closing::write`] in one go. Returns, row by
    /// row, the previous streak and the one recorded.
    ///
    /// # Errors
    /// [`Error::State`] when the database cannot be written.
    pub fn finish_run(
        &mut self,
        run: i64,
        finish: &Finish<'_>,
        rows: Vec<Row>,
    ) -> Result<Vec<Placement>, Error> {
        let (closing, placed) = self.close_run(run, rows.iter().map(Fresh::of))?;
        let rows = rows.into_iter().zip(&placed).map(|(row, (_, streak))| Row {
            streak: streak.clone(),
            ..row
        });
        closing.write(finish, rows)?;
        Ok(placed)
    }
}

/// Begins the transaction and finds each result's streak.
fn place<'c, 'r>(
    conn: &'c mut Connection,
    run: i64,
    results: impl IntoIterator<Item = Fresh<'r>>,
) -> rusqlite::Result<(Transaction<'c>, Vec<Placement>)> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let mut streaks = Vec::new();
    {
        let mut latest = tx.prepare_cached(
            "SELECT failing, since, streak FROM results WHERE url = ?1 AND run <> ?2 ORDER BY rowid DESC LIMIT 1",
        )?;
        for fresh in results {
            let before = latest
                .query_row(params![fresh.url, run], |found| {
                    Ok(Streak {
                        failing: found.get(0)?,
                        since: found.get(1)?,
                        runs: found.get(2)?,
                    })
                })
                .optional()?;
            let fails = if fresh.failing || fresh.verdict.is_conclusive() {
                fresh.failing
            } else {
                before.as_ref().is_some_and(|b| b.failing)
            };
            let now = Streak::next(before.as_ref(), fails, fresh.at);
            streaks.push((before, now));
        }
    }
    Ok((tx, streaks))
}

impl Closing<'_> {
    /// Writes the rows and the run's end, and commits: all of them or, if the
    /// process dies first, none. `rows` are the results given to
    /// [`State::close_run`], each with the streak placed for it. They are made
    /// one at a time as the database takes them, so a run of 100,000 URLs
    /// never holds them all.
    ///
    /// # Errors
    /// [`Error::State`] when the database cannot be written (a full disk).
    pub fn write(
        self,
        finish: &Finish<'_>,
        rows: impl IntoIterator<Item = Row>,
    ) -> Result<(), Error> {
        let Closing { tx, path, run } = self;
        let written = (move || -> rusqlite::Result<()> {
            let (mut urls, mut failing, mut cached) = (0_i64, 0_i64, 0_i64);
            {
                let mut insert = tx.prepare_cached(
                    "INSERT OR IGNORE INTO results (run, url, verdict, status, reason, final_url, moved_to, flags, checked_at, cached, failing, since, streak, notes, pdf_url, answer_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
                )?;
                for r in rows {
                    urls += 1;
                    failing += i64::from(r.streak.failing);
                    cached += i64::from(r.cached);
                    insert.execute(params![
                        run,
                        r.url,
                        r.verdict.as_str(),
                        r.status,
                        r.reason,
                        r.final_url,
                        r.moved_to,
                        r.flags.join(","),
                        r.checked_at,
                        r.cached,
                        r.streak.failing,
                        r.streak.since,
                        r.streak.runs,
                        r.notes.join("\n"),
                        r.pdf_url,
                        r.answer_ms.and_then(|ms| i64::try_from(ms).ok()),
                    ])?;
                }
            }
            tx.execute(
                "UPDATE runs SET finished_at = ?2, urls = ?3, failing = ?4, cached = ?5, interrupted = ?6 WHERE id = ?1",
                params![
                    run,
                    finish.finished_at,
                    urls,
                    failing,
                    cached,
                    finish.interrupted
                ],
            )?;
            tx.commit()
        })();
        written.map_err(|e| state_error(path, e))
    }
}
