//! Mirroring one URL into the archive: download it, stream its body to the
//! store while checking it is what the link promised and within the size limit.
//!
//! Memory stays bounded whatever the server sends: the body passes through in
//! pieces (decompressed by the HTTP client, and counted after decompression, so
//! a gzip or brotli bomb stops at the same limit as a plain large body), and only
//! the first [`SNIFF_LEN`] bytes are kept, to judge the content type.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use url::Url;

use crate::judge::judge;
use crate::manifest::Source;
use crate::media::{self, Class, MediaKind, SNIFF_LEN, Sniffed};
use crate::net::probe::{BodyError, Engine, Outcome, RequestOptions};
use crate::net::watch::Heard;
use crate::sites::SiteRules;
use crate::sites::fetch::{FetchRule, Referer};
use crate::store::Storage;
use crate::store::write::{Stored, Writer};
use crate::units::human_size;
use crate::verdict::Verdict;

mod article;
mod paper;
mod placeholder;
mod problem;
mod record;
mod wayback;

pub use placeholder::Placeholders;
use placeholder::{PlaceholderCheck, learn_placeholder};
pub use problem::{Code, Problem};
use record::Asked;
pub use record::WarcLog;
pub use wayback::Wayback;

/// What a successful download gave.
#[derive(Debug, Clone)]
pub struct Mirrored {
    /// The object.
    pub stored: Stored,
    /// Its type, from its magic bytes.
    pub sniffed: Sniffed,
    /// Where redirects ended.
    pub final_url: String,
    /// The server's ETag.
    pub etag: Option<String>,
    /// The server's Last-Modified.
    pub last_modified: Option<String>,
    /// Where the bytes came from.
    pub source: Source,
    /// For a Wayback Machine capture, its timestamp.
    pub captured_at: Option<String>,
    /// For a snapshot, the objects it uses (its images), relative to the archive.
    pub uses: Vec<String>,
    /// For a snapshot, the sha256 of the page as fetched.
    pub page_sha256: Option<String>,
    /// For a snapshot, the page's title.
    pub title: Option<String>,
}

/// Where and how objects are written, shared by every download of a run.
#[derive(Debug, Clone)]
pub struct Downloads {
    /// The archive the objects go to.
    pub store: Arc<dyn Storage>,
    /// The largest body archived, in bytes.
    pub max_size: u64,
    /// Bytes received so far by every download, for the progress display.
    pub received: Arc<AtomicU64>,
    /// Placeholders learnt during the run, by site rule.
    pub placeholders: Placeholders,
    /// Where to look for files gone at their source, unless turned off.
    pub wayback: Option<Wayback>,
    /// The longest a placeholder lesson may take.
    pub probe_timeout: std::time::Duration,
    /// Objects being written at once (each on a blocking thread).
    pub writers: Arc<tokio::sync::Semaphore>,
    /// Objects being moved into place, and whether the run is stopping.
    pub landing: Arc<Landing>,
    /// Where the exchanges archived are recorded as WARC, when they are.
    pub warc: Option<WarcLog>,
    /// What an article's snapshot keeps and drops.
    pub snapshot: Arc<crate::snapshot::SnapshotRules>,
}

/// The downloads whose object is being moved into place (fsynced, renamed,
/// its folder fsynced), and whether the run is stopping.
///
/// A stopping run must not cut such a download short: the object would land
/// all the same, on its blocking thread, but without the result that records
/// it in the manifest. So a run that stops says so here, waits until
/// [`Landing::busy`] is false, and only then cancels what is left; a download
/// that reaches its commit after the stop abandons its object instead.
#[derive(Debug, Default)]
pub struct Landing {
    stopping: AtomicBool,
    committing: AtomicUsize,
}

