//! Reading a WARC file back, as `verify` does: every record parses (version
//! line, headers, a block of its Content-Length, the two line ends after it),
//! every gzip member decompresses, and every response's payload hashes to its
//! `WARC-Payload-Digest`. Streamed: memory stays flat whatever the payloads.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use flate2::read::MultiGzDecoder;
use sha2::{Digest, Sha256};

/// The longest header section read (a WARC record's, or an HTTP message's).
const MAX_HEAD: u64 = 1 << 20;

/// What reading a WARC file found.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Checked {
    /// Records read.
    pub records: usize,
    /// Payload digests recomputed and found equal.
    pub digests: usize,
}

/// Reads the WARC file at `path` through.
///
/// # Errors
/// What is wrong, as a sentence naming the record (1-based): unreadable,
/// not WARC, cut short, or a payload that does not match its digest.
pub fn check(path: &Path) -> Result<Checked, String> {
    let file = File::open(path).map_err(|e| format!("cannot be read: {e}"))?;
    let mut reader = BufReader::new(MultiGzDecoder::new(BufReader::new(file)));
    let mut checked = Checked::default();
    loop {
        let n = checked.records + 1;
        let at = |e: io::Error| format!("record {n}: {e}");
        if reader.fill_buf().map_err(at)?.is_empty() {
            return Ok(checked);
        }
        let headers = read_head(&mut reader).map_err(at)?;
        let version = headers.first().map(String::as_str).unwrap_or_default();
        if version != "WARC/1.1" && version != "WARC/1.0" {
            return Err(format!(
                "record {n}: not a WARC record (it starts {version:?})"
            ));
        }
        let field = |name: &str| {
            headers.iter().skip(1).find_map(|h| {
                let (key, value) = h.split_once(':')?;
                key.trim()
                    .eq_ignore_ascii_case(name)
                    .then(|| value.trim().to_owned())
            })
        };
        let length: u64 = field("Content-Length")
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("record {n}: no valid Content-Length"))?;
        let mut block = (&mut reader).take(length);
        let digest = field("WARC-Payload-Digest");
        let response = field("WARC-Type").as_deref() == Some("response");
        match (
            response,
            digest.as_deref().and_then(|d| d.strip_prefix("sha256:")),
        ) {
            (true, Some(expected)) => {
                // The payload is what follows the HTTP message's head.
                read_head(&mut block).map_err(at)?;
                let mut hasher = Sha256::new();
                io::copy(&mut block, &mut hasher).map_err(at)?;
                let got = data_encoding::BASE32.encode(&hasher.finalize());
                if !got
                    .trim_end_matches('=')
                    .eq_ignore_ascii_case(expected.trim_end_matches('='))
                {
                    return Err(format!(
                        "record {n}: its payload hashes to sha256:{got}, not the {} it records",
                        digest.unwrap_or_default()
                    ));
                }
                checked.digests += 1;
            }
            _ => {
                io::copy(&mut block, &mut io::sink()).map_err(at)?;
            }
        }
        if block.limit() > 0 {
            return Err(format!(
                "record {n}: cut short, {} bytes missing",
                block.limit()
            ));
        }
        let mut end = [0u8; 4];
        reader
            .read_exact(&mut end)
            .map_err(|_| format!("record {n}: cut short after its block"))?;
        if &end != b"\r\n\r\n" {
            return Err(format!(
                "record {n}: its block is not followed by two line ends"
            ));
        }
        checked.records += 1;
    }
}

/// Reads lines up to an empty one; returns them without their line ends.
fn read_head(reader: &mut impl BufRead) -> io::Result<Vec<String>> {
    let mut lines = Vec::new();
    let mut read = 0u64;
    loop {
        let mut line = Vec::new();
        let n = reader
            .take(MAX_HEAD - read.min(MAX_HEAD))
            .read_until(b'\n', &mut line)?;
        read += n as u64;
        if n == 0 || !line.ends_with(b"\n") {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "its head is cut short or too long",
            ));
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\r', '\n']);
        if text.is_empty() {
            return Ok(lines);
        }
        lines.push(text.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::time::UNIX_EPOCH;

    use reqwest::StatusCode;
    use reqwest::header::HeaderMap;

    use super::{Checked, check};
    use crate::warc::{Exchange, WarcWriter};

    fn written(payloads: &[&[u8]], wrong_digest: bool) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let mut warc = WarcWriter::create(dir.path(), "t").unwrap();
        let none = HeaderMap::new();
        let exchange = Exchange::get(
            "https://example.org/x",
            UNIX_EPOCH,
            &none,
            StatusCode::OK,
            &none,
        );
        for payload in payloads {
            if wrong_digest {
                warc.exchange(&exchange, &mut &payload[..], payload.len() as u64, &[7; 32])
                    .unwrap();
            } else {
                warc.exchange_bytes(&exchange, payload).unwrap();
            }
        }
        let path = warc.finish().unwrap();
        (dir, path)
    }

    #[test]
    fn a_file_as_written_reads_back_whole() {
        let large = vec![0u8; 300_000];
        let (_dir, path) = written(&[b"one", b"", &large], false);
        // warcinfo + a response and a request per exchange.
        assert_eq!(
            check(&path),
            Ok(Checked {
                records: 7,
                digests: 3
            })
        );
    }

    #[test]
    fn a_wrong_digest_is_named() {
        let (_dir, path) = written(&[b"payload"], true);
        let err = check(&path).unwrap_err();
        assert!(
            err.starts_with("record 2: its payload hashes to sha256:"),
            "{err}"
        );
    }

    #[test]
    fn a_cut_file_is_named() {
        // A payload that does not compress, cut in its middle: inside a gzip
        // member (a cut between two members leaves a shorter, valid file).
        let large: Vec<u8> = (0..100_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
            .collect();
        let (_dir, path) = written(&[&large], false);
        let bytes = std::fs::read(&path).unwrap();
        let mut file = std::fs::File::create(&path).unwrap();
        file.write_all(&bytes[..bytes.len() / 2]).unwrap();
        let err = check(&path).unwrap_err();
        assert!(err.starts_with("record "), "{err}");
    }
}
