//! A site rule's own request headers: what a bot wall wants to see (bilibili's
//! fingerprint cookies, a session a user is entitled to), sent to the rule's
//! hosts only, over HTTPS only.
//!
//! A value may be kept out of the configuration file: `env:NAME` reads it from
//! the environment variable `NAME` when the configuration is loaded, and the
//! header is left out while that variable is unset. Values are marked sensitive,
//! so no log shows them; `archiver config` shows them as configured (`env:NAME`
//! for those kept in the environment), so that its output reads back the same.

use std::collections::BTreeMap;

use reqwest::header::{self, HeaderMap, HeaderName, HeaderValue};
use serde::{Serialize, Serializer};

/// Headers the tool manages itself, each with the setting that controls it.
const OWN: &[(&str, &str)] = &[
    ("host", "the URL"),
    ("content-length", "nothing: requests have no body"),
    ("transfer-encoding", "nothing: requests have no body"),
    ("connection", "nothing: connections are managed by the tool"),
    ("keep-alive", "nothing: connections are managed by the tool"),
    (
        "proxy-connection",
        "nothing: connections are managed by the tool",
    ),
    ("upgrade", "nothing: connections are managed by the tool"),
    ("te", "nothing: connections are managed by the tool"),
    ("user-agent", "the rule's `user_agent`"),
    ("referer", "the rule's `referers`"),
    (
        "accept",
        "what is asked for (a page, a file, an API's format)",
    ),
    ("accept-encoding", "the compressions the tool reads"),
    ("range", "nothing: bodies are read from the start"),
    ("if-range", "nothing: bodies are read from the start"),
    ("if-none-match", "`fetch --refresh`, from the archived copy"),
    (
        "if-modified-since",
        "`fetch --refresh`, from the archived copy",
    ),
];

/// A rule's headers as configured and as sent.
#[derive(Debug, Clone, Default)]
pub struct SiteHeaders {
    /// Name → the configured value's source, for `archiver config`.
    configured: BTreeMap<String, Source>,
    /// What is sent: the literal values, and the `env:` ones that were set.
    sent: HeaderMap,
}

/// Where a value comes from, as configured.
#[derive(Debug, Clone)]
enum Source {
    Literal(String),
    Env(String),
}

impl SiteHeaders {
    /// Reads `headers = { Name = "value" | "env:VAR" }`, looking the `env:`
    /// values up in the environment through `env`.
    ///
    /// # Errors
    /// A message naming the header when its name is not a header name, is one
    /// the tool sets itself or is given twice, or when a value written in the
    /// file cannot be sent (not ASCII text, a line break).
    pub fn parse(
        headers: BTreeMap<String, String>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, String> {
        let mut parsed = SiteHeaders::default();
        for (name, value) in headers {
            let header = HeaderName::from_bytes(name.trim().as_bytes())
                .map_err(|_| format!("headers: `{name}` is not a header name"))?;
            if let Some((_, instead)) = OWN.iter().find(|(own, _)| *own == header.as_str()) {
                return Err(format!(
                    "headers: `{name}` is set by the tool; it comes from {instead}"
                ));
            }
            if parsed.configured.contains_key(header.as_str()) {
                return Err(format!(
                    "headers: `{name}` is given twice (header names ignore case)"
                ));
            }
            let (source, value) = if let Some(var) = value.strip_prefix("env:") {
                let var = var.trim().to_owned();
                if var.is_empty() {
                    return Err(format!(
                        "headers: `{name}` says `env:` without a variable name"
                    ));
                }
                // A bad value in the environment costs the header, not every
                // command: the file itself is fine.
                let value = env(&var)
                    .map(|v| v.trim().to_owned())
                    .filter(|v| !v.is_empty())
                    .and_then(|v| match sendable(&v) {
                        Ok(value) => Some(value),
                        Err(why) => {
                            tracing::warn!("${var} {why}; the `{name}` header is not sent");
                            None
                        }
                    });
                (Source::Env(var), value)
            } else {
                let sent = sendable(value.trim())
                    .map_err(|why| format!("headers: the value of `{name}` {why}"))?;
                (Source::Literal(value), Some(sent))
            };
            if let Some(value) = value {
                parsed.sent.insert(header.clone(), value);
            }
            parsed.configured.insert(header.as_str().to_owned(), source);
        }
        Ok(parsed)
    }

    /// Whether the rule has no headers configured.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.configured.is_empty()
    }

    /// Adds the headers to a request for `url`, one of the rule's hosts, over
    /// HTTPS only. A header the request already has (a token the tool sends)
    /// stays, except `Accept-Language`, the tool's mere default; a `Cookie` is
    /// added to the cookies the host set earlier in the run (`jar`), which
    /// would otherwise not be sent.
    pub fn add_to(&self, url: &url::Url, headers: &mut HeaderMap, jar: Option<&HeaderValue>) {
        if url.scheme() != "https" {
            return;
        }
        for (name, value) in &self.sent {
            if *name == header::COOKIE {
                let merged = jar.and_then(|jar| {
                    let mut both = jar.as_bytes().to_vec();
                    both.extend_from_slice(b"; ");
                    both.extend_from_slice(value.as_bytes());
                    HeaderValue::from_bytes(&both).ok()
                });
                let mut cookie = merged.unwrap_or_else(|| value.clone());
                cookie.set_sensitive(true);
                headers.insert(header::COOKIE, cookie);
            } else if *name == header::ACCEPT_LANGUAGE || !headers.contains_key(name) {
                headers.insert(name.clone(), value.clone());
            }
        }
    }
}

