//! From what a server did to a verdict a person can act on.
//!
//! Status codes are evidence, not verdicts: a WeChat article deleted years ago
//! answers 200, a live zhihu answer 403 to a tool, and a signed video link 403 once
//! its signature runs out. Site rules carry what each host's answers mean (page
//! markers, redirect targets, statuses); this module applies them.

use std::cell::OnceCell;
use std::sync::LazyLock;

use url::Url;

use crate::net::pool::Refusal;
use crate::net::probe::{Failure, Outcome, Response};
use crate::sites::titles::{self, PageTitles};
use crate::sites::{SiteRule, SiteRules};
use crate::verdict::Verdict;

/// The verdict on one URL, with what supports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judgement {
    /// The verdict.
    pub verdict: Verdict,
    /// The final HTTP status, if there was an answer.
    pub status: Option<u16>,
    /// Where redirects ended, when that is not the URL asked.
    pub final_url: Option<String>,
    /// The successor a moved page names.
    pub moved_to: Option<String>,
    /// Why, in words.
    pub reason: Option<String>,
    /// Facts about the target (e.g. `hotlink-protected`).
    pub flags: Vec<String>,
    /// How long the final answer took to come, when the network gave one.
    pub answered_in: Option<std::time::Duration>,
}

impl Judgement {
    /// A verdict with its reason and nothing else.
    #[must_use]
    pub fn new(verdict: Verdict, reason: impl Into<Option<String>>) -> Self {
        Judgement {
            verdict,
            status: None,
            final_url: None,
            moved_to: None,
            reason: reason.into(),
            flags: Vec::new(),
            answered_in: None,
        }
    }
}

/// Judges the outcome of asking `url`.
#[must_use]
pub fn judge(url: &Url, outcome: &Outcome, sites: &SiteRules) -> Judgement {
    // Requests to the last URL asked with the last method (redirect hops before
    // it, and a HEAD that was refused, are not attempts).
    let last = outcome.hops.last().map(|h| (&h.url, h.method));
    let attempts = outcome
        .hops
        .iter()
        .filter(|h| Some((&h.url, h.method)) == last)
        .count();
    let rule_of = |u: &Url| u.host_str().and_then(|h| sites.lookup(h));
    let start_rule = rule_of(url);
    let mut judgement = match &outcome.result {
        Err(failure) => judge_failure(failure, attempts),
        Ok(response) => {
            let final_rule = rule_of(&response.url);
            let said = final_rule.map(|r| sites.page_titles(r)).unwrap_or_default();
            let rules = (start_rule, final_rule, &said);
            let mut j = judge_response(url, response, rules, attempts);
            j.status = Some(response.status);
            j.answered_in = outcome.hops.iter().rev().find_map(|h| h.took);
            if response.url != *url {
                j.final_url = Some(response.url.to_string());
            }
            if let Some(rule) = final_rule {
                j.flags.extend(rule.flags.iter().cloned());
            }
            j
        }
    };
    if let Some(rule) = start_rule {
        judgement.flags.extend(rule.flags.iter().cloned());
    }
    judgement.flags.sort();
    judgement.flags.dedup();
    judgement
}

fn judge_failure(failure: &Failure, attempts: usize) -> Judgement {
    let tries = if attempts > 1 {
        format!(" ({attempts} attempts)")
    } else {
        String::new()
    };
    let (verdict, reason) = match failure {
        Failure::NoSuchHost(m) => (Verdict::Dead, format!("no such host: {m}")),
        Failure::Resolve(m) => (Verdict::Error, format!("{m}{tries}")),
        Failure::Refused(m) => (Verdict::Dead, format!("connection refused{tries}: {m}")),
        Failure::Reset(m) => (Verdict::Error, format!("connection broken{tries}: {m}")),
        Failure::Connect(m) => (Verdict::Error, format!("cannot connect{tries}: {m}")),
        Failure::Tls(m) => (Verdict::Error, format!("TLS: {m}")),
        Failure::Timeout => (Verdict::Timeout, format!("no answer in time{tries}")),
        Failure::Deadline => (
            Verdict::Timeout,
            "gave up: the URL took longer than its deadline".to_owned(),
        ),
        Failure::TooManyRedirects(n) => (Verdict::Dead, format!("more than {} redirects", n - 1)),
        Failure::RedirectLoop(u) => (Verdict::Dead, format!("redirect loop back to {u}")),
        Failure::BadRedirect(m) => (Verdict::Error, format!("bad redirect: {m}")),
        Failure::PrivateRedirect(m) => (
            Verdict::Error,
            format!(
                "redirect to a private address refused: {m}; set network.allow_private_redirects = true to follow it"
            ),
        ),
        Failure::HostRefused(left, Refusal::LongPause) => (
            Verdict::Blocked,
            format!(
                "not asked: the host asked to be left alone for another {}s (Retry-After), longer than the run may wait",
                left.as_secs()
            ),
        ),
        Failure::HostRefused(left, Refusal::TooManyPauses(pauses)) => (
            Verdict::Blocked,
            format!(
                "not asked: the host answered 429 or 503 with a Retry-After {pauses} times, so the run gave up on it for {}s",
                left.as_secs().max(1)
            ),
        ),
        Failure::RateLimited => (
            Verdict::Blocked,
            "rate limited: the host asked for a pause (Retry-After) that outlasted this URL's deadline".to_owned(),
        ),
        Failure::Cancelled => (
            Verdict::Error,
            "not checked: the run was stopped".to_owned(),
        ),
        Failure::Other(m) => (Verdict::Error, m.clone()),
    };
    Judgement::new(verdict, reason)
}

