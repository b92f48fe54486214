//! Why a URL has no response to judge, read out of the HTTP client's errors.

use std::error::Error as _;
use std::io;
use std::time::Duration;

use super::client::ResolveError;
use super::pool::Refusal;

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
    pub(super) fn is_transient(&self) -> bool {
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

/// Reads what went wrong out of the HTTP client's error chain.
pub(super) fn from_client_error(e: &reqwest::Error) -> Failure {
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
