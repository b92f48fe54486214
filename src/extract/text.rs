//! URLs in running text, found the way GitHub finds them: the GFM "autolinks
//! (extension)" rules as cmark-gfm implements them. `http://`, `https://` and
//! `ftp://` URLs wherever their scheme starts (`GitHub：https://…` included); `www.`
//! at the start of a line, after whitespace or after `*`, `_`, `~`, `(`; email
//! addresses, with an optional `mailto:` or `xmpp:` in front. A link runs to the
//! next whitespace or `<`, less trailing punctuation, unbalanced closing
//! parentheses and a trailing entity (`&amp;`).
//!
//! One departure: a URL also ends at CJK or full-width punctuation (`，。：）` …).
//! GitHub would run on into `…/repo，欢迎`, but no author means that, and checking
//! it would raise a false alarm.
//!
//! Every test is local to the candidate, so the scan is linear in the text.

use std::ops::Range;

/// What a bare link looks like, which decides how it is turned into a URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BareKind {
    /// It has a scheme (or `mailto:` / `xmpp:`): the text is the URL.
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
/// `text`) in order. `before` is the character before `text` in the note (which
/// decides whether a `www.` at its very start may begin a link).
pub fn find_bare(text: &str, before: Option<char>, mut found: impl FnMut(Range<usize>, BareKind)) {
    let bytes = text.as_bytes();
    // Links never overlap: nothing before `taken` may be part of the next one.
    let mut taken = 0;
    // A `www.` candidate that failed on the underscores of its domain's last two
    // segments fails the same way for every later `www.` in that domain before
    // them: they are skipped rather than scanned again (`www.a_www.a_…`).
    let mut www_fails_until = 0;
    let mut i = 0;
    while let Some(at) = memchr::memchr3(b':', b'w', b'@', &bytes[i..]) {
        let at = i + at;
        let hit = match bytes[at] {
            b':' => url_at(text, taken, at),
            b'w' if at < www_fails_until => None,
            b'w' => match www_at(text, before, taken, at) {
                Ok(hit) => hit,
                Err(until) => {
                    www_fails_until = until;
                    None
                }
            },
            _ => email_at(text, taken, at),
        };
        match hit {
            Some((range, kind)) => {
                i = range.end.max(at + 1);
                taken = range.end;
                found(range, kind);
            }
            None => i = at + 1,
        }
    }
}

/// A scheme URL whose `:` is at `colon`.
fn url_at(text: &str, taken: usize, colon: usize) -> Option<(Range<usize>, BareKind)> {
    let bytes = text.as_bytes();
    if !text[colon..].starts_with("://") {
        return None;
    }
    let mut start = colon;
    while start > taken && bytes[start - 1].is_ascii_alphabetic() {
        start -= 1;
    }
    let scheme = &text[start..colon];
    if !["http", "https", "ftp"]
        .iter()
        .any(|s| s.eq_ignore_ascii_case(scheme))
    {
        return None;
    }
    let host_start = colon + 3;
    let host_len = domain(&text[host_start..], true).ok()?;
    let end = link_end(text, host_start + host_len);
    let end = trim_end(text, start, end);
    // `https://` followed by punctuation only is no link.
    (end > host_start).then_some((start..end, BareKind::Url))
}

type Hit = Option<(Range<usize>, BareKind)>;

/// A `www.` link at `at`; `Err(until)` when its domain fails in a way every `www.`
/// before `until` in the same domain would.
fn www_at(text: &str, outside: Option<char>, taken: usize, at: usize) -> Result<Hit, usize> {
    if at < taken || !text[at..].starts_with("www.") {
        return Ok(None);
    }
    let before = if at == 0 {
        outside
    } else {
        text[..at].chars().next_back()
    };
    if let Some(before) = before
        && !(before.is_ascii_whitespace() || matches!(before, '*' | '_' | '~' | '('))
    {
        return Ok(None);
    }
    let host_len = match domain(&text[at..], false) {
        Ok(len) => len,
        Err(DomainError::Underscore { last_two_start }) => return Err(at + last_two_start),
        Err(DomainError::Invalid) => return Ok(None),
    };
    let end = link_end(text, at + host_len);
    let end = trim_end(text, at, end);
    Ok((end > at + "www.".len()).then_some((at..end, BareKind::Www)))
}

