//! `check`'s use of the state database: results reused while fresh
//! (`--max-age`), each result placed in its URL's history, and the run recorded.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, SystemTime};

use crate::cli::CheckArgs;
use crate::config::Settings;
use crate::error::Error;
use crate::judge::Judgement;
use crate::report::check::{CACHED, CheckResult};
use crate::state::{self, Closing, Finish, Fresh, History, Placement, Row, State};
use crate::verdict::Verdict;

/// The state database as one `check` run uses it.
#[derive(Debug)]
pub struct Ledger {
    state: State,
    run: i64,
    /// Results younger than this are reused; zero reuses nothing.
    max_age: Duration,
    /// The verdicts that fail the run: never reused.
    fail_on: Vec<Verdict>,
    /// When each reused result was checked: the row keeps that time, so a
    /// reused result ages and is asked again once too old.
    reused: HashMap<String, String>,
}

impl Ledger {
    /// The state database a run records in, opened (made, the first time);
    /// `None` with `--no-state`. It is opened while the notes are read.
    pub fn open_state(args: &CheckArgs, settings: &Settings) -> Option<Result<State, Error>> {
        (!args.history.no_state).then(|| State::open(&settings.state.path))
    }

    /// Records the run's start in `state`, the database
    /// [`Ledger::open_state`] opened; `None` with `--no-state`. A database
    /// that cannot be used costs only the history (a warning), unless the run
    /// asked for what needs it (`--only-new`, `--max-age`).
    ///
    /// # Errors
    /// [`Error::State`] when the database cannot be opened or written and the
    /// run needs it.
    pub fn open(
        args: &CheckArgs,
        settings: &Settings,
        state: Option<Result<State, Error>>,
    ) -> Result<Option<Self>, Error> {
        let Some(state) = state else {
            return Ok(None);
        };
        match state.and_then(|state| Self::begin(state, args, settings)) {
            Ok(ledger) => Ok(Some(ledger)),
            Err(e) if !args.history.only_new && settings.check.max_age.is_zero() => {
                tracing::warn!("{e}; this run is checked without history");
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    fn begin(mut state: State, args: &CheckArgs, settings: &Settings) -> Result<Self, Error> {
        let recorded = serde_json::json!({
            "version": env!("CARGO_PKG_VERSION"),
            "inputs": args.notes.inputs,
            "fail_on": settings.check.fail_on,
            "max_age": settings.check.max_age.as_secs(),
            "no_cache": args.history.no_cache,
            "changed_since": args.history.changed_since,
        });
        let run = state.begin_run(&state::timestamp(SystemTime::now()), &recorded.to_string())?;
        let max_age = if args.history.no_cache {
            Duration::ZERO
        } else {
            settings.check.max_age
        };
        Ok(Ledger {
            state,
            run,
            max_age,
            fail_on: settings.check.fail_on.clone(),
            reused: HashMap::new(),
        })
    }

    /// The URL's last result, if it worked and is younger than `--max-age`:
    /// the network need not be asked. Failures are never reused.
    ///
    /// # Errors
    /// [`Error::State`] when the database cannot be read.
    pub fn reuse(&mut self, url: &str) -> Result<Option<Judgement>, Error> {
        if self.max_age.is_zero() {
            return Ok(None);
        }
        let Some(row) = self.state.latest(url, self.run)? else {
            return Ok(None);
        };
        let fresh = state::parse_timestamp(&row.checked_at)
            .and_then(|at| SystemTime::now().duration_since(at).ok())
            .is_some_and(|age| age < self.max_age);
        if !fresh
            || !matches!(row.verdict, Verdict::Ok | Verdict::Redirected)
            || self.fail_on.contains(&row.verdict)
        {
            return Ok(None);
        }
        let mut flags = row.flags;
        flags.retain(|f| f != CACHED && f != "archived");
        flags.push(CACHED.to_owned());
        flags.sort();
        self.reused.insert(url.to_owned(), row.checked_at);
        Ok(Some(Judgement {
            verdict: row.verdict,
            status: row.status,
            final_url: row.final_url,
            moved_to: row.moved_to,
            reason: row.reason,
            flags,
            // The original answer's, as `checked_at` is.
            answered_in: row.answer_ms.map(Duration::from_millis),
        }))
    }

    /// Records a run that ended without results (the network was down), so it
    /// does not look like a killed one.
    pub fn abandon(&mut self) {
        let _ = self.state.finish_run(
            self.run,
            &Finish {
                finished_at: &state::timestamp(SystemTime::now()),
                interrupted: true,
            },
            Vec::new(),
        );
    }

    /// Places every result in its URL's history (its `history` is set) and
    /// takes the database's write lock, held until [`Placed::write`] records
    /// the run, all its results in one transaction.
    ///
    /// # Errors
    /// [`Error::State`] when the database cannot be read or locked.
    pub fn place(
        &mut self,
        results: &mut [CheckResult],
        fail_on: &[Verdict],
    ) -> Result<Placed<'_>, Error> {
        let now = state::timestamp(SystemTime::now());
        let fresh = results.iter().map(|r| Fresh {
            url: &r.url,
            verdict: r.verdict,
            failing: fail_on.contains(&r.verdict),
            at: &now,
        });
        let (closing, placed) = self.state.close_run(self.run, fresh)?;
        let mut recovered = Vec::new();
        for (result, (before, now)) in results.iter_mut().zip(&placed) {
            let history = History::of(before.as_ref(), now);
            if history.state == state::HistoryState::Recovered {
                recovered.push(result.url.clone());
            }
            result.history = Some(history);
        }
        Ok(Placed {
            closing,
            streaks: placed,
            run: self.run,
            reused: &self.reused,
            now,
            recovered,
        })
    }
}

/// A run's results placed in their URLs' histories and not yet written: the
/// database's write lock is held meanwhile.
#[derive(Debug)]
pub struct Placed<'a> {
    closing: Closing<'a>,
    /// Result by result, the URL's previous streak and the one to record.
    streaks: Vec<Placement>,
    run: i64,
    reused: &'a HashMap<String, String>,
    /// When the run's results were placed: their streaks' start.
    now: String,
    /// The URLs that recovered in this run.
    pub recovered: Vec<String>,
}

impl Placed<'_> {
    /// Records the run and its results, the same ones in the same order as
    /// they were placed, in the transaction that placed them.
    ///
    /// # Errors
    /// [`Error::State`] when the database cannot be written.
    pub fn write(self, results: &[CheckResult], interrupted: bool) -> Result<(), Error> {
        let Placed {
            closing,
            streaks,
            run,
            reused,
            now,
            ..
        } = self;
        // Made one at a time as the database takes them.
        let rows = results.iter().zip(streaks).map(|(result, (_, streak))| {
            let reused = reused.get(&result.url);
            let notes: BTreeSet<&str> = result.occurrences.iter().map(|o| &*o.file).collect();
            Row {
                run,
                url: result.url.clone(),
                verdict: result.verdict,
                status: result.status,
                reason: result.reason.clone(),
                final_url: result.final_url.clone(),
                moved_to: result.moved_to.clone(),
                flags: result.flags.clone(),
                checked_at: reused.unwrap_or(&now).clone(),
                cached: reused.is_some(),
                streak,
                notes: notes.into_iter().map(str::to_owned).collect(),
                pdf_url: result.pdf_url.clone(),
                answer_ms: result.answer_ms,
            }
        });
        let finish = Finish {
            finished_at: &state::timestamp(SystemTime::now()),
            interrupted,
        };
        closing.write(&finish, rows)
    }
}
