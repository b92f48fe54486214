//! How a site rule shapes `fetch`: which URL is really asked for, with which
//! Referer, and what answer is a stand-in rather than the file.
//!
//! WeChat's image CDN answers a foreign Referer with a "not allowed to quote"
//! placeholder, serves a WebP transcode when the URL says `tp=webp` and a
//! 640-pixel copy at `/640`; arXiv links papers by their abstract page; GitHub by
//! its `blob` viewer. Each of these is data here, from `config.toml`.

use regex::Regex;
use serde::{Serialize, Serializer};
use url::Url;

/// A URL rewrite: a regular expression over the whole URL and its replacement
/// (`$1` for the first group).
#[derive(Debug, Clone)]
pub struct Rewrite {
    /// The pattern.
    pub pattern: Regex,
    /// The replacement.
    pub replacement: String,
}

impl Rewrite {
    /// Parses a `[pattern, replacement]` pair.
    ///
    /// # Errors
    /// A message naming the pattern when it is not a regular expression.
    pub fn parse(pattern: &str, replacement: &str) -> Result<Self, String> {
        Ok(Rewrite {
            pattern: Regex::new(pattern)
                .map_err(|e| format!("`{pattern}` is not a regular expression: {e}"))?,
            replacement: replacement.to_owned(),
        })
    }

    /// The rewritten URL, if the pattern matches and the result is a web URL.
    #[must_use]
    pub fn apply(&self, url: &Url) -> Option<Url> {
        if !self.pattern.is_match(url.as_str()) {
            return None;
        }
        let out = self
            .pattern
            .replace(url.as_str(), self.replacement.as_str());
        Url::parse(&out)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u != url)
    }
}

impl Serialize for Rewrite {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeTuple;
        let mut t = s.serialize_tuple(2)?;
        t.serialize_element(self.pattern.as_str())?;
        t.serialize_element(&self.replacement)?;
        t.end()
    }
}

/// What Referer to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Referer {
    /// None at all.
    None,
    /// This URL.
    Url(String),
}

impl Referer {
    /// `"none"` or an absolute URL.
    ///
    /// # Errors
    /// A message when it is neither.
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("none") {
            return Ok(Referer::None);
        }
        match Url::parse(s) {
            // Sent as the parsed URL is written: ASCII, as a header must be.
            Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(Referer::Url(u.to_string())),
            _ => Err(format!(
                "referer `{s}` is neither \"none\" nor an http(s) URL"
            )),
        }
    }

    /// The header value, if one is sent.
    #[must_use]
    pub fn header(&self) -> Option<&str> {
        match self {
            Referer::None => None,
            Referer::Url(u) => Some(u),
        }
    }
}

impl std::fmt::Display for Referer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Referer::None => f.write_str("no Referer"),
            Referer::Url(u) => write!(f, "Referer {u}"),
        }
    }
}

impl Serialize for Referer {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Referer::None => s.serialize_str("none"),
            Referer::Url(u) => s.serialize_str(u),
        }
    }
}

/// The fetch part of a site rule.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FetchRule {
    /// Rewrites applied before fetching; the first that matches is used (arXiv
    /// `/abs/` → `/pdf/`, GitHub `blob` → `raw`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rewrite: Vec<Rewrite>,
    /// Query parameters dropped before fetching (WeChat's `tp`, which asks for a
    /// WebP transcode).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub drop_query: Vec<String>,
    /// Better versions tried before the URL itself, falling back to it when they
    /// fail (WeChat's full-size `/0` before the 640-pixel `/640`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub prefer: Vec<Rewrite>,
    /// Referer policies, tried in turn while the answer is a placeholder; the
    /// first is used first. Empty: no Referer.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub referers: Vec<Referer>,
    /// sha256 of known placeholder pictures.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub placeholder_sha256: Vec<String>,
    /// Width and height of placeholder pictures.
    #[serde(skip_serializing_if = "Vec::is_empty", serialize_with = "sizes")]
    pub placeholder_size: Vec<(u32, u32)>,
    /// A foreign Referer that draws the placeholder: one request per run with it
    /// learns the placeholder's hash.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub placeholder_probe: Option<String>,
}

