//! `archiver fetch`: mirror the media the notes link to into the archive.
//!
//! The notes are read as for `check`; each unique URL of a wanted kind becomes one
//! target. Targets already in the manifest with their object intact are `present`
//! and cost no request; the others are downloaded through the same polite engine
//! as `check`, one feeder per host, and streamed into the store. The manifest is
//! rewritten as objects land (every few seconds, and at the end), always after the
//! objects it names are durable. Ctrl-C or SIGTERM stops the run with what is
//! done recorded.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufWriter, Write};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use url::Url;

use super::scan::NoteNames;
use crate::cli::FetchArgs;
use crate::config::Settings;
use crate::driver::signals::runtime;
use crate::driver::{Driver, Sink, Taken};
use crate::manifest::{Manifest, Record, Source};
use crate::media::MediaKind;
use crate::mirror::{self, Code, Fetched, Known, Problem};
use crate::net::probe::Engine;
use crate::net::watch::Heard;
use crate::references;
use crate::report::fetch::{self, FetchOutcome, FetchResult, FetchSummary};
use crate::store::{self, LockMode, Storage};
use crate::warc::WarcWriter;
use crate::{Error, ExitStatus};

mod reconcile;
mod wanted;

use reconcile::{disown_stand_ins, record_for};
use wanted::{Want, gather, learn_pdfs};

/// How often the manifest is rewritten while objects land: a kill loses at most
/// this much of the record (the objects stay, and the next run finds them).
const SAVE_EVERY: Duration = Duration::from_secs(3);

/// Fetches the media.
///
/// # Errors
/// An unusable archive (locked, another version, unwritable), a malformed input,
/// an unusable network setup, or a write error on stdout.
pub fn run(args: &FetchArgs, settings: &Settings) -> Result<ExitStatus, Error> {
    let started = Instant::now();
    let archive: Arc<dyn Storage> =
        store::open(&settings.archive.dir, LockMode::Exclusive, true, "fetch")?.into();
    if settings.archive.warc && archive.warc_folder().is_none() {
        // Refused before any work, not only once something is to be downloaded.
        open_warc(archive.as_ref())?;
    }
    // Under the exclusive lock no other run is writing: any temp file is a
    // leftover of a killed one.
    let swept = archive.clean_temp(Duration::ZERO)?;
    if !swept.is_empty() {
        tracing::info!(
            "removed {} temp files left by an interrupted run",
            swept.len()
        );
    }
    let names = NoteNames::new(&settings.archive.dir);
    let mut wanted = gather(args, settings, &names)?;
    let mut manifest = Manifest::load(archive.as_ref())?;

    // Notes read now speak for themselves: a note that no longer cites a URL is
    // no longer listed under it. Notes not read keep their citations. Citations
    // of every media kind count, whatever --kinds fetches now.
    manifest.recite(&wanted.scanned, &wanted.cited);
    let mut results = std::mem::take(&mut wanted.skipped);
    let mut downloads = Vec::new();
    for mut want in wanted.targets.into_values() {
        if let Some(record) = manifest.records.get(&want.url)
            && record.is_intact_in(archive.as_ref())
        {
            // A capture does not change; an origin may have.
            if args.refresh && record.source == Source::Origin {
                let known = Known {
                    url: record.final_url.clone(),
                    etag: record.etag.clone(),
                    last_modified: record.last_modified.clone(),
                    page_sha256: record.page_sha256.clone(),
                };
                want.known = Some(known);
                downloads.push(want);
            } else {
                results.push(want.with_record(FetchOutcome::Present, record));
            }
            continue;
        }
        downloads.push(want);
    }
    learn_pdfs(&mut downloads, settings);

    let mut run = if downloads.is_empty() {
        WebRun::default()
    } else {
        let engine = Arc::new(Engine::new(
            settings.network.clone(),
            settings.sites.clone(),
        )?);
        let runtime = runtime()?;
        let warc = settings
            .archive
            .warc
            .then(|| open_warc(archive.as_ref()))
            .transpose()?;
        let job = Job {
            archive: &archive,
            manifest: &mut manifest,
            settings,
            warc: warc.as_ref(),
        };
        let run = runtime.block_on(fetch_all(downloads, engine, job));
        // Object writers finishing or removing their temp files get a moment;
        // lookups stuck in the resolver's threads do not hold up the exit.
        runtime.shutdown_timeout(Duration::from_secs(2));
        if let Some(warc) = warc {
            match warc.finish() {
                Ok(Some(path)) => tracing::info!("recorded the exchanges in {}", path.display()),
                Ok(None) => {}
                Err(e) => tracing::warn!("the WARC file could not be finished: {e}"),
            }
        }
        run?
    };
    results.extend(std::mem::take(&mut run.results));
    let disowned = disown_stand_ins(&run, &mut results, &mut manifest);
    manifest.save(archive.as_ref())?;
    references::remove_unreferenced(&disowned, &mut manifest, archive.as_ref());
    // Still under the lock: nothing else writes here, so a temp file left now
    // is one of this run's stopped downloads.
    let _ = archive.clean_temp(Duration::ZERO);
    // By a copy of each URL, so each large result moves once.
    results.sort_by_cached_key(|r| r.url.clone());

    let summary = FetchSummary::of(&results, started.elapsed().as_secs_f64(), run.interrupted);
    let mut out = BufWriter::new(std::io::stdout().lock());
    fetch::write(args.format, &summary, &results, &mut out).map_err(Error::Output)?;
    out.flush().map_err(Error::Output)?;
    // The text report ends with the summary; after JSON, people still get it.
    if args.format != fetch::FetchFormat::Text && tracing::enabled!(tracing::Level::WARN) {
        eprintln!("{}", summary.line());
    }
    Ok(if run.interrupted {
        ExitStatus::Interrupted
    } else if wanted.errors > 0 || run.lost {
        ExitStatus::Failure
    } else if summary.failed > 0 {
        ExitStatus::Findings
    } else {
        ExitStatus::Success
    })
}

