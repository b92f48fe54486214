//! The run's history, written while the run's last answers come in.
//!
//! Results are kept until the end is near ([`EndWatch`]: few URLs left, and
//! answers coming fast enough for them to be in within about a second), then
//! go to a thread of their own, which takes the database's write lock if it
//! is free, places the results so far in their URLs' histories and
//! writes their rows, then each later one as it comes, in the one transaction
//! that ends the run. So the history is written while the network's tail is
//! waited for, not after it. The lock is given back, and everything left to
//! the run's end as before, if the end does not come within [`AHEAD_HOLD`]:
//! another run never waits long for one that is not ending. Nothing is
//! committed before the end, so a run killed meanwhile leaves no rows.

use std::collections::{HashMap, VecDeque};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use super::ledger::Ledger;
use crate::error::Error;
use crate::report::check::CheckResult;
use crate::state::{self, Closing, Finish, Fresh, History, Row, State, Streak};
use crate::verdict::Verdict;

/// The longest the write lock is held, once the results so far are written,
/// for a run whose end was near and did not come.
const AHEAD_HOLD: Duration = Duration::from_secs(3);

/// How long the writer waits for the write lock ahead of the run's end: a
/// moment another run's reads or end may take; longer, the end writes all.
const AHEAD_WAIT: Duration = Duration::from_millis(20);

/// How soon the rest of the answers must be expected for the end to be near.
const SOON: Duration = Duration::from_secs(1);

/// Over how many rounds of answers (a round: as many as are asked at once)
/// the pace is measured, and how many rounds may be left for the end to be
/// near. Two rounds of fast answers, with the retries that follow them, give
/// the writer about a tenth of a second: what 20,000 rows take. Starting
/// sooner takes a core from the network while it is at full flow.
const ROUNDS: usize = 2;

/// Where a run's results go as they are made: kept here, or, for a run that
/// records its history, to the history's writer.
#[derive(Debug)]
pub(super) enum Results {
    /// Kept in the order they came.
    Kept(Vec<CheckResult>),
    /// Sent to the history's writer.
    Recorded(Recorder),
}

impl Results {
    /// Where the results of a run go: to a history's writer for the run
    /// `ledger` began, kept without one. Also says whether a writer was
    /// wanted and could not be started (named in a warning; the run then
    /// fails, as its results are not recorded).
    ///
    /// `urls` is how many results the run will make: room is made for them
    /// once, rather than as they come.
    pub(super) fn for_run(ledger: Option<Ledger>, urls: usize) -> (Self, bool) {
        match ledger
            .map(|ledger| Recorder::start(ledger, urls))
            .transpose()
        {
            Ok(Some(recorder)) => (Results::Recorded(recorder), false),
            Ok(None) => (Results::Kept(Vec::with_capacity(urls)), false),
            Err(e) => {
                tracing::warn!("{e}; this run is checked without history");
                (Results::Kept(Vec::with_capacity(urls)), true)
            }
        }
    }

    /// Every result of the run, and, when its history is recorded, that
    /// history being written: placing the results in it failed, or it is
    /// being written (each result has its `history` set).
    pub(super) fn finish(
        self,
        interrupted: bool,
    ) -> (Vec<CheckResult>, Result<Option<Writing>, Error>) {
        match self {
            Results::Kept(results) => (results, Ok(None)),
            Results::Recorded(recorder) => {
                let (placed, writing) = recorder.finish(interrupted);
                (placed.results, placed.placed.map(|()| Some(writing)))
            }
        }
    }

    /// Takes a finished result.
    pub(super) fn take(&mut self, result: CheckResult) {
        match self {
            Results::Kept(kept) => kept.push(result),
            Results::Recorded(recorder) => recorder.take(result),
        }
    }

    /// The end of the run is near: its history can be written.
    pub(super) fn near_end(&mut self) {
        if let Results::Recorded(recorder) = self {
            recorder.near_end();
        }
    }
}

/// The sending end of the history's writer.
#[derive(Debug)]
pub(super) struct Recorder {
    inbox: Sender<Message>,
    writer: JoinHandle<Result<(), Error>>,
    /// Results kept here until the end is near: sent one by one, each would
    /// wake the writer for nothing.
    held: Vec<CheckResult>,
    /// Whether the end was said to be near: results then go at once.
    near: bool,
}

