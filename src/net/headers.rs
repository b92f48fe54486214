//! What a request says besides its URL: the method it starts with, the
//! headers its purpose asks for, and the ones a caller adds (a Referer, a
//! revalidation, a credential for one host only).

use reqwest::header::{self, HeaderValue};
use url::Url;

use super::pool::host_key;
use crate::sites::{Method, SiteRule};

/// What a caller asks of every hop of a request besides its URL: headers of
/// its own (a Referer, a revalidation, an Accept, a credential for one host)
/// and whether connections keep to public addresses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestOptions {
    /// `Referer`.
    pub referer: Option<String>,
    /// `If-None-Match`: revalidating an ETag.
    pub if_none_match: Option<String>,
    /// `If-Modified-Since`: revalidating a Last-Modified date.
    pub if_modified_since: Option<String>,
    /// `Accept`, instead of the mode's own.
    pub accept: Option<String>,
    /// A secret header (an API token) for one host only: never sent to a host
    /// a redirect leads to.
    pub credential: Option<Credential>,
    /// Connect to public addresses only: set once a redirect leaves a public
    /// host for another (see [`super::reach`]).
    pub public_only: bool,
}

/// A header that may go to one host and no other, over HTTPS only.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    /// The host it is for, as [`host_key`] gives it.
    pub host: String,
    /// The port it is for.
    pub port: u16,
    /// The header's name (`Authorization`).
    pub name: String,
    /// Its value.
    pub value: String,
}

impl std::fmt::Debug for Credential {
    // The value is a secret: debug logs must not show it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// What a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// Judging a link: HEAD where it will do, a body prefix at most.
    Probe,
    /// Reading a page: GET, a body prefix at most.
    Page,
    /// Downloading: GET, and a 2xx answer's body is left for the caller to stream.
    Download,
}

/// The method a request starts with: HEAD to probe unless the site rule reads
/// pages (see [`SiteRule::probe_method`]); always GET to read a page or a file.
pub(super) fn first_method(mode: Mode, rule: Option<&SiteRule>) -> Method {
    match mode {
        Mode::Probe => rule.map_or(Method::Head, SiteRule::probe_method),
        Mode::Page | Mode::Download => Method::Get,
    }
}

/// A request with the headers its mode and the caller's `options` ask for. A
/// credential goes only to its own host and port, and never in clear text.
pub(super) fn with_headers(
    mut request: reqwest::RequestBuilder,
    url: &Url,
    mode: Mode,
    options: &RequestOptions,
) -> reqwest::RequestBuilder {
    let accept = match mode {
        Mode::Probe | Mode::Page => "text/html,application/xhtml+xml,*/*;q=0.8",
        Mode::Download => "*/*",
    };
    request = request.header(header::ACCEPT, options.accept.as_deref().unwrap_or(accept));
    if let Some(credential) = &options.credential
        && url.scheme() == "https"
        && host_key(url).eq_ignore_ascii_case(&credential.host)
        && url.port_or_known_default() == Some(credential.port)
        && let (Ok(name), Ok(mut value)) = (
            header::HeaderName::from_bytes(credential.name.as_bytes()),
            HeaderValue::from_str(&credential.value),
        )
    {
        value.set_sensitive(true);
        request = request.header(name, value);
    }
    for (name, value) in [
        (header::REFERER, &options.referer),
        (header::IF_NONE_MATCH, &options.if_none_match),
        (header::IF_MODIFIED_SINCE, &options.if_modified_since),
    ] {
        if let Some(value) = value.as_deref().and_then(|v| HeaderValue::from_str(v).ok()) {
            request = request.header(name, value);
        }
    }
    request.header(header::ACCEPT_LANGUAGE, "zh-CN,zh;q=0.9,en;q=0.8")
}

/// The method's name on the wire.
pub(super) fn method_name(method: Method) -> &'static str {
    match method {
        Method::Head => "HEAD",
        Method::Get => "GET",
    }
}