/// What the downloads work with.
struct Job<'a> {
    archive: &'a Arc<dyn Storage>,
    manifest: &'a mut Manifest,
    settings: &'a Settings,
    /// Where exchanges are recorded as WARC, with `--warc`.
    warc: Option<&'a mirror::WarcLog>,
}

/// Starts this run's WARC file in the archive.
fn open_warc(archive: &dyn Storage) -> Result<mirror::WarcLog, Error> {
    let Some(folder) = archive.warc_folder() else {
        return Err(Error::archive(
            archive.location(),
            "WARC files are written to a local archive folder only; drop --warc (archive.warc)",
        ));
    };
    WarcWriter::create(&folder, "fetch")
        .map(mirror::WarcLog::new)
        .map_err(|e| Error::archive_io(folder, "cannot start a WARC file", e))
}

/// What the network part of a run gave.
#[derive(Debug, Default)]
struct WebRun {
    results: Vec<FetchResult>,
    interrupted: bool,
    /// A download's task failed for a bug rather than an answer.
    lost: bool,
    /// The placeholders learnt during the run.
    stand_ins: BTreeSet<String>,
    /// Records a refresh replaced, by URL.
    replaced: BTreeMap<String, Record>,
    /// The disk filled up: why, and the run stops.
    disk_full: Option<String>,
}

async fn fetch_all(wants: Vec<Want>, engine: Arc<Engine>, job: Job<'_>) -> Result<WebRun, Error> {
    let urls: Arc<Vec<Option<Url>>> =
        Arc::new(wants.iter().map(|w| Url::parse(&w.url).ok()).collect());
    let mut run = WebRun::default();
    for (want, url) in wants.iter().zip(urls.iter()) {
        if url.is_none() {
            run.results
                .push(want.failed(Problem::new(Code::Invalid, "not a valid URL")));
        }
    }
    let received = Arc::new(AtomicU64::new(0));
    let target = Arc::new(mirror_target(&job, &received));
    let sites = Arc::new(job.settings.sites.clone());
    let work = downloader(&wants, Arc::clone(&target), sites);
    let driver = Driver::new(&engine, job.settings.network.timeout)
        .counting_bytes(&received)
        .on_interrupt("stopping: recording what was fetched so far");
    let mut recorder = Recorder {
        wants: &wants,
        job,
        target: &target,
        run,
        dirty: false,
        saved_at: Instant::now(),
    };
    let ended = driver.drive(&urls, work, &mut recorder).await?;
    if let Some(why) = recorder.run.disk_full.take() {
        return Err(recorder.stopped_by_full_disk(&why));
    }
    if !ended.interrupted
        && let Some(message) = ended.network_down
    {
        // What did land is recorded; the rest is not reported as failed links.
        recorder.save()?;
        return Err(Error::NetworkDown(message));
    }
    let mut run = recorder.run;
    run.interrupted = ended.interrupted;
    run.lost = ended.lost;
    run.stand_ins = target.placeholders.stand_ins();
    // Every URL without a result gets one: stopped by the user, or lost to a
    // bug (which fails the run).
    for i in ended.unfinished {
        let problem = if run.interrupted {
            Problem::new(Code::Interrupted, "not fetched: the run was stopped")
        } else {
            run.lost = true;
            Problem::new(
                Code::Internal,
                "internal error: this URL's download did not finish; please report it",
            )
        };
        run.results.push(wants[i].failed(problem));
    }
    Ok(run)
}

