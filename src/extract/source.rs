//! A note's bytes as text, with byte offsets kept exact.
//!
//! Notes are UTF-8, but a stray Latin-1 or GBK byte must not cost the user the rest of
//! the file, nor shift every span after it. So invalid bytes are replaced one for one
//! by a single-byte stand-in: offsets in the text are offsets in the file. The URL as
//! written (`raw`) is always cut from the original bytes.

use std::borrow::Cow;

/// The byte each invalid byte is replaced with. It is a plain word character, so it
/// neither ends a URL nor starts Markdown syntax, and it keeps the length.
const STAND_IN: u8 = b'_';

/// A note's content, ready to parse.
#[derive(Debug)]
pub struct SourceText {
    original: Vec<u8>,
    /// The text to parse: the original when it is valid UTF-8, in which case
    /// `original` is left empty.
    text: String,
    invalid_bytes: usize,
}

impl SourceText {
    /// Takes a file's bytes.
    #[must_use]
    pub fn new(bytes: Vec<u8>) -> Self {
        // Notes are mostly CJK text, where a SIMD validator is many times faster
        // than the standard one; it only says yes or no, which is all that is
        // needed on this path.
        if let Ok(valid) = simdutf8::basic::from_utf8(&bytes) {
            // Copying is cheaper than validating a second time.
            let text = valid.to_owned();
            return Self {
                original: Vec::new(),
                text,
                invalid_bytes: 0,
            };
        }
        let (text, invalid_bytes) = replace_invalid(&bytes);
        Self {
            original: bytes,
            text,
            invalid_bytes,
        }
    }

    /// The text to parse, as long as the file in bytes.
    #[must_use]
    pub fn text(&self) -> &str {
        &self.text
    }

    /// How many bytes were not valid UTF-8 (0 for a clean file).
    #[must_use]
    pub fn invalid_bytes(&self) -> usize {
        self.invalid_bytes
    }

    /// The bytes at `span` as written, decoded lossily if they are not UTF-8.
    #[must_use]
    pub fn raw(&self, span: std::ops::Range<usize>) -> Cow<'_, str> {
        if self.invalid_bytes == 0 {
            Cow::Borrowed(self.text().get(span).unwrap_or_default())
        } else {
            let end = span.end.min(self.original.len());
            let start = span.start.min(end);
            String::from_utf8_lossy(&self.original[start..end])
        }
    }
}

/// Replaces each byte that is not part of a valid UTF-8 sequence with [`STAND_IN`].
fn replace_invalid(bytes: &[u8]) -> (String, usize) {
    let mut out = Vec::with_capacity(bytes.len());
    let mut invalid = 0;
    let mut rest = bytes;
    loop {
        match std::str::from_utf8(rest) {
            Ok(valid) => {
                out.extend_from_slice(valid.as_bytes());
                break;
            }
            Err(e) => {
                let (valid, after) = rest.split_at(e.valid_up_to());
                out.extend_from_slice(valid);
                // `error_len` is None only for a sequence cut short by the end of
                // the input: every remaining byte is then invalid.
                let bad = e.error_len().unwrap_or(after.len());
                out.extend(std::iter::repeat_n(STAND_IN, bad));
                invalid += bad;
                rest = &after[bad..];
            }
        }
    }
    // Every invalid byte became ASCII, so this cannot fail; fall back to lossy
    // decoding rather than panic if it somehow did.
    let text = String::from_utf8(out)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
    (text, invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let start = s.text().find("http").unwrap();
        let end = s.text()[start..].find(')').unwrap() + start;
        assert_eq!(&bytes[start..end], b"http://a.org/\xff\xfe");
        assert_eq!(s.raw(start..end), "http://a.org/\u{fffd}\u{fffd}");
    }
}