/// The rules of the URL asked and of the one that answered, and the titles
/// that say what the latter's pages are.
type Rules<'a> = (
    Option<&'a SiteRule>,
    Option<&'a SiteRule>,
    &'a PageTitles<'a>,
);

fn judge_response(
    url: &Url,
    response: &Response,
    (start_rule, final_rule, said): Rules<'_>,
    attempts: usize,
) -> Judgement {
    let status = response.status;
    let rules = || start_rule.into_iter().chain(final_rule);
    let final_url = response.url.as_str();
    if response
        .header("cf-mitigated")
        .is_some_and(|v| v.eq_ignore_ascii_case("challenge"))
    {
        return Judgement::new(
            Verdict::Blocked,
            "Cloudflare challenge (cf-mitigated: challenge)".to_owned(),
        );
    }
    if let Some(m) = rules()
        .flat_map(|r| &r.blocked_redirects)
        .find(|m| final_url.contains(m.as_str()))
    {
        return Judgement::new(
            Verdict::Blocked,
            format!("sent to a verification page ({m})"),
        );
    }
    if let Some(m) = rules()
        .flat_map(|r| &r.gone_redirects)
        .find(|m| final_url.contains(m.as_str()))
    {
        return Judgement::new(
            Verdict::SoftDead,
            format!("redirected to the site's page for removed content ({m})"),
        );
    }
    match status {
        200..=299 => judge_page(url, response, final_rule, said),
        404 | 410 => Judgement::new(Verdict::Dead, format!("HTTP {status}")),
        429 | 503 if response.waited_too_long => Judgement::new(
            Verdict::Blocked,
            format!(
                "rate limited: HTTP {status} asking to come back later than the run may wait (Retry-After)"
            ),
        ),
        429 => Judgement::new(
            Verdict::Blocked,
            format!("rate limited: HTTP 429 after {attempts} attempts"),
        ),
        s if final_rule.is_some_and(|r| r.expired_status.contains(&s)) => Judgement::new(
            Verdict::Expired,
            format!("HTTP {s}: the signed link has expired"),
        ),
        s if final_rule.is_some_and(|r| r.blocked_status.contains(&s)) => Judgement::new(
            Verdict::Blocked,
            format!("HTTP {s}: the site turns away tools (a bot wall, not a dead link)"),
        ),
        401 | 403 | 418 | 451 => Judgement::new(
            Verdict::Blocked,
            format!("HTTP {status}: access refused (a bot wall or a login, not a dead link)"),
        ),
        500..=599 => Judgement::new(
            Verdict::Error,
            format!("HTTP {status} after {attempts} attempts"),
        ),
        300..=399 => Judgement::new(
            Verdict::Error,
            format!("HTTP {status} without a Location to follow"),
        ),
        _ => Judgement::new(Verdict::Error, format!("HTTP {status}")),
    }
}