impl Landing {
    /// No object starts landing from now on.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
    }

    /// Whether an object is landing now.
    #[must_use]
    pub fn busy(&self) -> bool {
        self.committing.load(Ordering::SeqCst) > 0
    }

    /// Counts an object as landing until the guard is dropped; `None` once the
    /// run is stopping. (Counted first, then the stop checked: with the stop
    /// stored first and the count read after, one side always sees the other.)
    fn begin(&self) -> Option<LandingGuard<'_>> {
        self.committing.fetch_add(1, Ordering::SeqCst);
        if self.stopping.load(Ordering::SeqCst) {
            self.committing.fetch_sub(1, Ordering::SeqCst);
            return None;
        }
        Some(LandingGuard(self))
    }
}

/// One object landing; see [`Landing`].
struct LandingGuard<'a>(&'a Landing);

impl Drop for LandingGuard<'_> {
    fn drop(&mut self) {
        self.0.committing.fetch_sub(1, Ordering::SeqCst);
    }
}

/// What is known of a URL before it is asked.
#[derive(Debug, Clone, Copy, Default)]
pub struct Hints<'a> {
    /// With `--refresh`, the archived copy's validators.
    pub known: Option<&'a Known>,
    /// For a paper, its PDF as a site's API named it.
    pub pdf: Option<&'a Url>,
}

/// Downloads `url`, expecting content of `kind`, into the archive, the way its
/// site rule says: rewritten, better versions first, each with the Referer
/// policies in turn while the answer is a placeholder.
///
/// # Errors
/// A [`Problem`] naming why nothing was archived: the server's answer, a body
/// over the limit, cut short, not what the link promised, or only ever a
/// placeholder. With several URLs tried, the problem of the last (the URL as
/// written, after rewrites).
pub async fn mirror(
    engine: &Engine,
    sites: &SiteRules,
    target: &Downloads,
    url: &Url,
    kind: MediaKind,
    hints: Hints<'_>,
) -> Result<Fetched, Problem> {
    if kind.is_page() {
        return article::snapshot(engine, sites, target, url, hints.known).await;
    }
    let known = hints.known;
    let rule = url.host_str().and_then(|h| sites.lookup(h));
    let none = FetchRule::default();
    let fetch = rule.map_or(&none, |r| &r.fetch);
    let goal = match goal(engine, sites, target, (url, kind, hints), fetch).await? {
        PaperLink::File(got) => return Ok(got),
        PaperLink::Names(goal) => goal,
    };
    // Another host than the link's (a PDF a page or an API named, a rule's
    // rewrite or better version) is asked the way a redirect's target is: when
    // the link is public, the resolver itself keeps the connection to public
    // addresses, whatever the name answered to the check in `goal`.
    let candidates = fetch.candidates(&goal);
    let elsewhere = |u: &Url| u.host_str() != url.host_str();
    let link_public =
        (elsewhere(&goal) || candidates.iter().any(elsewhere)) && engine.keeps_public(url).await;
    let referers = fetch.referer_policies();
    let learnt = match (rule, &fetch.placeholder_probe) {
        (Some(rule), Some(probe)) => {
            let key = format!("{} {}", rule.name, goal.host_str().unwrap_or_default());
            target
                .placeholders
                .learn(&key, || {
                    let public_only = link_public && elsewhere(&goal);
                    learn_placeholder(engine, target, (&goal, public_only), probe, &referers)
                })
                .await
        }
        _ => None,
    };
    let check = PlaceholderCheck {
        rule: fetch,
        learnt: learnt.as_deref(),
    };
    let mut last = None;
    for candidate in candidates {
        let public_only = link_public && elsewhere(&candidate);
        let mut placeholder = None;
        for (n, referer) in referers.iter().enumerate() {
            let tried = Tried {
                referer,
                last: n + 1 == referers.len(),
                known,
                public_only,
            };
            match attempt(engine, sites, target, &candidate, kind, tried, &check).await {
                Ok(mirrored) => return Ok(Fetched::Object(Box::new(mirrored))),
                Err(Attempt::Unchanged) => return Ok(Fetched::Unchanged),
                Err(Attempt::Placeholder(why)) => placeholder = Some(why),
                // Refused, or sent something else: another Referer may do
                // (a video CDN that wants WeChat's own).
                // A full disk ends the URL's tries, and the run.
                Err(Attempt::Failed(problem)) if problem.code == Code::DiskFull => {
                    return Err(problem);
                }
                Err(Attempt::Failed(problem))
                    if !tried.last && problem.code.may_be_the_referer() =>
                {
                    last = Some(problem);
                }
                Err(Attempt::Failed(problem)) => {
                    placeholder = None;
                    last = Some(problem);
                    break;
                }
            }
        }
        if let Some(why) = placeholder {
            let tried: Vec<String> = referers.iter().map(ToString::to_string).collect();
            last = Some(Problem::new(
                Code::Placeholder,
                format!(
                    "the host answered with its anti-hotlink placeholder ({why}) whatever the Referer ({})",
                    tried.join(", ")
                ),
            ));
        }
    }
    let problem = last.unwrap_or_else(|| Problem::new(Code::Internal, "nothing was tried"));
    // Gone at the source: the Wayback Machine may have kept it (unless this
    // was a refresh: the archive keeps its own copy then).
    match &target.wayback {
        Some(wayback) if known.is_none() && kind != MediaKind::Video && problem.code.is_gone() => {
            // The file's own URL: a paper's PDF, a GitHub blob's raw file.
            let rewritten = fetch.rewrite.iter().any(|r| r.apply(url).is_some());
            let asked = if kind == MediaKind::Paper || rewritten {
                &goal
            } else {
                url
            };
            wayback
                .capture(engine, sites, target, asked, kind, &check)
                .await
                .map(|m| Fetched::Object(Box::new(m)))
                .map_err(|missing| match missing {
                    wayback::Missing::DiskFull(full) => full,
                    wayback::Missing::Why(why) => Problem {
                        reason: format!("{}; {why}", problem.reason),
                        ..problem
                    },
                })
        }
        _ => Err(problem),
    }
}

