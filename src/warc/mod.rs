//! WARC/1.1 files: every HTTP exchange of a run as records that standard web-archive
//! tools (pywb, ReplayWeb.page, warcio) replay and check.
//!
//! One file per run, `warc/<prefix>-<time>-<id>.warc.gz`, written as
//! `….warc.gz.open` and renamed when the run finishes it, so a file without the
//! suffix is complete. Each record is its own gzip member (tools seek to a
//! record by its offset), and a record is appended whole or not at all: a failed
//! write is cut off again, so what is in the file stays readable after any error.
//!
//! A response record carries the status line and headers as received and the
//! payload as archived. The client decodes gzip and brotli bodies, so the payload
//! is the decoded one: `Content-Encoding`, `Transfer-Encoding` and
//! `Content-Length` are kept under `X-Archive-Orig-` names and a `Content-Length`
//! of the payload recorded is written instead, which is what replay tools expect.
//! `WARC-Payload-Digest` is the payload's sha256 in base32: the same digest that
//! names the payload's object in the store.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Read, Seek, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use flate2::Compression;
use flate2::write::GzEncoder;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode, Version};
use sha2::{Digest, Sha256};

use crate::atomic::sync_dir;

mod check;

pub use check::{Checked, check};

/// The suffix of a WARC file still being written.
pub const OPEN_SUFFIX: &str = ".open";

/// Headers a decoded payload no longer matches: recorded under
/// `X-Archive-Orig-<name>`.
const DECODED_AWAY: [&str; 3] = ["content-encoding", "transfer-encoding", "content-length"];

/// A record's identifier, `<urn:uuid:…>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordId(String);

impl RecordId {
    fn new() -> Self {
        RecordId(format!("<urn:uuid:{}>", uuid::Uuid::new_v4()))
    }

    /// The identifier as written in the WARC headers.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where a record starts in its file, for an index.
#[derive(Debug, Clone)]
pub struct Written {
    /// The record's identifier.
    pub id: RecordId,
    /// Its offset in the file (the start of its gzip member).
    pub offset: u64,
}

/// One HTTP exchange as it went over the network.
#[derive(Debug)]
pub struct Exchange<'a> {
    /// The URL asked.
    pub url: &'a str,
    /// When the response came.
    pub at: SystemTime,
    /// The server's address, when known.
    pub ip: Option<IpAddr>,
    /// The request's method and headers as sent.
    pub method: &'a Method,
    /// The request headers.
    pub request_headers: &'a HeaderMap,
    /// The status and headers as received.
    pub status: StatusCode,
    /// The HTTP version of the response.
    pub version: Version,
    /// The response headers.
    pub response_headers: &'a HeaderMap,
    /// Whether the payload recorded is not the whole body (a redirect's body,
    /// never read): the record says `WARC-Truncated: length`.
    pub truncated: bool,
}

impl<'a> Exchange<'a> {
    /// A GET answered over HTTP/1.1, from an address not recorded.
    #[must_use]
    pub fn get(
        url: &'a str,
        at: SystemTime,
        request_headers: &'a HeaderMap,
        status: StatusCode,
        response_headers: &'a HeaderMap,
    ) -> Self {
        Exchange {
            url,
            at,
            ip: None,
            method: &Method::GET,
            request_headers,
            status,
            version: Version::HTTP_11,
            response_headers,
            truncated: false,
        }
    }
}

/// A WARC file being written.
#[derive(Debug)]
pub struct WarcWriter {
    file: File,
    open_path: PathBuf,
    path: PathBuf,
    warcinfo: RecordId,
}