/// Why the run must stop, when `result` says the disk is full.
fn disk_full(want: &Want, result: &Result<Fetched, Problem>) -> Option<String> {
    match result {
        Err(p) if p.code == Code::DiskFull => {
            Some(format!("{} while writing {}", p.reason, want.url))
        }
        _ => None,
    }
}

/// One URL's download, as a feeder runs it.
type FetchFuture = std::pin::Pin<Box<dyn Future<Output = Result<Fetched, Problem>> + Send>>;

/// The work each feeder does for one of `wants` (by index).
fn downloader(
    wants: &[Want],
    target: Arc<mirror::Downloads>,
    sites: Arc<crate::sites::SiteRules>,
) -> impl Fn(Arc<Engine>, usize, Url) -> FetchFuture + Clone + Send + Sync + 'static {
    // Per want: what to expect, the archived copy's validators, a PDF learnt.
    type Ask = (MediaKind, Option<Known>, Option<Url>);
    let asks: Arc<Vec<Ask>> = Arc::new(
        wants
            .iter()
            .map(|w| (w.kind, w.known.clone(), w.pdf.clone()))
            .collect(),
    );
    move |engine: Arc<Engine>, i: usize, url: Url| -> FetchFuture {
        let (asks, target, sites) = (Arc::clone(&asks), Arc::clone(&target), Arc::clone(&sites));
        Box::pin(async move {
            let (kind, known, pdf) = &asks[i];
            let hints = mirror::Hints {
                known: known.as_ref(),
                pdf: pdf.as_ref(),
            };
            mirror::mirror(&engine, &sites, &target, &url, *kind, hints).await
        })
    }
}

/// Where and how this run's downloads are written.
fn mirror_target(job: &Job<'_>, received: &Arc<AtomicU64>) -> mirror::Downloads {
    mirror::Downloads {
        store: Arc::clone(job.archive),
        max_size: job.settings.fetch.max_object_size,
        received: Arc::clone(received),
        placeholders: mirror::Placeholders::default(),
        probe_timeout: job.settings.network.timeout,
        // A writer syncing its object has given its request slot back: twice
        // as many writers as requests let the next downloads run meanwhile.
        landing: Arc::default(),
        writers: Arc::new(tokio::sync::Semaphore::new(
            job.settings
                .network
                .max_concurrency
                .max(1)
                .saturating_mul(2),
        )),
        warc: job.warc.cloned(),
        snapshot: Arc::new(job.settings.snapshot.clone()),
        wayback: job.settings.fetch.wayback.then(|| mirror::Wayback {
            api: job.settings.fetch.wayback_api.clone(),
            capture: job.settings.fetch.wayback_capture.clone(),
        }),
    }
}

/// Records the results as they land, in the manifest they go into.
struct Recorder<'a, 'j> {
    wants: &'a [Want],
    job: Job<'j>,
    target: &'a mirror::Downloads,
    run: WebRun,
    /// The manifest has records not yet saved.
    dirty: bool,
    saved_at: Instant,
}

impl Recorder<'_, '_> {
    /// The error a run stopped by a full disk ends with. What did land is
    /// recorded if the disk still takes the manifest; the old manifest stays
    /// whole if it does not.
    fn stopped_by_full_disk(&mut self, why: &str) -> Error {
        let saved = self.save();
        Error::archive(
            self.job.archive.location(),
            format!(
                "{why}; nothing half-written is kept{}: free some space and run `archiver fetch` again",
                if saved.is_ok() {
                    ", and what was archived is recorded"
                } else {
                    ""
                }
            ),
        )
    }

