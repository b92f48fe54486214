//! Asking a URL how it is: one logical request, with its redirects, retries and
//! method fallback, within the per-URL deadline.

use std::collections::HashMap;
use std::error::Error as _;
use std::io;
use std::time::Duration;

use reqwest::header::{self, HeaderMap, HeaderValue};
use tokio::time::Instant;
use url::Url;

use super::client::{Clients, ResolveError};
use super::head::{HeadMemory, HeadTry};
use super::pool::{
    Answer, HostLimits, HostPool, NotStarted, Patience, Refusal, Started, Ticket, later,
};
use super::reach;
use crate::config::NetworkSettings;
use crate::sites::{Method, SiteRule, SiteRules, UserAgent};

/// One request sent: a redirect hop, a retry or the final answer.
#[derive(Debug, Clone)]
pub struct Hop {
    /// The URL asked.
    pub url: Url,
    /// `HEAD` or `GET`.
    pub method: &'static str,
    /// The status it answered, if it answered.
    pub status: Option<u16>,
}

/// A response, with as much of its body as was read.
#[derive(Debug, Clone)]
pub struct Response {
    /// The HTTP status.
    pub status: u16,
    /// The URL that answered (the last redirect hop).
    pub url: Url,
    /// Its headers.
    pub headers: HeaderMap,
    /// The first bytes of the body (empty after HEAD).
    pub body: Vec<u8>,
    /// The host asked (Retry-After) to wait longer than the run allows.
    pub waited_too_long: bool,
}

impl Response {
    /// A header's value as text.
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Why there is no response to judge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The host name does not exist.
    NoSuchHost(String),
    /// The name could not be resolved for another reason (no resolver answered).
    Resolve(String),
    /// Nothing listens there: the connection was refused.
    Refused(String),
    /// The connection broke (reset, closed early).
    Reset(String),
    /// Other connection failure (unreachable network or host).
    Connect(String),
    /// The TLS handshake failed (expired or untrusted certificate, wrong name).
    Tls(String),
    /// No answer within the per-request timeout.
    Timeout,
    /// The URL took longer than its overall deadline.
    Deadline,
    /// More redirects than allowed.
    TooManyRedirects(usize),
    /// A redirect back to a URL already visited.
    RedirectLoop(String),
    /// A redirect to something that is not an http(s) URL.
    BadRedirect(String),
    /// A redirect from a public host to a loopback, private or link-local
    /// address, refused (`network.allow_private_redirects`).
    PrivateRedirect(String),
    /// Not asked: the host is given up on for this much longer, and why.
    HostRefused(Duration, Refusal),
    /// The URL's deadline ran out while its host was paused at its request.
    RateLimited,
    /// The run is being stopped.
    Cancelled,
    /// Anything else, as the HTTP client put it.
    Other(String),
}

impl Failure {
    /// Whether a retry might succeed.
    fn is_transient(&self) -> bool {
        matches!(
            self,
            Failure::Resolve(_)
                | Failure::Refused(_)
                | Failure::Reset(_)
                | Failure::Connect(_)
                | Failure::Timeout
        )
    }

    /// A short code for reports: `no-such-host`, `timeout`, `tls` …
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Failure::NoSuchHost(_) => "no-such-host",
            Failure::Resolve(_) => "dns",
            Failure::Refused(_) => "refused",
            Failure::Reset(_) => "reset",
            Failure::Connect(_) => "connect",
            Failure::Tls(_) => "tls",
            Failure::Timeout | Failure::Deadline => "timeout",
            Failure::TooManyRedirects(_) => "too-many-redirects",
            Failure::RedirectLoop(_) => "redirect-loop",
            Failure::BadRedirect(_) => "bad-redirect",
            Failure::PrivateRedirect(_) => "private-redirect",
            Failure::HostRefused(..) | Failure::RateLimited => "rate-limited",
            Failure::Cancelled => "interrupted",
            Failure::Other(_) => "error",
        }
    }

    /// Whether the failure is what a machine without a network sees (no name
    /// resolves, nothing is reachable, nothing answers). A refused connection is
    /// not: something answered it.
    #[must_use]
    pub fn is_network(&self) -> bool {
        matches!(
            self,
            Failure::NoSuchHost(_) | Failure::Resolve(_) | Failure::Connect(_) | Failure::Timeout
        )
    }
}

