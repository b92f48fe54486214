//! URLs in running text, the way GitHub links them: anything with a scheme
//! (`https://…`), anything starting `www.`, and email addresses. The end of a URL
//! follows GitHub's rules (trailing punctuation is not part of it, parentheses must
//! balance), which the `linkify` crate implements, with one departure: a URL ends
//! at CJK or full-width punctuation (`，。：）` …). GitHub would run on into
//! `…/repo，欢迎`, but no author means that, and checking it would raise a false alarm.

use std::ops::Range;

use linkify::{LinkFinder, LinkKind};

/// What a bare link looks like, which decides how it is turned into a URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BareKind {
    /// It has a scheme: the text is the URL.
    Url,
    /// It starts with `www.`: the URL is `http://` + the text, as GitHub makes it.
    Www,
    /// An email address: the URL is `mailto:` + the text.
    Email,
}

impl BareKind {
    /// The URL a reader's click leads to.
    #[must_use]
    pub fn target(self, text: &str) -> String {
        match self {
            BareKind::Url => text.to_owned(),
            BareKind::Www => format!("http://{text}"),
            BareKind::Email => format!("mailto:{text}"),
        }
    }
}

/// Finds bare links in `text`, calling `found` with each one's byte range (within
/// `text`) in order.
pub fn find_bare(text: &str, mut found: impl FnMut(Range<usize>, BareKind)) {
    let mut with_scheme = LinkFinder::new();
    with_scheme.url_must_have_scheme(true);
    let mut taken_until = 0;
    let mut links = with_scheme.links(text).peekable();
    let mut www = text.match_indices("www.").map(|(at, _)| at).peekable();

    loop {
        // Merge the two streams in text order, skipping a `www.` inside a URL
        // already found (`https://www.example.org`).
        let next_link = links.peek().map(linkify::Link::start);
        let next_www = www.peek().copied();
        match (next_link, next_www) {
            (None, None) => break,
            (Some(l), w) if w.is_none_or(|w| l <= w) => {
                let Some(link) = links.next() else { break };
                if link.start() >= taken_until {
                    let kind = match link.kind() {
                        LinkKind::Email => BareKind::Email,
                        _ => BareKind::Url,
                    };
                    let end = link.start() + cjk_punctuation_cut(link.as_str());
                    found(link.start()..end, kind);
                    taken_until = end;
                }
            }
            _ => {
                let Some(w) = www.next() else { break };
                if w < taken_until || !www_may_start_at(text, w) {
                    continue;
                }
                if let Some(end) = www_end(&text[w..]).map(|e| cjk_punctuation_cut(&text[w..w + e]))
                {
                    // A scheme URL that starts inside this one is not separate.
                    while links.peek().is_some_and(|l| l.start() < w + end) {
                        links.next();
                    }
                    found(w..w + end, BareKind::Www);
                    taken_until = w + end;
                }
            }
        }
    }
}

/// The length of `url` up to its first CJK or full-width punctuation mark, with
/// trailing ASCII punctuation then dropped as for any URL end.
fn cjk_punctuation_cut(url: &str) -> usize {
    let Some(at) = url.find(is_cjk_punctuation) else {
        return url.len();
    };
    url[..at]
        .trim_end_matches(['.', ',', ':', ';', '!', '?', '\'', '"'])
        .len()
}

/// CJK Symbols and Punctuation (U+3000–U+303F) and the punctuation of Halfwidth
/// and Fullwidth Forms (U+FF00–U+FF65, less the full-width letters and digits).
fn is_cjk_punctuation(c: char) -> bool {
    matches!(c, '\u{3000}'..='\u{303f}')
        || (matches!(c, '\u{ff00}'..='\u{ff65}') && !c.is_alphanumeric())
}

/// GitHub links `www.` only at the start of a word: after the start of the text,
/// whitespace, or punctuation that cannot be part of a host or path. Non-ASCII
/// characters count as a boundary, so `访问www.example.org` is found.
fn www_may_start_at(text: &str, at: usize) -> bool {
    match text[..at].chars().next_back() {
        None => true,
        Some(c) if !c.is_ascii() => true,
        Some(c) => {
            c.is_ascii_whitespace()
                || matches!(c, '*' | '_' | '~' | '(' | '[' | '"' | '\'' | ':' | ',')
        }
    }
}

/// The length of the `www.` link at the start of `s`, if it is one.
fn www_end(s: &str) -> Option<usize> {
    // Scan no further than the next whitespace: a URL never contains any.
    let word_end = s
        .find(|c: char| c.is_whitespace() || c == '<')
        .unwrap_or(s.len());
    let mut finder = LinkFinder::new();
    finder.url_must_have_scheme(false).kinds(&[LinkKind::Url]);
    let link = finder.links(&s[..word_end]).next()?;
    (link.start() == 0 && link.end() > "www.".len()).then_some(link.end())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bare(text: &str) -> Vec<(&str, BareKind)> {
        let mut out = Vec::new();
        find_bare(text, |r, k| out.push((&text[r], k)));
        out
    }

    #[test]
    fn scheme_urls_after_chinese_text_are_found() {
        assert_eq!(
            bare("GitHub：https://github.com/garrettj403/SciencePlots"),
            [("https://github.com/garrettj403/SciencePlots", BareKind::Url)]
        );
    }

    #[test]
    fn trailing_punctuation_is_not_part_of_the_url() {
        assert_eq!(
            bare("see https://a.org/x. And (https://b.org/y_(z))."),
            [
                ("https://a.org/x", BareKind::Url),
                ("https://b.org/y_(z)", BareKind::Url)
            ]
        );
    }

    #[test]
    fn www_links_and_emails() {
        assert_eq!(
            bare("www.example.org/a, mail me@example.org or https://www.x.org"),
            [
                ("www.example.org/a", BareKind::Www),
                ("me@example.org", BareKind::Email),
                ("https://www.x.org", BareKind::Url)
            ]
        );
        assert_eq!(BareKind::Www.target("www.a.org"), "http://www.a.org");
        assert!(bare("foo.www.example.org awww.b.org www.").is_empty());
    }

    #[test]
    fn cjk_punctuation_ends_a_url() {
        assert_eq!(
            bare("项目地址：https://github.com/dyh/counting，欢迎 star。见www.a.org/x。"),
            [
                ("https://github.com/dyh/counting", BareKind::Url),
                ("www.a.org/x", BareKind::Www)
            ]
        );
        assert_eq!(
            bare("（https://zh.wikipedia.org/wiki/中文）"),
            [("https://zh.wikipedia.org/wiki/中文", BareKind::Url)]
        );
    }

    #[test]
    fn plain_text_has_no_links() {
        assert!(bare("本文介绍了 YOLOv6 的 3.0 版本: no links here.").is_empty());
    }
}
