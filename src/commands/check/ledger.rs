//! `check`'s use of the state database: results reused while fresh
//! (`--max-age`), and the run begun (the history's writer records it).

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use crate::cli::CheckArgs;
use crate::config::Settings;
use crate::error::Error;
use crate::judge::Judgement;
use crate::report::check::CACHED;
use crate::state::{self, State};
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

    /// The database, the run's number, the verdicts that fail it, and when
    /// each reused result was checked: what the history's writer needs.
    pub fn into_parts(self) -> (State, i64, Vec<Verdict>, HashMap<String, String>) {
        (self.state, self.run, self.fail_on, self.reused)
    }
}