/// A 2xx page: read it for the site's markers.
fn judge_page(
    url: &Url,
    response: &Response,
    rule: Option<&SiteRule>,
    said: &PageTitles<'_>,
) -> Judgement {
    let redirected = response.url != *url;
    if let Some(rule) = rule
        && !response.body.is_empty()
    {
        let text = String::from_utf8_lossy(&response.body);
        // Parsed once, and only when a selector or the titles need it.
        let page = OnceCell::new();
        let page = || page.get_or_init(|| scraper::Html::parse_document(&text));
        if rule
            .live_selector
            .as_ref()
            .is_some_and(|s| s.matches_in(page()))
        {
            return if redirected {
                Judgement::new(Verdict::Redirected, None)
            } else {
                Judgement::new(Verdict::Ok, None)
            };
        }
        if let Some(m) = rule
            .blocked_markers
            .iter()
            .find(|m| text.contains(m.as_str()))
        {
            return Judgement::new(
                Verdict::Blocked,
                format!("the site answered with a verification page («{m}»)"),
            );
        }
        if let Some(m) = rule.gone_markers.iter().find(|m| text.contains(m.as_str())) {
            return Judgement::new(Verdict::SoftDead, format!("the page says «{m}»"));
        }
        if !said.gone.is_empty()
            && let Some(seen) = not_found_title(page(), &said.gone)
        {
            return Judgement::new(Verdict::SoftDead, seen);
        }
        if !said.login.is_empty()
            && let Some(title) = page_title(page())
            && titles::in_title(&said.login, &title).is_some()
        {
            return Judgement::new(
                Verdict::Blocked,
                format!(
                    "a sign-in page, not the content: the page is titled «{}»",
                    shown(&title)
                ),
            );
        }
        if let Some(m) = rule
            .moved_markers
            .iter()
            .find(|m| text.contains(m.as_str()))
        {
            let moved_to = rule
                .moved_target
                .as_ref()
                .and_then(|re| re.captures(&text))
                .and_then(|c| c.get(1))
                .map(|m| m.as_str().replace("\\x26amp;", "&").replace("&amp;", "&"));
            return Judgement {
                moved_to,
                ..Judgement::new(Verdict::Moved, format!("the page says «{m}»"))
            };
        }
    }
    if redirected {
        Judgement::new(Verdict::Redirected, None)
    } else {
        Judgement::new(Verdict::Ok, None)
    }
}

/// What shows a parsed page to be a not-found page, in words: its title, or
/// its main heading (the first `h1`, else the first heading) where that is not
/// the title's own words (a live post's heading repeats its title).
fn not_found_title(page: &scraper::Html, phrases: &[&str]) -> Option<String> {
    static H1: LazyLock<scraper::Selector> =
        LazyLock::new(|| scraper::Selector::parse("h1").expect("a valid selector"));
    static HEADING: LazyLock<scraper::Selector> = LazyLock::new(|| {
        scraper::Selector::parse("h1, h2, h3, h4, h5, h6").expect("a valid selector")
    });
    let text_of = |e: scraper::ElementRef<'_>| e.text().collect::<String>();
    let title = page_title(page);
    if let Some(title) = &title
        && titles::in_title(phrases, title).is_some()
    {
        return Some(format!("the page is titled «{}»", shown(title)));
    }
    let heading = page
        .select(&H1)
        .next()
        .or_else(|| page.select(&HEADING).next())
        .map(text_of)?;
    let own_title = title.is_some_and(|t| {
        let h = titles::normalize(&heading);
        !h.is_empty() && titles::normalize(&t).contains(&h)
    });
    (!own_title && titles::in_heading(phrases, &heading).is_some())
        .then(|| format!("the page's heading says «{}»", shown(&heading)))
}

/// The text of a parsed page's `<title>`.
fn page_title(page: &scraper::Html) -> Option<String> {
    static TITLE: LazyLock<scraper::Selector> =
        LazyLock::new(|| scraper::Selector::parse("head > title").expect("a valid selector"));
    page.select(&TITLE).next().map(|e| e.text().collect())
}