/// What to download for `url`: the site rule's rewrite of it, or for a paper
/// page the PDF an API or the page names (or the page itself, when it was the
/// file all along).
async fn goal(
    engine: &Engine,
    sites: &SiteRules,
    target: &Downloads,
    (url, kind, hints): (&Url, MediaKind, Hints<'_>),
    fetch: &FetchRule,
) -> Result<PaperLink, Problem> {
    let mut goal = fetch.target(url);
    if kind == MediaKind::Paper
        && let Some(pdf) = hints.pdf
    {
        goal = pdf.clone();
    } else if kind == MediaKind::Paper
        && goal == *url
        && !goal.path().to_ascii_lowercase().ends_with(".pdf")
    {
        match paper_link(engine, sites, target, url, fetch, hints.known).await? {
            PaperLink::File(got) => return Ok(PaperLink::File(got)),
            PaperLink::Names(pdf) => goal = pdf,
        }
    }
    // An address a page or an API named is held to the rule of redirects.
    if goal.host_str() != url.host_str()
        && let Some(refused) = engine.leads_inside(url, &goal).await
    {
        return Err(Problem::new(
            Code::of_failure(&refused),
            format!(
                "{goal} is a private address, named by {url}; set network.allow_private_redirects = true to follow it"
            ),
        ));
    }
    Ok(PaperLink::Names(goal))
}

/// What the validators of an archived copy are, for `--refresh`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Known {
    /// The URL that answered with them (the record's final URL): validators
    /// are sent to it alone.
    pub url: String,
    /// Its ETag.
    pub etag: Option<String>,
    /// Its Last-Modified.
    pub last_modified: Option<String>,
    /// For a snapshot, the sha256 of the page it was made from.
    pub page_sha256: Option<String>,
}

