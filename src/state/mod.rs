//! The state database: every `check` result, run after run, in SQLite
//! (`.archiver/state.db` by default, `[state] path`).
//!
//! Two tables. `runs` has one row per run: when it started and finished, the
//! settings it ran with, its counts. `results` has one row per URL per run: the
//! verdict and, denormalized, the streak it continues (failing or not, since
//! when, for how many runs), so a link's history is read from its latest row
//! alone, whatever the number of runs kept.
//!
//! A run's results are written in one transaction with its end, so a killed run
//! leaves at most its `runs` row without an end and never a half-written set of
//! results; rows of finished runs are never touched again. The database is in
//! WAL mode: readers (`archiver history`, `archiver report`) do not wait for a
//! run, and two runs writing at once take turns through SQLite's own lock, the
//! second waiting up to [`BUSY_WAIT`] and then stopping with a message saying so.

mod closing;
mod history;
mod runs;
mod summary;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use rusqlite::{Connection, OptionalExtension, params};

use crate::error::Error;
use crate::verdict::Verdict;

pub use closing::{Closing, Finish, Fresh, Placement};
pub use history::{History, HistoryState, Streak};
pub use runs::{RowBefore, RunCount};
pub use summary::{Change, LinkRecord, Window, period_start, summarize};

/// How long a run waits for another run holding the database's write lock.
pub const BUSY_WAIT: Duration = Duration::from_mins(1);

/// The schema version (`PRAGMA user_version`): 2 added `results.answer_ms`.
const SCHEMA_VERSION: i64 = 2;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS runs (
    id          INTEGER PRIMARY KEY,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    settings    TEXT NOT NULL,
    urls        INTEGER,
    failing     INTEGER,
    cached      INTEGER,
    interrupted INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS results (
    run         INTEGER NOT NULL REFERENCES runs(id),
    url         TEXT NOT NULL,
    verdict     TEXT NOT NULL,
    status      INTEGER,
    reason      TEXT,
    final_url   TEXT,
    moved_to    TEXT,
    flags       TEXT NOT NULL DEFAULT '',
    checked_at  TEXT NOT NULL,
    cached      INTEGER NOT NULL,
    failing     INTEGER NOT NULL,
    since       TEXT NOT NULL,
    streak      INTEGER NOT NULL,
    notes       TEXT NOT NULL DEFAULT '',
    pdf_url     TEXT,
    answer_ms   INTEGER,
    PRIMARY KEY (run, url)
);
-- Index entries are in (url, rowid) order, and rowids in commit order: the
-- latest row of a URL is the index's last entry for it.
CREATE INDEX IF NOT EXISTS results_by_url ON results (url);
CREATE INDEX IF NOT EXISTS results_by_url_run ON results (url, run);
";

/// An [`Error::State`] for `e` on the database at `path`, saying what to do:
/// wait for another run, fix permissions, or, only for a file that is not a
/// database or is damaged, move it away (advice that would throw away good
/// history is never given for anything else).
fn state_error(path: &Path, e: rusqlite::Error) -> Error {
    let message = if is_busy(&e) {
        format!(
            "another archiver run has held it for over {}s; wait for it to finish, or give this run its own file with --state FILE",
            BUSY_WAIT.as_secs()
        )
    } else if let rusqlite::Error::InvalidParameterName(message) = &e {
        message.clone()
    } else {
        match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt) => {
                format!("{e}; the file is damaged: move it away and a new one is started")
            }
            Some(
                rusqlite::ErrorCode::ReadOnly
                | rusqlite::ErrorCode::CannotOpen
                | rusqlite::ErrorCode::PermissionDenied,
            ) => format!(
                "{e}; the file or its folder cannot be written by this user: fix their permissions, or give this run its own file with --state FILE"
            ),
            Some(rusqlite::ErrorCode::DiskFull) => {
                format!("{e}; free some space on its disk")
            }
            _ => e.to_string(),
        }
    };
    Error::State {
        path: path.to_path_buf(),
        message,
        source: Some(Box::new(e)),
    }
}

