//! A plain-HTTP media server for the `fetch` benchmark (`bench/fetch.sh`).
//!
//! - `/img/N.png`: a PNG of 20–120 KB whose bytes depend on N;
//! - `/pdf/N.pdf`: a PDF of 0.5–2.5 MB whose bytes depend on N;
//! - `/big.pdf?size=BYTES`: a PDF of that many bytes, generated as it is sent, so a
//!   multi-gigabyte object costs the server no memory.
//!
//! Many hosts are simulated with many loopback addresses (127.0.0.2, 127.0.0.3 …)
//! on one port. Usage: media_server PORT

use std::convert::Infallible;

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

#[tokio::main]
async fn main() {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(8091);
    let listener = tokio::net::TcpListener::bind(("0.0.0.0", port))
        .await
        .expect("the benchmark port is free");
    eprintln!("media server on port {port}");
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(async move {
            let service = service_fn(
                move |request: hyper::Request<hyper::body::Incoming>| async move {
                    let (status, body) = answer(request.uri().path(), request.uri().query());
                    let response = hyper::Response::builder()
                        .status(status)
                        .body(body)
                        .unwrap_or_default();
                    Ok::<_, Infallible>(response)
                },
            );
            let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