/// What the writer is told, in order.
#[derive(Debug)]
enum Message {
    /// Results made, in the order they came.
    Results(Vec<CheckResult>),
    /// The run's end is near.
    NearEnd,
    /// The run ended (stopped early if `interrupted`): every result is to
    /// be placed and sent back through `reply`, then the run's end written.
    Finish {
        interrupted: bool,
        reply: Sender<Placed>,
    },
    /// The run ended without results (the network was down).
    Abandon,
}

/// The run's results as the writer hands them back at the end, while it
/// writes what is left.
#[derive(Debug)]
pub(super) struct Placed {
    /// Every result the run made, each with its `history` set when placing
    /// them worked.
    pub results: Vec<CheckResult>,
    /// Whether placing them worked: the database could be read and locked.
    pub placed: Result<(), Error>,
}

/// The history being written after the results were placed.
#[derive(Debug)]
pub(super) struct Writing(JoinHandle<Result<(), Error>>);

impl Writing {
    /// Waits for the history to be written.
    ///
    /// # Errors
    /// [`Error::State`] when the database could not be written.
    pub(super) fn wait(self) -> Result<(), Error> {
        self.0
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    }
}

impl Recorder {
    /// Starts the history's writer for the run `ledger` began.
    ///
    /// # Errors
    /// [`Error::State`] when no thread can be started for it.
    pub(super) fn start(ledger: Ledger, urls: usize) -> Result<Self, Error> {
        let (state, run, fail_on, reused) = ledger.into_parts();
        let mut recorder = Self::spawn(state, run, fail_on, reused, AHEAD_HOLD)?;
        recorder.held.reserve_exact(urls);
        Ok(recorder)
    }

    /// Starts a writer recording run `run` in `state`, holding the write lock
    /// at most `hold` ahead of the run's end.
    fn spawn(
        state: State,
        run: i64,
        fail_on: Vec<Verdict>,
        reused: HashMap<String, String>,
        hold: Duration,
    ) -> Result<Self, Error> {
        let path = state.path().to_path_buf();
        let (inbox, messages) = mpsc::channel();
        let writer = Writer {
            state,
            run,
            fail_on,
            reused,
            hold,
            results: Vec::new(),
            messages,
        };
        let writer = std::thread::Builder::new()
            .name("history".to_owned())
            .spawn(move || writer.serve())
            .map_err(|e| Error::State {
                path,
                message: format!("cannot start the thread that writes it: {e}"),
                source: Some(Box::new(e)),
            })?;
        Ok(Recorder {
            inbox,
            writer,
            held: Vec::new(),
            near: false,
        })
    }

    fn take(&mut self, result: CheckResult) {
        if self.near {
            self.send(Message::Results(vec![result]));
        } else {
            self.held.push(result);
        }
    }

    /// The end of the run is near: the results so far go to the writer, and
    /// each later one as it comes. Said again, it changes nothing.
    fn near_end(&mut self) {
        if self.near {
            return;
        }
        self.send_held();
        self.send(Message::NearEnd);
        self.near = true;
    }

    fn send_held(&mut self) {
        if !self.held.is_empty() {
            let held = std::mem::take(&mut self.held);
            self.send(Message::Results(held));
        }
    }

    fn send(&self, message: Message) {
        // The writer stops early only by panicking, which `finish` passes on.
        let _ = self.inbox.send(message);
    }

    /// Ends the run: every result comes back placed in its URL's history,
    /// while the rows are still being written.
    pub(super) fn finish(mut self, interrupted: bool) -> (Placed, Writing) {
        let (reply, placed) = mpsc::channel();
        self.send_held();
        self.send(Message::Finish { interrupted, reply });
        let writing = Writing(self.writer);
        if let Ok(placed) = placed.recv() {
            return (placed, writing);
        }
        // Only a panic ends the writer without an answer: passed on.
        let ended = writing.wait();
        unreachable!("the history's writer ended without answering: {ended:?}")
    }

    /// Records that the run ended without results (the network was down), so
    /// it does not look like a killed one.
    pub(super) fn abandon(self) {
        let _ = self.inbox.send(Message::Abandon);
        let _ = Writing(self.writer).wait();
    }
}

/// The history's writer, on its own thread.
struct Writer {
    state: State,
    run: i64,
    fail_on: Vec<Verdict>,
    /// When each reused result was checked.
    reused: HashMap<String, String>,
    /// The longest the write lock is held ahead of the run's end.
    hold: Duration,
    results: Vec<CheckResult>,
    messages: Receiver<Message>,
}

/// How writing ahead ended.
enum Ahead {
    /// The run ended, and this is how its history's writing went.
    Ended(Result<(), Error>),
    /// Not now: the lock was taken, or the end did not come soon enough (all
    /// written so far is rolled back).
    Later,
}

