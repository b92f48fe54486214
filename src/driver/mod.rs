//! The run loop of the network commands (`check`, `fetch`).
//!
//! A command hands the driver its URLs, the work to do on each (probe it,
//! download it) and a [`Sink`] that takes each result as it finishes. The
//! driver owns everything around that:
//!
//! - feeding: one feeder per host, as many URLs at once as the host allows
//!   ([`feeders`]);
//! - the network watch: when many hosts fail as unreachable and none answers,
//!   the run stops and says the network is down rather than every link dead;
//! - Ctrl-C and SIGTERM: the run stops, and what finished is kept ([`signals`]);
//! - stopping: no new request starts, work already landing (objects being
//!   written) is waited for, then what is left is cancelled and the results
//!   sent meanwhile are taken too;
//! - the progress display on a terminal ([`progress`]);
//! - settling: a feeder that failed (a bug) is reported, and every URL that got
//!   no result is named, so nothing vanishes from a report.
//!
//! ```text
//! command ──URLs, work, sink──▶ drive ──feeders──▶ Engine
//!    ▲                            │ select: results · tick · watch · Ctrl-C
//!    └──────── Ended ◀────────────┘ sink.take(i, result) as each finishes
//! ```

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use tokio::sync::mpsc::UnboundedReceiver;
use tokio::task::JoinSet;
use url::Url;

use crate::net::probe::{Engine, host_key};
use crate::net::watch::{Heard, NetworkWatch};

mod feeders;
mod progress;
pub mod signals;

use feeders::spawn_feeders;
use progress::Progress;
use signals::{shutdown_signal, sleep_until_some};

/// How often the progress display is redrawn and [`Sink::tick`] is called.
const TICK: Duration = Duration::from_millis(200);

/// The longest a stopping run waits for work still landing (objects being
/// fsynced and renamed into place): it takes milliseconds on a working disk.
const LANDING_GRACE: Duration = Duration::from_secs(10);

/// What a command does with the results of its URLs.
pub trait Sink<T> {
    /// Why [`Sink::tick`] can fail.
    type Error;

    /// Takes the result of the URL at `index`, as it finishes.
    fn take(&mut self, index: usize, result: T) -> Taken;

    /// Periodic work while the run goes on (saving what is done so far).
    ///
    /// # Errors
    /// Whatever stops the run: the driver stops the work and returns it.
    fn tick(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }

    /// The run is stopping: start nothing new of your own.
    fn stopping(&self) {}

    /// Whether results taken off the network are still being finished (objects
    /// landing); a stopping run waits for them, up to a grace time.
    fn finishing(&self) -> bool {
        false
    }
}

/// What one result told the driver.
#[derive(Debug)]
pub struct Taken {
    /// What it showed about the network, for the network watch.
    pub heard: Heard,
    /// The URL and why it failed, for the progress display; `None` when it
    /// did not fail.
    pub failure: Option<String>,
    /// The run must stop (a full disk fails everything after it).
    pub stop: bool,
}

impl Taken {
    /// A result that showed `heard` and lets the run go on.
    #[must_use]
    pub fn heard(heard: Heard) -> Self {
        Taken {
            heard,
            failure: None,
            stop: false,
        }
    }
}

/// How a run ended.
#[derive(Debug, Default)]
pub struct Ended {
    /// Stopped by Ctrl-C or SIGTERM.
    pub interrupted: bool,
    /// Stopped because the sink asked ([`Taken::stop`]).
    pub stopped: bool,
    /// Why the network looks down, when it does: no host answered and many
    /// failed as unreachable. Not looked at when the run was stopped.
    pub network_down: Option<String>,
    /// Some feeder failed for a bug rather than an answer: the run fails.
    pub lost: bool,
    /// The URLs (by index) that were worked on and got no result: the run was
    /// stopped, or a bug lost them.
    pub unfinished: Vec<usize>,
}

/// Runs network work on many URLs, host by host, for one command.
pub struct Driver {
    engine: Arc<Engine>,
    /// One request's timeout, for the network watch.
    timeout: Duration,
    /// Bytes received so far, shown when the work downloads.
    received: Option<Arc<AtomicU64>>,
    /// Logged when Ctrl-C stops the run: what happens to the work done.
    on_interrupt: &'static str,
}

impl Driver {
    /// A driver asking through `engine`, whose requests time out after `timeout`.
    #[must_use]
    pub fn new(engine: &Arc<Engine>, timeout: Duration) -> Self {
        Driver {
            engine: Arc::clone(engine),
            timeout,
            received: None,
            on_interrupt: "stopping",
        }
    }

    /// Shows `received` (bytes) in the progress display.
    #[must_use]
    pub fn counting_bytes(mut self, received: &Arc<AtomicU64>) -> Self {
        self.received = Some(Arc::clone(received));
        self
    }

    /// What is logged when Ctrl-C stops the run.
    #[must_use]
    pub fn on_interrupt(mut self, message: &'static str) -> Self {
        self.on_interrupt = message;
        self
    }