/// A timestamp as stored and reported: RFC 3339, UTC, whole seconds. Such
/// strings sort in time order.
#[must_use]
pub fn timestamp(at: SystemTime) -> String {
    humantime::format_rfc3339_seconds(at).to_string()
}

/// Reads a stored timestamp.
#[must_use]
pub fn parse_timestamp(text: &str) -> Option<SystemTime> {
    humantime::parse_rfc3339(text).ok()
}

/// One stored result: what a URL's check gave in one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The run it belongs to.
    pub run: i64,
    /// The URL (or local path) checked.
    pub url: String,
    /// The verdict.
    pub verdict: Verdict,
    /// The final HTTP status.
    pub status: Option<u16>,
    /// Why, in words.
    pub reason: Option<String>,
    /// Where redirects ended.
    pub final_url: Option<String>,
    /// The successor a moved page names.
    pub moved_to: Option<String>,
    /// The result's flags.
    pub flags: Vec<String>,
    /// When the network gave this answer (for a cached result, the original
    /// answer's time).
    pub checked_at: String,
    /// Reused from an earlier run rather than asked again.
    pub cached: bool,
    /// The streak this result continues.
    pub streak: Streak,
    /// The notes citing the URL.
    pub notes: Vec<String>,
    /// A paper's PDF, as the site's API named it.
    pub pdf_url: Option<String>,
    /// How long the answer took to come, in milliseconds.
    pub answer_ms: Option<u64>,
}

/// A run as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// Its number.
    pub id: i64,
    /// When it started.
    pub started_at: String,
    /// When it finished; `None` for a run still going or killed.
    pub finished_at: Option<String>,
    /// Whether it was stopped before it finished.
    pub interrupted: bool,
}