impl Writer {
    fn serve(mut self) -> Result<(), Error> {
        loop {
            match self.messages.recv() {
                Ok(Message::Results(results)) => receive(&mut self.results, results),
                Ok(Message::NearEnd) => {
                    if let Ahead::Ended(written) = self.ahead() {
                        return written;
                    }
                }
                Ok(Message::Finish { interrupted, reply }) => return self.end(interrupted, &reply),
                Ok(Message::Abandon) => {
                    abandon(&mut self.state, self.run);
                    return Ok(());
                }
                // The run failed before its end: as for a killed run, its
                // results are not recorded.
                Err(_) => return Ok(()),
            }
        }
    }

    /// Places and writes the results so far, then each as it comes, until
    /// the run ends.
    fn ahead(&mut self) -> Ahead {
        let Writer {
            state,
            run,
            fail_on,
            reused,
            hold,
            results,
            messages,
        } = self;
        // The end tells any error: it meets it again.
        let Ok(mut closing) = state.begin_close(*run, AHEAD_WAIT) else {
            tracing::debug!(
                "the run's end is near, but another run holds the write lock: the history is written at the end"
            );
            return Ahead::Later;
        };
        tracing::debug!(
            "the run's end is near: writing the history of its {} results so far",
            results.len()
        );
        let put = Put {
            run: *run,
            fail_on,
            reused,
        };
        let mut deadline = None;
        let mut done = 0;
        loop {
            // An error here is met again, and told, at the end.
            if put
                .place_and_write(&mut closing, &mut results[done..])
                .is_err()
            {
                return Ahead::Later;
            }
            done = results.len();
            // The hold counts from when the results so far are written: a
            // large run's first batch is not given back for its own length.
            let deadline = *deadline.get_or_insert_with(|| Instant::now() + *hold);
            match messages.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(Message::Results(more)) => receive(results, more),
                Ok(Message::NearEnd) => {}
                Ok(Message::Finish { interrupted, reply }) => {
                    tracing::debug!(
                        "the run ended: {} results placed and written, committing",
                        results.len()
                    );
                    let _ = reply.send(Placed {
                        results: std::mem::take(results),
                        placed: Ok(()),
                    });
                    return Ahead::Ended(commit(closing, interrupted, Vec::new()));
                }
                Ok(Message::Abandon) => {
                    drop(closing);
                    abandon(state, *run);
                    return Ahead::Ended(Ok(()));
                }
                Err(RecvTimeoutError::Timeout) => {
                    tracing::debug!(
                        "the run's end did not come within {:?}: its history is written at the end, the write lock given back meanwhile",
                        hold
                    );
                    return Ahead::Later;
                }
                Err(RecvTimeoutError::Disconnected) => return Ahead::Ended(Ok(())),
            }
        }
    }

    /// Places every result at the run's end, hands them back, then writes
    /// them and commits.
    fn end(&mut self, interrupted: bool, reply: &Sender<Placed>) -> Result<(), Error> {
        tracing::debug!(
            "the run ended: writing the history of its {} results",
            self.results.len()
        );
        let put = Put {
            run: self.run,
            fail_on: &self.fail_on,
            reused: &self.reused,
        };
        let results = &mut self.results;
        let placed = self
            .state
            .begin_close(self.run, state::BUSY_WAIT)
            .and_then(|closing| {
                let placed = put.place(&closing, results)?;
                Ok((closing, placed))
            });
        match placed {
            Ok((closing, (streaks, now))) => {
                // The rows are made before the results go back, so that the
                // report goes out while they are written.
                let rows: Vec<Row> = put.rows(results, streaks, &now).collect();
                let _ = reply.send(Placed {
                    results: std::mem::take(results),
                    placed: Ok(()),
                });
                commit(closing, interrupted, rows)
            }
            Err(e) => {
                // Not placed: the results go out without their history.
                for result in results.iter_mut() {
                    result.history = None;
                }
                let _ = reply.send(Placed {
                    results: std::mem::take(results),
                    placed: Err(e),
                });
                Ok(())
            }
        }
    }
}

/// Adds `more` to `results`. The first batch is taken as it is: the main side
/// made room in it for every result of the run.
fn receive(results: &mut Vec<CheckResult>, mut more: Vec<CheckResult>) {
    if results.is_empty() {
        *results = more;
    } else {
        results.append(&mut more);
    }
}