impl WarcWriter {
    /// Starts a WARC file in `dir` (created if missing) with its `warcinfo`
    /// record naming the software.
    ///
    /// # Errors
    /// The folder or the file cannot be created or written.
    pub fn create(dir: &Path, prefix: &str) -> io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let stamp = humantime::format_rfc3339_seconds(SystemTime::now())
            .to_string()
            .replace([':', '-'], "");
        let id = uuid::Uuid::new_v4().simple().to_string();
        let name = format!("{prefix}-{stamp}-{}.warc.gz", &id[..8]);
        let path = dir.join(&name);
        let open_path = dir.join(format!("{name}{OPEN_SUFFIX}"));
        let file = OpenOptions::new()
            .create_new(true)
            .read(true)
            .write(true)
            .open(&open_path)?;
        let mut writer = WarcWriter {
            file,
            open_path,
            path,
            warcinfo: RecordId::new(),
        };
        let fields = format!(
            "software: archiver/{}\r\nformat: WARC File Format 1.1\r\nconformsTo: https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/\r\n",
            env!("CARGO_PKG_VERSION")
        );
        let headers = vec![
            ("WARC-Type", "warcinfo".to_owned()),
            ("WARC-Record-ID", writer.warcinfo.as_str().to_owned()),
            ("WARC-Date", warc_date(SystemTime::now())),
            ("WARC-Filename", name),
            ("Content-Type", "application/warc-fields".to_owned()),
        ];
        writer.append(&headers, fields.len() as u64, &mut fields.as_bytes())?;
        Ok(writer)
    }

    /// Where the file will be once finished.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Records one exchange: its response (status line, headers and `payload`,
    /// exactly `payload_len` bytes whose sha256 is `payload_sha256`), then its
    /// request, pointing at the response.
    ///
    /// # Errors
    /// A write error, or a payload that is not `payload_len` bytes long (the
    /// record is then cut off again).
    pub fn exchange(
        &mut self,
        exchange: &Exchange<'_>,
        payload: &mut dyn Read,
        payload_len: u64,
        payload_sha256: &[u8; 32],
    ) -> io::Result<Written> {
        let response = RecordId::new();
        let head = response_head(exchange, payload_len);
        let mut headers = self.common(&response, exchange, "response");
        headers.push((
            "WARC-Payload-Digest",
            format!("sha256:{}", data_encoding::BASE32.encode(payload_sha256)),
        ));
        if exchange.truncated {
            headers.push(("WARC-Truncated", "length".to_owned()));
        }
        headers.push((
            "Content-Type",
            "application/http;msgtype=response".to_owned(),
        ));
        let offset = self.append(
            &headers,
            head.len() as u64 + payload_len,
            &mut head.as_slice().chain(payload),
        )?;
        let request = RecordId::new();
        let head = request_head(exchange);
        let mut headers = self.common(&request, exchange, "request");
        headers.push(("WARC-Concurrent-To", response.as_str().to_owned()));
        headers.push((
            "Content-Type",
            "application/http;msgtype=request".to_owned(),
        ));
        self.append(&headers, head.len() as u64, &mut head.as_slice())?;
        Ok(Written {
            id: response,
            offset,
        })
    }

    /// [`WarcWriter::exchange`] for a payload in memory.
    ///
    /// # Errors
    /// A write error.
    pub fn exchange_bytes(
        &mut self,
        exchange: &Exchange<'_>,
        payload: &[u8],
    ) -> io::Result<Written> {
        let digest: [u8; 32] = Sha256::digest(payload).into();
        self.exchange(exchange, &mut &payload[..], payload.len() as u64, &digest)
    }

    /// Makes the file durable and gives it its final name.
    ///
    /// # Errors
    /// The file cannot be synced or renamed.
    pub fn finish(self) -> io::Result<PathBuf> {
        self.file.sync_all()?;
        std::fs::rename(&self.open_path, &self.path)?;
        if let Some(dir) = self.path.parent() {
            sync_dir(dir)?;
        }
        Ok(self.path)
    }

    /// The headers every exchange record has.
    fn common(
        &self,
        id: &RecordId,
        exchange: &Exchange<'_>,
        kind: &'static str,
    ) -> Vec<(&'static str, String)> {
        let mut headers = vec![
            ("WARC-Type", kind.to_owned()),
            ("WARC-Record-ID", id.as_str().to_owned()),
            ("WARC-Date", warc_date(exchange.at)),
            ("WARC-Target-URI", exchange.url.to_owned()),
            ("WARC-Warcinfo-ID", self.warcinfo.as_str().to_owned()),
        ];
        if let Some(ip) = exchange.ip {
            headers.push(("WARC-IP-Address", ip.to_string()));
        }
        headers
    }

    /// Appends one record as its own gzip member; on any error the file is cut
    /// back to where the record began. Returns that offset.
    fn append(
        &mut self,
        headers: &[(&str, String)],
        block_len: u64,
        block: &mut dyn Read,
    ) -> io::Result<u64> {
        let start = self.file.seek(io::SeekFrom::End(0))?;
        let written = self.write_record(headers, block_len, block);
        if written.is_err() {
            // What is before `start` is whole records: keep the file that way.
            let _ = self.file.set_len(start);
        }
        written.map(|()| start)
    }

    fn write_record(
        &mut self,
        headers: &[(&str, String)],
        block_len: u64,
        block: &mut dyn Read,
    ) -> io::Result<()> {
        let mut gz = GzEncoder::new(BufWriter::new(&mut self.file), Compression::default());
        let mut head = b"WARC/1.1\r\n".to_vec();
        for (name, value) in headers {
            push_header(&mut head, name, value.as_bytes());
        }
        push_header(
            &mut head,
            "Content-Length",
            block_len.to_string().as_bytes(),
        );
        head.extend_from_slice(b"\r\n");
        gz.write_all(&head)?;
        let copied = io::copy(&mut block.take(block_len), &mut gz)?;
        if copied != block_len {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("the record's block was {copied} bytes, not the {block_len} announced"),
            ));
        }
        gz.write_all(b"\r\n\r\n")?;
        gz.finish()?.flush()
    }
}

