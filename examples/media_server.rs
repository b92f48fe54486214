//! A plain-HTTP media server for the `fetch` benchmark (`bench/fetch.sh`).
//!
//! - `/img/N.png`: a PNG of 20–120 KB whose bytes depend on N;
//! - `/pdf/N.pdf`: a PDF of 0.5–2.5 MB whose bytes depend on N;
//! - `/big.pdf?size=BYTES`: a PDF of that many bytes, generated as it is sent, so a
//!   multi-gigabyte object costs the server no memory.
//!
//! - `/__stats`: what the server saw since it started or since `/__reset`, as
//!   JSON: requests, 429s answered, the most requests in flight on one host, and
//!   the mean requests in flight from the first request to the last answer's
//!   end (a client that keeps N requests going scores N).
//!
//! Many hosts are simulated with many loopback addresses (127.0.0.2, 127.0.0.3 …)
//! on one port. A host with more than HOST_LIMIT requests in flight answers the
//! extra ones 429 with `Retry-After: 1`, as a CDN guarding itself would (0: no
//! limit). Every answer waits LATENCY_MS before its headers, as a distant
//! server's would. Usage: media_server PORT [HOST_LIMIT [LATENCY_MS]]

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::body::Frame;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};

/// Deterministic filler: `len` bytes from `seed`.
fn filler(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect()
}

fn file(magic: &[u8], seed: u64, len: usize) -> Vec<u8> {
    let mut bytes = magic.to_vec();
    bytes.extend(filler(seed, len));
    bytes
}

fn full(bytes: Vec<u8>) -> BoxBody<Bytes, Infallible> {
    Full::new(Bytes::from(bytes)).boxed()
}

/// `size` bytes starting `%PDF-`, sent in 256 KiB pieces made as they go.
fn generated(size: u64) -> BoxBody<Bytes, Infallible> {
    const PIECE: u64 = 256 * 1024;
    let block = Bytes::from(file(b"%PDF-1.7\n", 7, PIECE as usize - 9));
    let stream = futures_util::stream::unfold(0u64, move |sent| {
        let block = block.clone();
        async move {
            if sent >= size {
                return None;
            }
            let n = PIECE.min(size - sent);
            let piece = block.slice(..usize::try_from(n).unwrap_or(0));
            Some((Ok::<_, Infallible>(Frame::data(piece)), sent + n))
        }
    });
    BodyExt::boxed(StreamBody::new(stream))
}

