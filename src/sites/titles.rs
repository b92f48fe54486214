//! The titles of a "not found" page: phrases a page's `<title>` or main heading
//! is made of when the page is gone though it answers 200 (CSDN's `404`).
//!
//! Matching is anchored, never a search: an article about 404 errors mentions
//! the phrase, a not-found page *is* the phrase. A title matches when the whole
//! of it is a phrase, or one of its parts between title separators is
//! ("404 - 页面不存在", "Page not found · GitHub"); a heading only when the whole
//! of it is. Separators count only with spaces around them (`|` and `｜` count
//! bare), so `Not Found_someone的博客-CSDN博客`, a live post's title, stays one part.
//! Letter case, runs of white space and punctuation at either end do not count.

/// The titles that say what a page is, for a site rule that reads pages.
#[derive(Debug, Clone, Default)]
pub struct PageTitles<'a> {
    /// A not-found page's (`soft-dead`).
    pub gone: Vec<&'a str>,
    /// A sign-in page's (`blocked`): what the link points at needs an account.
    pub login: Vec<&'a str>,
}

/// Title separators that count only with white space on both sides.
const SPACED: [char; 7] = ['-', '–', '—', '_', '·', '•', '»'];

/// Title separators that count anywhere.
const BARE: [char; 2] = ['|', '｜'];

/// The phrase `title` is, or one of its parts is.
#[must_use]
pub fn in_title<'a>(phrases: &[&'a str], title: &str) -> Option<&'a str> {
    let title = collapse(title);
    let mut parts = vec![title.as_str()];
    parts.extend(split_parts(&title));
    parts
        .into_iter()
        .find_map(|part| find_phrase(phrases, part))
}

/// The phrase `heading` is.
#[must_use]
pub fn in_heading<'a>(phrases: &[&'a str], heading: &str) -> Option<&'a str> {
    find_phrase(phrases, &collapse(heading))
}

/// Whether a phrase has no letter or digit: it would match an empty title, or
/// a separator.
#[must_use]
pub fn is_blank(phrase: &str) -> bool {
    !phrase.chars().any(char::is_alphanumeric)
}

/// `text` in the form phrases are compared in.
#[must_use]
pub fn normalize(text: &str) -> String {
    collapse(text)
        .trim_matches(|c: char| c.is_whitespace() || is_edge_punctuation(c))
        .to_lowercase()
}

fn find_phrase<'a>(phrases: &[&'a str], text: &str) -> Option<&'a str> {
    let text = normalize(text);
    if text.is_empty() {
        return None;
    }
    phrases.iter().copied().find(|p| normalize(p) == text)
}

/// White space runs (any kind, full-width included) as one space, trimmed.
fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The parts of a collapsed title between separators.
fn split_parts(title: &str) -> Vec<&str> {
    let chars: Vec<(usize, char)> = title.char_indices().collect();
    let mut parts = Vec::new();
    let mut start = 0;
    for (i, &(at, c)) in chars.iter().enumerate() {
        let spaced = SPACED.contains(&c)
            && i > 0
            && chars[i - 1].1 == ' '
            && chars.get(i + 1).is_some_and(|&(_, n)| n == ' ');
        if spaced || BARE.contains(&c) {
            parts.push(&title[start..at]);
            start = at + c.len_utf8();
        }
    }
    if start > 0 {
        parts.push(&title[start..]);
    }
    parts
}

fn is_edge_punctuation(c: char) -> bool {
    matches!(
        c,
        '!' | '！'
            | '.'
            | '。'
            | '…'
            | '~'
            | '～'
            | '?'
            | '？'
            | ','
            | '，'
            | ':'
            | '：'
            | '"'
            | '\''
            | '“'
            | '”'
            | '‘'
            | '’'
            | '「'
            | '」'
            | '【'
            | '】'
            | '('
            | ')'
            | '（'
            | '）'
            | '['
            | ']'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const PHRASES: &[&str] = &["404", "Not Found", "页面不存在", "404 Not Found"];

    #[test]
    fn a_title_that_is_a_phrase_or_has_one_as_a_part_matches() {
        for title in [
            "404",
            " 404 Not Found ",
            "404   not\tfound",
            "404 - 页面不存在",
            "Page | 404",
            "页面不存在｜某站",
            "Not Found · Site",
            "【404】",
            "页面不存在！",
        ] {
            assert!(in_title(PHRASES, title).is_some(), "{title}");
        }
        assert_eq!(in_title(PHRASES, "404 - 页面不存在"), Some("404"));
    }

    #[test]
    fn a_title_that_only_mentions_a_phrase_does_not() {
        for title in [
            "",
            "nginx 404 Not Found 的排查",
            "How to fix 404 Not Found errors",
            "404 Not Found_someone的博客-CSDN博客",
            "Error-404-handling",
            "Why the page says Not Found - a guide to routing",
            "4040",
        ] {
            assert_eq!(in_title(PHRASES, title), None, "{title}");
        }
    }

    #[test]
    fn a_heading_matches_only_as_a_whole() {
        assert_eq!(in_heading(PHRASES, "  Not   Found. "), Some("Not Found"));
        assert_eq!(in_heading(PHRASES, "404 - 页面不存在"), None);
        assert_eq!(in_heading(PHRASES, "Fixing 404"), None);
    }

    #[test]
    fn blank_phrases_are_told() {
        assert!(is_blank("  "));
        assert!(is_blank("!!"));
        assert!(is_blank(" - "));
        assert!(!is_blank("页面不存在"));
        assert!(!is_blank("404"));
    }
}
