//! Site rules: what the tool knows about a host, as data from `config.toml`.
//!
//! The engine never names a host in code. A rule carries host patterns and what is
//! true of links to those hosts: their kind, how politely to ask (interval,
//! concurrency, method, User-Agent), and how to read the answer (markers of a
//! deleted page, of a bot wall, of a moved account). [`SiteRules::lookup`] picks
//! the most specific matching rule, so a user's rule for `gist.github.com` wins over
//! a shipped rule for `*.github.com` whatever the order of the files.

pub mod batch;
pub mod fetch;
pub mod headers;
pub mod titles;

use std::collections::HashMap;
use std::fmt;

use serde::{Serialize, Serializer};

use crate::link::Kind;

/// A host pattern: `example.com` (that host) or `*.example.com` (its subdomains).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostPattern {
    /// Exactly this host.
    Exact(String),
    /// Any host ending in `.` + this suffix.
    Subdomains(String),
}

impl HostPattern {
    /// Parses a pattern; hosts are compared in lowercase.
    ///
    /// # Errors
    /// A message naming the pattern when it is empty, has a wildcard anywhere but a
    /// leading `*.`, or contains characters no host name has.
    pub fn parse(pattern: &str) -> Result<Self, String> {
        let lower = pattern.trim().to_ascii_lowercase();
        let (wild, host) = match lower.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, lower.as_str()),
        };
        let valid = !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | ':' | '[' | ']'));
        if !valid {
            return Err(format!(
                "host pattern `{pattern}` is not a host name or `*.` followed by one"
            ));
        }
        Ok(if wild {
            HostPattern::Subdomains(host.to_owned())
        } else {
            HostPattern::Exact(host.to_owned())
        })
    }
}

impl fmt::Display for HostPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostPattern::Exact(h) => f.write_str(h),
            HostPattern::Subdomains(s) => write!(f, "*.{s}"),
        }
    }
}

impl Serialize for HostPattern {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Which request method to check with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// HEAD, falling back to GET when refused.
    Head,
    /// GET, reading a prefix of the body (pages whose text tells whether they live).
    Get,
}

impl std::str::FromStr for Method {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "head" => Ok(Method::Head),
            "get" => Ok(Method::Get),
            _ => Err(format!("method `{s}` is neither \"head\" nor \"get\"")),
        }
    }
}

/// Which User-Agent to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserAgent {
    /// `network.user_agent`, which names the tool.
    Tool,
    /// `network.browser_user_agent`, for hosts that turn away anything else.
    Browser,
    /// This exact string.
    Custom(String),
}

impl UserAgent {
    /// `"tool"`, `"browser"`, or a literal User-Agent.
    #[must_use]
    pub fn from_config(s: &str) -> Self {
        match s.trim() {
            "tool" => UserAgent::Tool,
            "browser" => UserAgent::Browser,
            other => UserAgent::Custom(other.to_owned()),
        }
    }
}

impl Serialize for UserAgent {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(match self {
            UserAgent::Tool => "tool",
            UserAgent::Browser => "browser",
            UserAgent::Custom(ua) => ua,
        })
    }
}

