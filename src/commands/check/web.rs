//! The network part of `check`: the web targets asked host by host, and those
//! a site's API can vouch for asked in batches alongside.

use std::convert::Infallible;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use futures_util::StreamExt;
use url::Url;

use super::CitedUrl;
use super::recorder::{EndWatch, Results};
use crate::Error;
use crate::batch;
use crate::config::Settings;
use crate::driver::signals::{runtime, unless_interrupted};
use crate::driver::{Driver, Sink, Taken};
use crate::judge::{Judgement, judge};
use crate::net::probe::{Engine, Failure, Outcome};
use crate::net::watch::Heard;
use crate::report::check::CheckResult;
use crate::sites::SiteRules;
use crate::verdict::Verdict;

/// The engine, set up on a thread of its own while the notes are read: its
/// HTTP clients read and parse the system's certificates, which takes as long
/// as reading a few hundred notes.
pub(super) struct EngineSetup(Option<JoinHandle<Result<Engine, Error>>>);

impl EngineSetup {
    /// Starts setting the engine up.
    pub(super) fn start(settings: &Settings) -> Self {
        let (network, sites) = (settings.network.clone(), settings.sites.clone());
        let thread = std::thread::Builder::new()
            .name("engine-setup".to_owned())
            .spawn(move || Engine::new(network, sites));
        EngineSetup(thread.ok())
    }

    /// The engine, once set up; an error (an unreadable CA file) is only
    /// told to a run that asks the network.
    fn finish(self, settings: &Settings) -> Result<Engine, Error> {
        match self.0.map(JoinHandle::join) {
            Some(Ok(engine)) => engine,
            // The thread could not start, or failed: set it up here.
            _ => Engine::new(settings.network.clone(), settings.sites.clone()),
        }
    }
}

/// Asks the network about the web targets: those a site's API can vouch for
/// in batches (arXiv papers, GitHub repositories), alongside the others one by
/// one; what the API could not decide is then asked one by one too.
pub(super) fn ask(
    mut web: Vec<CitedUrl>,
    engine: EngineSetup,
    settings: &Settings,
    results: &mut Results,
) -> Result<WebRun, Error> {
    if web.is_empty() {
        return Ok(WebRun::default());
    }
    let engine = Arc::new(engine.finish(settings)?);
    // Parsed as the notes were read, but for URLs given on the command line.
    let urls: Vec<Option<Url>> = web.iter_mut().map(CitedUrl::web_url).collect();
    let (groups, _) = batch::plan(&urls, &settings.sites);
    let runtime = runtime()?;
    let run = if groups.is_empty() {
        runtime.block_on(check_web(
            web,
            urls,
            Arc::clone(&engine),
            settings,
            results,
            Last::Yes,
        ))
    } else {
        runtime.block_on(check_with_batches(
            web, urls, groups, &engine, settings, results,
        ))
    };
    // Lookups still running in the resolver's threads (an unreachable DNS
    // server) must not hold up the report.
    runtime.shutdown_background();
    Ok(run)
}

/// Says how to get past the limits of a site's API that blocked some of
/// `results` (a token to set), where its rule names one.
pub(super) fn token_hints(results: &[CheckResult], settings: &Settings) {
    let blocked = results
        .iter()
        .filter(|r| r.verdict == Verdict::Blocked)
        .map(|r| r.url.as_str());
    for hint in batch::token_hints(blocked, &settings.sites) {
        tracing::warn!("{hint}");
    }
}

/// [`check_web`] with the batch groups checked alongside.
async fn check_with_batches(
    web: Vec<CitedUrl>,
    urls: Vec<Option<Url>>,
    groups: Vec<batch::Group>,
    engine: &Arc<Engine>,
    settings: &Settings,
    results: &mut Results,
) -> WebRun {
    let mut decided: Vec<Option<batch::Decision>> = vec![None; web.len()];
    let mut in_batch = vec![false; web.len()];
    for group in &groups {
        for i in group.indexes() {
            in_batch[i] = true;
        }
    }
    let (batched, single): (Vec<_>, Vec<_>) = web
        .into_iter()
        .zip(urls)
        .zip(in_batch)
        .enumerate()
        .partition(|(_, (_, batched))| *batched);
    let (single, single_urls): (Vec<CitedUrl>, Vec<Option<Url>>) =
        single.into_iter().map(|(_, (target, _))| target).unzip();
    // Answers are kept as they come, so a stopped run reports them.
    let api = async {
        let mut answers = std::pin::pin!(batch::requests(engine, &groups));
        let take_all = async {
            while let Some(answers) = answers.next().await {
                for (i, decision) in answers {
                    decided[i] = decision;
                }
            }
        };
        if unless_interrupted(take_all).await.is_none() {
            engine.stop();
        }
    };
    let (mut run, ()) = tokio::join!(
        // Not the run's last answers: the API's, and what it leaves
        // undecided, may come after them.
        check_web(
            single,
            single_urls,
            Arc::clone(engine),
            settings,
            results,
            Last::No,
        ),
        api
    );
    if let Some(message) = run.network_doubt.take()
        && !engine.heard_an_answer()
    {
        run.network_down = Some(message);
    }
    if run.network_down.is_some() {
        return run;
    }
    let (mut undecided, mut undecided_urls) = (Vec::new(), Vec::new());
    for (i, ((target, url), _)) in batched {
        if let Some(decision) = decided[i].take() {
            let mut result = target.into_result(decision.judgement);
            result.pdf_url = decision.pdf_url;
            results.take(result);
        } else {
            undecided.push(target);
            undecided_urls.push(url);
        }
    }
    if run.interrupted || engine.is_stopped() {
        run.interrupted = true;
        run.unchecked += undecided.len();
        return run;
    }
    if !undecided.is_empty() {
        let second = check_web(
            undecided,
            undecided_urls,
            Arc::clone(engine),
            settings,
            results,
            Last::Yes,
        )
        .await;
        run.interrupted |= second.interrupted;
        run.unchecked += second.unchecked;
        run.lost |= second.lost;
        run.network_down = run.network_down.or(second.network_down);
    }
    run
}

