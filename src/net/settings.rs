//! What the network layer runs on: its own settings, so that nothing in `net`
//! reads the configuration. The configuration's `[network]` table resolves to
//! them (`config::NetworkSettings` is this type), and `config --show` prints
//! them as they serialize here.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use super::connect_to::ConnectTo;
use crate::units::serialize_duration;

/// How the [`Engine`](super::probe::Engine) and its HTTP clients ask the web.
#[derive(Debug, Clone, Serialize)]
pub struct NetSettings {
    /// The User-Agent sent unless a site rule asks for another.
    pub user_agent: String,
    /// The User-Agent sent where a site rule asks for a browser's.
    pub browser_user_agent: String,
    /// The most one request may take; also the connect timeout and the longest
    /// a download's body may stall.
    #[serde(serialize_with = "serialize_duration")]
    pub timeout: Duration,
    /// The most one URL may take, redirects and retries included.
    #[serde(serialize_with = "serialize_duration")]
    pub deadline: Duration,
    /// Retries after a transient failure (timeout, refused or reset connection,
    /// 5xx, 429).
    pub retries: u32,
    /// The longest wait before the first retry (jitter shortens it by up to a
    /// half); it doubles for each further one.
    #[serde(serialize_with = "serialize_duration")]
    pub retry_delay: Duration,
    /// The same after a 5xx answer without Retry-After: the server is up.
    #[serde(serialize_with = "serialize_duration")]
    pub retry_delay_5xx: Duration,
    /// The longest Retry-After waited out; a host asking for longer is given up
    /// on.
    #[serde(serialize_with = "serialize_duration")]
    pub max_retry_after: Duration,
    /// Requests in flight at once, over all hosts.
    pub max_concurrency: usize,
    /// Requests in flight at once to one host, unless its site rule asks for
    /// fewer.
    pub host_concurrency: usize,
    /// The least time between the starts of two requests to one host, unless
    /// its site rule asks for more.
    #[serde(serialize_with = "serialize_duration")]
    pub min_interval: Duration,
    /// Redirects followed before a URL fails with too many.
    pub max_redirects: usize,
    /// Follow redirects from public hosts to loopback, private or link-local
    /// addresses.
    pub allow_private_redirects: bool,
    /// The most bytes of a body read to judge a page.
    pub body_prefix: usize,
    /// Extra trusted CA certificates (PEM files), besides the system's.
    pub ca_certs: Vec<PathBuf>,
    /// Connection overrides, `HOST:PORT=ADDR:PORT`.
    pub connect_to: Vec<ConnectTo>,
    /// Names that exist, looked up to tell a machine without a network from
    /// hosts that do not answer.
    pub canary: Vec<String>,
}