fn answer(path: &str, query: Option<&str>) -> (u16, BoxBody<Bytes, Infallible>) {
    let number = |prefix: &str, suffix: &str| -> Option<u64> {
        path.strip_prefix(prefix)?
            .strip_suffix(suffix)?
            .parse()
            .ok()
    };
    if let Some(n) = number("/img/", ".png") {
        let len = 20_000 + (n * 7919 % 100_000) as usize;
        return (200, full(file(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", n, len)));
    }
    if let Some(n) = number("/pdf/", ".pdf") {
        let len = 500_000 + (n * 104_729 % 2_000_000) as usize;
        return (200, full(file(b"%PDF-1.5\n", n + 1_000_000, len)));
    }
    if path == "/big.pdf" {
        let size = query
            .and_then(|q| q.strip_prefix("size="))
            .and_then(|s| s.parse().ok())
            .unwrap_or(1 << 30);
        return (200, generated(size));
    }
    (404, full(Vec::new()))
}

/// What the server counts, for `/__stats`.
#[derive(Default)]
struct Stats {
    requests: AtomicUsize,
    too_many: AtomicUsize,
    most_in_flight: AtomicUsize,
    /// Requests in flight by host (local address).
    in_flight: Mutex<HashMap<std::net::IpAddr, usize>>,
    /// The first request's arrival, the last answer's end, and the time spent
    /// answering summed over requests.
    busy: Mutex<Busy>,
}

#[derive(Default)]
struct Busy {
    first: Option<std::time::Instant>,
    last: Option<std::time::Instant>,
    total: std::time::Duration,
}

impl Stats {
    /// Counts a request to `host` in; `false` when it is one too many.
    fn enter(&self, host: std::net::IpAddr, limit: usize) -> bool {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.busy
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .first
            .get_or_insert_with(std::time::Instant::now);
        let mut in_flight = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        let now = in_flight.entry(host).or_default();
        if limit > 0 && *now >= limit {
            self.too_many.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        *now += 1;
        self.most_in_flight.fetch_max(*now, Ordering::Relaxed);
        true
    }

    fn leave(&self, host: std::net::IpAddr, since: std::time::Instant) {
        {
            let mut busy = self.busy.lock().unwrap_or_else(|e| e.into_inner());
            busy.total += since.elapsed();
            busy.last = Some(std::time::Instant::now());
        }
        let mut in_flight = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(now) = in_flight.get_mut(&host) {
            *now = now.saturating_sub(1);
        }
    }

    fn json(&self) -> String {
        let busy = self.busy.lock().unwrap_or_else(|e| e.into_inner());
        let span = match (busy.first, busy.last) {
            (Some(first), Some(last)) => last.saturating_duration_since(first),
            _ => std::time::Duration::ZERO,
        };
        let mean = busy.total.as_secs_f64() / span.as_secs_f64().max(1e-9);
        format!(
            r#"{{"requests":{},"too_many":{},"most_in_flight":{},"mean_in_flight":{mean:.1},"span_ms":{}}}"#,
            self.requests.load(Ordering::Relaxed),
            self.too_many.load(Ordering::Relaxed),
            self.most_in_flight.load(Ordering::Relaxed),
            span.as_millis()
        )
    }

    fn reset(&self) {
        self.requests.store(0, Ordering::Relaxed);
        self.too_many.store(0, Ordering::Relaxed);
        self.most_in_flight.store(0, Ordering::Relaxed);
        *self.busy.lock().unwrap_or_else(|e| e.into_inner()) = Busy::default();
    }
}

/// A body that tells `stats` when it has been sent (or dropped).
struct Counted {
    inner: BoxBody<Bytes, Infallible>,
    done: Option<(Arc<Stats>, std::net::IpAddr, std::time::Instant)>,
}

impl hyper::body::Body for Counted {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let polled = std::pin::Pin::new(&mut self.inner).poll_frame(cx);
        if let std::task::Poll::Ready(None) = polled
            && let Some((stats, host, since)) = self.done.take()
        {
            stats.leave(host, since);
        }
        polled
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        if let Some((stats, host, since)) = self.done.take() {
            stats.leave(host, since);
        }
    }
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let port: u16 = args.next().and_then(|a| a.parse().ok()).unwrap_or(8091);
    let host_limit: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(0);
    let latency =
        std::time::Duration::from_millis(args.next().and_then(|a| a.parse().ok()).unwrap_or(0));
    let stats = Arc::new(Stats::default());
    let listener = tokio::net::TcpListener::bind(("0.0.0.0", port))
        .await
        .expect("the benchmark port is free");
    eprintln!("media server on port {port}");
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let host = stream.local_addr().map_or_else(
            |_| SocketAddr::from(([127, 0, 0, 1], port)).ip(),
            |a| a.ip(),
        );
        let stats = stats.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                let stats = stats.clone();
                async move {
                    let path = request.uri().path();
                    let (status, body, done) = match path {
                        "/__stats" => (200, full(stats.json().into_bytes()), None),
                        "/__reset" => {
                            stats.reset();
                            (200, full(Vec::new()), None)
                        }
                        _ if !stats.enter(host, host_limit) => (429, full(Vec::new()), None),
                        _ => {
                            let since = std::time::Instant::now();
                            tokio::time::sleep(latency).await;
                            let (status, body) = answer(path, request.uri().query());
                            (status, body, Some((stats.clone(), host, since)))
                        }
                    };
                    let mut response = hyper::Response::builder().status(status);
                    if status == 429 {
                        response = response.header("retry-after", "1");
                    }
                    let body = Counted { inner: body, done };
                    Ok::<_, Infallible>(response.body(body).unwrap_or_else(|_| {
                        hyper::Response::new(Counted {
                            inner: full(Vec::new()),
                            done: None,
                        })
                    }))
                }
            });
            let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
