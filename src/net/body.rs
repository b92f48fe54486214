//! A download's body, streamed by the caller while it keeps its request's
//! places in the host's and the global limits.

use std::error::Error as _;
use std::time::Duration;

use super::failure::Failure;
use super::pool::{Started, Ticket};
use super::response::{Hop, Response};

/// A response body being downloaded. It keeps the request's place in its host's
/// concurrency and in the global limit until it is dropped, so a large download
/// counts against the host like any request.
#[derive(Debug)]
pub struct Body {
    pub(super) response: reqwest::Response,
    pub(super) idle: Duration,
    pub(super) _started: Started,
    pub(super) _ticket: Ticket,
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
