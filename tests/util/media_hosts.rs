//! Imitations of the hosts the real notes link to, for `fetch` and `rewrite`
//! on the whole corpus: WeChat's CDN with its placeholder for foreign Referers,
//! arXiv's PDFs, paper pages that name their PDF, a bot-walled publisher, about
//! one file in seven dead, and a Wayback Machine with no captures.

use std::path::Path;

use super::links_in;
use super::server::{Fixture, Reply, Req};

/// Whether the file at `host` + `path` is gone: about one in seven, by a hash
/// both the server and the test compute.
pub fn is_dead(host: &str, path: &str) -> bool {
    fnv(host, path).is_multiple_of(7)
}

fn fnv(host: &str, path: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in host.bytes().chain(path.bytes()) {
        hash = (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// A PNG whose bytes depend on `host` + `path`.
fn picture(host: &str, path: &str) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\x02\x80\0\0\x01\xe0\x08\x02\0\0\0".to_vec();
    bytes.extend(fnv(host, path).to_le_bytes());
    bytes.extend(host.bytes().chain(path.bytes()));
    bytes
}

fn pdf(host: &str, path: &str) -> Vec<u8> {
    let mut bytes = b"%PDF-1.5\n".to_vec();
    bytes.extend(fnv(host, path).to_le_bytes());
    bytes.extend(host.bytes().chain(path.bytes()));
    bytes
}

/// WeChat's stand-in picture: 470×349.
pub fn placeholder() -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\x01\xd6\0\0\x01\x5d\x08\x02\0\0\0".to_vec();
    bytes.extend("此图片来自微信公众平台，未经允许不可引用".as_bytes());
    bytes
}

pub const PAPER_HOSTS: [&str; 5] = [
    "openreview.net",
    "openaccess.thecvf.com",
    "aclanthology.org",
    "www.aclweb.org",
    "doi.org",
];

pub fn imitate(req: &Req) -> Reply {
    let host = req.host.as_str();
    let path = req.path.as_str();
    // The Wayback Machine has no capture of anything here.
    if host == "archive.org" {
        return Reply::status(200).body(r#"{"url":"x","archived_snapshots":{}}"#);
    }
    let foreign = req
        .headers
        .get("referer")
        .is_some_and(|r| !r.starts_with("https://mp.weixin.qq.com/"));
    if host.ends_with("qpic.cn") && foreign {
        return Reply::status(200).body(placeholder());
    }
    if host == "ieeexplore.ieee.org" {
        return Reply::status(418);
    }
    // The file a URL stands for: WeChat's `/0` original is the `/640` copy's.
    let file_path = path
        .split_once('?')
        .map_or(path, |(p, _)| p)
        .trim_end_matches("/0")
        .to_owned();
    if is_dead(host, &file_path) {
        return Reply::status(404);
    }
    let lower = file_path.to_ascii_lowercase();
    if lower.ends_with(".pdf") || (host == "arxiv.org" && lower.starts_with("/pdf/")) {
        return Reply::status(200).body(pdf(host, &file_path));
    }
    if PAPER_HOSTS.contains(&host) || host.ends_with("arxiv.org") {
        // A landing page naming its PDF.
        return Reply::html(&format!(
            "<html><head><meta name=\"citation_pdf_url\" content=\"/files{file_path}.pdf\"></head></html>"
        ));
    }
    Reply::status(200).body(picture(host, &file_path))
}

/// Starts the imitation for every host the notes under `dir` link to.
pub fn start(dir: &Path) -> Fixture {
    let hosts = super::hosts_of(&links_in(
        dir,
        &["--unique", "--kind", "image,pdf,paper,video", "."],
    ));
    let mut host_list: Vec<&str> = hosts.iter().map(String::as_str).collect();
    host_list.push("archive.org");
    Fixture::start(&host_list, imitate)
}

/// The shipped rules, with the intervals of arXiv, GitHub and the Wayback
/// Machine shortened (their values have their own tests).
pub fn config() -> String {
    super::quick_rules(&["arxiv", "github", "github-raw", "wayback"])
}