    /// Takes one URL's result: a record for what was archived.
    fn record(&mut self, i: usize, result: Result<Fetched, Problem>) -> (FetchResult, Heard) {
        let want = &self.wants[i];
        let manifest = &mut *self.job.manifest;
        // Same bytes on a refresh: the record stands, with the server's new
        // validators, so the next refresh can be conditional.
        if let Ok(Fetched::Object(mirrored)) = &result
            && want.known.is_some()
            && let Some(record) = manifest.records.get_mut(&want.url)
            && record.sha256 == mirrored.stored.name.sha256
            && (record.etag != mirrored.etag || record.last_modified != mirrored.last_modified)
        {
            record.etag.clone_from(&mirrored.etag);
            record.last_modified.clone_from(&mirrored.last_modified);
            self.dirty = true;
        }
        let mut heard = Heard::Nothing;
        let result = match (result, manifest.records.get(&want.url)) {
            // Revalidated: the archived copy stands.
            (Ok(Fetched::Unchanged), Some(record)) => {
                heard = Heard::Answer;
                want.with_record(FetchOutcome::Present, record)
            }
            (Ok(Fetched::Object(mirrored)), Some(record))
                if want.known.is_some() && record.sha256 == mirrored.stored.name.sha256 =>
            {
                heard = Heard::Answer;
                want.with_record(FetchOutcome::Present, record)
            }
            (Ok(Fetched::Unchanged), None) => want.failed(Problem::new(
                Code::Internal,
                "a 304 for a URL with no archived copy; please report it",
            )),
            (Ok(Fetched::Object(mirrored)), old) => {
                heard = Heard::Answer;
                // A refresh replaces a record: the old one is kept aside in case
                // the new bytes turn out to be a placeholder learnt later.
                if want.known.is_some()
                    && let Some(old) = old
                {
                    self.run.replaced.insert(want.url.clone(), old.clone());
                }
                let record = record_for(want, &mirrored, old);
                let result = FetchResult {
                    new_object: mirrored.stored.created,
                    ..want.with_record(FetchOutcome::Fetched, &record)
                };
                manifest.records.insert(want.url.clone(), record);
                self.dirty = true;
                result
            }
            // Revalidating failed: the archived copy is still the URL's object.
            (Err(problem), Some(record)) if want.known.is_some() => {
                heard = problem.heard.clone();
                FetchResult {
                    reason: Some(format!(
                        "kept the archived copy; asking again failed: {}",
                        problem.reason
                    )),
                    reason_code: Some(problem.code.to_string()),
                    ..want.with_record(FetchOutcome::Present, record)
                }
            }
            (Err(problem), _) => {
                heard = problem.heard.clone();
                want.failed(problem)
            }
        };
        (result, heard)
    }

    fn save(&mut self) -> Result<(), Error> {
        self.job.manifest.save(self.job.archive.as_ref())?;
        self.dirty = false;
        Ok(())
    }
}

impl Sink<Result<Fetched, Problem>> for Recorder<'_, '_> {
    type Error = Error;

    fn take(&mut self, i: usize, result: Result<Fetched, Problem>) -> Taken {
        // A full disk fails every download after it: stop at once.
        let full = disk_full(&self.wants[i], &result);
        let (result, heard) = self.record(i, result);
        let failure = (result.outcome == FetchOutcome::Failed).then(|| {
            format!(
                "{} [{}]",
                result.url,
                result.reason_code.as_deref().unwrap_or_default()
            )
        });
        self.run.results.push(result);
        let stop = full.is_some();
        if full.is_some() {
            self.run.disk_full = full;
        }
        Taken {
            heard,
            failure,
            stop,
        }
    }

    fn tick(&mut self) -> Result<(), Error> {
        if self.dirty && self.saved_at.elapsed() >= SAVE_EVERY {
            self.save()?;
            self.saved_at = Instant::now();
        }
        Ok(())
    }

    fn stopping(&self) {
        self.target.landing.stop();
    }

    fn finishing(&self) -> bool {
        self.target.landing.busy()
    }
}