impl std::fmt::Display for Failure {
    /// What went wrong, in a few words (a report's reason says more).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::NoSuchHost(m)
            | Failure::Resolve(m)
            | Failure::Tls(m)
            | Failure::BadRedirect(m)
            | Failure::Other(m) => f.write_str(m),
            Failure::Refused(m) => write!(f, "connection refused: {m}"),
            Failure::Reset(m) => write!(f, "connection broken: {m}"),
            Failure::Connect(m) => write!(f, "cannot connect: {m}"),
            Failure::Timeout => f.write_str("no answer in time"),
            Failure::Deadline => f.write_str("the deadline passed"),
            Failure::TooManyRedirects(n) => write!(f, "more than {} redirects", n - 1),
            Failure::RedirectLoop(u) => write!(f, "redirect loop back to {u}"),
            Failure::PrivateRedirect(m) => write!(f, "redirect to a private address: {m}"),
            Failure::HostRefused(..) | Failure::RateLimited => f.write_str("rate limited"),
            Failure::Cancelled => f.write_str("interrupted"),
        }
    }
}

/// What asking a URL gave.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Every request sent, in order.
    pub hops: Vec<Hop>,
    /// The final answer, or why there is none.
    pub result: Result<Response, Failure>,
}

/// Sends requests, politely.
#[derive(Debug)]
pub struct Engine {
    /// Whether any request got any answer (a status, a redirect): the network is up.
    heard: std::sync::atomic::AtomicBool,
    clients: Clients,
    pool: HostPool,
    /// Which hosts refuse HEAD.
    heads: HeadMemory,
    settings: NetworkSettings,
    sites: SiteRules,
}