/// What a successful [`mirror`] gave.
#[derive(Debug, Clone)]
pub enum Fetched {
    /// An object, new or already stored.
    Object(Box<Mirrored>),
    /// The server says the archived copy is still current (304).
    Unchanged,
}

/// What a paper link turned out to be.
enum PaperLink {
    /// The PDF itself, now archived (or still current).
    File(Fetched),
    /// A page naming its PDF.
    Names(Url),
}

/// A paper link no rule rewrites: often the PDF itself (arXiv's /pdf/<id>),
/// else a page that names it. Asked once as a file; read as a page only when it
/// turns out to be one.
async fn paper_link(
    engine: &Engine,
    sites: &SiteRules,
    target: &Downloads,
    url: &Url,
    fetch: &FetchRule,
    known: Option<&Known>,
) -> Result<PaperLink, Problem> {
    let tried = Tried {
        referer: &Referer::None,
        last: true,
        known,
        public_only: false,
    };
    let check = PlaceholderCheck {
        rule: fetch,
        learnt: None,
    };
    match attempt(engine, sites, target, url, MediaKind::Paper, tried, &check).await {
        Ok(mirrored) => Ok(PaperLink::File(Fetched::Object(Box::new(mirrored)))),
        Err(Attempt::Unchanged) => Ok(PaperLink::File(Fetched::Unchanged)),
        Err(Attempt::Failed(problem)) if problem.code == Code::Unexpected(Class::Pdf) => {
            paper::pdf_of_page(engine, sites, url)
                .await
                .map(PaperLink::Names)
        }
        Err(Attempt::Failed(problem)) => Err(problem),
        Err(Attempt::Placeholder(why)) => Err(Problem::new(
            Code::Placeholder,
            format!("a placeholder ({why})"),
        )),
    }
}

/// How one attempt went wrong.
enum Attempt {
    /// The archived copy is current (304 to a conditional request).
    Unchanged,
    /// The answer was a placeholder, said how it was recognized.
    Placeholder(String),
    /// Anything else.
    Failed(Problem),
}

impl From<Problem> for Attempt {
    fn from(problem: Problem) -> Self {
        Attempt::Failed(problem)
    }
}

/// How an attempt asks: its Referer policy, whether it is the last one to try,
/// the validators of the archived copy when revalidating, and whether it may
/// connect to public addresses only (see [`Engine::keeps_public`]).
#[derive(Clone, Copy)]
struct Tried<'a> {
    referer: &'a Referer,
    last: bool,
    known: Option<&'a Known>,
    public_only: bool,
}

