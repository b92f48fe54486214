//! The WARC files archiver writes, read back by warcio (PyPI), the reference
//! reader: every record parses, and every payload digest checks. Skipped, with a
//! note, where `python3 -c 'import warcio'` fails (`pip install warcio`).

mod util;

use std::time::SystemTime;

use archiver::warc::{Exchange, WarcWriter};
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode, Version};
use sha2::{Digest, Sha256};
use util::warcio::warcio;

fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(*name, HeaderValue::from_static(value));
    }
    map
}

#[test]
fn warcio_reads_every_record_and_checks_every_digest() {
    let dir = tempfile::tempdir().unwrap();
    let mut warc = WarcWriter::create(&dir.path().join("warc"), "fetch").unwrap();
    let sent = headers(&[("user-agent", "archiver"), ("accept", "*/*")]);
    let image = headers(&[("content-type", "image/png"), ("content-encoding", "gzip")]);
    let page = headers(&[("content-type", "text/html; charset=utf-8")]);
    let exchange = |url, status, response_headers| Exchange {
        url,
        at: SystemTime::now(),
        ip: Some("127.0.0.1".parse().unwrap()),
        method: &Method::GET,
        request_headers: &sent,
        status,
        version: Version::HTTP_11,
        response_headers,
        truncated: false,
    };
    warc.exchange_bytes(
        &exchange(
            "https://mmbiz.qpic.cn/mmbiz_png/x/0?wx_fmt=png",
            StatusCode::OK,
            &image,
        ),
        b"\x89PNG\r\n\x1a\nnot really an image",
    )
    .unwrap();
    warc.exchange_bytes(
        &exchange("https://mp.weixin.qq.com/s/abc", StatusCode::OK, &page),
        "<html><title>文章</title></html>".as_bytes(),
    )
    .unwrap();
    warc.exchange_bytes(
        &exchange("https://example.org/gone", StatusCode::NOT_FOUND, &page),
        b"",
    )
    .unwrap();
    // A redirect, its body not recorded.
    let moved = headers(&[("location", "https://example.org/new")]);
    let redirect = Exchange {
        truncated: true,
        ..exchange("https://example.org/old", StatusCode::FOUND, &moved)
    };
    warc.exchange_bytes(&redirect, b"").unwrap();
    // A large payload streamed from a reader, as objects are.
    let large: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let digest: [u8; 32] = Sha256::digest(&large).into();
    warc.exchange(
        &exchange("https://arxiv.org/pdf/2101.00001", StatusCode::OK, &page),
        &mut large.as_slice(),
        large.len() as u64,
        &digest,
    )
    .unwrap();
    let path = warc.finish().unwrap();
    let path = path.to_str().unwrap();

    let Some(checked) = warcio(&["check", "-v", path]) else {
        return;
    };
    let report = String::from_utf8_lossy(&checked.stdout);
    assert!(
        checked.status.success(),
        "warcio check failed: {report}{}",
        String::from_utf8_lossy(&checked.stderr)
    );
    assert_eq!(report.matches("digest pass").count(), 5, "{report}");
    assert!(!report.contains("fail"), "{report}");

    let index = warcio(&["index", "-f", "warc-type,warc-target-uri,http:status", path]).unwrap();
    assert!(index.status.success());
    let index = String::from_utf8_lossy(&index.stdout);
    let lines: Vec<&str> = index.lines().collect();
    assert_eq!(
        lines.len(),
        11,
        "warcinfo + 5 responses + 5 requests: {index}"
    );
    assert!(
        index.contains(r#""http:status": "302""#),
        "the redirect is recorded: {index}"
    );
    assert!(
        index.contains(r#""http:status": "404""#),
        "the 404 is recorded: {index}"
    );
}
