//! The network layer, shared by `check` and `fetch`.
//!
//! ```text
//! Engine::probe(url) ──▶ for each hop (redirects are followed here, never by reqwest):
//!     HostPool::ticket(host) ─ one of the host's URL slots, kept for the URL's hops and retries
//!     HostPool::start ─ Retry-After pause ─ the host's request slot (its pace) ─ interval ─ global semaphore
//!     Client::send ─ HEAD, or GET with a bounded body prefix; HEAD refused → GET
//!                    (a host that keeps refusing HEAD is asked with GET: [`head`])
//!     HostPool::answered ─ a 429 or 503 slows the host down (once per burst), good answers speed it up
//!     transient failure → retry with exponential backoff and jitter, bounded
//! ──▶ Outcome { hops, final response or failure }
//! ```
//!
//! Politeness lives in [`pool`]: every request, redirect hops included, waits for
//! its host's turn, so no host ever sees more than its concurrency, nor two request
//! starts closer than its interval, nor anything while it asked to be left alone
//! (429/503 with Retry-After); a host that answers 429 or 503 is asked more slowly
//! for the rest of the run. Waiting (a pause, an interval, a retry's backoff) never
//! holds a global slot, so a slow or limited host does not hold up the others.

pub mod body;
pub mod client;
pub mod connect_to;
pub mod failure;
pub mod head;
pub mod headers;
pub mod pool;
pub mod probe;
pub mod reach;
pub mod redirect;
pub mod response;
pub mod retry;
pub mod settings;
pub mod watch;
