//! A plain-HTTP server for the `check` benchmark (`bench/check.sh`): answers every
//! request after a fixed latency, 404 for about 5% of paths (chosen by a hash, so
//! every tool sees the same dead links), 200 otherwise. Many hosts are simulated
//! with many loopback addresses (127.0.0.2, 127.0.0.3 …) on one port. It counts
//! the requests in flight per host; `GET /__stats` answers the most there ever
//! were on one host, and on how many hosts.
//!
//! Usage: bench_server PORT LATENCY_MS DEAD_PERCENT

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};

fn is_dead(path: &str, percent: u64) -> bool {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in path.bytes() {
        hash = (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    hash % 100 < percent
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let port: u16 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(8090);
    let latency = Duration::from_millis(args.get(2).and_then(|a| a.parse().ok()).unwrap_or(50));
    let dead_percent: u64 = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(5);
    let listener = tokio::net::TcpListener::bind(("0.0.0.0", port))
        .await
        .expect("the benchmark port is free");
    eprintln!("bench server on port {port}, {latency:?} latency, {dead_percent}% dead");
    // Per host: (in flight now, the most ever).
    let flights: Arc<Mutex<HashMap<String, (usize, usize)>>> = Arc::default();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let flights = Arc::clone(&flights);
        tokio::spawn(async move {
            let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                let flights = Arc::clone(&flights);
                async move {
                    if request.uri().path() == "/__stats" {
                        let flights = flights.lock().unwrap();
                        let most = flights.values().map(|(_, most)| *most).max().unwrap_or(0);
                        let body =
                            format!("{{\"hosts\":{},\"most_in_flight\":{most}}}", flights.len());
                        return Ok(hyper::Response::new(Full::new(Bytes::from(body))));
                    }
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
                    let dead = is_dead(request.uri().path(), dead_percent);
                    let response = hyper::Response::builder()
                        .status(if dead { 404 } else { 200 })
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