/// One request for one URL with one Referer policy.
async fn attempt(
    engine: &Engine,
    sites: &SiteRules,
    target: &Downloads,
    url: &Url,
    kind: MediaKind,
    Tried {
        referer,
        last: _,
        known,
        public_only,
    }: Tried<'_>,
    check: &PlaceholderCheck<'_>,
) -> Result<Mirrored, Attempt> {
    // Writers are limited like requests, and taken first: a response must not
    // wait unread for a writer while it holds its host's slot.
    let Ok(_writing) = target.writers.acquire().await else {
        return Err(Problem::new(Code::Interrupted, "the run was stopped").into());
    };
    // Validators go only to the URL that gave them, and a 304 counts only when
    // one was sent.
    let known =
        known.filter(|k| k.url == url.as_str() && (k.etag.is_some() || k.last_modified.is_some()));
    let options = RequestOptions {
        referer: referer.header().map(str::to_owned),
        if_none_match: known.and_then(|k| k.etag.clone()),
        if_modified_since: known.and_then(|k| k.last_modified.clone()),
        public_only,
        ..RequestOptions::default()
    };
    let download = engine.download(url, &options).await;
    if known.is_some() && matches!(&download.result, Ok(r) if r.status == 304) {
        return Err(Attempt::Unchanged);
    }
    let hops = download.hops;
    let (response, mut body) = match (download.result, download.body) {
        (Ok(response), Some(body)) => (response, body),
        (result, _) => {
            let outcome = Outcome { hops, result };
            return Err(unanswered(url, &outcome, sites).into());
        }
    };
    let header = |name: &str| response.header(name).map(str::to_owned);
    // After decompression the client drops Content-Length: a length present here
    // is the body's true length.
    let expected: Option<u64> = header("content-length").and_then(|v| v.trim().parse().ok());
    let limit = target.max_size;
    if let Some(len) = expected
        && len > limit
    {
        return Err(too_large(len, limit, false).into());
    }
    let mut writer = Writer::start(target.store.stage());
    let poured = pour(&mut body, &mut writer, target, kind).await;
    // The network's part is over: the request's slots go to the next download.
    drop(body);
    let poured = match poured {
        Ok(poured) => poured,
        Err(problem) => {
            writer.abandon().await;
            return Err(problem.into());
        }
    };
    if let Some(expected) = expected
        && expected != poured.size
    {
        writer.abandon().await;
        return Err(Problem::new(
            Code::Truncated,
            format!(
                "the body ended after {} of the {expected} bytes announced",
                poured.size
            ),
        )
        .into());
    }
    let digest = match writer.finish(Some(poured.size)).await {
        Ok(digest) => digest,
        Err(e) => {
            writer.abandon().await;
            return Err(write_failed(&e, target.store.as_ref()).into());
        }
    };
    if let Some(why) = check.recognizes(&digest, &poured.head) {
        tracing::debug!("{url}: a placeholder with {referer} ({why})");
        writer.abandon().await;
        return Err(Attempt::Placeholder(why));
    }
    let Some(landing) = target.landing.begin() else {
        writer.abandon().await;
        return Err(Problem::new(Code::Interrupted, "not fetched: the run was stopped").into());
    };
    let stored = writer
        .commit(poured.sniffed.extension)
        .await
        .map_err(|e| write_failed(&e, target.store.as_ref()))?;
    // The WARC record is part of landing: a stopping run waits for it too.
    if let Some(log) = &target.warc {
        log.redirects(&hops, &options).await;
        let asked = Asked {
            url: &response.url,
            options: &options,
            status: response.status,
            headers: &response.headers,
        };
        log.object(&asked, &target.store, &stored).await;
    }
    // Released once the result is on its way: nothing between here and the
    // feeder handing it over waits on anything, so a stopping run that sees no
    // object landing finds every landed one's result sent.
    drop(landing);
    Ok(Mirrored {
        stored,
        sniffed: poured.sniffed,
        final_url: response.url.to_string(),
        etag: header("etag"),
        last_modified: header("last-modified"),
        source: Source::Origin,
        captured_at: None,
        uses: Vec::new(),
        page_sha256: None,
        title: None,
    })
}

/// What a body poured into a writer came to.
struct Poured {
    size: u64,
    sniffed: Sniffed,
    /// Its first bytes (up to [`SNIFF_LEN`]).
    head: Vec<u8>,
}

/// The problem of a body that stopped arriving after `size` bytes.
fn body_failed(error: BodyError, size: u64) -> Problem {
    match error {
        BodyError::Stalled(d) => Problem::new(
            Code::Timeout,
            format!(
                "the download stalled: no data for {}s after {}",
                d.as_secs(),
                human_size(size)
            ),
        ),
        BodyError::Broken(m) => Problem::new(
            Code::Truncated,
            format!("the body broke off after {}: {m}", human_size(size)),
        ),
    }
}

/// The least a download must receive in each rate window (three request
/// timeouts, a minute by default): a server that drips a byte now and then
/// would otherwise hold its slots for ever.
const MIN_BYTES_PER_WINDOW: u64 = 16 * 1024;

/// The rate window: three request timeouts.
fn rate_window(target: &Downloads) -> std::time::Duration {
    target.probe_timeout.saturating_mul(3)
}

