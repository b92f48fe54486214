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

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::{Serialize, Serializer};

/// Headers the tool sets itself, each with the setting that controls it.
const OWN: &[(&str, &str)] = &[
    ("host", "the URL"),
    ("content-length", "nothing: requests have no body"),
    ("transfer-encoding", "nothing: requests have no body"),
    ("connection", "nothing: connections are managed by the tool"),
    ("user-agent", "the rule's `user_agent`"),
    ("referer", "the rule's `referers`"),
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
    /// the tool sets itself, or its value cannot be sent (a line break).
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
            let (source, value) = match value.strip_prefix("env:") {
                Some(var) => {
                    let var = var.trim().to_owned();
                    if var.is_empty() {
                        return Err(format!(
                            "headers: `{name}` says `env:` without a variable name"
                        ));
                    }
                    let value = env(&var);
                    if value.is_none() {
                        tracing::debug!("headers: ${var} is unset; `{name}` is not sent");
                    }
                    (Source::Env(var), value)
                }
                None => (Source::Literal(value.clone()), Some(value)),
            };
            if let Some(value) = value {
                let mut value = HeaderValue::from_str(value.trim()).map_err(|_| {
                    format!("headers: the value of `{name}` cannot be sent (a line break or a control character)")
                })?;
                value.set_sensitive(true);
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

    /// The headers to send with a request to `url`, one of the rule's hosts:
    /// none unless the request goes over HTTPS.
    #[must_use]
    pub fn for_url(&self, url: &url::Url) -> Option<&HeaderMap> {
        (url.scheme() == "https" && !self.sent.is_empty()).then_some(&self.sent)
    }
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
        (var == "SET").then(|| "buvid3=abc".to_owned())
    }

    #[test]
    fn literal_and_environment_values_are_sent_over_https_only() {
        let parsed = SiteHeaders::parse(
            headers(&[
                ("Cookie", "env:SET"),
                ("X-Token", "env:UNSET"),
                ("Accept-Language", "zh-CN"),
            ]),
            env,
        )
        .unwrap();
        let https = url::Url::parse("https://www.bilibili.com/video/1").unwrap();
        let sent = parsed.for_url(&https).unwrap();
        assert_eq!(sent["cookie"], "buvid3=abc");
        assert_eq!(sent["accept-language"], "zh-CN");
        assert!(sent.get("x-token").is_none());
        assert!(sent["cookie"].is_sensitive());
        let http = url::Url::parse("http://www.bilibili.com/video/1").unwrap();
        assert!(parsed.for_url(&http).is_none());
        // Shown as configured: the environment's values stay there.
        let shown = serde_json::to_string(&parsed).unwrap();
        assert_eq!(
            shown,
            r#"{"accept-language":"zh-CN","cookie":"env:SET","x-token":"env:UNSET"}"#
        );
    }

    #[test]
    fn bad_names_the_tool_s_own_headers_and_line_breaks_are_refused() {
        for (name, value, says) in [
            ("Bad Name", "x", "not a header name"),
            ("User-Agent", "x", "user_agent"),
            ("Referer", "x", "referers"),
            ("Host", "x", "set by the tool"),
            ("Cookie", "a\nb", "cannot be sent"),
            ("Cookie", "env:", "without a variable name"),
        ] {
            let error = SiteHeaders::parse(headers(&[(name, value)]), env).unwrap_err();
            assert!(error.contains(says), "{name}: {error}");
        }
    }
}