/// Writes `rows` and the run's end, and commits.
fn commit(closing: Closing<'_>, interrupted: bool, rows: Vec<Row>) -> Result<(), Error> {
    let finished_at = state::timestamp(SystemTime::now());
    closing.write(
        &Finish {
            finished_at: &finished_at,
            interrupted,
        },
        rows,
    )
}

/// Records that run `run` ended without results, so it does not look like a
/// killed one.
fn abandon(state: &mut State, run: i64) {
    let _ = state
        .begin_close(run, state::BUSY_WAIT)
        .and_then(|closing| commit(closing, true, Vec::new()));
}

/// What a result's row is made with, besides the result.
struct Put<'a> {
    run: i64,
    fail_on: &'a [Verdict],
    reused: &'a HashMap<String, String>,
}

impl Put<'_> {
    /// Places `results` in their URLs' histories: each gets its `history`.
    /// Returns the streak each continues, and when they were placed (a streak
    /// they begin begins then).
    fn place(
        &self,
        closing: &Closing<'_>,
        results: &mut [CheckResult],
    ) -> Result<(Vec<Streak>, String), Error> {
        let now = state::timestamp(SystemTime::now());
        let placed = closing.place(results.iter().map(|r| Fresh {
            url: &r.url,
            verdict: r.verdict,
            failing: self.fail_on.contains(&r.verdict),
            at: &now,
        }))?;
        let mut streaks = Vec::with_capacity(placed.len());
        for (result, (before, streak)) in results.iter_mut().zip(placed) {
            result.history = Some(History::of(before.as_ref(), &streak));
            streaks.push(streak);
        }
        Ok((streaks, now))
    }

    /// Places `results` (see [`Put::place`]) and writes their rows.
    fn place_and_write(
        &self,
        closing: &mut Closing<'_>,
        results: &mut [CheckResult],
    ) -> Result<(), Error> {
        if results.is_empty() {
            return Ok(());
        }
        let (streaks, now) = self.place(closing, results)?;
        closing.insert(self.rows(results, streaks, &now))
    }

    /// The rows recording `results`, each continuing its streak, made one at
    /// a time.
    fn rows<'r>(
        &'r self,
        results: &'r [CheckResult],
        streaks: Vec<Streak>,
        now: &'r str,
    ) -> impl Iterator<Item = Row> + 'r {
        results
            .iter()
            .zip(streaks)
            .map(move |(result, streak)| self.row(result, streak, now))
    }

    /// The row recording `result`, continuing `streak`, placed at `now`.
    fn row(&self, result: &CheckResult, streak: Streak, now: &str) -> Row {
        let reused = self.reused.get(&result.url);
        let notes: std::collections::BTreeSet<&str> =
            result.occurrences.iter().map(|o| &*o.file).collect();
        Row {
            run: self.run,
            url: result.url.clone(),
            verdict: result.verdict,
            status: result.status,
            reason: result.reason.clone(),
            final_url: result.final_url.clone(),
            moved_to: result.moved_to.clone(),
            flags: result.flags.clone(),
            checked_at: reused.map_or(now, String::as_str).to_owned(),
            cached: reused.is_some(),
            streak,
            notes: notes.into_iter().map(str::to_owned).collect(),
            pdf_url: result.pdf_url.clone(),
            answer_ms: result.answer_ms,
        }
    }
}

/// Tells when the end of a run's answers is near: at most `window` URLs are
/// left, and at the pace of the last answers (up to `window` of them) they
/// come within about a second.
#[derive(Debug)]
pub(super) struct EndWatch {
    left: usize,
    window: usize,
    recent: VecDeque<Instant>,
}

impl EndWatch {
    /// A watch over `urls` URLs, up to `in_flight` of them asked at once.
    pub(super) fn for_run(urls: usize, in_flight: usize) -> Self {
        Self::new(urls, in_flight.saturating_mul(ROUNDS))
    }

    /// A watch over `urls` URLs whose pace is measured over the last `window`
    /// answers, and whose end is near only with at most `window` left.
    fn new(urls: usize, window: usize) -> Self {
        let window = window.max(1);
        EndWatch {
            left: urls,
            window,
            recent: VecDeque::with_capacity(window + 1),
        }
    }