/// A title or heading as a reason shows it: spacing collapsed, cut short.
fn shown(text: &str) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match text.char_indices().nth(80) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;
    use crate::net::probe::Hop;
    use reqwest::header::{HeaderMap, HeaderValue};

    fn outcome(
        url: &str,
        final_url: &str,
        status: u16,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Outcome {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.insert(
                reqwest::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        Outcome {
            hops: vec![Hop {
                url: Url::parse(url).unwrap(),
                method: "GET",
                status: Some(status),
                redirect_headers: None,
                took: Some(std::time::Duration::from_millis(30)),
            }],
            result: Ok(Response {
                status,
                url: Url::parse(final_url).unwrap(),
                headers: map,
                body: body.as_bytes().to_vec(),
                waited_too_long: false,
            }),
        }
    }

    fn verdict_of(
        url: &str,
        final_url: &str,
        status: u16,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Judgement {
        let settings = Settings::shipped().unwrap();
        judge(
            &Url::parse(url).unwrap(),
            &outcome(url, final_url, status, headers, body),
            &settings.sites,
        )
    }

    #[test]
    fn wechat_pages_are_read_for_what_they_say() {
        let live = verdict_of(
            "https://mp.weixin.qq.com/s/a",
            "https://mp.weixin.qq.com/s/a",
            200,
            &[],
            "<div id=\"js_content\">正文</div>",
        );
        assert_eq!(live.verdict, Verdict::Ok);
        let gone = verdict_of(
            "https://mp.weixin.qq.com/s/a",
            "https://mp.weixin.qq.com/s/a",
            200,
            &[],
            "<div class=\"weui-msg\">该内容已被发布者删除</div>",
        );
        assert_eq!(gone.verdict, Verdict::SoftDead);
        assert!(gone.reason.unwrap().contains("该内容已被发布者删除"));
        let quoted = verdict_of(
            "https://mp.weixin.qq.com/s/a",
            "https://mp.weixin.qq.com/s/a",
            200,
            &[],
            "<div id=\"js_content\">作者说：该内容已被发布者删除 是常见提示；当前环境异常，完成验证后即可继续访问</div>",
        );
        assert_eq!(
            quoted.verdict,
            Verdict::Ok,
            "a live article quoting the notices"
        );
        let wall = verdict_of(
            "https://mp.weixin.qq.com/s/a",
            "https://mp.weixin.qq.com/s/a",
            200,
            &[],
            "当前环境异常，完成验证后即可继续访问",
        );
        assert_eq!(wall.verdict, Verdict::Blocked);
        let captcha = verdict_of(
            "https://mp.weixin.qq.com/s/a",
            "https://mp.weixin.qq.com/mp/wappoc_appmsgcaptcha?poc_token=x",
            200,
            &[],
            "",
        );
        assert_eq!(captcha.verdict, Verdict::Blocked);
        let moved = verdict_of(
            "https://mp.weixin.qq.com/s/a",
            "https://mp.weixin.qq.com/s/a",
            200,
            &[],
            "该公众号已迁移 <script>var transferTargetLink = 'https://mp.weixin.qq.com/s/new';</script>",
        );
        assert_eq!(moved.verdict, Verdict::Moved);
        assert_eq!(
            moved.moved_to.as_deref(),
            Some("https://mp.weixin.qq.com/s/new")
        );
    }

    #[test]
    fn a_page_titled_as_not_found_is_soft_dead_where_pages_are_read() {
        let csdn = "https://blog.csdn.net/a/article/details/1";
        let page = |body: &str| verdict_of(csdn, csdn, 200, &[], body);
        let gone = page(
            "<html><head><title>404</title></head><body><div>您访问的页面不存在或已被删除</div></body></html>",
        );
        assert_eq!(gone.verdict, Verdict::SoftDead);
        assert_eq!(gone.reason.as_deref(), Some("the page is titled «404»"));
        let heading = page("<title>CSDN</title><h2>抱歉，您访问的页面不存在或者已被删除</h2>");
        assert_eq!(heading.verdict, Verdict::SoftDead, "{heading:?}");
        assert!(heading.reason.unwrap().contains("heading"));
        // Posts about 404 errors, their heading their own title.
        for live in [
            "<title>404 Not Found_someone的博客-CSDN博客</title><h1>404 Not Found</h1><p>nginx 404</p>",
            "<title>404 Not Found 的排查 - CSDN</title><h1>404 Not Found 的排查</h1>",
            "<title>404</title><div id=\"content_views\">a post titled 404</div>",
        ] {
            assert_eq!(page(live).verdict, Verdict::Ok, "{live}");
        }
        // A host whose rule does not read pages, and one with no rule.
        for url in ["https://mmbiz.qpic.cn/a/640", "https://example.org/x"] {
            let j = verdict_of(url, url, 200, &[], "<title>404</title>");
            assert_eq!(j.verdict, Verdict::Ok, "{url}");
        }
    }

    #[test]
    fn a_sign_in_page_is_blocked_not_live() {
        let csdn = "https://blog.csdn.net/a/article/details/1";
        // The post redirected to the sign-in page, or answering with it.
        for (final_url, title) in [
            ("https://blog.csdn.net/login?from=post", "登录 - CSDN"),
            (csdn, "Sign in · CSDN"),
        ] {
            let j = verdict_of(
                csdn,
                final_url,
                200,
                &[],
                &format!(
                    "<html><head><title>{title}</title></head><body><form><input type=password></form></body></html>"
                ),
            );
            assert_eq!(j.verdict, Verdict::Blocked, "{title}: {j:?}");
            assert!(j.reason.unwrap().contains("sign-in page"), "{title}");
        }
        // A post about signing in, and a live post whatever its title says.
        for live in [
            "<title>OAuth 登录流程详解_someone的博客-CSDN博客</title>",
            "<title>登录</title><div id=\"content_views\">正文</div>",
        ] {
            assert_eq!(
                verdict_of(csdn, csdn, 200, &[], live).verdict,
                Verdict::Ok,
                "{live}"
            );
        }
        // Where pages are not read, a title says nothing.
        let j = verdict_of(
            "https://example.org/x",
            "https://example.org/x",
            200,
            &[],
            "<title>Login</title>",
        );
        assert_eq!(j.verdict, Verdict::Ok);
    }

    #[test]
    fn statuses_mean_what_the_site_makes_them_mean() {
        let v = |url: &str, status: u16| verdict_of(url, url, status, &[], "").verdict;
        assert_eq!(v("https://example.org/x", 404), Verdict::Dead);
        assert_eq!(v("https://example.org/x", 410), Verdict::Dead);
        assert_eq!(v("https://example.org/x", 403), Verdict::Blocked);
        assert_eq!(
            v("https://www.bilibili.com/video/BV1", 412),
            Verdict::Blocked
        );
        assert_eq!(v("https://zhuanlan.zhihu.com/p/1", 403), Verdict::Blocked);
        assert_eq!(
            v("http://mpvideo.qpic.cn/v.mp4?dis_k=1", 403),
            Verdict::Expired
        );
        assert_eq!(v("https://example.org/x", 429), Verdict::Blocked);
        assert_eq!(v("https://example.org/x", 500), Verdict::Error);
        assert_eq!(v("https://example.org/x", 412), Verdict::Error);
        let cf = verdict_of(
            "https://example.org/x",
            "https://example.org/x",
            403,
            &[("cf-mitigated", "challenge")],
            "",
        );
        assert!(cf.reason.unwrap().contains("Cloudflare"));
        let csdn = verdict_of(
            "https://blog.csdn.net/a/article/details/1",
            "https://blog.csdn.net/error/404.html?from=x",
            200,
            &[],
            "",
        );
        assert_eq!(csdn.verdict, Verdict::SoftDead);
    }

    #[test]
    fn redirects_and_flags_are_reported() {
        let j = verdict_of(
            "https://example.org/a",
            "https://example.org/b",
            200,
            &[],
            "",
        );
        assert_eq!(j.verdict, Verdict::Redirected);
        assert_eq!(j.final_url.as_deref(), Some("https://example.org/b"));
        let img = verdict_of(
            "https://mmbiz.qpic.cn/a/640",
            "https://mmbiz.qpic.cn/a/640",
            200,
            &[],
            "",
        );
        assert_eq!(img.flags, ["hotlink-protected"]);
    }

    #[test]
    fn failures_become_verdicts() {
        let settings = Settings::shipped().unwrap();
        let url = Url::parse("https://gone.example/").unwrap();
        let v = |failure: Failure| {
            judge(
                &url,
                &Outcome {
                    hops: Vec::new(),
                    result: Err(failure),
                },
                &settings.sites,
            )
            .verdict
        };
        assert_eq!(v(Failure::NoSuchHost("x".into())), Verdict::Dead);
        assert_eq!(v(Failure::Refused("x".into())), Verdict::Dead);
        assert_eq!(v(Failure::RedirectLoop("x".into())), Verdict::Dead);
        assert_eq!(v(Failure::TooManyRedirects(11)), Verdict::Dead);
        assert_eq!(v(Failure::Timeout), Verdict::Timeout);
        assert_eq!(v(Failure::Tls("expired".into())), Verdict::Error);
        assert_eq!(v(Failure::Resolve("x".into())), Verdict::Error);
    }
}