/// One site rule, resolved.
#[derive(Debug, Clone, Serialize)]
pub struct SiteRule {
    /// The rule's identity; a user file replaces a rule by reusing it.
    pub name: String,
    /// The hosts the rule applies to.
    pub hosts: Vec<HostPattern>,
    /// The kind of links to these hosts, if the rule decides it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<Kind>,
    /// The least time between the starts of two requests to one of these hosts.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "optional_duration"
    )]
    pub min_interval: Option<std::time::Duration>,
    /// Requests in flight at once to one of these hosts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_concurrency: Option<usize>,
    /// How to ask.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<Method>,
    /// Who to say is asking.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<UserAgent>,
    /// Request headers of the rule's own (a bot wall's cookies), sent to its
    /// hosts over HTTPS only.
    #[serde(skip_serializing_if = "headers::SiteHeaders::is_empty")]
    pub headers: headers::SiteHeaders,
    /// A CSS selector that matches only a live page (WeChat's `#js_content`): where
    /// it matches, the page is not searched for markers, so an article that
    /// quotes a notice is not mistaken for one.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "optional_selector"
    )]
    pub live_selector: Option<LiveSelector>,
    /// Page texts that mean the page is gone though it answers 200 (`soft-dead`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub gone_markers: Vec<String>,
    /// Titles or main headings of this site's not-found page (`soft-dead`),
    /// besides the ones every rule that reads pages knows (see [`titles`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub gone_titles: Vec<String>,
    /// Final URLs containing one of these mean the page is gone (`soft-dead`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub gone_redirects: Vec<String>,
    /// Page texts of a bot wall or rate-limit page (`blocked`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub blocked_markers: Vec<String>,
    /// Final URLs containing one of these are a bot wall (`blocked`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub blocked_redirects: Vec<String>,
    /// Statuses that mean a bot wall here (`blocked`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub blocked_status: Vec<u16>,
    /// Statuses that mean a signed link has run out (`expired`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub expired_status: Vec<u16>,
    /// Page texts that mean the page moved (`moved`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub moved_markers: Vec<String>,
    /// A regular expression whose first group, found in a moved page, is the new
    /// address.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "optional_regex"
    )]
    pub moved_target: Option<regex::Regex>,
    /// Flags every result for these hosts carries (e.g. `hotlink-protected`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
    /// How `fetch` asks for media on these hosts.
    #[serde(flatten, skip_serializing_if = "fetch::FetchRule::is_empty")]
    pub fetch: fetch::FetchRule,
    /// How `check` verifies these links many at a time through an API.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch: Option<batch::BatchRule>,
}

impl SiteRule {
    /// A rule that only names hosts and their kind.
    #[must_use]
    pub fn for_kind(name: &str, hosts: Vec<HostPattern>, kind: Option<Kind>) -> Self {
        SiteRule {
            name: name.to_owned(),
            hosts,
            kind,
            min_interval: None,
            host_concurrency: None,
            method: None,
            user_agent: None,
            headers: headers::SiteHeaders::default(),
            live_selector: None,
            gone_markers: Vec::new(),
            gone_titles: Vec::new(),
            gone_redirects: Vec::new(),
            blocked_markers: Vec::new(),
            blocked_redirects: Vec::new(),
            blocked_status: Vec::new(),
            expired_status: Vec::new(),
            moved_markers: Vec::new(),
            moved_target: None,
            flags: Vec::new(),
            fetch: fetch::FetchRule::default(),
            batch: None,
        }
    }

    /// Whether the rule looks for anything in a page's text: markers of a gone,
    /// walled or moved page, not-found titles, or a live page's selector.
    #[must_use]
    pub fn has_page_markers(&self) -> bool {
        self.live_selector.is_some()
            || !self.gone_markers.is_empty()
            || !self.gone_titles.is_empty()
            || !self.blocked_markers.is_empty()
            || !self.moved_markers.is_empty()
    }

    /// Whether links to these hosts are judged on their page's text: the rule
    /// has page markers, or asks for GET.
    #[must_use]
    pub fn reads_page(&self) -> bool {
        self.method == Some(Method::Get) || self.has_page_markers()
    }

    /// How `check` asks a link to these hosts: GET where the rule reads pages
    /// (HEAD cannot see a deletion notice), else the rule's method, else HEAD.
    #[must_use]
    pub fn probe_method(&self) -> Method {
        if self.reads_page() {
            Method::Get
        } else {
            self.method.unwrap_or(Method::Head)
        }
    }
}

#[allow(clippy::ref_option)] // the signature `serialize_with` requires
fn optional_duration<S: Serializer>(
    d: &Option<std::time::Duration>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_str(&crate::units::format_duration(*d)),
        None => s.serialize_none(),
    }
}

/// A parsed CSS selector and the text it was parsed from.
#[derive(Debug, Clone)]
pub struct LiveSelector {
    /// As written in the configuration.
    pub text: String,
    /// Parsed.
    pub selector: scraper::Selector,
}