    /// Runs `work` on every URL of `urls` (`None`s are skipped: the caller
    /// reports them) and gives each result to `sink` as it finishes.
    ///
    /// # Errors
    /// The first error of [`Sink::tick`]; the work is stopped first.
    pub async fn drive<T, S, F, Fut>(
        &self,
        urls: &Arc<Vec<Option<Url>>>,
        work: F,
        sink: &mut S,
    ) -> Result<Ended, S::Error>
    where
        T: Send + 'static,
        S: Sink<T>,
        F: Fn(Arc<Engine>, usize, Url) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = T> + Send + 'static,
    {
        let mut by_host: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, url) in urls.iter().enumerate() {
            if let Some(url) = url {
                by_host.entry(host_key(url)).or_default().push(i);
            }
        }
        let (done, finished) = tokio::sync::mpsc::unbounded_channel::<(usize, T)>();
        let tasks = spawn_feeders(by_host, urls, &self.engine, &done, work);
        drop(done);
        let mut run = Run {
            driver: self,
            urls,
            sink,
            tasks,
            finished,
            watch: NetworkWatch::new(self.timeout),
            progress: Progress::new(urls.len(), self.received.as_ref()),
            got: vec![false; urls.len()],
            ended: Ended::default(),
        };
        run.main_loop().await?;
        run.settle().await;
        Ok(run.ended)
    }
}

/// One run in progress.
struct Run<'d, S, T> {
    driver: &'d Driver,
    urls: &'d [Option<Url>],
    sink: &'d mut S,
    tasks: JoinSet<()>,
    finished: UnboundedReceiver<(usize, T)>,
    watch: NetworkWatch,
    progress: Progress,
    /// Which URLs have a result.
    got: Vec<bool>,
    ended: Ended,
}

impl<S: Sink<T>, T> Run<'_, S, T> {
    /// Takes results until every URL has one or the run stops.
    async fn main_loop(&mut self) -> Result<(), S::Error> {
        let engine = Arc::clone(&self.driver.engine);
        let stop = shutdown_signal();
        tokio::pin!(stop);
        let mut tick = tokio::time::interval(TICK);
        loop {
            let check_at = self.watch.check_at();
            tokio::select! {
                _ = tick.tick() => {
                    if self.progress.is_visible() {
                        self.progress.show(&engine.busy_hosts());
                    }
                    if let Err(e) = self.sink.tick() {
                        self.stop().await;
                        return Err(e);
                    }
                }
                () = sleep_until_some(check_at), if check_at.is_some() => {
                    // Looking up the canary names takes up to seconds (here
                    // and after the loop): a Ctrl-C meanwhile is not kept
                    // waiting.
                    let over = tokio::select! {
                        over = self.watch.grace_over(&engine) => over,
                        () = &mut stop => {
                            self.interrupted();
                            true
                        }
                    };
                    if over {
                        self.stop().await;
                        break;
                    }
                }
                () = &mut stop => {
                    self.interrupted();
                    self.stop().await;
                    break;
                }
                next = self.finished.recv() => {
                    let Some((i, result)) = next else { break };
                    if self.take(i, result) {
                        self.ended.stopped = true;
                        self.stop().await;
                        break;
                    }
                }
            }
        }
        // Results that finished while the run was stopping are kept too.
        while let Ok((i, result)) = self.finished.try_recv() {
            self.take(i, result);
        }
        self.progress.finish();
        if !self.ended.interrupted && !self.ended.stopped {
            tokio::select! {
                down = self.watch.down(&engine) => self.ended.network_down = down,
                () = &mut stop => self.interrupted(),
            }
        }
        Ok(())
    }

    /// Says that the run was interrupted, and marks it so.
    fn interrupted(&mut self) {
        tracing::warn!("{}", self.driver.on_interrupt);
        self.ended.interrupted = true;
    }

    /// Gives one result to the sink; whether the sink wants the run stopped.
    fn take(&mut self, i: usize, result: T) -> bool {
        self.got[i] = true;
        let taken = self.sink.take(i, result);
        let host = self.urls[i]
            .as_ref()
            .and_then(Url::host_str)
            .unwrap_or_default();
        self.watch.observe(host, taken.heard);
        self.progress.advance(taken.failure.as_deref());
        taken.stop
    }

    /// Stops the work: no new request starts; results already landing finish
    /// and are taken; then what is left (requests still on the network) is
    /// cancelled, and the results sent meanwhile are taken too. Without the
    /// wait, an object could land after its download was cancelled, in the
    /// archive but in no record.
    async fn stop(&mut self) {
        self.driver.engine.stop();
        self.sink.stopping();
        let give_up = tokio::time::Instant::now() + LANDING_GRACE;
        let mut tick = tokio::time::interval(Duration::from_millis(10));
        loop {
            tokio::select! {
                next = self.finished.recv() => match next {
                    Some((i, result)) => {
                        self.take(i, result);
                    }
                    // Every piece of work has ended.
                    None => return,
                },
                _ = tick.tick() => {
                    if !self.sink.finishing() {
                        break;
                    }
                    if tokio::time::Instant::now() >= give_up {
                        tracing::warn!(
                            "objects still being written after {}s; stopping without them (verify lists them until a fetch records them or gc removes them)",
                            LANDING_GRACE.as_secs()
                        );
                        break;
                    }
                }
            }
        }
        self.tasks.abort_all();
        // The channel closes once every cancelled piece of work has let go of it.
        while let Some((i, result)) = self.finished.recv().await {
            self.take(i, result);
        }
    }

    /// Waits for the feeders and names the URLs left without a result. A
    /// feeder that failed (a bug) must not make its URLs vanish: the run fails.
    async fn settle(&mut self) {
        while let Some(joined) = self.tasks.join_next().await {
            if let Err(e) = joined
                && e.is_panic()
            {
                tracing::error!("internal error: the work on one host stopped: {e}");
                self.ended.lost = true;
            }
        }
        self.ended.unfinished = (0..self.urls.len())
            .filter(|&i| !self.got[i] && self.urls[i].is_some())
            .collect();
    }
}
