//! What asking a URL gives: the requests sent and the answer they ended with.

use reqwest::header::HeaderMap;
use url::Url;

use super::failure::Failure;

/// One request sent: a redirect hop, a retry or the final answer.
#[derive(Debug, Clone)]
pub struct Hop {
    /// The URL asked.
    pub url: Url,
    /// `HEAD` or `GET`.
    pub method: &'static str,
    /// The status it answered, if it answered.
    pub status: Option<u16>,
    /// A redirect's headers, kept when a page or a file was read (a WARC
    /// file records the redirects that led to a capture); `None` otherwise.
    pub redirect_headers: Option<HeaderMap>,
    /// How long its answer took to come (request sent to response headers),
    /// when it answered.
    pub took: Option<std::time::Duration>,
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

/// What asking a URL gave.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Every request sent, in order.
    pub hops: Vec<Hop>,
    /// The final answer, or why there is none.
    pub result: Result<Response, Failure>,
}
