//! arXiv's query API: `?id_list=a,b,c&max_results=N` answers an Atom feed with
//! one entry per paper that exists; a missing id simply has no entry.

use super::{Decision, FLAG, ask};
use crate::judge::Judgement;
use crate::net::probe::{Engine, RequestOptions};
use crate::sites::batch::BatchRule;
use crate::verdict::Verdict;

/// A paper the feed lists.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    /// The id with its version (`2207.02696v1`).
    id: String,
    /// Its PDF.
    pdf: Option<String>,
}

/// Asks the API about `items` (caller's index, paper id) in one request.
pub async fn check(
    engine: &Engine,
    rule: &BatchRule,
    items: &[(usize, String)],
) -> Vec<(usize, Option<Decision>)> {
    let undecided = || items.iter().map(|(i, _)| (*i, None)).collect();
    let mut url = rule.endpoint.clone();
    let ids: Vec<&str> = items.iter().map(|(_, id)| id.as_str()).collect();
    // Ids are letters, digits, dots, dashes and slashes: the commas stay
    // literal, as the API's documentation writes them.
    url.set_query(Some(&format!(
        "id_list={}&max_results={}",
        ids.join(","),
        ids.len()
    )));
    let options = RequestOptions {
        accept: Some("application/atom+xml".to_owned()),
        ..RequestOptions::default()
    };
    // The request's URL lists up to a hundred ids: messages name the API and
    // how many papers it was asked about, the URL goes to the debug log.
    let (api, n) = (&rule.endpoint, items.len());
    tracing::debug!("asking {url}");
    let feed = match ask(engine, &url, &options).await {
        Ok((200, body)) => String::from_utf8_lossy(&body).into_owned(),
        Ok((status, _)) => {
            tracing::warn!(
                "the arXiv API ({api}) answered {status} when asked about {n} papers; they are checked one by one"
            );
            return undecided();
        }
        Err(e) if e.told => {
            // Unreachable, as every other host may be, which the run's
            // network watch tells; or cut short by the run's stop.
            tracing::info!(
                "the arXiv API ({api}) did not answer ({}); {n} papers are checked one by one",
                e.reason
            );
            return undecided();
        }
        Err(e) => {
            tracing::warn!(
                "the arXiv API ({api}) did not answer ({}); {n} papers are checked one by one",
                e.reason
            );
            return undecided();
        }
    };
    match parse_feed(&feed) {
        Ok(feed) => decide(items, &feed),
        Err(e) => {
            tracing::warn!(
                "the arXiv API's answer ({api}) about {n} papers is not a feed I can read ({e}); they are checked one by one"
            );
            undecided()
        }
    }
}

/// A feed as read.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Feed {
    entries: Vec<Entry>,
    /// `opensearch:totalResults`: how many papers the API found.
    total: Option<usize>,
}

/// Each item's decision from the feed. An id the feed does not list is dead,
/// unless the feed is empty (the API has bad moments when it answers nothing)
/// or says it found more papers than it lists (cut short): those are asked
/// one by one instead.
fn decide(items: &[(usize, String)], feed: &Feed) -> Vec<(usize, Option<Decision>)> {
    let entries = &feed.entries;
    let short = entries.is_empty() || feed.total.is_some_and(|t| t > entries.len());
    items
        .iter()
        .map(|(i, id)| {
            // The version asked for first; any version of the paper after.
            let found = entries.iter().find(|e| e.id == *id).or_else(|| {
                entries
                    .iter()
                    .find(|e| without_version(&e.id) == without_version(id))
            });
            if found.is_none() && short {
                return (*i, None);
            }
            let decision = match found {
                Some(entry) => Decision {
                    judgement: Judgement {
                        verdict: Verdict::Ok,
                        status: Some(200),
                        final_url: None,
                        moved_to: None,
                        reason: None,
                        flags: vec![FLAG.to_owned()],
                        answered_in: None,
                    },
                    pdf_url: entry.pdf.clone(),
                },
                None => Decision {
                    judgement: Judgement {
                        flags: vec![FLAG.to_owned()],
                        ..Judgement::new(
                            Verdict::Dead,
                            format!("arXiv has no paper {id} (its API lists none)"),
                        )
                    },
                    pdf_url: None,
                },
            };
            (*i, Some(decision))
        })
        .collect()
}

/// `2207.02696v3` → `2207.02696`; an id without a version is itself.
fn without_version(id: &str) -> &str {
    match id.rfind('v') {
        Some(at)
            if at > 0
                && id[at + 1..].chars().all(|c| c.is_ascii_digit())
                && at + 1 < id.len()
                && id[..at].ends_with(|c: char| c.is_ascii_digit()) =>
        {
            &id[..at]
        }
        _ => id,
    }
}