/// A WARC date: UTC, to the second.
fn warc_date(at: SystemTime) -> String {
    humantime::format_rfc3339_seconds(at).to_string()
}

/// The request as an HTTP/1.1 message: request line and headers.
fn request_head(exchange: &Exchange<'_>) -> Vec<u8> {
    let url = url::Url::parse(exchange.url).ok();
    let target = url.as_ref().map_or_else(
        || "/".to_owned(),
        |u| match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_owned(),
        },
    );
    let mut head = format!("{} {target} HTTP/1.1\r\n", exchange.method).into_bytes();
    if !exchange.request_headers.contains_key(reqwest::header::HOST)
        && let Some(host) = url.as_ref().and_then(url::Url::host_str)
    {
        let host = match url.as_ref().and_then(url::Url::port) {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        head.extend_from_slice(format!("Host: {host}\r\n").as_bytes());
    }
    for (name, value) in exchange.request_headers {
        push_header(&mut head, name.as_str(), value.as_bytes());
    }
    head.extend_from_slice(b"\r\n");
    head
}

/// The response's status line and headers, as an HTTP/1.1 message (replay
/// tools read HTTP/1.x; an HTTP/2 answer is written as one), with the headers
/// a decoded payload no longer matches set aside.
fn response_head(exchange: &Exchange<'_>, payload_len: u64) -> Vec<u8> {
    let version = match exchange.version {
        Version::HTTP_10 => "HTTP/1.0",
        _ => "HTTP/1.1",
    };
    let status = exchange.status;
    let mut head = format!(
        "{version} {} {}\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    )
    .into_bytes();
    for (name, value) in exchange.response_headers {
        if DECODED_AWAY.contains(&name.as_str()) {
            push_header(
                &mut head,
                &format!("X-Archive-Orig-{}", name.as_str()),
                value.as_bytes(),
            );
        } else {
            push_header(&mut head, name.as_str(), value.as_bytes());
        }
    }
    push_header(
        &mut head,
        "content-length",
        payload_len.to_string().as_bytes(),
    );
    head.extend_from_slice(b"\r\n");
    head
}

/// Appends `name: value`; a value never spans lines (a URL with a line break in
/// it would forge a header).
fn push_header(head: &mut Vec<u8>, name: &str, value: &[u8]) {
    head.extend_from_slice(name.as_bytes());
    head.extend_from_slice(b": ");
    head.extend(
        value
            .iter()
            .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
    );
    head.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::time::{Duration, UNIX_EPOCH};

    use reqwest::header::{HeaderMap, HeaderValue};
    use reqwest::{Method, StatusCode, Version};

    use super::{Exchange, OPEN_SUFFIX, WarcWriter};

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(*k, HeaderValue::from_static(v));
        }
        map
    }

    fn read_all(path: &std::path::Path) -> String {
        let mut bytes = Vec::new();
        flate2::read::MultiGzDecoder::new(std::fs::File::open(path).unwrap())
            .read_to_end(&mut bytes)
            .unwrap();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    #[test]
    fn an_exchange_is_a_response_and_a_request_record() {
        let dir = tempfile::tempdir().unwrap();
        let mut warc = WarcWriter::create(dir.path(), "fetch").unwrap();
        let sent = headers(&[
            ("user-agent", "archiver"),
            ("referer", "https://mp.weixin.qq.com/"),
        ]);
        let got = headers(&[
            ("content-type", "image/png"),
            ("content-encoding", "gzip"),
            ("content-length", "7"),
        ]);
        let exchange = Exchange {
            url: "https://mmbiz.qpic.cn/a/b.png?wx_fmt=png",
            at: UNIX_EPOCH + Duration::from_secs(1_700_000_000),
            ip: Some("127.0.0.1".parse().unwrap()),
            method: &Method::GET,
            request_headers: &sent,
            status: StatusCode::OK,
            version: Version::HTTP_2,
            response_headers: &got,
            truncated: false,
        };
        let written = warc.exchange_bytes(&exchange, b"PNG and more!").unwrap();
        assert!(written.offset > 0, "the warcinfo record comes first");
        let open = dir
            .path()
            .read_dir()
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        assert!(open.to_string_lossy().ends_with(OPEN_SUFFIX));
        let path = warc.finish().unwrap();
        assert!(path.to_string_lossy().ends_with(".warc.gz"));
        assert!(!open.exists());

        let text = read_all(&path);
        let records: Vec<&str> = text.split("WARC/1.1\r\n").skip(1).collect();
        assert_eq!(records.len(), 3, "{text}");
        assert!(records[0].starts_with("WARC-Type: warcinfo\r\n"));
        let response = records[1];
        assert!(response.contains("WARC-Target-URI: https://mmbiz.qpic.cn/a/b.png?wx_fmt=png\r\n"));
        assert!(response.contains("WARC-Date: 2023-11-14T22:13:20Z\r\n"));
        assert!(response.contains("WARC-IP-Address: 127.0.0.1\r\n"));
        assert!(response.contains("WARC-Payload-Digest: sha256:"));
        assert!(response.contains("HTTP/1.1 200 OK\r\n"));
        assert!(response.contains("X-Archive-Orig-content-encoding: gzip\r\n"));
        assert!(response.contains("content-length: 13\r\n\r\nPNG and more!\r\n\r\n"));
        let request = records[2];
        assert!(request.contains("WARC-Type: request\r\n"));
        assert!(request.contains(&format!("WARC-Concurrent-To: {}", written.id.as_str())));
        assert!(request.contains("GET /a/b.png?wx_fmt=png HTTP/1.1\r\nHost: mmbiz.qpic.cn\r\n"));
        assert!(request.contains("referer: https://mp.weixin.qq.com/\r\n"));
    }

    #[test]
    fn a_short_payload_leaves_no_partial_record() {
        let dir = tempfile::tempdir().unwrap();
        let mut warc = WarcWriter::create(dir.path(), "fetch").unwrap();
        let none = HeaderMap::new();
        let exchange = Exchange::get(
            "https://example.org/x",
            UNIX_EPOCH,
            &none,
            StatusCode::OK,
            &none,
        );
        let before = std::fs::metadata(
            dir.path()
                .read_dir()
                .unwrap()
                .next()
                .unwrap()
                .unwrap()
                .path(),
        )
        .unwrap()
        .len();
        let err = warc
            .exchange(&exchange, &mut &b"abc"[..], 10, &[0; 32])
            .unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
        let path = warc.finish().unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), before);
        assert_eq!(read_all(&path).matches("WARC/1.1\r\n").count(), 1);
    }
}