/// An email address whose `@` is at `at`, with `mailto:` or `xmpp:` in front if
/// written so.
fn email_at(text: &str, taken: usize, at: usize) -> Option<(Range<usize>, BareKind)> {
    let bytes = text.as_bytes();
    let mut start = at;
    while start > taken
        && (bytes[start - 1].is_ascii_alphanumeric() || b".+-_".contains(&bytes[start - 1]))
        && !escaped(bytes, start - 1)
    {
        start -= 1;
    }
    if start == at {
        return None;
    }
    // The domain: letters, digits, `-`, `_`, and dots each followed by a letter or
    // digit; at least one dot.
    let mut end = at + 1;
    let mut dots = 0;
    while end < bytes.len() {
        let c = bytes[end];
        if c.is_ascii_alphanumeric() || c == b'-' || c == b'_' {
            end += 1;
        } else if c == b'.' && bytes.get(end + 1).is_some_and(u8::is_ascii_alphanumeric) {
            dots += 1;
            end += 1;
        } else {
            break;
        }
    }
    if dots == 0 || !bytes[end - 1].is_ascii_alphabetic() {
        return None;
    }
    // GitHub's prefixes are case-sensitive; an XMPP address may name a resource.
    if start >= taken + "mailto:".len() && &bytes[start - "mailto:".len()..start] == b"mailto:" {
        return Some((start - "mailto:".len()..end, BareKind::Url));
    }
    if start >= taken + "xmpp:".len() && &bytes[start - "xmpp:".len()..start] == b"xmpp:" {
        if bytes.get(end) == Some(&b'/') {
            end += 1;
            while end < bytes.len()
                && (bytes[end].is_ascii_alphanumeric() || b"@.".contains(&bytes[end]))
            {
                end += 1;
            }
        }
        return Some((start - "xmpp:".len()..end, BareKind::Url));
    }
    Some((start..end, BareKind::Email))
}

/// Whether the byte at `at` is escaped by a backslash: an odd number of them stands
/// right before it. GitHub reads an escaped character as text of its own, so an
/// address does not reach back across it (`foo\_bar@x.com` links `bar@x.com`).
fn escaped(bytes: &[u8], at: usize) -> bool {
    bytes[..at]
        .iter()
        .rev()
        .take_while(|b| **b == b'\\')
        .count()
        % 2
        == 1
}

/// Why the start of a text is not a valid domain.
enum DomainError {
    /// Empty, or no dot where one is needed.
    Invalid,
    /// An `_` in one of the last two segments, which start at this offset.
    Underscore { last_two_start: usize },
}

/// The length of the valid domain at the start of `s`: segments of letters,
/// digits, `-` and `_` (any non-punctuation character beyond ASCII too) separated
/// by dots, with no `_` in the last two segments. Unless `short` is allowed, it
/// needs a dot.
fn domain(s: &str, short: bool) -> Result<usize, DomainError> {
    let mut dots = 0;
    let mut underscores_last = 0;
    let mut underscores_before_last = 0;
    // Where the last and the second-last segments start.
    let (mut last_start, mut before_last_start) = (0, 0);
    let mut end = 0;
    for (i, c) in s.char_indices() {
        match c {
            '.' => {
                underscores_before_last = underscores_last;
                underscores_last = 0;
                before_last_start = last_start;
                last_start = i + 1;
                dots += 1;
            }
            '_' => underscores_last += 1,
            '-' => {}
            c if c.is_ascii_alphanumeric() => {}
            c if !c.is_ascii() && !c.is_whitespace() && !is_wide_punctuation(c) => {}
            _ => break,
        }
        end = i + c.len_utf8();
    }
    if end == 0 || (!short && dots == 0) {
        return Err(DomainError::Invalid);
    }
    if underscores_last > 0 || underscores_before_last > 0 {
        return Err(DomainError::Underscore {
            last_two_start: before_last_start,
        });
    }
    Ok(end)
}

/// From the end of the domain, the link runs to whitespace or `<`, and to the
/// first CJK or full-width punctuation mark.
fn link_end(text: &str, from: usize) -> usize {
    text[from..]
        .find(|c: char| c.is_ascii_whitespace() || c == '<' || is_wide_punctuation(c))
        .map_or(text.len(), |i| from + i)
}

/// GFM's trailing-delimiter rules: drop trailing `?!.,:*_~'"`, a `;` (with the
/// entity it ends, if it ends one), and closing parentheses that have no opening
/// one in the link.
fn trim_end(text: &str, start: usize, mut end: usize) -> usize {
    let bytes = text.as_bytes();
    // Counted once, then kept up to date as closing parentheses are dropped.
    let open = memchr::memchr_iter(b'(', &bytes[start..end]).count();
    let mut close = memchr::memchr_iter(b')', &bytes[start..end]).count();
    while end > start {
        match bytes[end - 1] {
            b'?' | b'!' | b'.' | b',' | b':' | b'*' | b'_' | b'~' | b'\'' | b'"' => end -= 1,
            b';' => {
                let name_start = text[start..end - 1]
                    .rfind(|c: char| !c.is_ascii_alphabetic())
                    .map_or(start, |i| start + i);
                end = if bytes[name_start] == b'&' && name_start < end - 2 {
                    name_start
                } else {
                    end - 1
                };
            }
            b')' if close > open => {
                close -= 1;
                end -= 1;
            }
            _ => break,
        }
    }
    end
}