/// The state database.
pub struct State {
    conn: Connection,
    path: PathBuf,
    /// What a result row is read with: [`COLUMNS`], or for a database of
    /// schema 1 opened read-only (so never upgraded) [`COLUMNS_V1`].
    columns: &'static str,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl State {
    /// Opens the database at `path`, creating it (and its folder) if needed.
    ///
    /// # Errors
    /// [`Error::State`] when the file cannot be created or opened, is not a
    /// database, or was written by a newer archiver.
    pub fn open(path: &Path) -> Result<Self, Error> {
        let failed =
            |message: String, source: Box<dyn std::error::Error + Send + Sync>| Error::State {
                path: path.to_path_buf(),
                message,
                source: Some(source),
            };
        if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(folder)
                .map_err(|e| failed(format!("cannot create its folder: {e}"), Box::new(e)))?;
        }
        let conn = Connection::open(path).map_err(|e| failed(e.to_string(), Box::new(e)))?;
        conn.busy_timeout(BUSY_WAIT)
            .map_err(|e| failed(e.to_string(), Box::new(e)))?;
        let state = State {
            conn,
            path: path.to_path_buf(),
            columns: COLUMNS,
        };
        // Two runs opening a new database at once race to set it up; SQLite
        // answers the loser "busy" at once rather than through the busy
        // handler, so it tries again.
        let started = std::time::Instant::now();
        loop {
            match state.prepare() {
                Ok(()) => return Ok(state),
                Err(e) if is_busy(&e) && started.elapsed() < BUSY_WAIT => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => return Err(state.error(e)),
            }
        }
    }

    /// Opens an existing database for reading only: nothing in the file is
    /// changed, whatever it is.
    ///
    /// # Errors
    /// [`Error::State`] when there is none at `path`, it cannot be read, or it
    /// is not a state database.
    pub fn open_existing(path: &Path) -> Result<Self, Error> {
        let failed = |message: String| Error::State {
            path: path.to_path_buf(),
            message,
            source: None,
        };
        if !path.is_file() {
            return Err(failed(
                "no state database here yet: `archiver check` records one (or pass --state FILE)"
                    .to_owned(),
            ));
        }
        let read_only = |immutable: bool| -> rusqlite::Result<(Connection, i64)> {
            let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
                | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
            let conn = if immutable {
                let uri = url::Url::from_file_path(std::path::absolute(path).unwrap_or_default())
                    .map_or_else(|()| String::new(), |u| format!("{u}?immutable=1"));
                Connection::open_with_flags(uri, flags | rusqlite::OpenFlags::SQLITE_OPEN_URI)?
            } else {
                Connection::open_with_flags(path, flags)?
            };
            conn.busy_timeout(BUSY_WAIT)?;
            let version = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
            Ok((conn, version))
        };
        // A database in WAL mode needs its shared-memory file to be read; in a
        // folder this user cannot write, where none can be made, the file is
        // read as it stands (nobody can be writing it there).
        let opened = match read_only(false) {
            Err(e)
                if matches!(
                    e.sqlite_error_code(),
                    Some(rusqlite::ErrorCode::ReadOnly | rusqlite::ErrorCode::CannotOpen)
                ) =>
            {
                read_only(true)
            }
            other => other,
        };
        let (conn, version) = opened.map_err(|e| state_error(path, e))?;
        let state = State {
            conn,
            path: path.to_path_buf(),
            columns: if version < 2 { COLUMNS_V1 } else { COLUMNS },
        };
        if version == 0 {
            return Err(failed(
                "not a state database of archiver (an SQLite file without its tables)".to_owned(),
            ));
        }
        if version > SCHEMA_VERSION {
            return Err(failed(format!(
                "written by a newer archiver (schema {version}; this one knows {SCHEMA_VERSION})"
            )));
        }
        Ok(state)
    }

    fn prepare(&self) -> rusqlite::Result<()> {
        let version: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version > SCHEMA_VERSION {
            return Err(rusqlite::Error::InvalidParameterName(format!(
                "written by a newer archiver (schema {version}; this one knows {SCHEMA_VERSION})"
            )));
        }
        // WAL: readers do not block the writer, and a killed writer leaves the
        // last committed state.
        self.conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0))?;
        // Statement journals (one per `INSERT OR REPLACE`) in memory: on disk
        // they cost a write per row of a run.
        self.conn
            .execute_batch("PRAGMA synchronous = NORMAL; PRAGMA temp_store = MEMORY;")?;
        if version < SCHEMA_VERSION {
            self.upgrade()?;
        }
        Ok(())
    }

    /// Brings the schema to [`SCHEMA_VERSION`], in one transaction. The
    /// version is read again inside it: another run may have upgraded the
    /// database since it was first read.
    fn upgrade(&self) -> rusqlite::Result<()> {
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        let upgraded = (|| {
            let version: i64 = self
                .conn
                .query_row("PRAGMA user_version", [], |r| r.get(0))?;
            if version == 1 {
                self.conn
                    .execute_batch("ALTER TABLE results ADD COLUMN answer_ms INTEGER;")?;
            }
            self.conn
                .execute_batch(&format!("{SCHEMA} PRAGMA user_version = {SCHEMA_VERSION};"))
        })();
        match upgraded {
            Ok(()) => self.conn.execute_batch("COMMIT"),
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    }

    /// An [`Error::State`] for `e`, saying what to do.
    fn error(&self, e: rusqlite::Error) -> Error {
        state_error(&self.path, e)
    }

    /// The file.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Records the start of a run; returns its number.
    ///
    /// # Errors
    /// [`Error::State`] when the database cannot be written.
    pub fn begin_run(&mut self, started_at: &str, settings: &str) -> Result<i64, Error> {
        self.conn
            .execute(
                "INSERT INTO runs (started_at, settings) VALUES (?1, ?2)",
                params![started_at, settings],
            )
            .map_err(|e| self.error(e))?;
        Ok(self.conn.last_insert_rowid())
    }

    /// The latest stored result for `url` from another run than `run`: the
    /// last committed, whichever run started first.
    ///
    /// # Errors
    /// [`Error::State`] when the database cannot be read.
    pub fn latest(&self, url: &str, run: i64) -> Result<Option<Row>, Error> {
        let columns = self.columns;
        let mut statement = self
            .conn
            .prepare_cached(&format!(
                "SELECT {columns} FROM results WHERE url = ?1 AND run <> ?2 ORDER BY rowid DESC LIMIT 1"
            ))
            .map_err(|e| self.error(e))?;
        statement
            .query_row(params![url, run], row)
            .optional()
            .map_err(|e| self.error(e))
    }

    /// The PDF the latest result naming one gave for the paper at `url`.
    ///
    /// # Errors
    /// [`Error::State`] when the database cannot be read.
    pub fn pdf_for(&self, url: &str) -> Result<Option<String>, Error> {
        let mut statement = self
            .conn
            .prepare_cached(
                "SELECT pdf_url FROM results WHERE url = ?1 AND pdf_url IS NOT NULL ORDER BY rowid DESC LIMIT 1",
            )
            .map_err(|e| self.error(e))?;
        statement
            .query_row(params![url], |r| r.get(0))
            .optional()
            .map_err(|e| self.error(e))
    }

    /// Every stored result for `url`, oldest first (in the order they were
    /// recorded, which for runs at once may differ from the order they began).
    ///
    /// # Errors
    /// [`Error::State`] when the database cannot be read.
    pub fn rows_for(&self, url: &str) -> Result<Vec<Row>, Error> {
        let columns = self.columns;
        self.query(
            &format!("SELECT {columns} FROM results WHERE url = ?1 ORDER BY rowid"),
            params![url],
        )
    }

    /// Each URL's latest result: the last row recorded for it, whatever run.
    ///
    /// # Errors
    /// [`Error::State`] when the database cannot be read.
    pub fn latest_rows(&self) -> Result<Vec<Row>, Error> {
        let columns = self.columns;
        // SQLite gives the bare columns of the row that holds the max().
        self.query(
            &format!(
                "SELECT {columns} FROM results WHERE rowid IN (SELECT max(rowid) FROM results GROUP BY url)"
            ),
            [],
        )
    }

    /// Every result of the runs that started at or after `since`, with, for
    /// each URL, its last result before then (to know what it was coming in);
    /// by URL, then oldest first.
    ///
    /// # Errors
    /// [`Error::State`] when the database cannot be read.
    pub fn rows_around(&self, since: &str) -> Result<Vec<Row>, Error> {
        let columns = self.columns;
        self.query(
            &format!(
                "WITH window AS (SELECT id FROM runs WHERE started_at >= ?1),
                      first AS (SELECT min(id) AS id FROM window)
                 SELECT {columns} FROM results
                 WHERE run IN (SELECT id FROM window)
                    OR (run < (SELECT id FROM first) AND url IN (SELECT url FROM results WHERE run IN (SELECT id FROM window))
                        AND run = (SELECT max(r2.run) FROM results r2 WHERE r2.url = results.url AND r2.run < (SELECT id FROM first)))
                 ORDER BY url, rowid"
            ),
            params![since],
        )
    }

    /// The runs that started at or after `since`, oldest first.
    ///
    /// # Errors
    /// [`Error::State`] when the database cannot be read.
    pub fn runs_since(&self, since: &str) -> Result<Vec<Run>, Error> {
        let result = (|| -> rusqlite::Result<Vec<Run>> {
            let mut statement = self.conn.prepare(
                "SELECT id, started_at, finished_at, interrupted FROM runs WHERE started_at >= ?1 ORDER BY id",
            )?;
            statement
                .query_map(params![since], |r| {
                    Ok(Run {
                        id: r.get(0)?,
                        started_at: r.get(1)?,
                        finished_at: r.get(2)?,
                        interrupted: r.get(3)?,
                    })
                })?
                .collect()
        })();
        result.map_err(|e| self.error(e))
    }

    fn query(&self, sql: &str, params: impl rusqlite::Params) -> Result<Vec<Row>, Error> {
        let result = (|| -> rusqlite::Result<Vec<Row>> {
            let mut statement = self.conn.prepare(sql)?;
            statement.query_map(params, row)?.collect()
        })();
        result.map_err(|e| self.error(e))
    }
}