/// Pours the body into the writer, judging its type from its first bytes and
/// keeping to the size limit; returns its size and type.
async fn pour(
    body: &mut crate::net::probe::Body,
    writer: &mut Writer,
    target: &Downloads,
    kind: MediaKind,
) -> Result<Poured, Problem> {
    let limit = target.max_size;
    let mut head: Vec<u8> = Vec::new();
    let mut sniffed: Option<Sniffed> = None;
    let mut size: u64 = 0;
    let (mut window_start, mut window_bytes) = (tokio::time::Instant::now(), 0u64);
    loop {
        let chunk = match body.chunk().await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break,
            Err(e) => return Err(body_failed(e, size)),
        };
        size += chunk.len() as u64;
        target
            .received
            .fetch_add(chunk.len() as u64, Ordering::Relaxed);
        if size > limit {
            return Err(too_large(size, limit, true));
        }
        window_bytes += chunk.len() as u64;
        if window_start.elapsed() >= rate_window(target) {
            if window_bytes < MIN_BYTES_PER_WINDOW {
                return Err(Problem::new(
                    Code::TooSlow,
                    format!(
                        "the download crawled: {} in the last {}s, after {}",
                        human_size(window_bytes),
                        rate_window(target).as_secs(),
                        human_size(size)
                    ),
                ));
            }
            (window_start, window_bytes) = (tokio::time::Instant::now(), 0);
        }
        if sniffed.is_none() {
            let room = SNIFF_LEN - head.len();
            head.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if head.len() == SNIFF_LEN {
                sniffed = Some(judge_content(kind, &head)?);
            }
        }
        writer
            .write(chunk)
            .await
            .map_err(|e| write_failed(&e, target.store.as_ref()))?;
    }
    let sniffed = match sniffed {
        Some(s) => s,
        None => judge_content(kind, &head)?,
    };
    Ok(Poured {
        size,
        sniffed,
        head,
    })
}

fn judge_content(kind: MediaKind, head: &[u8]) -> Result<Sniffed, Problem> {
    media::check(kind, media::sniff(head))
        .map_err(|m| Problem::new(Code::Unexpected(m.expected), m.reason))
}

fn too_large(size: u64, limit: u64, cut: bool) -> Problem {
    let what = if cut {
        format!("more than {} arrived; cut off", human_size(limit))
    } else {
        format!(
            "{} announced, over the {} limit; not downloaded",
            human_size(size),
            human_size(limit)
        )
    };
    Problem::new(
        Code::TooLarge,
        format!("{what} (raise fetch.max_object_size or --max-object-size to keep it)"),
    )
}

fn write_failed(e: &std::io::Error, store: &dyn Storage) -> Problem {
    let tmp = store.temp_location();
    if e.kind() == std::io::ErrorKind::StorageFull {
        return Problem::new(
            Code::DiskFull,
            format!(
                "the disk holding the archive is full ({}): {e}",
                tmp.display()
            ),
        );
    }
    Problem::new(
        Code::WriteFailed,
        format!(
            "cannot write to the archive ({}): {e}; check its free space and permissions",
            tmp.display()
        ),
    )
}

/// The problem with an answer that brought no body to archive: a failure to
/// connect, or a status other than 2xx, judged as `check` judges it.
fn unanswered(url: &Url, outcome: &Outcome, sites: &SiteRules) -> Problem {
    let judgement = judge(url, outcome, sites);
    let reason = judgement
        .reason
        .clone()
        .unwrap_or_else(|| judgement.verdict.to_string());
    let code = match (&outcome.result, judgement.verdict) {
        (_, verdict @ (Verdict::Expired | Verdict::Blocked)) => Code::Judged(verdict),
        (Ok(response), _) => Code::Http(response.status),
        (Err(failure), _) => Code::of_failure(failure),
    };
    Problem {
        heard: Heard::of(&outcome.hops, outcome.result.as_ref().map(|_| ())),
        ..Problem::new(code, reason)
    }
}
