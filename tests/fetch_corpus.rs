//! `archiver fetch` on every media link of the real notes, each host imitated by
//! the fixture server: WeChat's CDN with its placeholder for foreign Referers,
//! arXiv's PDFs, paper pages that name their PDF, a bot-walled publisher, and
//! about one link in seven dead. Every image and paper link must be archived or
//! carry a stated reason, and no placeholder may ever be archived.

mod util;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use sha2::{Digest, Sha256};
use util::server::{Fixture, Reply, Req};
use util::{archiver_in, corpus, links_in, s};

/// Whether the file at `host` + `path` is gone: about one in seven, by a hash
/// both the server and the test compute.
fn is_dead(host: &str, path: &str) -> bool {
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
fn placeholder() -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\x01\xd6\0\0\x01\x5d\x08\x02\0\0\0".to_vec();
    bytes.extend("此图片来自微信公众平台，未经允许不可引用".as_bytes());
    bytes
}

const PAPER_HOSTS: [&str; 5] = [
    "openreview.net",
    "openaccess.thecvf.com",
    "aclanthology.org",
    "www.aclweb.org",
    "doi.org",
];

fn imitate(req: &Req) -> Reply {
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

/// Whether the imitation serves `url` as a file archiver may keep, following
/// the shipped rules as a user would expect them to work: WeChat's `/0` original
/// first, then the URL as written; arXiv's abstract at `/pdf/`; a paper page's
/// PDF where its meta tag says.
fn expected_alive(url: &str) -> Option<bool> {
    let parsed = url::Url::parse(url).ok()?;
    let host = parsed.host_str()?;
    let path = parsed.path();
    let lower = path.to_ascii_lowercase();
    if host == "ieeexplore.ieee.org" {
        return Some(false);
    }
    if host.ends_with("qpic.cn") {
        let (dir, last) = path.rsplit_once('/')?;
        let original = last.parse::<u32>().is_ok_and(|n| n > 0) && !is_dead(host, dir);
        return Some(original || !is_dead(host, path.trim_end_matches("/0")));
    }
    if host.ends_with("arxiv.org") {
        if let Some(id) = path.strip_prefix("/abs/") {
            let id = id.trim_end_matches('/').trim_end_matches(".pdf");
            return Some(!is_dead("arxiv.org", &format!("/pdf/{id}")));
        }
        return Some(!is_dead(host, path));
    }
    if lower.ends_with(".pdf") || !PAPER_HOSTS.contains(&host) {
        return Some(!is_dead(host, path));
    }
    Some(!is_dead(host, path) && !is_dead(host, &format!("/files{path}.pdf")))
}

#[test]
fn every_image_and_paper_link_is_archived_or_says_why() {
    let Some(dir) = corpus() else { return };
    let links = links_in(&dir, &["--unique", "--kind", "image,pdf,paper", "."]);
    let hosts: BTreeSet<String> = links
        .iter()
        .filter_map(|l| {
            url::Url::parse(s(l, "url"))
                .ok()?
                .host_str()
                .map(str::to_owned)
        })
        .collect();
    let mut host_list: Vec<&str> = hosts.iter().map(String::as_str).collect();
    host_list.push("archive.org");
    let fixture = Fixture::start(&host_list, imitate);

    // The shipped rules, with the intervals of arXiv and the Wayback Machine
    // shortened (their values have their own tests).
    let tree = util::Tree::new();
    let mut config = String::from("[network]\nretry_delay = \"20ms\"\n");
    let shipped = archiver::config::Settings::shipped().unwrap();
    let rules: Vec<toml::Value> = shipped
        .sites
        .rules()
        .iter()
        .filter(|r| matches!(r.name.as_str(), "arxiv" | "wayback"))
        .map(|rule| {
            let mut rule = toml::Table::try_from(rule).unwrap();
            rule.insert("min_interval".into(), "0s".into());
            toml::Value::Table(rule)
        })
        .collect();
    assert_eq!(rules.len(), 2);
    let mut doc = toml::Table::new();
    doc.insert("sites".into(), toml::Value::Array(rules));
    config.push_str(&toml::to_string(&doc).unwrap());
    tree.file("archiver.toml", &config);

    let output = archiver_in(tree.path())
        .args(["fetch", "--format", "json"])
        .args(fixture.args())
        .arg(dir.join("."))
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let results: BTreeMap<String, &Value> = doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (s(r, "url").to_owned(), r))
        .collect();
    let placeholder_sha: String = Sha256::digest(placeholder())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();

    let mut by_outcome: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut known = 0;
    for link in &links {
        let url = s(link, "url").split('#').next().unwrap_or_default();
        if !url.starts_with("http") {
            continue;
        }
        let Some(result) = results.get(url) else {
            panic!("no result for {url}");
        };
        let outcome = s(result, "outcome");
        let code = s(result, "reason_code");
        // Every link's fate is known from the imitation's rules.
        if let Some(alive) = expected_alive(url) {
            assert_eq!(outcome == "fetched", alive, "{url}: {result}");
            known += 1;
        }
        *by_outcome
            .entry((outcome.to_owned(), code.to_owned()))
            .or_default() += 1;
        match outcome {
            "fetched" => {
                assert_ne!(
                    s(result, "sha256"),
                    placeholder_sha,
                    "{url}: a placeholder archived"
                );
                let kind = s(result, "kind");
                let media = s(result, "media_type");
                assert!(
                    (kind == "image" && media.starts_with("image/"))
                        || (kind != "image" && media == "application/pdf"),
                    "{url}: {result}"
                );
            }
            "failed" => {
                assert!(
                    !code.is_empty() && !s(result, "reason").is_empty(),
                    "{url}: {result}"
                );
                assert!(
                    matches!(code, "http-404" | "blocked"),
                    "{url}: an unexpected failure: {result}"
                );
                if code == "blocked" {
                    assert!(url.contains("ieeexplore"), "{url}: {result}");
                }
            }
            other => panic!("{url}: outcome {other}: {result}"),
        }
    }
    let fetched: usize = by_outcome
        .iter()
        .filter(|((o, _), _)| o == "fetched")
        .map(|(_, n)| n)
        .sum();
    assert!(fetched > 700, "{by_outcome:?}");
    assert!(
        by_outcome
            .get(&("failed".into(), "http-404".into()))
            .copied()
            .unwrap_or(0)
            > 50,
        "{by_outcome:?}"
    );
    assert!(
        known > 900,
        "{known} of {} links with a known fate",
        links.len()
    );
    assert_eq!(output.status.code(), Some(2), "{by_outcome:?}");
    // WeChat images were asked with no Referer: the one foreign request is the
    // probe that learns the placeholder.
    let verify = archiver_in(tree.path()).arg("verify").output().unwrap();
    assert_eq!(
        verify.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
}
