//! A plain-HTTP server for the `check` benchmark (`bench/check.sh`): answers every
//! request after a fixed latency, 404 for about 5% of paths (chosen by a hash, so
//! every tool sees the same dead links), 200 otherwise. Many hosts are simulated
//! with many loopback addresses (127.0.0.2, 127.0.0.3 …) on one port.
//!
//! Two faults make it answer like the web does: FLAKY_PERCENT of the live paths
//! (another hash) answer 503 the first time they are asked and 200 after, and
//! every HEAD_REFUSED_EVERY-th host (by its address: 127.0.0.2 is host 0) answers
//! every HEAD with 405. Both are off (0) unless given.
//!
//! `GET /__stats` answers what it counted: the most requests there ever were in
//! flight on one host, on how many hosts, the requests answered, the time from the
//! first request's arrival to the last answer (so a tool's time can be split into
//! its network phase and what it does before and after), the connections
//! accepted (the ones that asked for `/__stats` included), and how well a tool
//! kept its limit full: the requests in flight on average over that time, and
//! how long one took here on average. `GET /__reset` starts the counts again.
//!
//! Usage: bench_server PORT LATENCY_MS DEAD_PERCENT [FLAKY_PERCENT [HEAD_REFUSED_EVERY]]

use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};

/// Requests answered, the first arrival and the last answer.
#[derive(Debug, Default, Clone, Copy)]
struct Span {
    answered: u64,
    first: Option<Instant>,
    last: Option<Instant>,
    /// The time the answered requests spent here, all added up.
    busy: Duration,
}

/// FNV-1a of `path` after `salt`: the same on every run and for every tool.
fn hash(salt: &str, path: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in salt.bytes().chain(path.bytes()) {
        hash = (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

fn is_dead(path: &str, percent: u64) -> bool {
    hash("", path) % 100 < percent
}

/// Whether `path` answers 503 the first time (never a dead one).
fn is_flaky(path: &str, dead_percent: u64, percent: u64) -> bool {
    !is_dead(path, dead_percent) && hash("flaky:", path) % 100 < percent
}

/// The host's number from its address, 127.0.A.B → A × 250 + B − 2, as the
/// benchmark scripts spread hosts.
fn host_number(host: &str) -> Option<u64> {
    let address = host.split(':').next()?;
    let mut parts = address.split('.').skip(2).map(|p| p.parse::<u64>().ok());
    let (a, b) = (parts.next()??, parts.next()??);
    (a * 250 + b).checked_sub(2)
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let port: u16 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(8090);
    let latency = Duration::from_millis(args.get(2).and_then(|a| a.parse().ok()).unwrap_or(50));
    let dead_percent: u64 = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(5);
    let flaky_percent: u64 = args.get(4).and_then(|a| a.parse().ok()).unwrap_or(0);
    let head_refused_every: u64 = args.get(5).and_then(|a| a.parse().ok()).unwrap_or(0);
    let listener = tokio::net::TcpListener::bind(("0.0.0.0", port))
        .await
        .expect("the benchmark port is free");
    eprintln!(
        "bench server on port {port}, {latency:?} latency, {dead_percent}% dead, \
         {flaky_percent}% 503 once, HEAD refused by every {head_refused_every}th host"
    );
    // The flaky paths already answered 503 (until `/__reset`).
    let failed_once: Arc<Mutex<HashSet<String>>> = Arc::default();
    // Per host: (in flight now, the most ever).
    let flights: Arc<Mutex<HashMap<String, (usize, usize)>>> = Arc::default();
    let span: Arc<Mutex<Span>> = Arc::default();
    // Connections accepted.
    let connections = Arc::new(std::sync::atomic::AtomicU64::new(0));
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        connections.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let flights = Arc::clone(&flights);
        let span = Arc::clone(&span);
        let connections = Arc::clone(&connections);
        let failed_once = Arc::clone(&failed_once);
        tokio::spawn(async move {
            let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                let flights = Arc::clone(&flights);
                let span = Arc::clone(&span);
                let connections = Arc::clone(&connections);
                let failed_once = Arc::clone(&failed_once);
                async move {
                    if request.uri().path() == "/__reset" {
                        flights.lock().unwrap().clear();
                        failed_once.lock().unwrap().clear();
                        *span.lock().unwrap() = Default::default();
                        connections.store(0, std::sync::atomic::Ordering::Relaxed);
                        return Ok(hyper::Response::new(Full::new(Bytes::new())));
                    }
                    if request.uri().path() == "/__stats" {
                        let flights = flights.lock().unwrap();
                        let most = flights.values().map(|(_, most)| *most).max().unwrap_or(0);
                        let Span {
                            answered,
                            first,
                            last,
                            busy,
                        } = *span.lock().unwrap();
                        let network_ms = match (first, last) {
                            (Some(first), Some(last)) => last.duration_since(first).as_millis(),
                            _ => 0,
                        };
                        // How many requests were in flight on average over the span,
                        // and how long one took here: a tool that keeps its limit
                        // full shows its limit.
                        let mean_in_flight = match (first, last) {
                            (Some(first), Some(last)) if last > first => {
                                busy.as_secs_f64() / last.duration_since(first).as_secs_f64()
                            }
                            _ => 0.0,
                        };
                        let mean_answer_ms = if answered == 0 {
                            0.0
                        } else {
                            busy.as_secs_f64() * 1000.0 / answered as f64
                        };
                        let body = format!(
                            "{{\"hosts\":{},\"most_in_flight\":{most},\"requests\":{answered},\"network_ms\":{network_ms},\"connections\":{},\"mean_in_flight\":{mean_in_flight:.1},\"mean_answer_ms\":{mean_answer_ms:.2}}}",
                            flights.len(),
                            connections.load(std::sync::atomic::Ordering::Relaxed)
                        );
                        return Ok(hyper::Response::new(Full::new(Bytes::from(body))));
                    }
                    let arrived = Instant::now();
                    span.lock().unwrap().first.get_or_insert(arrived);
                    let host = request
                        .headers()
                        .get("host")
                        .and_then(|h| h.to_str().ok())
                        .unwrap_or_default()
                        .to_owned();
                    {
                        let mut flights = flights.lock().unwrap();
                        let entry = flights.entry(host.clone()).or_default();
                        entry.0 += 1;
                        entry.1 = entry.1.max(entry.0);
                    }
                    tokio::time::sleep(latency).await;
                    if let Some(entry) = flights.lock().unwrap().get_mut(&host) {
                        entry.0 -= 1;
                    }
                    {
                        let mut span = span.lock().unwrap();
                        let now = Instant::now();
                        span.answered += 1;
                        span.last = Some(now);
                        span.busy += now.duration_since(arrived);
                    }
                    let path = request.uri().path();
                    let refuses_head = head_refused_every > 0
                        && host_number(&host).is_some_and(|n| n % head_refused_every == 0);
                    let status = if request.method() == hyper::Method::HEAD && refuses_head {
                        405
                    } else if is_dead(path, dead_percent) {
                        404
                    } else if is_flaky(path, dead_percent, flaky_percent)
                        && failed_once.lock().unwrap().insert(path.to_owned())
                    {
                        503
                    } else {
                        200
                    };
                    let response = hyper::Response::builder()
                        .status(status)
                        .header("content-type", "text/html")
                        .body(Full::new(Bytes::from_static(
                            b"<html><body>ok</body></html>",
                        )))
                        .unwrap_or_default();
                    Ok::<_, Infallible>(response)
                }
            });
            let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
