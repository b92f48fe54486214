//! Recording what a run archives as WARC (`fetch --warc`): each exchange that
//! gave an object, and each page a snapshot was made of, written by one
//! [`WarcWriter`] shared by the run's downloads.
//!
//! Records are written on a blocking thread (a payload is read back from its
//! object, which may be large). A record that cannot be written is said once
//! and the run goes on: the objects are what matter, the WARC is their account.

use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};
use url::Url;

use crate::net::probe::{Hop, RequestOptions};
use crate::store::Storage;
use crate::store::write::Stored;
use crate::warc::{Exchange, WarcWriter};

/// The run's WARC file, shared by its downloads.
#[derive(Debug, Clone)]
pub struct WarcLog {
    writer: Arc<Mutex<Option<WarcWriter>>>,
    /// Whether a failure to write was said already.
    said: Arc<std::sync::atomic::AtomicBool>,
}

/// What was asked and what answered, for one record.
pub(super) struct Asked<'a> {
    /// The URL that answered (after redirects).
    pub url: &'a Url,
    /// The caller's request headers.
    pub options: &'a RequestOptions,
    /// The answer's status.
    pub status: u16,
    /// Its headers.
    pub headers: &'a HeaderMap,
}

impl WarcLog {
    /// A log writing to `writer`.
    #[must_use]
    pub fn new(writer: WarcWriter) -> Self {
        WarcLog {
            writer: Arc::new(Mutex::new(Some(writer))),
            said: Arc::default(),
        }
    }

    /// Ends the file: durable, under its final name. Returns where it is.
    ///
    /// # Errors
    /// It cannot be synced or renamed.
    pub fn finish(&self) -> std::io::Result<Option<std::path::PathBuf>> {
        let writer = self
            .writer
            .lock()
            .map_err(|_| std::io::Error::other("a WARC writer panicked"))?
            .take();
        writer.map(WarcWriter::finish).transpose()
    }

    /// Records an exchange whose payload is the object `stored`.
    pub(super) async fn object(
        &self,
        asked: &Asked<'_>,
        store: &Arc<dyn Storage>,
        stored: &Stored,
    ) {
        let (log, store, stored) = (self.clone(), Arc::clone(store), stored.clone());
        let (url, request, status, headers) = owned(asked);
        let _ = tokio::task::spawn_blocking(move || {
            let digest = digest_of(&stored.name.sha256);
            let written = store
                .open_object(&stored.name.relative())
                .and_then(|mut payload| {
                    log.with(|warc| {
                        warc.exchange(
                            &exchange(&url, &request, status, &headers),
                            &mut payload,
                            stored.size,
                            &digest,
                        )
                    })
                });
            log.said_once(&url, written);
        })
        .await;
    }

    /// Records the redirects among `hops` that led to a capture: each as a
    /// response with its headers (the `Location` a replay follows) and no
    /// body. Other hops (retries, the capture itself) are not recorded here.
    pub(super) async fn redirects(&self, hops: &[Hop], options: &RequestOptions) {
        let redirects: Vec<(String, Method, u16, HeaderMap)> = hops
            .iter()
            .filter_map(|hop| {
                let headers = hop.redirect_headers.clone()?;
                let method = Method::from_bytes(hop.method.as_bytes()).ok()?;
                Some((hop.url.to_string(), method, hop.status?, headers))
            })
            .collect();
        if redirects.is_empty() {
            return;
        }
        let (log, request) = (self.clone(), request_headers(options));
        let _ = tokio::task::spawn_blocking(move || {
            for (url, method, status, headers) in &redirects {
                let mut exchange = exchange(url, &request, *status, headers);
                exchange.method = method;
                exchange.truncated = true;
                let written = log.with(|warc| warc.exchange_bytes(&exchange, &[]));
                log.said_once(url, written);
            }
        })
        .await;
    }

    /// Records an exchange whose payload is `bytes` (a page read whole).
    pub(super) async fn bytes(&self, asked: &Asked<'_>, bytes: Vec<u8>) {
        let log = self.clone();
        let (url, request, status, headers) = owned(asked);
        let _ = tokio::task::spawn_blocking(move || {
            let written = log.with(|warc| {
                warc.exchange_bytes(&exchange(&url, &request, status, &headers), &bytes)
            });
            log.said_once(&url, written);
        })
        .await;
    }

    fn with<T>(
        &self,
        write: impl FnOnce(&mut WarcWriter) -> std::io::Result<T>,
    ) -> std::io::Result<T> {
        let mut guard = self
            .writer
            .lock()
            .map_err(|_| std::io::Error::other("a WARC writer panicked"))?;
        match guard.as_mut() {
            Some(warc) => write(warc),
            None => Err(std::io::Error::other("the WARC file is closed")),
        }
    }

    fn said_once<T>(&self, url: &str, written: std::io::Result<T>) {
        if let Err(e) = written
            && !self.said.swap(true, std::sync::atomic::Ordering::SeqCst)
        {
            tracing::warn!(
                "{url}: not recorded in the WARC file ({e}); the object itself is archived"
            );
        }
    }
}

type Owned = (String, HeaderMap, u16, HeaderMap);

fn owned(asked: &Asked<'_>) -> Owned {
    (
        asked.url.to_string(),
        request_headers(asked.options),
        asked.status,
        asked.headers.clone(),
    )
}

fn exchange<'a>(
    url: &'a str,
    request: &'a HeaderMap,
    status: u16,
    headers: &'a HeaderMap,
) -> Exchange<'a> {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    Exchange::get(url, SystemTime::now(), request, status, headers)
}

/// The request headers the caller chose (the client adds its own User-Agent
/// and Accept-Encoding, which the site rules' headers may replace).
fn request_headers(options: &RequestOptions) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let mut put = |name: &'static str, value: Option<&String>| {
        if let Some(value) = value.and_then(|v| HeaderValue::from_str(v).ok()) {
            headers.insert(HeaderName::from_static(name), value);
        }
    };
    put("referer", options.referer.as_ref());
    put("if-none-match", options.if_none_match.as_ref());
    put("if-modified-since", options.if_modified_since.as_ref());
    headers
}

/// An object's sha256 from its hex name (names are checked lowercase hex).
fn digest_of(hex: &str) -> [u8; 32] {
    data_encoding::HEXLOWER
        .decode(hex.as_bytes())
        .ok()
        .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
        .unwrap_or_default()
}
