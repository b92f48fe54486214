//! The `url(…)` references of CSS (style sheets, `<style>` elements and `style`
//! attributes): found, and replaced, without a full CSS parser. Comments are
//! skipped; `@import` of a plain string is not followed (a snapshot inlines the
//! page's own sheets only).

use std::ops::Range;

/// Every `url(…)` in `css`: the range of the whole `url(…)` and the reference
/// inside it, unquoted and with CSS escapes of quotes and backslashes undone.
#[must_use]
pub fn urls(css: &str) -> Vec<(Range<usize>, String)> {
    let bytes = css.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i..].starts_with(b"/*") {
            i = css[i + 2..]
                .find("*/")
                .map_or(bytes.len(), |end| i + 2 + end + 2);
            continue;
        }
        if (bytes[i] == b'u' || bytes[i] == b'U')
            && bytes.len() >= i + 4
            && bytes[i..i + 4].eq_ignore_ascii_case(b"url(")
            && (i == 0 || !is_name_byte(bytes[i - 1]))
            && let Some((end, reference)) = argument(css, i + 4)
        {
            found.push((i..end, reference));
            i = end;
            continue;
        }
        i += 1;
    }
    found
}

/// `css` with each `url(…)` whose reference `replace` maps replaced by
/// `url("<new>")`; the others stay as written.
pub fn rewrite(css: &str, mut replace: impl FnMut(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(css.len());
    let mut last = 0;
    for (range, reference) in urls(css) {
        if let Some(new) = replace(&reference) {
            out.push_str(&css[last..range.start]);
            out.push_str("url(\"");
            for c in new.chars() {
                match c {
                    '"' | '\\' => {
                        out.push('\\');
                        out.push(c);
                    }
                    '\n' | '\r' => out.push(' '),
                    _ => out.push(c),
                }
            }
            out.push_str("\")");
            last = range.end;
        }
    }
    out.push_str(&css[last..]);
    out
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// The argument of a `url(` whose `(` ends at `start`: where the `)` ends, and
/// the reference.
fn argument(css: &str, start: usize) -> Option<(usize, String)> {
    let rest = &css[start..];
    let skipped = rest.len() - rest.trim_start().len();
    let mut chars = rest[skipped..].char_indices();
    let (_, first) = chars.next()?;
    let mut reference = String::new();
    if first == '"' || first == '\'' {
        let mut escaped = false;
        let mut closed = None;
        for (at, c) in chars.by_ref() {
            if escaped {
                reference.push(c);
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == first {
                closed = Some(at);
                break;
            } else if c == '\n' {
                return None;
            } else {
                reference.push(c);
            }
        }
        let after = start + skipped + closed? + 1;
        let tail = &css[after..];
        let close = tail.len() - tail.trim_start().len();
        if !tail[close..].starts_with(')') {
            return None;
        }
        Some((after + close + 1, reference))
    } else {
        let body = &rest[skipped..];
        let end = body.find(')')?;
        let raw = body[..end].trim_end();
        if raw.contains(['"', '\'', '(']) || raw.chars().any(char::is_whitespace) {
            return None;
        }
        reference.push_str(&raw.replace('\\', ""));
        Some((start + skipped + end + 1, reference))
    }
}

#[cfg(test)]
mod tests {
    use super::{rewrite, urls};

    fn references(css: &str) -> Vec<String> {
        urls(css).into_iter().map(|(_, r)| r).collect()
    }

    #[test]
    fn finds_quoted_unquoted_and_spaced_references() {
        let css = r#"a{background:url(a.png)} b{background-image: URL( "b c.png" )}
            /* url(comment.png) */ c{background:url('q\'d.png') no-repeat}"#;
        assert_eq!(references(css), ["a.png", "b c.png", "q'd.png"]);
    }

    #[test]
    fn ignores_what_is_not_a_url_function() {
        assert!(references("a{b:myurl(x.png)} c{d:url(}").is_empty());
        assert!(references("a{b:url(\"unterminated)}").is_empty());
    }

    #[test]
    fn rewrites_only_what_it_maps() {
        let css = "x{background:url(a.png)} y{background:url(\"keep.png\")}";
        let out = rewrite(css, |r| (r == "a.png").then(|| "../ab/c\"d.png".to_owned()));
        assert_eq!(
            out,
            "x{background:url(\"../ab/c\\\"d.png\")} y{background:url(\"keep.png\")}"
        );
        assert_eq!(references(&out), ["../ab/c\"d.png", "keep.png"]);
    }
}
