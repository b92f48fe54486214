//! Which encoding a fetched page or style sheet is in, and its text: most of
//! the pages notes cite are UTF-8, but older Chinese sites still serve GBK or
//! GB18030, and read as UTF-8 their text would be lost to replacement marks.
//!
//! The order is the one browsers follow: a byte order mark, then the charset
//! of the `Content-Type` header, then a `<meta charset>` (or `http-equiv`
//! Content-Type, or a sheet's `@charset`) near the start, then UTF-8.

use std::borrow::Cow;

use encoding_rs::{Encoding, UTF_8};

/// How far into a document its own declaration is looked for (as browsers do).
const PRESCAN: usize = 1024;

/// The text of `bytes`, served with the `Content-Type` header `content_type`.
/// Bytes the encoding cannot map become U+FFFD.
#[must_use]
pub fn decode<'a>(bytes: &'a [u8], content_type: Option<&str>) -> Cow<'a, str> {
    let encoding = Encoding::for_bom(bytes)
        .map(|(encoding, _)| encoding)
        .or_else(|| content_type.and_then(label_in).as_deref().and_then(known))
        .or_else(|| declared(bytes))
        .unwrap_or(UTF_8);
    // `decode` removes a BOM and sniffs it again, which agrees with the above.
    encoding.decode(bytes).0
}

/// The encoding a document declares near its start.
fn declared(bytes: &[u8]) -> Option<&'static Encoding> {
    let head = &bytes[..bytes.len().min(PRESCAN)];
    let lower = head.to_ascii_lowercase();
    if let Some(rest) = lower.strip_prefix(b"@charset \"") {
        let end = rest.iter().position(|b| *b == b'"')?;
        return Encoding::for_label(&rest[..end]).and_then(usable);
    }
    // Every `<meta …>` tag, for a `charset=` inside it.
    let mut at = 0;
    while let Some(found) = find(&lower[at..], b"<meta") {
        let start = at + found;
        let end = lower[start..]
            .iter()
            .position(|b| *b == b'>')
            .map_or(lower.len(), |e| start + e);
        let tag = String::from_utf8_lossy(&lower[start..end]);
        if let Some(encoding) = label_in(&tag).as_deref().and_then(known) {
            return Some(encoding);
        }
        at = end;
    }
    None
}

/// The label after `charset=` in a header value or tag, unquoted.
fn label_in(text: &str) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    let at = lower.find("charset")? + "charset".len();
    let rest = lower[at..].trim_start().strip_prefix('=')?.trim_start();
    let rest = rest.trim_start_matches(['"', '\'']);
    let label: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.'))
        .collect();
    (!label.is_empty()).then_some(label)
}

fn known(label: &str) -> Option<&'static Encoding> {
    Encoding::for_label(label.as_bytes()).and_then(usable)
}

/// A declared UTF-16 in an ASCII-compatible prescan means UTF-8 (as the HTML
/// standard says); `replacement` is no text at all.
fn usable(encoding: &'static Encoding) -> Option<&'static Encoding> {
    if encoding == encoding_rs::REPLACEMENT {
        None
    } else {
        Some(encoding.output_encoding())
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gbk(text: &str) -> Vec<u8> {
        encoding_rs::GBK.encode(text).0.into_owned()
    }

    #[test]
    fn the_header_then_the_page_then_utf8_say_the_encoding() {
        let body = gbk("<html><head><title>图神经网络</title></head></html>");
        assert_eq!(
            decode(&body, Some("text/html; charset=GBK")),
            "<html><head><title>图神经网络</title></head></html>"
        );
        let declared = gbk("<html><head><meta charset=\"gb2312\"><title>文章</title>");
        assert!(decode(&declared, Some("text/html")).contains("<title>文章</title>"));
        let http_equiv = gbk(
            "<meta http-equiv=\"Content-Type\" content=\"text/html; charset=gb18030\"><p>正文</p>",
        );
        assert!(decode(&http_equiv, None).contains("<p>正文</p>"));
        // Nothing said: UTF-8, and a header beats the page.
        assert_eq!(decode("<p>正文</p>".as_bytes(), None), "<p>正文</p>");
        let utf8 = "<meta charset=\"gbk\"><p>正文</p>".as_bytes();
        assert!(decode(utf8, Some("text/html; charset=utf-8")).contains("正文"));
    }

    #[test]
    fn a_bom_wins_and_odd_declarations_fall_back_to_utf8() {
        let mut bom = vec![0xef, 0xbb, 0xbf];
        bom.extend_from_slice("<p>正文</p>".as_bytes());
        assert_eq!(decode(&bom, Some("text/html; charset=gbk")), "<p>正文</p>");
        for odd in [
            "<meta charset=\"utf-16\"><p>正文</p>",
            "<meta charset=\"no-such-thing\"><p>正文</p>",
            "<meta charset=><p>正文</p>",
            "<meta charset=\"iso-2022-cn\"><p>正文</p>",
        ] {
            assert!(decode(odd.as_bytes(), None).contains("正文"), "{odd}");
        }
    }

    #[test]
    fn a_sheet_says_its_encoding_with_charset_rules() {
        let sheet = gbk("@charset \"GBK\";\n.title::before { content: \"标题\" }");
        assert!(decode(&sheet, Some("text/css")).contains("标题"));
    }
}
