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
use std::io::{BufWriter, IsTerminal, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use tokio::task::JoinSet;
use url::Url;

use super::feed::{runtime, shutdown_signal, sleep_until_some, spawn_feeders};
use super::scan::{
    NoteNames, Scanned, Scope, is_web_url, report_skipped, scan, split_inputs, url_input,
};
use crate::classify::Classifier;
use crate::cli::FetchArgs;
use crate::config::Settings;
use crate::input::Inputs;
use crate::link::{Kind, Link};
use crate::manifest::{Manifest, Record, Source};
use crate::media::MediaKind;
use crate::mirror::{self, Got, Known, Mirrored, Problem};
use crate::net::probe::{Engine, host_key};
use crate::net::watch::{Heard, NetworkWatch};
use crate::report::fetch::{self, Citation, FetchOutcome, FetchResult, FetchSummary};
use crate::state::State;
use crate::store::{Archive, LockMode, ObjectName};
use crate::{Error, ExitStatus};

/// How often the manifest is rewritten while objects land: a kill loses at most
/// this much of the record (the objects stay, and the next run finds them).
const SAVE_EVERY: Duration = Duration::from_secs(3);

/// One URL to archive.
#[derive(Debug)]
struct Want {
    url: String,
    kind: MediaKind,
    /// The notes citing it, as the manifest names them.
    notes: BTreeSet<String>,
    cited_at: Option<Citation>,
    /// With `--refresh`, the archived copy's validators.
    known: Option<Known>,
    /// For a paper, its PDF as `check` learnt it from the site's API.
    pdf: Option<Url>,
}

impl Want {
    fn result(&self, outcome: FetchOutcome) -> FetchResult {
        FetchResult {
            url: self.url.clone(),
            kind: Some(self.kind),
            outcome,
            reason_code: None,
            reason: None,
            object: None,
            sha256: None,
            media_type: None,
            size: None,
            source: None,
            captured_at: None,
            cited_at: self.cited_at.clone(),
            new_object: false,
        }
    }

    fn failed(&self, problem: Problem) -> FetchResult {
        FetchResult {
            reason_code: Some(problem.code),
            reason: Some(problem.reason),
            ..self.result(FetchOutcome::Failed)
        }
    }

    fn with_record(&self, outcome: FetchOutcome, record: &Record) -> FetchResult {
        FetchResult {
            object: Some(record.object.clone()),
            sha256: Some(record.sha256.clone()),
            media_type: Some(record.media_type.clone()),
            size: Some(record.size),
            source: Some(record.source),
            captured_at: record.captured_at.clone(),
            ..self.result(outcome)
        }
    }
}

/// What the notes ask for.
#[derive(Debug, Default)]
struct Wanted {
    targets: BTreeMap<String, Want>,
    /// Every note read, as the manifest names notes.
    scanned: BTreeSet<String>,
    /// The notes citing each media URL, of any kind.
    cited: BTreeMap<String, BTreeSet<String>>,
    /// Inputs that could not be read.
    errors: usize,
    /// URLs named on the command line that are no media.
    skipped: Vec<FetchResult>,
}

impl Wanted {
    /// Adds a citation of `url`, to be fetched as `kind`.
    fn add(&mut self, url: &str, kind: MediaKind, note: Option<(String, Citation)>) {
        let want = self.targets.entry(url.to_owned()).or_insert_with(|| Want {
            url: url.to_owned(),
            kind,
            notes: BTreeSet::new(),
            cited_at: None,
            known: None,
            pdf: None,
        });
        // A URL cited both as a PDF and as a paper page is fetched as the former.
        if rank(kind) < rank(want.kind) {
            want.kind = kind;
        }
        if let Some((name, citation)) = note {
            want.notes.insert(name);
            want.cited_at.get_or_insert(citation);
        }
    }
}

/// Fetches the media.
///
/// # Errors
/// An unusable archive (locked, another version, unwritable), a malformed input,
/// an unusable network setup, or a write error on stdout.
pub fn run(args: &FetchArgs, settings: &Settings) -> Result<ExitStatus, Error> {
    let started = Instant::now();
    let archive = Archive::open(&settings.archive.dir, LockMode::Exclusive, true, "fetch")?;
    // Under the exclusive lock no other run is writing: any temp file is a
    // leftover of a killed one.
    let swept = archive.clean_tmp(Duration::ZERO)?;
    if !swept.is_empty() {
        tracing::info!(
            "removed {} temp files left by an interrupted run",
            swept.len()
        );
    }
    let names = NoteNames::new(archive.root());
    let mut wanted = gather(args, settings, &names)?;
    let manifest_path = archive.manifest_path();
    let mut manifest = Manifest::load(&manifest_path)?;

    // Notes read now speak for themselves: a note that no longer cites a URL is
    // no longer listed under it. Notes not read keep their citations. Citations
    // of every media kind count, whatever --kinds fetches now.
    for (url, record) in &mut manifest.records {
        record.notes.retain(|n| !wanted.scanned.contains(n));
        if let Some(notes) = wanted.cited.get(url) {
            record.notes.extend(notes.iter().cloned());
        }
    }
    let mut results = std::mem::take(&mut wanted.skipped);
    let mut downloads = Vec::new();
    for mut want in wanted.targets.into_values() {
        if let Some(record) = manifest.records.get(&want.url)
            && intact(&archive, record)
        {
            // A capture does not change; an origin may have.
            if args.refresh && record.source == Source::Origin {
                let known = Known {
                    url: record.final_url.clone(),
                    etag: record.etag.clone(),
                    last_modified: record.last_modified.clone(),
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
        let engine = Arc::new(Engine::new(&settings.network, &settings.sites)?);
        let runtime = runtime()?;
        let job = Job {
            archive: &archive,
            manifest: &mut manifest,
            manifest_path: &manifest_path,
            settings,
        };
        let run = runtime.block_on(fetch_all(downloads, engine, job));
        // Object writers finishing or removing their temp files get a moment;
        // lookups stuck in the resolver's threads do not hold up the exit.
        runtime.shutdown_timeout(Duration::from_secs(2));
        run?
    };
    results.extend(std::mem::take(&mut run.results));
    let disowned = disown_stand_ins(&run, &mut results, &mut manifest);
    manifest.save(&manifest_path, &archive.tmp_dir())?;
    remove_unreferenced(&disowned, &manifest, &archive);
    // Still under the lock: nothing else writes here, so a temp file left now
    // is one of this run's stopped downloads.
    let _ = archive.clean_tmp(Duration::ZERO);
    results.sort_by(|a, b| a.url.cmp(&b.url));

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

/// URLs archived before the run learnt their host's placeholder, and found to
/// hold it, lose their record (a refreshed one gets its old record back): a
/// placeholder is never a URL's object. Returns the objects so disowned.
fn disown_stand_ins(
    run: &WebRun,
    results: &mut [FetchResult],
    manifest: &mut Manifest,
) -> Vec<String> {
    let stand_ins = &run.stand_ins;
    let mut disowned = Vec::new();
    if stand_ins.is_empty() {
        return disowned;
    }
    for result in results.iter_mut() {
        let held = matches!(
            result.outcome,
            FetchOutcome::Fetched | FetchOutcome::Present
        ) && result
            .sha256
            .as_ref()
            .is_some_and(|s| stand_ins.contains(s));
        if !held {
            continue;
        }
        if manifest
            .records
            .get(&result.url)
            .is_some_and(|r| stand_ins.contains(&r.sha256))
        {
            manifest.records.remove(&result.url);
        }
        disowned.extend(result.object.take());
        if let Some(old) = run.replaced.get(&result.url) {
            manifest.records.insert(result.url.clone(), old.clone());
            *result = FetchResult {
                reason_code: Some("placeholder".into()),
                reason: Some(
                    "kept the archived copy; the host now answers with its anti-hotlink placeholder"
                        .into(),
                ),
                new_object: false,
                ..FetchResult {
                    object: Some(old.object.clone()),
                    sha256: Some(old.sha256.clone()),
                    media_type: Some(old.media_type.clone()),
                    size: Some(old.size),
                    source: Some(old.source),
                    captured_at: old.captured_at.clone(),
                    outcome: FetchOutcome::Present,
                    ..result.clone()
                }
            };
            continue;
        }
        *result = FetchResult {
            outcome: FetchOutcome::Failed,
            reason_code: Some("placeholder".into()),
            reason: Some(
                "the host's anti-hotlink placeholder (learnt during the run), not the file".into(),
            ),
            sha256: None,
            media_type: None,
            size: None,
            source: None,
            captured_at: None,
            new_object: false,
            ..result.clone()
        };
    }
    disowned
}

/// Removes `objects` that nothing refers to any more, once the manifest that
/// no longer names them is saved. Left to `gc` when the rewrite journal cannot
/// be read (it might name them).
fn remove_unreferenced(objects: &[String], manifest: &Manifest, archive: &Archive) {
    let Ok(journal) = archive.journal_refs() else {
        return;
    };
    for object in objects {
        if journal.contains(object) || manifest.records.values().any(|r| &r.object == object) {
            continue;
        }
        if let Some(name) = ObjectName::from_relative(object) {
            let _ = std::fs::remove_file(archive.object_path(&name));
        }
    }
}

/// Whether a record's object is there: a regular file in the archive (not a
/// symlink, which may point anywhere or nowhere) at its recorded size. One that
/// is not is downloaded again, and the download replaces it. (Rehashing every
/// object on every run would cost as much as `verify`; `verify` does that.)
fn intact(archive: &Archive, record: &Record) -> bool {
    ObjectName::from_relative(&record.object).is_some_and(|name| {
        name.sha256 == record.sha256
            && std::fs::symlink_metadata(archive.object_path(&name))
                .is_ok_and(|m| m.file_type().is_file() && m.len() == record.size)
    })
}

fn is_pdf_url(url: &str) -> bool {
    Url::parse(url).is_ok_and(|u| u.path().to_ascii_lowercase().ends_with(".pdf"))
}

/// What a link is fetched as, if it is fetched at all.
fn wanted_kind(
    link_url: &str,
    kind: Kind,
    largest: bool,
    kinds: &[MediaKind],
) -> Option<MediaKind> {
    if !is_web_url(link_url) || !largest {
        return None;
    }
    let wants = |k: MediaKind| kinds.contains(&k).then_some(k);
    if is_pdf_url(link_url)
        && let Some(k) = wants(MediaKind::Pdf)
    {
        return Some(k);
    }
    match kind {
        Kind::Image => wants(MediaKind::Image),
        Kind::Video => wants(MediaKind::Video),
        Kind::Paper => wants(MediaKind::Paper),
        _ => None,
    }
}

fn gather(args: &FetchArgs, settings: &Settings, names: &NoteNames) -> Result<Wanted, Error> {
    let (urls, notes) = split_inputs(&args.notes.inputs);
    let mut wanted = Wanted::default();
    if !notes.is_empty() {
        read_notes(args, settings, names, &notes, &mut wanted)?;
    }
    let classifier = Classifier::new(settings);
    for url in &urls {
        let (key, link_kind) = url_input(classifier, url);
        // Named on the command line: fetched whatever --kinds says, as what it is.
        if let Some(kind) = wanted_kind(&key, link_kind, true, &MediaKind::ALL) {
            wanted.add(&key, kind, None);
        } else {
            wanted.skipped.push(FetchResult {
                url: key,
                kind: None,
                outcome: FetchOutcome::Skipped,
                reason_code: Some("not-media".into()),
                reason: Some(format!(
                    "not an image, PDF, paper or video link (its kind is {link_kind})"
                )),
                object: None,
                sha256: None,
                media_type: None,
                size: None,
                source: None,
                captured_at: None,
                cited_at: None,
                new_object: false,
            });
        }
    }
    Ok(wanted)
}

/// Reads the notes' media links into `wanted`.
fn read_notes(
    args: &FetchArgs,
    settings: &Settings,
    names: &NoteNames,
    notes: &[String],
    wanted: &mut Wanted,
) -> Result<(), Error> {
    let kinds = &settings.fetch.kinds;
    let inputs = Inputs::parse(notes)?;
    let scope = Scope::of(&inputs, &args.notes);
    // Each media link, and what it is fetched as under --kinds (if at all).
    let per_note = |note: &crate::input::Note, _: &str, links: Vec<Link>| {
        let name = names.name(note.path());
        let media: Vec<(Link, Option<MediaKind>)> = links
            .into_iter()
            .filter_map(|link| {
                let largest = link.srcset.as_ref().is_none_or(|s| s.largest);
                wanted_kind(&link.url, link.kind, largest, &MediaKind::ALL)?;
                let kind = wanted_kind(&link.url, link.kind, largest, kinds);
                Some((link, kind))
            })
            .collect();
        (name, media)
    };
    scan(scope, settings, per_note, |result| {
        match result {
            Scanned::Note((name, media)) => {
                for (link, kind) in media {
                    wanted
                        .cited
                        .entry(link.identity().to_owned())
                        .or_default()
                        .insert(name.clone());
                    let Some(kind) = kind else { continue };
                    let citation = Citation {
                        file: Arc::clone(&link.file),
                        line: link.line,
                        column: link.column,
                    };
                    wanted.add(link.identity(), kind, Some((name.clone(), citation)));
                }
                wanted.scanned.insert(name);
            }
            Scanned::Skipped(skipped) => report_skipped(&skipped),
            Scanned::Failed(e) => {
                tracing::error!("{e}");
                wanted.errors += 1;
            }
        }
        Ok(())
    })
}

fn rank(kind: MediaKind) -> u8 {
    match kind {
        MediaKind::Pdf => 0,
        MediaKind::Image => 1,
        MediaKind::Video => 2,
        MediaKind::Paper => 3,
    }
}

/// What the downloads work with.
struct Job<'a> {
    archive: &'a Archive,
    manifest: &'a mut Manifest,
    manifest_path: &'a Path,
    settings: &'a Settings,
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
    let mut by_host: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    let mut done_with: Vec<bool> = vec![false; wants.len()];
    for (i, url) in urls.iter().enumerate() {
        if let Some(host) = url.as_ref().map(host_key) {
            by_host.entry(host).or_default().push(i);
        } else {
            run.results
                .push(wants[i].failed(Problem::new("invalid", "not a valid URL")));
            done_with[i] = true;
        }
    }
    let received = Arc::new(AtomicU64::new(0));
    let target = Arc::new(mirror_target(&job, &received));
    let sites = Arc::new(job.settings.sites.clone());
    let (done, mut finished) =
        tokio::sync::mpsc::unbounded_channel::<(usize, Result<Got, Problem>)>();
    let work = downloader(&wants, Arc::clone(&target), sites);
    let mut tasks = spawn_feeders(by_host, &urls, &engine, &done, work);
    drop(done);

    let watch = NetworkWatch::new(job.settings.network.timeout);
    let mut landed = Landed {
        wants: &wants,
        urls: &urls,
        job,
        done_with,
        run,
        dirty: false,
        watch,
        progress: Progress::new(wants.len(), &received),
    };
    let stop = shutdown_signal();
    tokio::pin!(stop);
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    let mut saved_at = Instant::now();
    loop {
        let check_at = landed.watch.check_at();
        tokio::select! {
            _ = tick.tick() => {
                landed.progress.show(&engine.busy_hosts());
                if landed.dirty && saved_at.elapsed() >= SAVE_EVERY {
                    landed.save()?;
                    saved_at = Instant::now();
                }
            }
            () = sleep_until_some(check_at), if check_at.is_some() => {
                if landed.watch.grace_over(&engine) {
                    stop_downloads(&engine, &target, &mut tasks, &mut finished, &mut landed).await;
                    break;
                }
            }
            () = &mut stop => {
                tracing::warn!("stopping: recording what was fetched so far");
                landed.run.interrupted = true;
                stop_downloads(&engine, &target, &mut tasks, &mut finished, &mut landed).await;
                break;
            }
            next = finished.recv() => {
                let Some((i, result)) = next else { break };
                // A full disk fails every download after it: stop at once.
                let full = disk_full(&wants[i], &result);
                landed.accept(i, result);
                if full.is_some() {
                    landed.run.disk_full = full;
                    stop_downloads(&engine, &target, &mut tasks, &mut finished, &mut landed).await;
                    break;
                }
            }
        }
    }
    // Downloads that finished while the run was stopping are kept too.
    while let Ok((i, result)) = finished.try_recv() {
        landed.accept(i, result);
    }
    landed.progress.finish();
    if let Some(why) = landed.run.disk_full.take() {
        return Err(landed.stopped_by_full_disk(&why));
    }
    if !landed.run.interrupted
        && let Some(message) = landed.watch.down(&engine).await
    {
        // What did land is recorded; the rest is not reported as failed links.
        landed.save()?;
        return Err(Error::NetworkDown(message));
    }
    let Landed {
        done_with, mut run, ..
    } = landed;
    run.stand_ins = target.placeholders.stand_ins();
    settle(&wants, &done_with, tasks, &mut run).await;
    Ok(run)
}

/// The longest a stopping run waits for objects still landing (being fsynced
/// and renamed into place): they take milliseconds on a working disk.
const LANDING_GRACE: Duration = Duration::from_secs(10);

/// Stops the downloads: no new request or object starts; objects already
/// landing finish and their results are taken; then what is left (requests
/// still on the network) is cancelled, and the results sent meanwhile are
/// taken too. Without the wait, an object could land after its download was
/// cancelled, in the archive but in no manifest record.
async fn stop_downloads(
    engine: &Engine,
    target: &mirror::Target,
    tasks: &mut JoinSet<()>,
    finished: &mut tokio::sync::mpsc::UnboundedReceiver<(usize, Result<Got, Problem>)>,
    landed: &mut Landed<'_, '_>,
) {
    engine.stop();
    target.landing.stop();
    let give_up = tokio::time::Instant::now() + LANDING_GRACE;
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    loop {
        tokio::select! {
            next = finished.recv() => match next {
                Some((i, result)) => landed.accept(i, result),
                // Every download has ended.
                None => return,
            },
            _ = tick.tick() => {
                if !target.landing.busy() {
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
    tasks.abort_all();
    // The channel closes once every cancelled download has let go of it.
    while let Some((i, result)) = finished.recv().await {
        landed.accept(i, result);
    }
}

/// Why the run must stop, when `result` says the disk is full.
fn disk_full(want: &Want, result: &Result<Got, Problem>) -> Option<String> {
    match result {
        Err(p) if p.code == mirror::DISK_FULL => {
            Some(format!("{} while writing {}", p.reason, want.url))
        }
        _ => None,
    }
}

/// Papers whose PDF a `check` learnt from the site's API (arXiv) are fetched
/// from there, without reading their page first. Without a state database, or
/// with one that cannot be read, papers are resolved the usual way.
fn learn_pdfs(downloads: &mut [Want], settings: &Settings) {
    if !downloads.iter().any(|w| w.kind == MediaKind::Paper) || !settings.state.path.is_file() {
        return;
    }
    let state = match State::open_existing(&settings.state.path) {
        Ok(state) => state,
        Err(e) => {
            tracing::debug!("{e}; papers are resolved from their pages");
            return;
        }
    };
    for want in downloads.iter_mut().filter(|w| w.kind == MediaKind::Paper) {
        want.pdf = state
            .pdf_for(&want.url)
            .ok()
            .flatten()
            .and_then(|pdf| Url::parse(&pdf).ok());
    }
}

/// One URL's download, as a feeder runs it.
type Download = std::pin::Pin<Box<dyn Future<Output = Result<Got, Problem>> + Send>>;

/// The work each feeder does for one of `wants` (by index).
fn downloader(
    wants: &[Want],
    target: Arc<mirror::Target>,
    sites: Arc<crate::sites::SiteRules>,
) -> impl Fn(Arc<Engine>, usize, Url) -> Download + Clone + Send + Sync + 'static {
    // Per want: what to expect, the archived copy's validators, a PDF learnt.
    type Ask = (MediaKind, Option<Known>, Option<Url>);
    let asks: Arc<Vec<Ask>> = Arc::new(
        wants
            .iter()
            .map(|w| (w.kind, w.known.clone(), w.pdf.clone()))
            .collect(),
    );
    move |engine: Arc<Engine>, i: usize, url: Url| -> Download {
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
fn mirror_target(job: &Job<'_>, received: &Arc<AtomicU64>) -> mirror::Target {
    mirror::Target {
        tmp: job.archive.tmp_dir(),
        objects: job.archive.root().join("objects"),
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
        wayback: job.settings.fetch.wayback.then(|| mirror::Wayback {
            api: job.settings.fetch.wayback_api.clone(),
            capture: job.settings.fetch.wayback_capture.clone(),
        }),
    }
}

/// The results as they land, and the manifest they go into.
struct Landed<'a, 'j> {
    wants: &'a [Want],
    urls: &'a [Option<Url>],
    job: Job<'j>,
    done_with: Vec<bool>,
    run: WebRun,
    /// The manifest has records not yet saved.
    dirty: bool,
    watch: NetworkWatch,
    progress: Progress,
}

impl Landed<'_, '_> {
    /// Takes one URL's result: a record for what was archived.
    /// The error a run stopped by a full disk ends with. What did land is
    /// recorded if the disk still takes the manifest; the old manifest stays
    /// whole if it does not.
    fn stopped_by_full_disk(&mut self, why: &str) -> Error {
        let saved = self.save();
        Error::Archive {
            path: self.job.archive.root().to_path_buf(),
            message: format!(
                "{why}; nothing half-written is kept{}: free some space and run `archiver fetch` again",
                if saved.is_ok() {
                    ", and what was archived is recorded"
                } else {
                    ""
                }
            ),
        }
    }

    fn accept(&mut self, i: usize, result: Result<Got, Problem>) {
        self.done_with[i] = true;
        let want = &self.wants[i];
        let host = self.urls[i]
            .as_ref()
            .and_then(Url::host_str)
            .unwrap_or_default();
        let manifest = &mut *self.job.manifest;
        // Same bytes on a refresh: the record stands, with the server's new
        // validators, so the next refresh can be conditional.
        if let Ok(Got::Object(mirrored)) = &result
            && want.known.is_some()
            && let Some(record) = manifest.records.get_mut(&want.url)
            && record.sha256 == mirrored.stored.name.sha256
            && (record.etag != mirrored.etag || record.last_modified != mirrored.last_modified)
        {
            record.etag.clone_from(&mirrored.etag);
            record.last_modified.clone_from(&mirrored.last_modified);
            self.dirty = true;
        }
        let result = match (result, manifest.records.get(&want.url)) {
            // Revalidated: the archived copy stands.
            (Ok(Got::Unchanged), Some(record)) => {
                self.watch.observe(host, Heard::Answer);
                want.with_record(FetchOutcome::Present, record)
            }
            (Ok(Got::Object(mirrored)), Some(record))
                if want.known.is_some() && record.sha256 == mirrored.stored.name.sha256 =>
            {
                self.watch.observe(host, Heard::Answer);
                want.with_record(FetchOutcome::Present, record)
            }
            (Ok(Got::Unchanged), None) => want.failed(Problem::new(
                "internal",
                "a 304 for a URL with no archived copy; please report it",
            )),
            (Ok(Got::Object(mirrored)), old) => {
                self.watch.observe(host, Heard::Answer);
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
                self.watch.observe(host, problem.heard.clone());
                FetchResult {
                    reason: Some(format!(
                        "kept the archived copy; asking again failed: {}",
                        problem.reason
                    )),
                    reason_code: Some(problem.code),
                    ..want.with_record(FetchOutcome::Present, record)
                }
            }
            (Err(problem), _) => {
                self.watch.observe(host, problem.heard.clone());
                want.failed(problem)
            }
        };
        self.progress.advance(&result);
        self.run.results.push(result);
    }

    fn save(&mut self) -> Result<(), Error> {
        self.job
            .manifest
            .save(self.job.manifest_path, &self.job.archive.tmp_dir())?;
        self.dirty = false;
        Ok(())
    }
}

/// Waits for the feeders, and gives every URL without a result one: stopped by
/// the user, or lost to a bug (which fails the run).
async fn settle(wants: &[Want], done_with: &[bool], mut tasks: JoinSet<()>, run: &mut WebRun) {
    while let Some(joined) = tasks.join_next().await {
        if let Err(e) = joined
            && e.is_panic()
        {
            tracing::error!("internal error: the downloads of one host stopped: {e}");
            run.lost = true;
        }
    }
    for (want, done) in wants.iter().zip(done_with) {
        if *done {
            continue;
        }
        let problem = if run.interrupted {
            Problem::new("interrupted", "not fetched: the run was stopped")
        } else {
            run.lost = true;
            Problem::new(
                "internal",
                "internal error: this URL's download did not finish; please report it",
            )
        };
        run.results.push(want.failed(problem));
    }
}

fn record_for(want: &Want, mirrored: &Mirrored, old: Option<&Record>) -> Record {
    // The old record's notes were brought up to date before the downloads.
    let mut notes = old.map(|r| r.notes.clone()).unwrap_or_default();
    notes.extend(want.notes.iter().cloned());
    Record {
        url: want.url.clone(),
        object: mirrored.stored.name.relative(),
        sha256: mirrored.stored.name.sha256.clone(),
        media_type: mirrored.sniffed.media_type.to_owned(),
        size: mirrored.stored.size,
        final_url: mirrored.final_url.clone(),
        fetched_at: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        etag: mirrored.etag.clone(),
        last_modified: mirrored.last_modified.clone(),
        source: mirrored.source,
        captured_at: mirrored.captured_at.clone(),
        notes,
    }
}

/// Progress bars on stderr when stderr is a terminal: URLs done, bytes received,
/// and the hosts downloading now. Nothing otherwise: the report's summary line
/// says it all at the end.
struct Progress {
    bars: Option<(
        indicatif::MultiProgress,
        indicatif::ProgressBar,
        indicatif::ProgressBar,
    )>,
    received: Arc<AtomicU64>,
}

impl Progress {
    fn new(total: usize, received: &Arc<AtomicU64>) -> Self {
        let visible =
            std::io::stderr().is_terminal() && tracing::enabled!(tracing::Level::WARN) && total > 0;
        let bars = visible.then(|| {
            let multi =
                indicatif::MultiProgress::with_draw_target(indicatif::ProgressDrawTarget::stderr());
            let items = multi.add(indicatif::ProgressBar::new(total as u64));
            if let Ok(style) =
                indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} URLs · {msg}")
            {
                items.set_style(style);
            }
            let bytes = multi.add(indicatif::ProgressBar::no_length());
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{spinner} {bytes} received, {bytes_per_sec} · {msg}",
            ) {
                bytes.set_style(style);
            }
            (multi, items, bytes)
        });
        Progress {
            bars,
            received: Arc::clone(received),
        }
    }

    fn advance(&self, result: &FetchResult) {
        if let Some((_, items, _)) = &self.bars {
            items.inc(1);
            if result.outcome == FetchOutcome::Failed {
                items.set_message(format!(
                    "last failure: {} [{}]",
                    result.url,
                    result.reason_code.as_deref().unwrap_or_default()
                ));
            }
        }
    }

    fn show(&self, busy: &[(String, usize)]) {
        if let Some((_, _, bytes)) = &self.bars {
            bytes.set_position(self.received.load(Ordering::Relaxed));
            let active: Vec<String> = busy
                .iter()
                .take(3)
                .map(|(h, n)| format!("{h} ×{n}"))
                .collect();
            let more = busy.len().saturating_sub(3);
            let mut msg = format!("downloading from {}", active.join(", "));
            if active.is_empty() {
                msg = "waiting".into();
            } else if more > 0 {
                msg = format!("{msg} +{more} hosts");
            }
            bytes.set_message(msg);
        }
    }

    fn finish(&self) {
        if let Some((multi, items, bytes)) = &self.bars {
            items.finish_and_clear();
            bytes.finish_and_clear();
            let _ = multi.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_each_link_is_fetched_as() {
        let all = MediaKind::ALL;
        let images = [MediaKind::Image];
        assert_eq!(
            wanted_kind("https://a.org/x.png", Kind::Image, true, &all),
            Some(MediaKind::Image)
        );
        // A smaller srcset candidate is not fetched.
        assert_eq!(
            wanted_kind("https://a.org/x.png", Kind::Image, false, &all),
            None
        );
        // A paper host's direct PDF is a PDF, whatever its kind.
        assert_eq!(
            wanted_kind("https://arxiv.org/pdf/1.pdf", Kind::Paper, true, &all),
            Some(MediaKind::Pdf)
        );
        assert_eq!(
            wanted_kind("https://arxiv.org/abs/1", Kind::Paper, true, &all),
            Some(MediaKind::Paper)
        );
        assert_eq!(
            wanted_kind("https://a.org/x.PDF", Kind::Page, true, &images),
            None
        );
        assert_eq!(wanted_kind("https://a.org/", Kind::Page, true, &all), None);
        assert_eq!(wanted_kind("img/x.png", Kind::Local, true, &all), None);
    }
}