/// The entries of an Atom feed; an error entry (the API's way to refuse a
/// malformed id) makes the whole feed unusable.
fn parse_feed(xml: &str) -> Result<Feed, String> {
    let doc = roxmltree::Document::parse(xml).map_err(|e| e.to_string())?;
    if doc.root_element().tag_name().name() != "feed" {
        return Err(format!(
            "the document is a <{}>, not a <feed>",
            doc.root_element().tag_name().name()
        ));
    }
    let mut entries = Vec::new();
    for entry in doc
        .root_element()
        .children()
        .filter(|n| n.has_tag_name("entry") || n.tag_name().name() == "entry")
    {
        let id = entry
            .children()
            .find(|n| n.tag_name().name() == "id")
            .and_then(|n| n.text())
            .unwrap_or_default()
            .trim();
        if id.contains("/api/errors") {
            return Err(format!("the API reports an error: {id}"));
        }
        let Some((_, id)) = id.split_once("/abs/") else {
            continue;
        };
        let pdf = entry
            .children()
            .filter(|n| n.tag_name().name() == "link")
            .find(|n| {
                n.attribute("title") == Some("pdf")
                    || n.attribute("type") == Some("application/pdf")
            })
            .and_then(|n| n.attribute("href"))
            .map(|href| href.replacen("http://", "https://", 1));
        entries.push(Entry {
            id: id.to_owned(),
            pdf,
        });
    }
    let total = doc
        .root_element()
        .children()
        .find(|n| n.tag_name().name() == "totalResults")
        .and_then(|n| n.text())
        .and_then(|t| t.trim().parse().ok());
    Ok(Feed { entries, total })
}

#[cfg(test)]
mod tests {
    use super::*;

    const FEED: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">
  <title type="html">ArXiv Query: id_list=2207.02696,2301.00001,quant-ph/0112019</title>
  <opensearch:totalResults>2</opensearch:totalResults>
  <entry>
    <id>http://arxiv.org/abs/2207.02696v1</id>
    <title>YOLOv7</title>
    <link href="http://arxiv.org/abs/2207.02696v1" rel="alternate" type="text/html"/>
    <link title="pdf" href="http://arxiv.org/pdf/2207.02696v1" rel="related" type="application/pdf"/>
  </entry>
  <entry>
    <id>http://arxiv.org/abs/quant-ph/0112019v2</id>
    <title>Old style</title>
  </entry>
</feed>"#;

    #[test]
    fn papers_in_the_feed_live_and_the_others_are_dead() {
        let feed = parse_feed(FEED).unwrap();
        assert_eq!((feed.entries.len(), feed.total), (2, Some(2)));
        let items = vec![
            (0, "2207.02696".to_owned()),
            (1, "2301.00001".to_owned()),
            (2, "quant-ph/0112019".to_owned()),
            (3, "2207.02696v1".to_owned()),
        ];
        let decided = decide(&items, &feed);
        let verdicts: Vec<(usize, Verdict)> = decided
            .iter()
            .map(|(i, d)| (*i, d.as_ref().unwrap().judgement.verdict))
            .collect();
        assert_eq!(
            verdicts,
            [
                (0, Verdict::Ok),
                (1, Verdict::Dead),
                (2, Verdict::Ok),
                (3, Verdict::Ok)
            ]
        );
        assert_eq!(
            decided[0].1.as_ref().unwrap().pdf_url.as_deref(),
            Some("https://arxiv.org/pdf/2207.02696v1")
        );
    }

    #[test]
    fn an_error_feed_or_an_empty_one_decides_nothing() {
        let error = r#"<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>http://arxiv.org/api/errors#incorrect_id_format_for_x</id><title>Error</title></entry></feed>"#;
        assert!(parse_feed(error).is_err());
        assert!(parse_feed("<html>busy</html>").is_err());
        let empty = parse_feed(r#"<feed xmlns="http://www.w3.org/2005/Atom"></feed>"#).unwrap();
        let items = vec![(0, "2207.02696".to_owned()), (1, "2301.00001".to_owned())];
        assert!(decide(&items, &empty).iter().all(|(_, d)| d.is_none()));
        assert!(decide(&items[..1], &empty)[0].1.is_none());
        // A feed that found more than it lists decides only what it lists.
        let mut short = parse_feed(FEED).unwrap();
        short.total = Some(3);
        let decided = decide(&items, &short);
        assert_eq!(
            decided[0].1.as_ref().unwrap().judgement.verdict,
            Verdict::Ok
        );
        assert!(decided[1].1.is_none());
    }

    #[test]
    fn the_version_asked_for_is_matched_first() {
        let feed = Feed {
            entries: vec![
                Entry {
                    id: "2207.02696v3".into(),
                    pdf: Some("v3".into()),
                },
                Entry {
                    id: "2207.02696v1".into(),
                    pdf: Some("v1".into()),
                },
            ],
            total: None,
        };
        let items = vec![(0, "2207.02696".to_owned()), (1, "2207.02696v1".to_owned())];
        let decided = decide(&items, &feed);
        let pdf = |n: usize| decided[n].1.as_ref().unwrap().pdf_url.clone();
        assert_eq!(pdf(0).as_deref(), Some("v3"));
        assert_eq!(pdf(1).as_deref(), Some("v1"));
    }

    #[test]
    fn versions_come_off_ids() {
        assert_eq!(without_version("2207.02696v12"), "2207.02696");
        assert_eq!(without_version("2207.02696"), "2207.02696");
        assert_eq!(without_version("solv-int/9901001v1"), "solv-int/9901001");
        assert_eq!(without_version("solv-int/9901001"), "solv-int/9901001");
    }
}