/// CJK Symbols and Punctuation (U+3000–U+303F), General Punctuation (U+2000–U+206F)
/// and the punctuation of Halfwidth and Fullwidth Forms (U+FF00–U+FF65, less the
/// full-width letters and digits).
fn is_wide_punctuation(c: char) -> bool {
    matches!(c, '\u{3000}'..='\u{303f}' | '\u{2000}'..='\u{206f}')
        || (matches!(c, '\u{ff00}'..='\u{ff65}') && !c.is_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bare(text: &str) -> Vec<(&str, BareKind)> {
        let mut out = Vec::new();
        find_bare(text, None, |r, k| out.push((&text[r], k)));
        out
    }

    fn urls(text: &str) -> Vec<&str> {
        bare(text).into_iter().map(|(u, _)| u).collect()
    }

    #[test]
    fn scheme_urls_after_chinese_text_are_found() {
        assert_eq!(
            bare("GitHub：https://github.com/garrettj403/SciencePlots"),
            [("https://github.com/garrettj403/SciencePlots", BareKind::Url)]
        );
        assert_eq!(urls("访问https://a.org/x"), ["https://a.org/x"]);
    }

    #[test]
    fn only_http_https_and_ftp_schemes_count() {
        assert_eq!(
            urls("FTP://a.org/f abc://def.org file:///etc/passwd xhttp://a.org"),
            ["FTP://a.org/f"]
        );
        assert!(urls("https:// and https://。 x").is_empty());
        assert_eq!(urls("http://localhost:8080/x"), ["http://localhost:8080/x"]);
    }

    #[test]
    fn trailing_punctuation_is_not_part_of_the_url() {
        assert_eq!(
            urls("see https://a.org/x. And (https://b.org/y_(z)). https://c.org/?q=a*b*"),
            [
                "https://a.org/x",
                "https://b.org/y_(z)",
                "https://c.org/?q=a*b"
            ]
        );
        assert_eq!(
            urls("https://en.wikipedia.org/wiki/Dune_(novel)"),
            ["https://en.wikipedia.org/wiki/Dune_(novel)"]
        );
    }

    #[test]
    fn a_trailing_entity_is_not_part_of_the_url() {
        assert_eq!(urls("http://a.org/d&amp; x"), ["http://a.org/d"]);
        assert_eq!(urls("http://a.org/e&lt;x&gt;"), ["http://a.org/e&lt;x"]);
        assert_eq!(urls("http://a.org/f;"), ["http://a.org/f"]);
        assert_eq!(urls("http://x.org/a&b1;"), ["http://x.org/a&b1"]);
    }

    #[test]
    fn www_links_start_only_after_whitespace_or_delimiters() {
        assert_eq!(
            bare("www.example.org/a, (www.b.org) *www.c.org*"),
            [
                ("www.example.org/a", BareKind::Www),
                ("www.b.org", BareKind::Www),
                ("www.c.org", BareKind::Www)
            ]
        );
        assert!(
            urls("foo.www.example.org awww.b.org www. \"www.q.org\" 访问www.z.org :www.w.org")
                .is_empty()
        );
        assert_eq!(BareKind::Www.target("www.a.org"), "http://www.a.org");
    }

    #[test]
    fn an_address_does_not_reach_back_across_an_escape() {
        assert_eq!(bare(r"foo\_bar@x.com"), [("bar@x.com", BareKind::Email)]);
        assert_eq!(bare(r"foo\+bar@x.com"), [("bar@x.com", BareKind::Email)]);
        assert!(bare(r"<foo\+@bar.example.com>").is_empty());
        // An escaped backslash escapes nothing after it.
        assert_eq!(bare(r"foo\\_bar@x.com"), [("_bar@x.com", BareKind::Email)]);
    }

    #[test]
    fn emails_follow_gfm() {
        assert_eq!(
            bare(
                "mail me@example.org, or mailto:a@b.org or xmpp:c@d.org; not foo@bar.baz- nor x@y"
            ),
            [
                ("me@example.org", BareKind::Email),
                ("mailto:a@b.org", BareKind::Url),
                ("xmpp:c@d.org", BareKind::Url),
            ]
        );
    }

    #[test]
    fn cjk_punctuation_ends_a_url() {
        assert_eq!(
            urls("项目地址：https://github.com/dyh/counting，欢迎 star。见 www.a.org/x。"),
            ["https://github.com/dyh/counting", "www.a.org/x"]
        );
        assert_eq!(
            urls("（https://zh.wikipedia.org/wiki/中文）"),
            ["https://zh.wikipedia.org/wiki/中文"]
        );
    }

    #[test]
    fn a_url_ends_at_a_tag() {
        assert_eq!(urls("https://a.org/x<br>"), ["https://a.org/x"]);
    }

    #[test]
    fn plain_text_has_no_links() {
        assert!(bare("本文介绍了 YOLOv6 的 3.0 版本: no links here.").is_empty());
    }

    #[test]
    fn hostile_repetition_is_read_in_one_pass() {
        // Each candidate is judged on its own bytes, so these finish at once; a
        // scan that re-read the rest of the text per candidate would take minutes.
        for (unit, links) in [
            (":www.", 0),
            ("(www.", 1),
            ("a@", 0),
            ("https://", 1),
            ("www.a_", 0),
            ("(www.a.org/", 1),
            (" www.a.org", 50_000),
            ("https://a.org/)", 1),
        ] {
            assert_eq!(bare(&unit.repeat(50_000)).len(), links, "{unit}");
        }
    }
}