/// What the network part of a run gave.
#[derive(Debug, Default)]
pub(super) struct WebRun {
    pub interrupted: bool,
    /// URLs not checked because the run was stopped.
    pub unchecked: usize,
    /// Some check failed for a bug rather than an answer: the run fails.
    pub lost: bool,
    /// Set when no host answered and many failed: the network, not the links.
    pub network_down: Option<String>,
    /// As `network_down`, while requests asked alongside were still out.
    pub network_doubt: Option<String>,
}

/// Whether a pass of [`check_web`] gives the run's last answers, so that its
/// end is the run's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Last {
    Yes,
    No,
}

/// Checks the web targets (`urls` are their URLs, parsed) through the run
/// driver, judging each outcome as it arrives, so responses (headers, body
/// prefixes) do not pile up, and giving each result to `results` as it is made
/// (and saying when the end is near, if it is the run's: `last`).
async fn check_web(
    targets: Vec<CitedUrl>,
    urls: Vec<Option<Url>>,
    engine: Arc<Engine>,
    settings: &Settings,
    results: &mut Results,
    last: Last,
) -> WebRun {
    let urls = Arc::new(urls);
    let asked = urls.iter().filter(|u| u.is_some()).count();
    let mut judging = Judging {
        urls: &urls,
        sites: &settings.sites,
        targets: targets.into_iter().map(Some).collect(),
        results,
        end: (last == Last::Yes)
            .then(|| EndWatch::for_run(asked, settings.network.max_concurrency)),
    };
    let driver = Driver::new(&engine, settings.network.timeout)
        .on_interrupt("stopping: reporting what was checked so far");
    let Ok(ended) = driver
        .drive(
            &urls,
            |engine, _, url| async move { engine.probe(&url).await },
            &mut judging,
        )
        .await;
    let mut run = WebRun {
        interrupted: ended.interrupted,
        lost: ended.lost,
        ..WebRun::default()
    };
    if let Some(message) = ended.network_down {
        if engine.is_busy() {
            // Requests asked alongside (an API's batch) are still out and may
            // yet answer: the caller judges once they are done.
            run.network_doubt = Some(message);
        } else {
            run.network_down = Some(message);
            return run;
        }
    }
    // What is left was not judged.
    for target in judging.targets.into_iter().flatten() {
        if run.interrupted {
            run.unchecked += 1;
        } else {
            // A URL must not vanish from the report: the run fails.
            run.lost = true;
            judging.results.take(target.into_result(Judgement::new(
                Verdict::Error,
                "internal error: this URL's check did not finish; please report it".to_owned(),
            )));
        }
    }
    run
}

/// Judges each outcome as it arrives, and passes the result on.
struct Judging<'a> {
    urls: &'a [Option<Url>],
    sites: &'a SiteRules,
    /// The targets not judged yet.
    targets: Vec<Option<CitedUrl>>,
    results: &'a mut Results,
    /// Watches for the end of the run's answers, when they are this pass's,
    /// until it says the end is near.
    end: Option<EndWatch>,
}

impl Sink<Outcome> for Judging<'_> {
    type Error = Infallible;

    fn take(&mut self, i: usize, outcome: Outcome) -> Taken {
        let heard = Heard::of(&outcome.hops, outcome.result.as_ref().map(|_| ()));
        if !matches!(outcome.result, Err(Failure::Cancelled))
            && let Some(url) = &self.urls[i]
            && let Some(target) = self.targets[i].take()
        {
            let judgement = judge(url, &outcome, self.sites);
            self.results.take(target.into_result(judgement));
            if self
                .end
                .as_mut()
                .is_some_and(|end| end.finished(Instant::now()))
            {
                self.end = None;
                self.results.near_end();
            }
        }
        Taken::heard(heard)
    }
}