/// Whether `e` is another connection holding the lock.
fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

const COLUMNS: &str = "run, url, verdict, status, reason, final_url, moved_to, flags, checked_at, cached, failing, since, streak, notes, pdf_url, answer_ms";

/// [`COLUMNS`] of a schema 1 database, which kept no answer times.
const COLUMNS_V1: &str = "run, url, verdict, status, reason, final_url, moved_to, flags, checked_at, cached, failing, since, streak, notes, pdf_url, NULL";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    let verdict: String = r.get(2)?;
    let flags: String = r.get(7)?;
    let notes: String = r.get(13)?;
    let split = |s: &str, by: char| -> Vec<String> {
        s.split(by)
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect()
    };
    Ok(Row {
        run: r.get(0)?,
        url: r.get(1)?,
        verdict: verdict.parse().map_err(|_| {
            rusqlite::Error::FromSqlConversionFailure(
                2,
                rusqlite::types::Type::Text,
                format!("unknown verdict `{verdict}`").into(),
            )
        })?,
        status: r.get(3)?,
        reason: r.get(4)?,
        final_url: r.get(5)?,
        moved_to: r.get(6)?,
        flags: split(&flags, ','),
        checked_at: r.get(8)?,
        cached: r.get(9)?,
        streak: Streak {
            failing: r.get(10)?,
            since: r.get(11)?,
            runs: r.get(12)?,
        },
        notes: split(&notes, '\n'),
        pdf_url: r.get(14)?,
        answer_ms: r
            .get::<_, Option<i64>>(15)?
            .and_then(|ms| u64::try_from(ms).ok()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(url: &str, verdict: Verdict, failing: bool, at: &str) -> Row {
        Row {
            run: 0,
            url: url.to_owned(),
            verdict,
            status: Some(200),
            reason: None,
            final_url: None,
            moved_to: None,
            flags: vec!["a".into(), "b".into()],
            checked_at: at.to_owned(),
            cached: false,
            streak: Streak {
                failing,
                since: at.to_owned(),
                runs: 1,
            },
            notes: vec!["notes/a.md".into(), "notes/b.md".into()],
            pdf_url: Some("https://a.example/a.pdf".into()),
            answer_ms: Some(42),
        }
    }

    #[test]
    fn a_schema_1_database_is_read_as_it_is_and_upgraded_when_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        {
            // The schema as version 1 made it: no answer times.
            let conn = Connection::open(&path).unwrap();
            let v1 = SCHEMA.replace("    answer_ms   INTEGER,\n", "");
            assert_ne!(v1, SCHEMA);
            conn.execute_batch(&format!(
                "{v1} PRAGMA user_version = 1;
                 INSERT INTO runs (id, started_at, settings) VALUES (1, 't', '{{}}');
                 INSERT INTO results (run, url, verdict, checked_at, cached, failing, since, streak)
                 VALUES (1, 'https://a.example/', 'ok', 't', 0, 0, 't', 1);"
            ))
            .unwrap();
        }
        // Read-only: nothing changes, and the old rows read with no time.
        let old = State::open_existing(&path).unwrap();
        let rows = old.rows_for("https://a.example/").unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].answer_ms, None);
        drop(old);
        let version = |path: &Path| -> i64 {
            Connection::open(path)
                .unwrap()
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .unwrap()
        };
        assert_eq!(version(&path), 1);
        // Opened to write: upgraded, and new rows keep their time.
        let mut state = State::open(&path).unwrap();
        assert_eq!(version(&path), SCHEMA_VERSION);
        let run = state.begin_run("t2", "{}").unwrap();
        let mut row = result("https://a.example/", Verdict::Ok, false, "t2");
        row.run = run;
        state
            .finish_run(
                run,
                &Finish {
                    finished_at: "t3",
                    interrupted: false,
                },
                vec![row],
            )
            .unwrap();
        let rows = state.rows_for("https://a.example/").unwrap();
        assert_eq!(
            rows.iter().map(|r| r.answer_ms).collect::<Vec<_>>(),
            [None, Some(42)]
        );
        // Opening it again finds nothing to do.
        drop(state);
        State::open(&path).unwrap();
    }

    #[test]
    fn results_round_trip_and_the_latest_comes_from_another_run() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/state.db");
        let mut state = State::open(&path).unwrap();
        let first = state.begin_run("2026-01-01T00:00:00Z", "{}").unwrap();
        let row = result(
            "https://a.example/",
            Verdict::Ok,
            false,
            "2026-01-01T00:00:01Z",
        );
        let finish = |at| Finish {
            finished_at: at,
            interrupted: false,
        };
        let streaks = state
            .finish_run(first, &finish("2026-01-01T00:00:02Z"), vec![row.clone()])
            .unwrap();
        assert_eq!(streaks, [(None, row.streak.clone())]);
        let second = state.begin_run("2026-01-02T00:00:00Z", "{}").unwrap();
        let latest = state.latest("https://a.example/", second).unwrap().unwrap();
        assert_eq!(
            latest,
            Row {
                run: first,
                ..row.clone()
            }
        );
        assert!(state.latest("https://a.example/", first).unwrap().is_none());
        assert_eq!(
            state.pdf_for("https://a.example/").unwrap().as_deref(),
            Some("https://a.example/a.pdf")
        );
        assert!(
            state
                .latest("https://b.example/", second)
                .unwrap()
                .is_none()
        );
        // The next result continues the streak.
        let next = result(
            "https://a.example/",
            Verdict::Ok,
            false,
            "2026-01-02T00:00:01Z",
        );
        let streaks = state
            .finish_run(second, &finish("2026-01-02T00:00:02Z"), vec![next])
            .unwrap();
        let (before, now) = &streaks[0];
        assert_eq!(before.as_ref(), Some(&row.streak));
        assert_eq!(now.since, "2026-01-01T00:00:01Z");
        assert_eq!(now.runs, 2);
        // Reopening keeps everything.
        drop(state);
        let state = State::open_existing(&path).unwrap();
        assert_eq!(state.rows_for("https://a.example/").unwrap().len(), 2);
        assert_eq!(state.runs_since("2026-01-01T00:00:00Z").unwrap().len(), 2);
        assert_eq!(state.runs_since("2026-01-02T00:00:00Z").unwrap().len(), 1);
    }

    #[test]
    fn an_inconclusive_result_carries_the_streak_on() {
        let dir = tempfile::tempdir().unwrap();
        let mut state = State::open(&dir.path().join("state.db")).unwrap();
        let mut record = |verdict: Verdict, failing: bool, at: &str| {
            let run = state.begin_run(at, "{}").unwrap();
            let row = result("https://a.example/", verdict, failing, at);
            let finish = Finish {
                finished_at: at,
                interrupted: false,
            };
            let streaks = state.finish_run(run, &finish, vec![row]).unwrap();
            streaks[0].1.clone()
        };
        record(Verdict::Dead, true, "2026-01-01T00:00:00Z");
        // A timeout does not fail the run, but the link has not recovered.
        let streak = record(Verdict::Timeout, false, "2026-01-02T00:00:00Z");
        assert_eq!(
            (streak.failing, streak.since.as_str(), streak.runs),
            (true, "2026-01-01T00:00:00Z", 2)
        );
        let streak = record(Verdict::Ok, false, "2026-01-03T00:00:00Z");
        assert_eq!((streak.failing, streak.runs), (false, 1));
        // And a working link that is blocked one night keeps working.
        let streak = record(Verdict::Blocked, false, "2026-01-04T00:00:00Z");
        assert_eq!((streak.failing, streak.runs), (false, 2));
    }

    #[test]
    fn a_file_that_is_not_a_database_is_named_with_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        std::fs::write(
            &path,
            "not a database, just text that is long enough to matter",
        )
        .unwrap();
        let e = State::open(&path).unwrap_err().to_string();
        assert!(e.contains("state.db"), "{e}");
        assert!(e.contains("move it away"), "{e}");
        assert!(State::open_existing(&dir.path().join("none.db")).is_err());
    }
}
