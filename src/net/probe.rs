//! Asking a URL how it is: one logical request, with its redirects, retries and
//! method fallback, within the per-URL deadline.

use std::time::Duration;

use reqwest::header::{self, HeaderValue};
use tokio::time::Instant;
use url::Url;

pub use super::body::{Body, BodyError, Download};
use super::client::Clients;
pub use super::failure::Failure;
use super::failure::from_client_error;
use super::head::{HeadMemory, HeadTry};
pub use super::headers::{Credential, RequestOptions};
use super::headers::{Mode, first_method, method_name, with_headers};
pub use super::pool::host_key;
use super::pool::{Answer, HostLimits, HostPool, NotStarted, Patience, Started, Ticket, later};
pub use super::response::{Hop, Outcome, Response};
use super::retry::{MAX_PAUSES, RateLimit, backoff, retry_after, wait};
use super::settings::NetSettings;
use crate::sites::{Method, SiteRule, SiteRules, UserAgent};

/// Sends requests, politely.
#[derive(Debug)]
pub struct Engine {
    /// Whether any request got any answer (a status, a redirect): the network is up.
    heard: std::sync::atomic::AtomicBool,
    clients: Clients,
    pool: HostPool,
    /// Which hosts refuse HEAD.
    heads: HeadMemory,
    pub(super) settings: NetSettings,
    sites: SiteRules,
}

impl Engine {
    /// An engine for these settings and site rules.
    ///
    /// # Errors
    /// When the HTTP client cannot be set up (an unreadable CA file, say).
    pub fn new(settings: NetSettings, sites: SiteRules) -> Result<Self, crate::Error> {
        Ok(Self {
            heard: std::sync::atomic::AtomicBool::new(false),
            clients: Clients::new(&settings)?,
            pool: HostPool::new(
                settings.max_concurrency,
                Patience {
                    pauses: MAX_PAUSES,
                    give_up_for: settings.max_retry_after,
                },
            ),
            heads: HeadMemory::default(),
            settings,
            sites,
        })
    }

    /// The canary names (`network.canary`).
    #[must_use]
    pub fn canary(&self) -> &[String] {
        &self.settings.canary
    }

    /// Whether any canary name resolves, through the resolver requests use (a
    /// name with a `--connect-to` rule does): the resolver works.
    pub async fn canary_resolves(&self) -> bool {
        let wait = self.settings.timeout.min(Duration::from_secs(5));
        super::client::any_resolves(&self.settings.canary, &self.settings.connect_to, wait).await
    }

