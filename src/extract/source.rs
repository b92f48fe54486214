//! A note's bytes as text, with byte offsets kept exact.
//!
//! Notes are UTF-8, but a stray Latin-1 or GBK byte must not cost the user the rest of
//! the file, nor shift every span after it. So each invalid sequence (one to three
//! bytes, as the UTF-8 decoder delimits them) is replaced by one character of the
//! same length: offsets in the text are offsets in the file, and each sequence
//! counts as one column, as the U+FFFD that an editor shows for it would. NUL bytes,
//! which CommonMark also replaces, are treated the same way. The URL as written
//! (`raw`) is always cut from the original bytes.

use std::borrow::Cow;
use std::ops::Range;

/// The stand-in for an invalid sequence of 1, 2 or 3 bytes: letters where they fit
/// (inert in Markdown, HTML and URLs alike), and U+FFFD itself for three bytes.
const STAND_INS: [&str; 3] = ["x", "\u{e9}", "\u{fffd}"];

/// A note's content, ready to parse.
#[derive(Debug)]
pub struct SourceText {
    /// The bytes as read, kept only when they differ from `text`.
    original: Vec<u8>,
    /// The text to parse, as long as the file in bytes.
    text: String,
    /// The byte ranges that were replaced, in order.
    replaced: Vec<Range<usize>>,
}

impl SourceText {
    /// Takes a file's bytes.
    #[must_use]
    pub fn new(bytes: Vec<u8>) -> Self {
        // Notes are mostly CJK text, where a SIMD validator is many times faster
        // than the standard one; it only says yes or no, which is all that is
        // needed on this path.
        if !bytes.contains(&0)
            && let Ok(valid) = simdutf8::basic::from_utf8(&bytes)
        {
            // Copying is cheaper than validating a second time.
            let text = valid.to_owned();
            return Self {
                original: Vec::new(),
                text,
                replaced: Vec::new(),
            };
        }
        let (text, replaced) = replace_invalid(&bytes);
        Self {
            original: bytes,
            text,
            replaced,
        }
    }

    /// The text to parse, as long as the file in bytes.
    #[must_use]
    pub fn text(&self) -> &str {
        &self.text
    }

    /// How many bytes were replaced (0 for a clean file).
    #[must_use]
    pub fn invalid_bytes(&self) -> usize {
        self.replaced.iter().map(ExactSizeIterator::len).sum()
    }

    /// Whether `span` holds a replaced byte, so that the text there is not what
    /// was written.
    #[must_use]
    pub fn has_replaced(&self, span: &Range<usize>) -> bool {
        let first_after = self.replaced.partition_point(|r| r.end <= span.start);
        self.replaced
            .get(first_after)
            .is_some_and(|r| r.start < span.end)
    }

    /// The bytes at `span` as written, decoded lossily if they are not UTF-8.
    #[must_use]
    pub fn raw(&self, span: Range<usize>) -> Cow<'_, str> {
        if self.replaced.is_empty() {
            Cow::Borrowed(self.text().get(span).unwrap_or_default())
        } else {
            let end = span.end.min(self.original.len());
            let start = span.start.min(end);
            String::from_utf8_lossy(&self.original[start..end])
        }
    }
}

/// Replaces each invalid UTF-8 sequence and each NUL with a stand-in of the same
/// length; returns the text and the replaced ranges.
fn replace_invalid(bytes: &[u8]) -> (String, Vec<Range<usize>>) {
    let mut out = String::with_capacity(bytes.len());
    let mut replaced = Vec::new();
    let mut at = 0;
    for chunk in bytes.utf8_chunks() {
        for (i, piece) in chunk.valid().split('\0').enumerate() {
            if i > 0 {
                replaced.push(at..at + 1);
                out.push_str(STAND_INS[0]);
                at += 1;
            }
            out.push_str(piece);
            at += piece.len();
        }
        let bad = chunk.invalid().len();
        if bad > 0 {
            // The decoder never delimits more than three bytes as one sequence.
            out.push_str(STAND_INS[bad.clamp(1, 3) - 1]);
            replaced.push(at..at + bad);
            at += bad;
        }
    }
    (out, replaced)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_bytes_are_replaced_too() {
        let s = SourceText::new(b"[a](x\x00y)".to_vec());
        assert_eq!(s.text(), "[a](xxy)");
        assert_eq!(s.invalid_bytes(), 1);
        assert_eq!(s.raw(4..7), "x\0y");
    }

    #[test]
    fn valid_utf8_is_kept_as_is() {
        let s = SourceText::new("中文 [a](b)".as_bytes().to_vec());
        assert_eq!(s.invalid_bytes(), 0);
        assert_eq!(s.text(), "中文 [a](b)");
        assert_eq!(s.raw(11..12), "b");
    }

    #[test]
    fn invalid_bytes_keep_their_offsets() {
        let bytes = b"caf\xe9 [x](http://a.org/\xff\xfe) \xe4\xb8".to_vec();
        let s = SourceText::new(bytes.clone());
        assert_eq!(s.text().len(), bytes.len());
        assert_eq!(s.invalid_bytes(), 5);
        // One stand-in character per sequence: the truncated \xe4\xb8 is one.
        assert_eq!(
            s.text().chars().count(),
            String::from_utf8_lossy(&bytes).chars().count()
        );
        assert!(s.has_replaced(&(0..4)) && !s.has_replaced(&(4..10)));
        let start = s.text().find("http").unwrap();
        let end = s.text()[start..].find(')').unwrap() + start;
        assert_eq!(&bytes[start..end], b"http://a.org/\xff\xfe");
        assert_eq!(s.raw(start..end), "http://a.org/\u{fffd}\u{fffd}");
    }
}