/// A value as sent: sensitive, so that no log shows it.
fn sendable(value: &str) -> Result<HeaderValue, &'static str> {
    const WHY: &str =
        "cannot be sent: header values are ASCII text, without line breaks or control characters";
    // `HeaderValue` would take other bytes as opaque ones; no server reads
    // them as the text meant.
    if !value.is_ascii() {
        return Err(WHY);
    }
    let mut value = HeaderValue::from_str(value).map_err(|_| WHY)?;
    value.set_sensitive(true);
    Ok(value)
}

impl Serialize for SiteHeaders {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let shown: BTreeMap<&str, String> = self
            .configured
            .iter()
            .map(|(name, source)| {
                let shown = match source {
                    Source::Literal(value) => value.clone(),
                    Source::Env(var) => format!("env:{var}"),
                };
                (name.as_str(), shown)
            })
            .collect();
        shown.serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn env(var: &str) -> Option<String> {
        match var {
            "SET" => Some("buvid3=abc".to_owned()),
            "EMPTY" => Some("  ".to_owned()),
            "BAD" => Some("buvid3=…".to_owned()),
            _ => None,
        }
    }

    fn sent(
        parsed: &SiteHeaders,
        url: &str,
        request: &[(&str, &str)],
        jar: Option<&str>,
    ) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (n, v) in request {
            headers.insert(
                HeaderName::from_bytes(n.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        let jar = jar.map(|j| HeaderValue::from_str(j).unwrap());
        parsed.add_to(&url::Url::parse(url).unwrap(), &mut headers, jar.as_ref());
        headers
    }

    #[test]
    fn literal_and_environment_values_are_sent_over_https_only() {
        let parsed = SiteHeaders::parse(
            headers(&[
                ("Cookie", "env:SET"),
                ("X-Unset", "env:UNSET"),
                ("X-Empty", "env:EMPTY"),
                ("X-Bad", "env:BAD"),
                ("Accept-Language", "en"),
                ("Authorization", "Bearer rule"),
            ]),
            env,
        )
        .unwrap();
        let https = "https://www.bilibili.com/video/1";
        let got = sent(&parsed, https, &[("accept-language", "zh-CN")], None);
        assert_eq!(got["cookie"], "buvid3=abc");
        assert!(got["cookie"].is_sensitive());
        // The tool's default language gives way; the rule's token is added.
        assert_eq!(got["accept-language"], "en");
        assert_eq!(got["authorization"], "Bearer rule");
        // Unset, empty or unsendable in the environment: not sent.
        for name in ["x-unset", "x-empty", "x-bad"] {
            assert!(got.get(name).is_none(), "{name}");
        }
        // A token the tool sends itself stays; the host's own cookies stay too.
        let got = sent(
            &parsed,
            https,
            &[("authorization", "Bearer tool")],
            Some("sid=1"),
        );
        assert_eq!(got["authorization"], "Bearer tool");
        assert_eq!(got["cookie"], "sid=1; buvid3=abc");
        // Over clear-text HTTP, nothing.
        assert!(sent(&parsed, "http://www.bilibili.com/video/1", &[], None).is_empty());
        // Shown as configured: the environment's values stay there.
        let shown = serde_json::to_string(&parsed).unwrap();
        assert_eq!(
            shown,
            r#"{"accept-language":"en","authorization":"Bearer rule","cookie":"env:SET","x-bad":"env:BAD","x-empty":"env:EMPTY","x-unset":"env:UNSET"}"#
        );
    }

    #[test]
    fn bad_names_the_tool_s_own_headers_duplicates_and_bad_values_are_refused() {
        for (pairs, says) in [
            (&[("Bad Name", "x")][..], "not a header name"),
            (&[("User-Agent", "x")][..], "user_agent"),
            (&[("Referer", "x")][..], "referers"),
            (&[("Host", "x")][..], "set by the tool"),
            (&[("Accept", "x")][..], "set by the tool"),
            (&[("Keep-Alive", "x")][..], "set by the tool"),
            (&[("If-None-Match", "x")][..], "--refresh"),
            (&[("Cookie", "a\nb")][..], "ASCII"),
            (&[("Cookie", "数据")][..], "ASCII"),
            (&[("Cookie", "env:")][..], "without a variable name"),
            (&[("Cookie", "a"), ("cookie", "b")][..], "given twice"),
        ] {
            let error = SiteHeaders::parse(headers(pairs), env).unwrap_err();
            assert!(error.contains(says), "{pairs:?}: {error}");
        }
    }
}