fn sizes<S: Serializer>(list: &[(u32, u32)], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(list.iter().map(|(w, h)| format!("{w}x{h}")))
}

/// Parses `WIDTHxHEIGHT`.
///
/// # Errors
/// A message with an example.
pub fn parse_size(s: &str) -> Result<(u32, u32), String> {
    let bad = || format!("`{s}` is not a picture size; write WIDTHxHEIGHT, e.g. 470x349");
    let (w, h) = s.trim().split_once(['x', 'X', '×']).ok_or_else(bad)?;
    Ok((
        w.trim().parse().map_err(|_| bad())?,
        h.trim().parse().map_err(|_| bad())?,
    ))
}

impl FetchRule {
    /// Whether the rule changes anything about fetching.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.rewrite.is_empty()
            && self.drop_query.is_empty()
            && self.prefer.is_empty()
            && self.referers.is_empty()
            && self.placeholder_sha256.is_empty()
            && self.placeholder_size.is_empty()
            && self.placeholder_probe.is_none()
    }

    /// The URL to fetch for `url`: rewritten, then stripped of dropped query
    /// parameters.
    #[must_use]
    pub fn target(&self, url: &Url) -> Url {
        let mut out = self
            .rewrite
            .iter()
            .find_map(|r| r.apply(url))
            .unwrap_or_else(|| url.clone());
        if let Some(query) = out.query().filter(|_| !self.drop_query.is_empty()) {
            // The other parameters stay byte for byte: a signed URL breaks if
            // its query is re-encoded.
            let kept: Vec<&str> = query
                .split('&')
                .filter(|part| {
                    let key = part.split('=').next().unwrap_or_default();
                    let key = percent_encoding::percent_decode_str(key).decode_utf8_lossy();
                    !self.drop_query.iter().any(|d| *d == key)
                })
                .collect();
            let kept = kept.join("&");
            out.set_query((!kept.is_empty()).then_some(kept.as_str()));
        }
        out
    }

    /// The URLs to try, best first: the preferred versions, then `target`.
    #[must_use]
    pub fn candidates(&self, target: &Url) -> Vec<Url> {
        let mut out: Vec<Url> = self.prefer.iter().filter_map(|r| r.apply(target)).collect();
        out.dedup();
        out.push(target.clone());
        out
    }

    /// The Referer policies to try, in order (at least one).
    #[must_use]
    pub fn referer_policies(&self) -> Vec<Referer> {
        if self.referers.is_empty() {
            vec![Referer::None]
        } else {
            self.referers.clone()
        }
    }

    /// Whether a body with this hash, or a picture of this size, is a known
    /// placeholder.
    #[must_use]
    pub fn is_placeholder(&self, sha256: &str, size: Option<(u32, u32)>) -> bool {
        self.placeholder_sha256
            .iter()
            .any(|h| h.eq_ignore_ascii_case(sha256))
            || size.is_some_and(|s| self.placeholder_size.contains(&s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wechat() -> FetchRule {
        FetchRule {
            drop_query: vec!["tp".into(), "wxfrom".into()],
            prefer: vec![Rewrite::parse(r"^(https?://[^?]+)/640(\?|$)", "$1/0$2").unwrap()],
            ..FetchRule::default()
        }
    }

    #[test]
    fn wechat_urls_lose_the_webp_request_and_try_the_original_first() {
        let rule = wechat();
        let url = Url::parse(
            "https://mmbiz.qpic.cn/mmbiz_png/abc/640?wx_fmt=png&tp=webp&wxfrom=5&wx_lazy=1",
        )
        .unwrap();
        let target = rule.target(&url);
        assert_eq!(
            target.as_str(),
            "https://mmbiz.qpic.cn/mmbiz_png/abc/640?wx_fmt=png&wx_lazy=1"
        );
        let tries: Vec<String> = rule
            .candidates(&target)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            tries,
            [
                "https://mmbiz.qpic.cn/mmbiz_png/abc/0?wx_fmt=png&wx_lazy=1",
                "https://mmbiz.qpic.cn/mmbiz_png/abc/640?wx_fmt=png&wx_lazy=1"
            ]
        );
        // Nothing to drop, nothing to prefer: the URL as written.
        let plain = Url::parse("https://mmbiz.qpic.cn/mmbiz_jpg/x/0").unwrap();
        assert_eq!(rule.target(&plain), plain);
        assert_eq!(rule.candidates(&plain), vec![plain.clone()]);
        let only_tp = Url::parse("https://mmbiz.qpic.cn/a/0?tp=webp").unwrap();
        assert_eq!(rule.target(&only_tp).as_str(), "https://mmbiz.qpic.cn/a/0");
        // What stays is byte for byte what was written: signatures survive.
        let signed =
            Url::parse("https://cdn.example/v.mp4?sig=a%2Fb~c:d&flag&tp=webp&e=1").unwrap();
        assert_eq!(
            rule.target(&signed).as_str(),
            "https://cdn.example/v.mp4?sig=a%2Fb~c:d&flag&e=1"
        );
    }

    #[test]
    fn arxiv_abstracts_and_github_blobs_become_files() {
        let arxiv = FetchRule {
            rewrite: vec![
                Rewrite::parse(
                    r"^https?://(?:www\.|export\.)?arxiv\.org/abs/([^?#]+?)(?:\.pdf)?/?(?:[?#].*)?$",
                    "https://arxiv.org/pdf/$1",
                )
                .unwrap(),
            ],
            ..FetchRule::default()
        };
        for (from, to) in [
            (
                "https://arxiv.org/abs/2207.02696",
                "https://arxiv.org/pdf/2207.02696",
            ),
            (
                "http://arxiv.org/abs/2207.02696v2",
                "https://arxiv.org/pdf/2207.02696v2",
            ),
            (
                "https://arxiv.org/abs/quant-ph/0112019",
                "https://arxiv.org/pdf/quant-ph/0112019",
            ),
            (
                "https://export.arxiv.org/abs/1706.03762?context=cs",
                "https://arxiv.org/pdf/1706.03762",
            ),
        ] {
            assert_eq!(
                arxiv.target(&Url::parse(from).unwrap()).as_str(),
                to,
                "{from}"
            );
        }
        let pdf = Url::parse("https://arxiv.org/pdf/2207.02696").unwrap();
        assert_eq!(arxiv.target(&pdf), pdf);
        let github = Rewrite::parse(
            r"^https://github\.com/([^/]+)/([^/]+)/blob/(.+)$",
            "https://github.com/$1/$2/raw/$3",
        )
        .unwrap();
        assert_eq!(
            github
                .apply(&Url::parse("https://github.com/o/r/blob/main/docs/a.png").unwrap())
                .unwrap()
                .as_str(),
            "https://github.com/o/r/raw/main/docs/a.png"
        );
    }

    #[test]
    fn referers_and_sizes_parse() {
        assert_eq!(Referer::parse("none").unwrap(), Referer::None);
        assert_eq!(
            Referer::parse("https://mp.weixin.qq.com/")
                .unwrap()
                .header(),
            Some("https://mp.weixin.qq.com/")
        );
        assert!(Referer::parse("mp.weixin.qq.com").is_err());
        assert_eq!(parse_size("470x349").unwrap(), (470, 349));
        assert!(parse_size("470").is_err());
        let rule = FetchRule {
            placeholder_sha256: vec!["AB".repeat(32)],
            placeholder_size: vec![(470, 349)],
            ..FetchRule::default()
        };
        assert!(rule.is_placeholder(&"ab".repeat(32), None));
        assert!(rule.is_placeholder("00", Some((470, 349))));
        assert!(!rule.is_placeholder("00", Some((640, 480))));
    }
}