impl LiveSelector {
    /// Parses a CSS selector.
    ///
    /// # Errors
    /// A message naming the selector when it does not parse.
    pub fn parse(text: &str) -> Result<Self, String> {
        scraper::Selector::parse(text)
            .map(|selector| LiveSelector {
                text: text.to_owned(),
                selector,
            })
            .map_err(|e| format!("`{text}` is not a CSS selector: {e}"))
    }

    /// Whether `html` has an element the selector matches.
    #[must_use]
    pub fn matches(&self, html: &str) -> bool {
        self.matches_in(&scraper::Html::parse_document(html))
    }

    /// Whether a parsed page has an element the selector matches.
    #[must_use]
    pub fn matches_in(&self, page: &scraper::Html) -> bool {
        page.select(&self.selector).next().is_some()
    }
}

#[allow(clippy::ref_option)] // the signature `serialize_with` requires
fn optional_selector<S: Serializer>(s_: &Option<LiveSelector>, s: S) -> Result<S::Ok, S::Error> {
    match s_ {
        Some(sel) => s.serialize_str(&sel.text),
        None => s.serialize_none(),
    }
}

#[allow(clippy::ref_option)] // the signature `serialize_with` requires
fn optional_regex<S: Serializer>(r: &Option<regex::Regex>, s: S) -> Result<S::Ok, S::Error> {
    match r {
        Some(r) => s.serialize_str(r.as_str()),
        None => s.serialize_none(),
    }
}

/// All site rules in effect.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(transparent)]
pub struct SiteRules {
    rules: Vec<SiteRule>,
    /// Not-found titles every rule that reads pages knows (`pages.gone_titles`,
    /// shown there by the configuration).
    #[serde(skip)]
    gone_titles: Vec<String>,
    /// Titles of a sign-in page every rule that reads pages knows
    /// (`pages.login_titles`).
    #[serde(skip)]
    login_titles: Vec<String>,
    /// Exact host → the first rule naming it: most lookups end here.
    #[serde(skip)]
    exact: HashMap<String, usize>,
    /// (suffix, rule) for every wildcard pattern.
    #[serde(skip)]
    wildcards: Vec<(String, usize)>,
}

impl SiteRules {
    /// Wraps resolved rules (already merged by name).
    #[must_use]
    pub fn new(rules: Vec<SiteRule>) -> Self {
        let mut exact = HashMap::new();
        let mut wildcards = Vec::new();
        for (i, rule) in rules.iter().enumerate() {
            for pattern in &rule.hosts {
                match pattern {
                    HostPattern::Exact(host) => {
                        exact.entry(host.clone()).or_insert(i);
                    }
                    HostPattern::Subdomains(suffix) => wildcards.push((suffix.clone(), i)),
                }
            }
        }
        Self {
            rules,
            gone_titles: Vec::new(),
            login_titles: Vec::new(),
            exact,
            wildcards,
        }
    }

    /// These rules, where every rule that reads pages also knows `gone` as
    /// titles of a not-found page and `login` as titles of a sign-in page.
    #[must_use]
    pub fn with_page_titles(mut self, gone: &[String], login: &[String]) -> Self {
        self.gone_titles = gone.to_vec();
        self.login_titles = login.to_vec();
        self
    }

    /// The titles that say what a page on `rule`'s hosts is: the rule's own
    /// not-found titles, then the ones every rule that reads pages knows;
    /// none for a rule that does not read pages.
    #[must_use]
    pub fn page_titles<'a>(&'a self, rule: &'a SiteRule) -> titles::PageTitles<'a> {
        if !rule.reads_page() {
            return titles::PageTitles::default();
        }
        titles::PageTitles {
            gone: rule
                .gone_titles
                .iter()
                .chain(&self.gone_titles)
                .map(String::as_str)
                .collect(),
            login: self.login_titles.iter().map(String::as_str).collect(),
        }
    }

