//! Character references (`&amp;`, `&#38;`, `&#x26;`) and Markdown backslash
//! escapes, decoded the way CommonMark decodes a link destination: in one pass, so
//! `\&amp;` stays `&amp;`, and with invalid code points (0, surrogates, past
//! U+10FFFF) turned into U+FFFD.

use std::borrow::Cow;

/// Decodes the character references in `s`.
#[must_use]
pub fn decode(s: &str) -> Cow<'_, str> {
    decode_inner(s, false)
}

/// Decodes backslash escapes of ASCII punctuation and character references in `s`,
/// in one pass.
#[must_use]
pub fn unescape_markdown(s: &str) -> Cow<'_, str> {
    decode_inner(s, true)
}

/// A decoded Markdown destination as a renderer sends it: a backslash left in it
/// is percent-encoded (`%5C`), as CommonMark's reference renderer and GitHub do,
/// where a URL parser would read it as `/`.
#[must_use]
pub fn encode_backslashes(s: &str) -> String {
    s.replace('\\', "%5C")
}

fn decode_inner(s: &str, backslashes: bool) -> Cow<'_, str> {
    let special = |c: char| c == '&' || (backslashes && c == '\\');
    let Some(first) = s.find(special) else {
        return Cow::Borrowed(s);
    };
    let mut out = String::with_capacity(s.len());
    out.push_str(&s[..first]);
    let mut rest = &s[first..];
    while let Some(at) = rest.find(special) {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        if rest.starts_with('\\') {
            match rest[1..].chars().next() {
                Some(c) if c.is_ascii_punctuation() => {
                    out.push(c);
                    rest = &rest[2..];
                }
                _ => {
                    out.push('\\');
                    rest = &rest[1..];
                }
            }
        } else if let Some((decoded, len)) = reference(rest) {
            out.push_str(&decoded);
            rest = &rest[len..];
        } else {
            out.push('&');
            rest = &rest[1..];
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// The character reference at the start of `s` (which starts with `&`): what it
/// stands for and how many bytes it takes.
fn reference(s: &str) -> Option<(Cow<'static, str>, usize)> {
    let bytes = s.as_bytes();
    if bytes.get(1) == Some(&b'#') {
        let (digits_at, radix, max_digits) = match bytes.get(2) {
            Some(b'x' | b'X') => (3, 16, 6),
            _ => (2, 10, 7),
        };
        let digits = bytes[digits_at..]
            .iter()
            .take_while(|b| b.is_ascii_hexdigit() && (radix == 16 || b.is_ascii_digit()))
            .count();
        let end = digits_at + digits;
        if digits == 0 || digits > max_digits || bytes.get(end) != Some(&b';') {
            return None;
        }
        let value = u32::from_str_radix(&s[digits_at..end], radix).ok()?;
        let c = match value {
            0 => char::REPLACEMENT_CHARACTER,
            v => char::from_u32(v).unwrap_or(char::REPLACEMENT_CHARACTER),
        };
        return Some((Cow::Owned(c.to_string()), end + 1));
    }
    let name_len = bytes[1..]
        .iter()
        .take(32)
        .take_while(|b| b.is_ascii_alphanumeric())
        .count();
    let end = 1 + name_len;
    if name_len == 0 || bytes.get(end) != Some(&b';') {
        return None;
    }
    let whole = &s[..=end];
    match html_escape::decode_html_entities(whole) {
        Cow::Owned(decoded) if decoded != whole => Some((Cow::Owned(decoded), end + 1)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_decode_and_invalid_code_points_become_replacement_characters() {
        assert_eq!(decode("a&amp;b&#x68;&#104;&lt;"), "a&bhh<");
        assert_eq!(decode("&#0;&#xD800;&#x110000;"), "\u{fffd}\u{fffd}\u{fffd}");
        assert_eq!(
            decode("&bogus; &amp &#; &#x; &#12345678;"),
            "&bogus; &amp &#; &#x; &#12345678;"
        );
        assert!(matches!(decode("plain"), Cow::Borrowed("plain")));
    }

    #[test]
    fn escapes_and_references_decode_in_one_pass() {
        assert_eq!(unescape_markdown(r"a\)b\\c"), r"a)b\c");
        assert_eq!(unescape_markdown(r"\&amp;"), "&amp;");
        assert_eq!(unescape_markdown(r"x\_y&amp;z\q"), r"x_y&z\q");
        assert_eq!(unescape_markdown("中文\\"), "中文\\");
    }
}