    /// One URL finished at `at`; whether the end is near.
    pub(super) fn finished(&mut self, at: Instant) -> bool {
        self.left = self.left.saturating_sub(1);
        self.recent.push_back(at);
        if self.recent.len() > self.window {
            self.recent.pop_front();
        }
        if self.left > self.window {
            return false;
        }
        match (self.recent.front(), self.recent.len()) {
            _ if self.left == 0 => true,
            (Some(first), answers) if answers > 1 => {
                // `answers - 1` came over the span since the first: the
                // `left` to come take that span times left / (answers - 1).
                let span = at.saturating_duration_since(*first);
                let left = u32::try_from(self.left).unwrap_or(u32::MAX);
                let paces = u32::try_from(answers - 1).unwrap_or(u32::MAX);
                span.saturating_mul(left) / paces <= SOON
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::commands::check::targets::CitedUrl;
    use crate::judge::Judgement;
    use crate::link::Kind;
    use crate::state::HistoryState;

    fn result(url: &str, verdict: Verdict) -> CheckResult {
        CitedUrl::new(url.to_owned(), Kind::Page).into_result(Judgement::new(verdict, None))
    }

    /// A recorder for a new run in the database at `path`, failing on dead
    /// links, holding the lock at most `hold` ahead of the end.
    fn recorder(path: &Path, hold: Duration) -> (Recorder, i64) {
        let mut state = State::open(path).unwrap();
        let run = state
            .begin_run(&state::timestamp(SystemTime::now()), "{}")
            .unwrap();
        let recorder =
            Recorder::spawn(state, run, vec![Verdict::Dead], HashMap::new(), hold).unwrap();
        (recorder, run)
    }

    /// A new run's recorder writing ahead of its end, in a database of its
    /// own, one dead link taken: the folder, the database, the recorder and
    /// the run's number.
    fn writing_ahead() -> (tempfile::TempDir, std::path::PathBuf, Recorder, i64) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let (mut recorder, run) = recorder(&path, AHEAD_HOLD);
        recorder.take(result("https://a.example/", Verdict::Dead));
        recorder.near_end();
        until_held(&path);
        (dir, path, recorder, run)
    }

    /// Run `run` as recorded.
    fn recorded_run(reader: &State, run: i64) -> crate::state::Run {
        let runs = reader.runs_since("").unwrap();
        runs.into_iter().find(|r| r.id == run).unwrap()
    }

    /// Whether another connection gets the write lock within 50 ms.
    fn lock_is_free(path: &Path) -> bool {
        let mut other = State::open(path).unwrap();
        other.begin_close(0, Duration::from_millis(50)).is_ok()
    }

    /// Waits until the writer holds the lock, for up to 5 s. The probes hold
    /// it for a moment each, which the writer waits out ([`AHEAD_WAIT`]).
    fn until_held(path: &Path) {
        let started = Instant::now();
        while lock_is_free(path) {
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "the writer never took the lock"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    #[test]
    fn results_written_ahead_come_back_placed_and_are_committed_at_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        // A first run finds `a` dead.
        let (mut first, _) = recorder(&path, AHEAD_HOLD);
        first.take(result("https://a.example/", Verdict::Dead));
        let (placed, writing) = first.finish(false);
        placed.placed.unwrap();
        writing.wait().unwrap();

        let (mut second, run) = recorder(&path, AHEAD_HOLD);
        second.take(result("https://a.example/", Verdict::Dead));
        second.take(result("https://b.example/", Verdict::Ok));
        second.near_end();
        // Written ahead: the lock is held, and nothing is committed.
        until_held(&path);
        let reader = State::open_existing(&path).unwrap();
        assert!(reader.latest_rows().unwrap().iter().all(|r| r.run != run));
        second.take(result("https://c.example/", Verdict::Dead));
        let (placed, writing) = second.finish(false);
        placed.placed.unwrap();
        let states: Vec<(&str, HistoryState)> = placed
            .results
            .iter()
            .map(|r| (r.url.as_str(), r.history.as_ref().unwrap().state))
            .collect();
        assert_eq!(
            states,
            [
                ("https://a.example/", HistoryState::StillFailing),
                ("https://b.example/", HistoryState::Ok),
                ("https://c.example/", HistoryState::New),
            ]
        );
        writing.wait().unwrap();
        let rows = reader.latest_rows().unwrap();
        assert_eq!(rows.len(), 3);
        assert!(rows.iter().all(|r| r.run == run));
        let a = rows.iter().find(|r| r.url == "https://a.example/").unwrap();
        assert_eq!((a.streak.failing, a.streak.runs), (true, 2));
        let runs = reader.runs_since("").unwrap();
        assert!(
            runs.iter()
                .all(|r| r.finished_at.is_some() && !r.interrupted)
        );
        assert!(lock_is_free(&path));
    }

    #[test]
    fn the_lock_is_given_back_when_the_end_does_not_come() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let (mut recorder, run) = recorder(&path, Duration::from_secs(1));
        recorder.take(result("https://a.example/", Verdict::Ok));
        recorder.near_end();
        until_held(&path);
        // Given back after the hold.
        let started = Instant::now();
        while !lock_is_free(&path) {
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "never given back"
            );
        }
        // The end then writes everything, again under the lock.
        recorder.take(result("https://b.example/", Verdict::Dead));
        let (placed, writing) = recorder.finish(false);
        placed.placed.unwrap();
        assert!(placed.results.iter().all(|r| r.history.is_some()));
        writing.wait().unwrap();
        let reader = State::open_existing(&path).unwrap();
        let rows = reader.latest_rows().unwrap();
        assert_eq!(rows.len(), 2);
        assert!(rows.iter().all(|r| r.run == run));
        // Counted once, though the rows written ahead were rolled back.
        let counted: (i64, i64) = rusqlite::Connection::open(&path)
            .unwrap()
            .query_row("SELECT urls, failing FROM runs WHERE id = ?1", [run], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!(counted, (2, 1));
    }

    #[test]
    fn a_lock_held_by_another_run_leaves_the_writing_to_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let (mut recorder, run) = recorder(&path, AHEAD_HOLD);
        let mut other = State::open(&path).unwrap();
        let held = other.begin_close(0, Duration::ZERO).unwrap();
        recorder.take(result("https://a.example/", Verdict::Ok));
        recorder.near_end();
        // The writer does not wait for the lock past a moment: once the other
        // run lets go, nobody holds it.
        std::thread::sleep(AHEAD_WAIT * 5);
        drop(held);
        std::thread::sleep(AHEAD_WAIT * 2);
        assert!(lock_is_free(&path));
        recorder.take(result("https://b.example/", Verdict::Ok));
        // Another run holds the lock at this one's end, which waits for it.
        let held = other.begin_close(0, Duration::ZERO).unwrap();
        let finishing = std::thread::spawn(move || recorder.finish(true));
        std::thread::sleep(Duration::from_millis(100));
        drop(held);
        let (placed, writing) = finishing.join().unwrap();
        placed.placed.unwrap();
        writing.wait().unwrap();
        let reader = State::open_existing(&path).unwrap();
        assert_eq!(reader.latest_rows().unwrap().len(), 2);
        let this = recorded_run(&reader, run);
        assert!(this.finished_at.is_some() && this.interrupted);
    }

    #[test]
    fn a_run_abandoned_while_written_ahead_ends_without_rows() {
        let (_dir, path, recorder, run) = writing_ahead();
        recorder.abandon();
        let reader = State::open_existing(&path).unwrap();
        assert!(reader.latest_rows().unwrap().is_empty());
        let this = recorded_run(&reader, run);
        assert!(this.finished_at.is_some() && this.interrupted);
        assert!(lock_is_free(&path));
    }

    #[test]
    fn a_run_gone_while_written_ahead_leaves_no_rows() {
        let (_dir, path, recorder, run) = writing_ahead();
        // The run fails before its end: its sender goes away.
        let Recorder { inbox, writer, .. } = recorder;
        drop(inbox);
        Writing(writer).wait().unwrap();
        let reader = State::open_existing(&path).unwrap();
        assert!(reader.latest_rows().unwrap().is_empty());
        assert!(recorded_run(&reader, run).finished_at.is_none());
        assert!(lock_is_free(&path));
    }

    #[test]
    fn the_end_is_near_when_few_are_left_and_answers_come_fast() {
        let start = Instant::now();
        let ms = |n: u64| start + Duration::from_millis(n);
        // 10 URLs, 4 at once, an answer every 100 ms: 4 left after the 6th,
        // 0.4 s away at that pace.
        let mut watch = EndWatch::new(10, 4);
        let told: Vec<bool> = (1..=10).map(|n| watch.finished(ms(n * 100))).collect();
        assert_eq!(told.iter().position(|t| *t), Some(5));
        assert!(told[5..].iter().all(|t| *t));

        // An answer every 600 ms: 2 left are 1.2 s away, 1 left 0.6 s.
        let mut slow = EndWatch::new(10, 4);
        let told: Vec<bool> = (1..=10).map(|n| slow.finished(ms(n * 600))).collect();
        assert_eq!(told.iter().position(|t| *t), Some(8));

        // The last answer is the end, however slowly it came.
        let mut one = EndWatch::new(1, 4);
        assert!(one.finished(ms(5_000)));
    }
}