    /// The rules, in configuration order.
    #[must_use]
    pub fn rules(&self) -> &[SiteRule] {
        &self.rules
    }

    /// The most specific rule whose patterns match `host` (already lowercase, as a
    /// parsed URL's host is). Ties go to the rule listed first.
    #[must_use]
    pub fn lookup(&self, host: &str) -> Option<&SiteRule> {
        let host = host.strip_suffix('.').unwrap_or(host);
        if let Some(&i) = self.exact.get(host) {
            return self.rules.get(i);
        }
        // The longest matching suffix wins; on a tie, the rule listed first.
        let mut best: Option<(usize, usize)> = None;
        for (suffix, i) in &self.wildcards {
            let matches = host
                .strip_suffix(suffix.as_str())
                .is_some_and(|head| head.len() > 1 && head.ends_with('.'));
            if matches
                && best.is_none_or(|(len, j)| suffix.len() > len || (suffix.len() == len && *i < j))
            {
                best = Some((suffix.len(), *i));
            }
        }
        best.and_then(|(_, i)| self.rules.get(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(name: &str, hosts: &[&str], kind: Kind) -> SiteRule {
        SiteRule::for_kind(
            name,
            hosts
                .iter()
                .map(|h| HostPattern::parse(h).unwrap())
                .collect(),
            Some(kind),
        )
    }

    #[test]
    fn exact_patterns_match_only_their_host() {
        let rules = SiteRules::new(vec![rule("a", &["github.com"], Kind::Code)]);
        assert!(rules.lookup("github.com").is_some());
        assert!(rules.lookup("github.com.").is_some());
        assert!(rules.lookup("zju3dv.github.io").is_none());
        assert!(rules.lookup("notgithub.com").is_none());
        assert!(rules.lookup("api.github.com").is_none());
    }

    #[test]
    fn wildcards_match_subdomains_but_not_the_apex() {
        let rules = SiteRules::new(vec![rule("z", &["*.zhihu.com"], Kind::Article)]);
        assert!(rules.lookup("zhuanlan.zhihu.com").is_some());
        assert!(rules.lookup("a.b.zhihu.com").is_some());
        assert!(rules.lookup("zhihu.com").is_none());
        assert!(rules.lookup("xzhihu.com").is_none());
    }

    #[test]
    fn the_most_specific_rule_wins_regardless_of_order() {
        let rules = SiteRules::new(vec![
            rule("wide", &["*.example.com"], Kind::Code),
            rule("narrow", &["*.cdn.example.com"], Kind::Image),
            rule("exact", &["docs.example.com"], Kind::Page),
        ]);
        assert_eq!(rules.lookup("x.cdn.example.com").unwrap().name, "narrow");
        assert_eq!(rules.lookup("docs.example.com").unwrap().name, "exact");
        assert_eq!(rules.lookup("www.example.com").unwrap().name, "wide");
    }

    #[test]
    fn a_rule_that_reads_pages_is_asked_with_get() {
        let mut r = rule("a", &["a.example"], Kind::Article);
        assert_eq!(r.probe_method(), Method::Head);
        r.method = Some(Method::Get);
        assert_eq!(r.probe_method(), Method::Get);
        r.method = None;
        r.gone_markers = vec!["gone".into()];
        assert!(r.reads_page());
        assert_eq!(r.probe_method(), Method::Get, "markers need the page");
        r.gone_markers.clear();
        r.live_selector = Some(LiveSelector::parse("#main").unwrap());
        assert_eq!(r.probe_method(), Method::Get);
    }

    #[test]
    fn bad_patterns_are_refused_with_the_pattern_named() {
        for bad in ["", "*.", "exa mple.com", "a.*.com", "http://x.com"] {
            let err = HostPattern::parse(bad).unwrap_err();
            assert!(err.contains(bad), "{err}");
        }
        assert_eq!(
            HostPattern::parse("Mp.Weixin.QQ.com").unwrap(),
            HostPattern::Exact("mp.weixin.qq.com".into())
        );
    }
}
