//! `archiver fetch` on every media link of the real notes, each host imitated by
//! the fixture server: WeChat's CDN with its placeholder for foreign Referers,
//! arXiv's PDFs, paper pages that name their PDF, a bot-walled publisher, and
//! about one link in seven dead. Every image and paper link must be archived or
//! carry a stated reason, and no placeholder may ever be archived.

mod util;

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};
use util::media_hosts::{self, PAPER_HOSTS, is_dead, placeholder};
use util::{Exit, Report, corpus, links_in, s};

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
    let fixture = media_hosts::start(&dir);
    let tree = util::Tree::new();
    tree.file("archiver.toml", media_hosts::config());

    let Report { results, .. } = tree
        .archiver()
        // The media: the articles' snapshots are tests/article.rs's concern,
        // and WeChat's pace would make 734 of them take three minutes here.
        .args(["fetch", "--format", "json", "--kinds", "image,pdf,paper"])
        .args(fixture.args())
        .arg(dir.join("."))
        .expect(Exit::Findings)
        .report();
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
    // WeChat images were asked with no Referer: the one foreign request is the
    // probe that learns the placeholder.
    tree.archiver().arg("verify").expect(Exit::Success);
}