    /// Whether any request has had an answer yet, on any host.
    #[must_use]
    pub fn heard_an_answer(&self) -> bool {
        self.heard.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// How many URLs of `url`'s host may be checked at once.
    #[must_use]
    pub fn concurrency_for(&self, url: &Url) -> usize {
        self.limits(self.rule(url)).concurrency
    }

    /// Whether some URL is still being asked (a request out, or a retry
    /// waiting its turn).
    #[must_use]
    pub fn is_busy(&self) -> bool {
        self.pool.is_busy()
    }

    /// The hosts with requests in flight now, busiest first, with their counts.
    #[must_use]
    pub fn busy_hosts(&self) -> Vec<(String, usize)> {
        self.pool.busy_hosts()
    }

    /// Stops the engine: requests waiting for a slot, and later ones, fail with
    /// [`Failure::Cancelled`].
    pub fn stop(&self) {
        self.pool.close();
    }

    /// Whether the engine was stopped.
    #[must_use]
    pub fn is_stopped(&self) -> bool {
        self.pool.is_closed()
    }

    /// Asks `url`, following redirects, within the per-URL deadline.
    ///
    /// The deadline runs from the first request's start, not from when the URL was
    /// queued: a thousand URLs waiting for one host's interval must not time out
    /// before they are asked.
    pub async fn probe(&self, url: &Url) -> Outcome {
        let mut hops = Vec::new();
        let mut state = ChainState {
            deadline: None,
            ticket: None,
            mode: Mode::Probe,
            unread: None,
            options: RequestOptions::default(),
        };
        let result = self.follow(url, &mut hops, &mut state).await;
        Outcome { hops, result }
    }

    /// Reads the start of the page at `url` (`network.body_prefix` bytes) with
    /// GET, following redirects as [`Engine::probe`] does.
    pub async fn page(&self, url: &Url) -> Outcome {
        let mut hops = Vec::new();
        let mut state = ChainState {
            deadline: None,
            ticket: None,
            mode: Mode::Page,
            unread: None,
            options: RequestOptions::default(),
        };
        let result = self.follow(url, &mut hops, &mut state).await;
        Outcome { hops, result }
    }

    /// Asks `url` for its body with GET, following redirects as [`Engine::probe`]
    /// does. A 2xx answer comes with its [`Body`] unread; any other answer with
    /// its first bytes, as for a probe. The deadline covers the answer's headers;
    /// the body has no overall limit, only a stall limit (the request timeout).
    /// The caller's `options` go with every hop.
    pub async fn download(&self, url: &Url, options: &RequestOptions) -> Download {
        let mut hops = Vec::new();
        let mut state = ChainState {
            deadline: None,
            ticket: None,
            mode: Mode::Download,
            unread: None,
            options: options.clone(),
        };
        let result = self.follow(url, &mut hops, &mut state).await;
        let body = match (&result, state.unread, state.ticket) {
            (Ok(_), Some((response, started)), Some(ticket)) => Some(Body {
                response,
                idle: self.settings.timeout,
                _started: started,
                _ticket: ticket,
            }),
            _ => None,
        };
        Download { hops, result, body }
    }

    fn rule(&self, url: &Url) -> Option<&SiteRule> {
        url.host_str().and_then(|h| self.sites.lookup(h))
    }

    /// The limits for a host: the configured ones, which a site rule may tighten
    /// (a lower concurrency, a longer interval) but not loosen.
    fn limits(&self, rule: Option<&SiteRule>) -> HostLimits {
        let rule_concurrency = rule.and_then(|r| r.host_concurrency);
        let rule_interval = rule.and_then(|r| r.min_interval);
        HostLimits {
            concurrency: rule_concurrency.map_or(self.settings.host_concurrency, |c| {
                c.min(self.settings.host_concurrency)
            }),
            interval: rule_interval.map_or(self.settings.min_interval, |i| {
                i.max(self.settings.min_interval)
            }),
        }
    }

    /// Makes sure the URL holds a ticket for `url`'s host. Hops and retries on
    /// the same host keep the URL's ticket: they do not queue again behind every
    /// other URL for that host.
    async fn hold_ticket(
        &self,
        url: &Url,
        rule: Option<&SiteRule>,
        state: &mut ChainState,
    ) -> Result<(), Failure> {
        // `example.org.` is the same host as `example.org`, and shares its limits.
        let host = host_key(url);
        if state.ticket.as_ref().is_some_and(|t| t.host() == host) {
            return Ok(());
        }
        state.ticket = None;
        let waiting = self.pool.ticket(host, self.limits(rule));
        let ticket = match state.deadline {
            Some(at) => tokio::time::timeout_at(at, waiting)
                .await
                .map_err(|_| Failure::Deadline)?,
            None => waiting.await,
        };
        state.ticket = Some(ticket.ok_or(Failure::Cancelled)?);
        Ok(())
    }

    /// One hop: HEAD (or GET, when the site rule says so), falling back to GET
    /// when HEAD is refused, retrying transient failures, waiting out Retry-After.
    pub(super) async fn request(
        &self,
        url: &Url,
        hops: &mut Vec<Hop>,
        state: &mut ChainState,
    ) -> Result<Response, Failure> {
        let rule = self.rule(url);
        if let Some(rule) = rule {
            tracing::debug!("{url}: site rule `{}`", rule.name);
        }
        self.hold_ticket(url, rule, state).await?;
        let Some(ticket) = state.ticket.as_ref() else {
            return Err(Failure::Cancelled);
        };
        let mut method = first_method(state.mode, rule);
        let mut attempt = 0;
        loop {
            let head = self.head_or_get(url, &mut method, state.deadline).await;
            let starting = self.pool.start(ticket);
            let started = match state.deadline {
                Some(at) => tokio::time::timeout_at(at, starting).await.map_err(|_| {
                    // Waiting out the host's pause (another URL's 429) ate the
                    // deadline: a rate limit, not a silent host.
                    if self.pool.is_paused(ticket) {
                        Failure::RateLimited
                    } else {
                        Failure::Deadline
                    }
                })?,
                None => starting.await,
            };
            let started = match started {
                Ok(started) => started,
                Err(NotStarted::Closed) => return Err(Failure::Cancelled),
                Err(NotStarted::Refused(left, why)) => return Err(Failure::HostRefused(left, why)),
            };
            let at = *state
                .deadline
                .get_or_insert_with(|| later(self.settings.deadline));
            let left = at.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Failure::Deadline);
            }
            let budget = self.settings.timeout.min(left);
            let sent = Instant::now();
            let result = self
                .send(url, method, rule, budget, (state.mode, &state.options))
                .await;
            let result = match result {
                Err(Failure::Timeout) if budget < self.settings.timeout => Err(Failure::Deadline),
                other => other,
            };
            let answered = result.as_ref().ok().map(|(r, _)| r);
            hops.push(Hop::of(url, method, (answered, sent.elapsed()), state.mode));
            if let Some(head) = head {
                head.answered(result.as_ref().ok().map(|(r, _)| r.status));
            }
            let retries_left = attempt < self.settings.retries;
            // The global slot is given back before any waiting below: a retry
            // takes its turn again.
            let (delay, last) = match result {
                Ok((response, Some(unread))) => {
                    self.pool.answered(&started, Answer::Fine);
                    state.unread = Some((unread, started));
                    return Ok(response);
                }
                Ok((mut response, None)) => {
                    let status = response.status;
                    if matches!(status, 429 | 503) {
                        let limit = self.rate_limited(url, ticket, &started, &mut response, at);
                        drop(started);
                        match limit {
                            _ if response.waited_too_long || !retries_left => return Ok(response),
                            // The next start waits out the pause.
                            RateLimit::Paused => (Duration::ZERO, Ok(response)),
                            RateLimit::NoRetryAfter => {
                                tracing::debug!("{url}: {status}, retrying");
                                (backoff(&self.settings, attempt, status), Ok(response))
                            }
                        }
                    } else {
                        self.pool.answered(&started, Answer::Fine);
                        drop(started);
                        if method == Method::Head && matches!(status, 400 | 403 | 405 | 501) {
                            tracing::debug!("{url}: HEAD answered {status}, asking with GET");
                            method = Method::Get;
                            continue;
                        }
                        if !(500..600).contains(&status) || !retries_left {
                            return Ok(response);
                        }
                        tracing::debug!("{url}: {status}, retrying");
                        (backoff(&self.settings, attempt, status), Ok(response))
                    }
                }
                Err(failure) if failure.is_transient() && retries_left => {
                    drop(started);
                    tracing::debug!("{url}: {failure:?}, retrying");
                    (backoff(&self.settings, attempt, 0), Err(failure))
                }
                Err(failure) => return Err(failure),
            };
            // No time left to retry: the last answer stands.
            if !delay.is_zero() && !wait(delay, at).await {
                return last;
            }
            attempt += 1;
        }
    }

    /// Keeps HEAD for `url` unless its host refuses HEAD, which turns `method`
    /// into GET; a HEAD's try, to report its answer to.
    async fn head_or_get(
        &self,
        url: &Url,
        method: &mut Method,
        deadline: Option<Instant>,
    ) -> Option<HeadTry> {
        if *method != Method::Head {
            return None;
        }
        let admit = self.heads.admit(host_key(url));
        let head = match deadline {
            Some(at) => {
                let Ok(head) = tokio::time::timeout_at(at, admit).await else {
                    // Out of time while other HEADs settle: the deadline
                    // refuses whatever comes next.
                    *method = Method::Get;
                    return None;
                };
                head
            }
            None => admit.await,
        };
        if head.is_none() {
            tracing::debug!("{url}: {} refuses HEAD, asking with GET", host_key(url));
            *method = Method::Get;
        }
        head
    }

    /// Honours a 429 or 503: the host is slowed down, and its Retry-After
    /// holds every request to it (a pause every request waits out or, when
    /// longer than the run may wait, or than this URL's deadline, giving up on
    /// it, marked on the response).
    fn rate_limited(
        &self,
        url: &Url,
        ticket: &Ticket,
        started: &Started,
        response: &mut Response,
        at: Instant,
    ) -> RateLimit {
        let (status, host) = (response.status, ticket.host());
        let wait = retry_after(&response.headers);
        let answer = |pause| {
            if status == 429 {
                Answer::TooMany(pause)
            } else {
                Answer::Unavailable(pause)
            }
        };
        let Some(wait) = wait else {
            self.pool.answered(started, answer(None));
            return RateLimit::NoRetryAfter;
        };
        if wait > self.settings.max_retry_after {
            tracing::debug!(
                "{url}: {status}, Retry-After {wait:?} is longer than allowed; not asking {host} again"
            );
            self.pool.answered(started, answer(None));
            self.pool.refuse(ticket, wait);
            response.waited_too_long = true;
            return RateLimit::Paused;
        }
        tracing::debug!("{url}: {status}, leaving {host} alone for {wait:?}");
        self.pool.answered(started, answer(Some(wait)));
        if later(wait) > at {
            response.waited_too_long = true;
        }
        RateLimit::Paused
    }

    /// Sends one request and reads at most the body prefix, all within `budget`.
    /// A body still arriving when the time is up is judged on what arrived. In
    /// [`Mode::Download`], a 2xx answer's body is not read but handed back.
    async fn send(
        &self,
        url: &Url,
        method: Method,
        rule: Option<&SiteRule>,
        budget: Duration,
        (mode, options): (Mode, &RequestOptions),
    ) -> Result<(Response, Option<reqwest::Response>), Failure> {
        let started = Instant::now();
        let client = self.clients.for_url(url, options.public_only);
        let http_method = match method {
            Method::Head => reqwest::Method::HEAD,
            Method::Get => reqwest::Method::GET,
        };
        let mut request =
            with_headers(client.request(http_method, url.clone()), url, mode, options);
        let agent = rule.and_then(|r| r.user_agent.as_ref());
        tracing::debug!(
            "{url}: {} with the {} User-Agent",
            method_name(method),
            match agent {
                Some(UserAgent::Browser) => "browser",
                Some(UserAgent::Custom(_)) => "site rule's",
                Some(UserAgent::Tool) | None => "tool's",
            }
        );
        match agent {
            Some(UserAgent::Browser) => {
                request = request.header(header::USER_AGENT, &self.settings.browser_user_agent);
            }
            Some(UserAgent::Custom(ua)) => {
                if let Ok(value) = HeaderValue::from_str(ua) {
                    request = request.header(header::USER_AGENT, value);
                }
            }
            Some(UserAgent::Tool) | None => {}
        }
        let mut request = request.build().map_err(|e| from_client_error(&e))?;
        // The rule is this hop's host's: a redirect to a host outside the rule
        // does not carry its headers.
        if let Some(rule) = rule.filter(|r| !r.headers.is_empty()) {
            rule.headers.add_to(
                url,
                request.headers_mut(),
                self.clients.cookies(url).as_ref(),
            );
        }
        let mut response = tokio::time::timeout(budget, client.execute(request))
            .await
            .map_err(|_| Failure::Timeout)?
            .map_err(|e| from_client_error(&e))?;
        let status = response.status().as_u16();
        self.heard.store(true, std::sync::atomic::Ordering::Relaxed);
        let headers = response.headers().clone();
        if mode == Mode::Download && (200..300).contains(&status) {
            let answer = Response {
                status,
                url: url.clone(),
                headers,
                body: Vec::new(),
                waited_too_long: false,
            };
            return Ok((answer, Some(response)));
        }
        let mut body = Vec::new();
        if method == Method::Get {
            let limit = self.settings.body_prefix;
            let until = started + budget;
            while body.len() < limit {
                match tokio::time::timeout_at(until, response.chunk()).await {
                    Ok(Ok(Some(chunk))) => {
                        let room = limit - body.len();
                        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
                    }
                    Ok(Ok(None)) => break,
                    // A body cut short, or too slow, still says what it said so far.
                    Ok(Err(e)) => {
                        tracing::debug!("{url}: body ended early: {e}");
                        break;
                    }
                    Err(_) => {
                        tracing::debug!(
                            "{url}: body too slow; judging on the first {} bytes",
                            body.len()
                        );
                        break;
                    }
                }
            }
        }
        Ok((
            Response {
                status,
                url: url.clone(),
                headers,
                body,
                waited_too_long: false,
            },
            None,
        ))
    }
}

/// What one URL's chain of requests (its redirects, retries and method
/// fallback) carries from hop to hop.
pub(super) struct ChainState {
    /// Set when the first request starts.
    pub(super) deadline: Option<Instant>,
    /// The URL's hold on its current host's concurrency.
    pub(super) ticket: Option<Ticket>,
    /// Whether the body is wanted whole.
    pub(super) mode: Mode,
    /// In [`Mode::Download`], the 2xx answer's body, not yet read, with the
    /// request's global slot.
    pub(super) unread: Option<(reqwest::Response, Started)>,
    /// The caller's headers and connection limits, for every hop.
    pub(super) options: RequestOptions,
}

impl Hop {
    /// The hop a request to `url` made, with what it answered and after how
    /// long; a redirect's headers are kept unless the request only probed.
    fn of(
        url: &Url,
        method: Method,
        (answered, took): (Option<&Response>, Duration),
        mode: Mode,
    ) -> Self {
        Hop {
            url: url.clone(),
            method: method_name(method),
            status: answered.map(|r| r.status),
            redirect_headers: answered
                .filter(|r| mode != Mode::Probe && (300..400).contains(&r.status))
                .map(|r| r.headers.clone()),
            took: answered.map(|_| took),
        }
    }
}
