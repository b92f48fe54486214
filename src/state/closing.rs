//! A run's end, in one transaction under the write lock: each result joined to
//! its URL's previous streak, then every row written with the run's end.
//!
//! The two steps are apart so that what the joining says (a new failure, a
//! recovery) can go out in the report while the rows are being written.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};

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

/// A run's end under way: the database's write lock is held, results are
/// placed in their URLs' histories and their rows written, a batch at a time,
/// until [`Closing::write`] writes the last ones with the run's end and
/// commits. Dropped before that, nothing of the run's end is written.
pub struct Closing<'a> {
    /// The connection, in the transaction begun for the run's end: its own
    /// state's, borrowed for as long as the transaction lasts.
    conn: &'a Connection,
    path: &'a Path,
    run: i64,
    /// Rows written so far, of them failing, and of them reused.
    counts: [i64; 3],
}

impl Drop for Closing<'_> {
    fn drop(&mut self) {
        // Not after a commit, nor when SQLite rolled back already (a full
        // disk, an I/O error): the connection is then out of the transaction.
        if !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
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
        let closing = self.begin_close(run, super::BUSY_WAIT)?;
        let placed = closing.place(results)?;
        Ok((closing, placed))
    }

    /// Takes the write lock to end run `run`, waiting at most `wait` for
    /// another run holding it: results are then placed ([`Closing::place`])
    /// and written ([`Closing::insert`]) while the run goes on.
    ///
    /// # Errors
    /// [`Error::State`] when the lock is not had within `wait`, or the
    /// database cannot be written.
    pub fn begin_close(&mut self, run: i64, wait: Duration) -> Result<Closing<'_>, Error> {
        let begun = self.conn.busy_timeout(wait).and_then(|()| {
            let begun = self.conn.execute_batch("BEGIN IMMEDIATE");
            // The database's own wait again, for everything after.
            let restored = self.conn.busy_timeout(super::BUSY_WAIT);
            if begun.is_ok() && restored.is_err() {
                let _ = self.conn.execute_batch("ROLLBACK");
            }
            begun.and(restored)
        });
        match begun {
            Ok(()) => Ok(Closing {
                conn: &self.conn,
                path: &self.path,
                run,
                counts: [0; 3],
            }),
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

impl Closing<'_> {
    /// Joins each result's streak to its URL's previous one (see
    /// [`State::close_run`]). Returns, result by result in the order they
    /// came, the URL's previous streak and the one to record.
    ///
    /// # Errors
    /// [`Error::State`] when the database cannot be read.
    pub fn place<'r>(
        &self,
        results: impl IntoIterator<Item = Fresh<'r>>,
    ) -> Result<Vec<Placement>, Error> {
        let placed = (|| -> rusqlite::Result<Vec<Placement>> {
            let mut streaks = Vec::new();
            let mut latest = self.conn.prepare_cached(
                "SELECT failing, since, streak FROM results WHERE url = ?1 AND run <> ?2 ORDER BY rowid DESC LIMIT 1",
            )?;
            for fresh in results {
                let before = latest
                    .query_row(params![fresh.url, self.run], |found| {
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
            Ok(streaks)
        })();
        placed.map_err(|e| state_error(self.path, e))
    }

    /// Writes rows of the run: results given to [`Closing::place`], each
    /// with the streak placed for it. They are made one at a time as the
    /// database takes them, so a run of 100,000 URLs never holds them all.
    ///
    /// # Errors
    /// [`Error::State`] when the database cannot be written (a full disk).
    pub fn insert(&mut self, rows: impl IntoIterator<Item = Row>) -> Result<(), Error> {
        let [urls, failing, cached] = &mut self.counts;
        let written = (|| -> rusqlite::Result<()> {
            let mut insert = self.conn.prepare_cached(
                "INSERT OR IGNORE INTO results (run, url, verdict, status, reason, final_url, moved_to, flags, checked_at, cached, failing, since, streak, notes, pdf_url, answer_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
            )?;
            for r in rows {
                *urls += 1;
                *failing += i64::from(r.streak.failing);
                *cached += i64::from(r.cached);
                insert.execute(params![
                    self.run,
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
            Ok(())
        })();
        written.map_err(|e| state_error(self.path, e))
    }

    /// Writes the last rows (as [`Closing::insert`]) and the run's end, and
    /// commits: every row of the run and its end or, if the process dies
    /// first, none.
    ///
    /// # Errors
    /// [`Error::State`] when the database cannot be written (a full disk).
    pub fn write(
        mut self,
        finish: &Finish<'_>,
        rows: impl IntoIterator<Item = Row>,
    ) -> Result<(), Error> {
        self.insert(rows)?;
        let [urls, failing, cached] = self.counts;
        let written = self
            .conn
            .execute(
                "UPDATE runs SET finished_at = ?2, urls = ?3, failing = ?4, cached = ?5, interrupted = ?6 WHERE id = ?1",
                params![
                    self.run,
                    finish.finished_at,
                    urls,
                    failing,
                    cached,
                    finish.interrupted
                ],
            )
            .and_then(|_| self.conn.execute_batch("COMMIT"));
        // A failed commit is rolled back when `self` is dropped.
        written.map_err(|e| state_error(self.path, e))
    }
}