impl Engine {
    /// An engine for these settings and site rules.
    ///
    /// # Errors
    /// When the HTTP client cannot be set up (an unreadable CA file, say).
    pub fn new(settings: &NetworkSettings, sites: &SiteRules) -> Result<Self, crate::Error> {
        Ok(Self {
            heard: std::sync::atomic::AtomicBool::new(false),
            clients: Clients::new(settings)?,
            pool: HostPool::new(
                settings.max_concurrency,
                Patience {
                    pauses: MAX_PAUSES,
                    give_up_for: settings.max_retry_after,
                },
            ),
            heads: HeadMemory::default(),
            settings: settings.clone(),
            sites: sites.clone(),
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

    /// Keeps a redirect chain that started at a public link out of the network
    /// the tool runs in: from the first hop to another host on, connections go
    /// to public addresses only (the resolver leaves the others out, so a name
    /// cannot answer differently between a check and the connection), and a
    /// hop to an internal IP literal or `localhost` is refused outright.
    async fn guard_redirect(
        &self,
        start: &Url,
        from: &Url,
        next: &Url,
        state: &mut Progress,
    ) -> Result<(), Failure> {
        if self.settings.allow_private_redirects {
            return Ok(());
        }
        if !state.extra.public_only
            && host_key(next) != host_key(from)
            && self.keeps_public(start).await
        {
            state.extra.public_only = true;
        }
        match reach::literal_internal(next) {
            Some(ip) if state.extra.public_only => {
                Err(Failure::PrivateRedirect(format!("{next} ({ip})")))
            }
            _ => Ok(()),
        }
    }

    /// Whether going from the link `from` (as the user wrote it) to `to` (a
    /// redirect's target, or an address a page named) would take the tool
    /// from the web into the network it runs in: `to` is a loopback, private
    /// or link-local address while `from` is not. The failure to report then,
    /// unless `network.allow_private_redirects` allows it.
    pub async fn leads_inside(&self, from: &Url, to: &Url) -> Option<Failure> {
        if self.settings.allow_private_redirects {
            return None;
        }
        let (overrides, wait) = (&self.settings.connect_to, self.settings.timeout);
        let ip = reach::internal_address(to, overrides, reach::Count::Any, wait).await?;
        reach::internal_address(from, overrides, reach::Count::All, wait)
            .await
            .is_none()
            .then(|| Failure::PrivateRedirect(format!("{to} ({ip})")))
    }

    /// Whether requests that leave `link`'s host must keep to public addresses:
    /// `link` is public (not every one of its addresses is internal) and
    /// `network.allow_private_redirects` is off.
    pub async fn keeps_public(&self, link: &Url) -> bool {
        !self.settings.allow_private_redirects
            && reach::internal_address(
                link,
                &self.settings.connect_to,
                reach::Count::All,
                self.settings.timeout,
            )
            .await
            .is_none()
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
        let mut state = Progress {
            deadline: None,
            ticket: None,
            mode: Mode::Probe,
            unread: None,
            extra: Extra::default(),
        };
        let result = self.follow(url, &mut hops, &mut state).await;
        Outcome { hops, result }
    }

    /// Reads the start of the page at `url` (`network.body_prefix` bytes) with
    /// GET, following redirects as [`Engine::probe`] does.
    pub async fn page(&self, url: &Url) -> Outcome {
        let mut hops = Vec::new();
        let mut state = Progress {
            deadline: None,
            ticket: None,
            mode: Mode::Page,
            unread: None,
            extra: Extra::default(),
        };
        let result = self.follow(url, &mut hops, &mut state).await;
        Outcome { hops, result }
    }

    /// Asks `url` for its body with GET, following redirects as [`Engine::probe`]
    /// does. A 2xx answer comes with its [`Body`] unread; any other answer with
    /// its first bytes, as for a probe. The deadline covers the answer's headers;
    /// the body has no overall limit, only a stall limit (the request timeout).
    /// `extra` headers go with every hop.
    pub async fn download(&self, url: &Url, extra: &Extra) -> Download {
        let mut hops = Vec::new();
        let mut state = Progress {
            deadline: None,
            ticket: None,
            mode: Mode::Download,
            unread: None,
            extra: extra.clone(),
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

    async fn follow(
        &self,
        start: &Url,
        hops: &mut Vec<Hop>,
        state: &mut Progress,
    ) -> Result<Response, Failure> {
        let mut url = start.clone();
        // A URL may come round twice (a redirect that sets a cookie and sends the
        // client back); a third time is a loop.
        let mut visits: HashMap<Url, usize> = HashMap::from([(url.clone(), 1)]);
        let mut redirects = 0;
        loop {
            let response = self.request(&url, hops, state).await?;
            if !matches!(response.status, 301 | 302 | 303 | 307 | 308) {
                return Ok(response);
            }
            // Servers send raw UTF-8 in Location; read it as such (joining
            // percent-encodes it).
            let Some(location) = response
                .headers
                .get(header::LOCATION)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            else {
                return Ok(response);
            };
            let next = url
                .join(location.trim())
                .map_err(|e| Failure::BadRedirect(format!("{location} ({e})")))?;
            if !matches!(next.scheme(), "http" | "https") {
                return Err(Failure::BadRedirect(format!(
                    "redirect to a {} URL: {next}",
                    next.scheme()
                )));
            }
            if redirects == self.settings.max_redirects {
                return Err(Failure::TooManyRedirects(redirects + 1));
            }
            self.guard_redirect(start, &url, &next, state).await?;
            let seen = visits.entry(next.clone()).or_default();
            *seen += 1;
            if *seen > 2 {
                return Err(Failure::RedirectLoop(next.to_string()));
            }
            tracing::debug!("{url} → {} {next}", response.status);
            redirects += 1;
            url = next;
        }
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
        state: &mut Progress,
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
    async fn request(
        &self,
        url: &Url,
        hops: &mut Vec<Hop>,
        state: &mut Progress,
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
            let result = self
                .send(url, method, rule, budget, (state.mode, &state.extra))
                .await;
            let result = match result {
                Err(Failure::Timeout) if budget < self.settings.timeout => Err(Failure::Deadline),
                other => other,
            };
            hops.push(Hop {
                url: url.clone(),
                method: method_name(method),
                status: result.as_ref().ok().map(|(r, _)| r.status),
            });
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
                                (self.backoff(attempt, status), Ok(response))
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
                        (self.backoff(attempt, status), Ok(response))
                    }
                }
                Err(failure) if failure.is_transient() && retries_left => {
                    drop(started);
                    tracing::debug!("{url}: {failure:?}, retrying");
                    (self.backoff(attempt, 0), Err(failure))
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

    /// The wait before retry `attempt` + 1 after an answer with `status` (0
    /// for no answer): the base delay × 2^attempt, times a jitter between ½
    /// and 1½. A server that answered 5xx is up and failed one request, and
    /// is asked again sooner (`retry_delay_5xx`) than one that did not answer
    /// or answered 429 (`retry_delay`): if the host is in trouble, its pace
    /// slows down all its requests, not this one's wait.
    fn backoff(&self, attempt: u32, status: u16) -> Duration {
        let delay = if (500..600).contains(&status) {
            self.settings.retry_delay_5xx
        } else {
            self.settings.retry_delay
        };
        let base = delay.saturating_mul(1 << attempt.min(16));
        base.mul_f64(0.5 + fastrand::f64())
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
        (mode, extra): (Mode, &Extra),
    ) -> Result<(Response, Option<reqwest::Response>), Failure> {
        let started = Instant::now();
        let client = self.clients.for_url(url, extra.public_only);
        let http_method = match method {
            Method::Head => reqwest::Method::HEAD,
            Method::Get => reqwest::Method::GET,
        };
        let mut request = with_headers(client.request(http_method, url.clone()), url, mode, extra);
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
        let mut request = request.build().map_err(|e| classify(&e))?;
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
            .map_err(|e| classify(&e))?;
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

/// The method a request starts with: HEAD to probe unless the site rule reads
/// pages (see [`SiteRule::probe_method`]); always GET to read a page or a file.
fn first_method(mode: Mode, rule: Option<&SiteRule>) -> Method {
    match mode {
        Mode::Probe => rule.map_or(Method::Head, SiteRule::probe_method),
        Mode::Page | Mode::Download => Method::Get,
    }
}

/// Pauses a host may ask for before it is given up on (a burst of 429s from
/// requests out together asks for one): a host that answers every request with
/// 429 would otherwise make the run wait for ever.
const MAX_PAUSES: u32 = 3;

/// What a 429 or 503 asked for.
enum RateLimit {
    /// The host is paused (or given up on, as the response says).
    Paused,
    /// No Retry-After: back off as for any transient failure.
    NoRetryAfter,
}

/// What one URL's check carries from hop to hop.
struct Progress {
    /// Set when the first request starts.
    deadline: Option<Instant>,
    /// The URL's hold on its current host's concurrency.
    ticket: Option<Ticket>,
    /// Whether the body is wanted whole.
    mode: Mode,
    /// In [`Mode::Download`], the 2xx answer's body, not yet read, with the
    /// request's global slot.
    unread: Option<(reqwest::Response, Started)>,
    /// Headers sent with every hop.
    extra: Extra,
}

/// Headers a download sends with every hop.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extra {
    /// `Referer`.
    pub referer: Option<String>,
    /// `If-None-Match`: revalidating an ETag.
    pub if_none_match: Option<String>,
    /// `If-Modified-Since`: revalidating a Last-Modified date.
    pub if_modified_since: Option<String>,
    /// `Accept`, instead of the mode's own.
    pub accept: Option<String>,
    /// A secret header (an API token) for one host only: never sent to a host
    /// a redirect leads to.
    pub credential: Option<Credential>,
    /// Connect to public addresses only: set once a redirect leaves a public
    /// host for another (see [`reach`]).
    pub public_only: bool,
}

/// A header that may go to one host and no other, over HTTPS only.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    /// The host it is for, as [`host_key`] gives it.
    pub host: String,
    /// The port it is for.
    pub port: u16,
    /// The header's name (`Authorization`).
    pub name: String,
    /// Its value.
    pub value: String,
}

impl std::fmt::Debug for Credential {
    // The value is a secret: debug logs must not show it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// What a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Judging a link: HEAD where it will do, a body prefix at most.
    Probe,
    /// Reading a page: GET, a body prefix at most.
    Page,
    /// Downloading: GET, and a 2xx answer's body is left for the caller to stream.
    Download,
}

/// A response body being downloaded. It keeps the request's place in its host's
/// concurrency and in the global limit until it is dropped, so a large download
/// counts against the host like any request.
#[derive(Debug)]
pub struct Body {
    response: reqwest::Response,
    idle: Duration,
    _started: Started,
    _ticket: Ticket,
}

/// Why a body stopped before its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyError {
    /// No byte arrived for this long.
    Stalled(Duration),
    /// The connection broke, or the body was malformed (a bad chunk, broken
    /// compression).
    Broken(String),
}

impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BodyError::Stalled(d) => write!(f, "no data for {}s", d.as_secs()),
            BodyError::Broken(m) => f.write_str(m),
        }
    }
}

impl Body {
    /// The next piece of the body (decompressed), `None` at its end. A stall
    /// longer than the request timeout is an error; a slow but steady body is not.
    ///
    /// # Errors
    /// A stall or a broken connection.
    pub async fn chunk(&mut self) -> Result<Option<bytes::Bytes>, BodyError> {
        match tokio::time::timeout(self.idle, self.response.chunk()).await {
            Err(_) => Err(BodyError::Stalled(self.idle)),
            Ok(Err(e)) => {
                let mut message = e.to_string();
                let mut source = e.source();
                while let Some(cause) = source {
                    message = format!("{message}: {cause}");
                    source = cause.source();
                }
                Err(BodyError::Broken(message))
            }
            Ok(Ok(chunk)) => Ok(chunk),
        }
    }
}

/// What asking a URL for its body gave.
#[derive(Debug)]
pub struct Download {
    /// Every request sent, in order.
    pub hops: Vec<Hop>,
    /// The final answer, or why there is none.
    pub result: Result<Response, Failure>,
    /// For a 2xx answer, its body, to be streamed.
    pub body: Option<Body>,
}

/// A request with the headers its mode and `extra` ask for. A credential goes
/// only to its own host and port, and never in clear text.
fn with_headers(
    mut request: reqwest::RequestBuilder,
    url: &Url,
    mode: Mode,
    extra: &Extra,
) -> reqwest::RequestBuilder {
    let accept = match mode {
        Mode::Probe | Mode::Page => "text/html,application/xhtml+xml,*/*;q=0.8",
        Mode::Download => "*/*",
    };
    request = request.header(header::ACCEPT, extra.accept.as_deref().unwrap_or(accept));
    if let Some(credential) = &extra.credential
        && url.scheme() == "https"
        && host_key(url).eq_ignore_ascii_case(&credential.host)
        && url.port_or_known_default() == Some(credential.port)
        && let (Ok(name), Ok(mut value)) = (
            header::HeaderName::from_bytes(credential.name.as_bytes()),
            HeaderValue::from_str(&credential.value),
        )
    {
        value.set_sensitive(true);
        request = request.header(name, value);
    }
    for (name, value) in [
        (header::REFERER, &extra.referer),
        (header::IF_NONE_MATCH, &extra.if_none_match),
        (header::IF_MODIFIED_SINCE, &extra.if_modified_since),
    ] {
        if let Some(value) = value.as_deref().and_then(|v| HeaderValue::from_str(v).ok()) {
            request = request.header(name, value);
        }
    }
    request.header(header::ACCEPT_LANGUAGE, "zh-CN,zh;q=0.9,en;q=0.8")
}

/// Sleeps `wait` and says so, unless that would pass the deadline.
async fn wait(wait: Duration, deadline: Instant) -> bool {
    if later(wait) > deadline {
        return false;
    }
    tokio::time::sleep(wait).await;
    true
}

/// A URL's host as the pool and the feeders know it: a trailing dot dropped.
#[must_use]
pub fn host_key(url: &Url) -> &str {
    let host = url.host_str().unwrap_or_default();
    host.strip_suffix('.').unwrap_or(host)
}

fn method_name(method: Method) -> &'static str {
    match method {
        Method::Head => "HEAD",
        Method::Get => "GET",
    }
}

/// Retry-After in seconds or as an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// Reads what went wrong out of the HTTP client's error chain.
fn classify(e: &reqwest::Error) -> Failure {
    if e.is_timeout() {
        return Failure::Timeout;
    }
    let mut source = e.source();
    let mut chain = Vec::new();
    while let Some(cause) = source {
        if let Some(resolve) = cause.downcast_ref::<ResolveError>() {
            if resolve.private.is_some() {
                return Failure::PrivateRedirect(resolve.to_string());
            }
            return if resolve.no_such_host {
                Failure::NoSuchHost(resolve.to_string())
            } else {
                Failure::Resolve(resolve.to_string())
            };
        }
        if let Some(tls) = cause.downcast_ref::<rustls::Error>() {
            return Failure::Tls(tls.to_string());
        }
        if let Some(io) = cause.downcast_ref::<io::Error>() {
            match io.kind() {
                io::ErrorKind::ConnectionRefused => return Failure::Refused(io.to_string()),
                io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted
                | io::ErrorKind::UnexpectedEof
                | io::ErrorKind::BrokenPipe => return Failure::Reset(io.to_string()),
                io::ErrorKind::TimedOut => return Failure::Timeout,
                _ => {}
            }
            // rustls reports handshake failures as io::Error wrapping its own error.
            if let Some(tls) = io
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            {
                return Failure::Tls(tls.to_string());
            }
        }
        chain.push(cause.to_string());
        source = cause.source();
    }
    let message = chain.last().cloned().unwrap_or_else(|| e.to_string());
    // Some TLS failures arrive as text only, wrapped by the connector.
    let tls_words = [
        "certificate",
        "handshake",
        "peer sent",
        "TLS",
        "fatal alert",
    ];
    if chain
        .iter()
        .any(|m| tls_words.iter().any(|w| m.contains(w)))
    {
        return Failure::Tls(message);
    }
    if e.is_connect() {
        Failure::Connect(message)
    } else if message.contains("connection closed") || message.contains("IncompleteMessage") {
        Failure::Reset(message)
    } else {
        Failure::Other(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        let mut headers = HeaderMap::new();
        headers.insert(header::RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        let later = std::time::SystemTime::now() + Duration::from_secs(30);
        headers.insert(
            header::RETRY_AFTER,
            HeaderValue::from_str(&httpdate::fmt_http_date(later)).unwrap(),
        );
        let wait = retry_after(&headers).unwrap();
        assert!(
            wait > Duration::from_secs(25) && wait <= Duration::from_secs(30),
            "{wait:?}"
        );
        headers.insert(header::RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers), None);
    }
}
