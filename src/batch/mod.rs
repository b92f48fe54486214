//! Checking links many at a time through a site's API, where a site rule's
//! `batch` table offers one (`crate::sites::batch`).
//!
//! arXiv asks API clients for one request every three seconds; checked one by
//! one, five hundred papers would take half an hour of polite requests to
//! arxiv.org, while a hundred ids per API request take five requests. GitHub's
//! REST API answers for a repository with a token's rate limit instead of the
//! web's. The API requests go through the same engine as every other request,
//! so the API host's site rule (interval, concurrency) paces them.
//!
//! A link the API cannot decide (an error answer, a feed that does not parse,
//! a renamed repository) comes back undecided and is checked the usual way.

mod arxiv;
mod github;

use std::collections::BTreeMap;

use url::Url;

use crate::judge::Judgement;
use crate::net::probe::{Engine, Failure, RequestOptions};
use crate::sites::SiteRules;
use crate::sites::batch::{Api, BatchRule};

/// The flag of a result an API decided.
pub const FLAG: &str = "api";

/// Links of one rule to check through its API.
#[derive(Debug)]
pub struct Group {
    rule: BatchRule,
    token: Option<String>,
    /// (caller's index, the id the API knows).
    items: Vec<(usize, String)>,
}

impl Group {
    /// The caller's indexes of the group's links.
    pub fn indexes(&self) -> impl Iterator<Item = usize> + '_ {
        self.items.iter().map(|(i, _)| *i)
    }
}

/// What the API said about one link.
#[derive(Debug, Clone)]
pub struct Decision {
    /// The verdict.
    pub judgement: Judgement,
    /// The paper's PDF, where the API names it.
    pub pdf_url: Option<String>,
}

/// Sorts `urls` into groups to check through an API; the indexes of the
/// others (and of the `None`s, URLs that did not parse) come back as the
/// second value.
#[must_use]
pub fn plan(urls: &[Option<Url>], sites: &SiteRules) -> (Vec<Group>, Vec<usize>) {
    let mut groups: BTreeMap<String, Group> = BTreeMap::new();
    let mut rest = Vec::new();
    let mut missing_tokens = BTreeMap::new();
    for (i, url) in urls.iter().enumerate() {
        let batched = url.as_ref().and_then(|url| {
            let rule = sites.lookup(url.host_str()?)?;
            Some((url, rule, rule.batch.as_ref()?))
        });
        let Some((url, rule, batch)) = batched else {
            rest.push(i);
            continue;
        };
        let Some(id) = batch.id_of(url.as_str()) else {
            rest.push(i);
            continue;
        };
        let token = match batch.token() {
            Ok(token) => token,
            Err(var) => {
                missing_tokens.entry(var).or_insert(rule.name.clone());
                rest.push(i);
                continue;
            }
        };
        groups
            .entry(rule.name.clone())
            .or_insert_with(|| Group {
                rule: batch.clone(),
                token,
                items: Vec::new(),
            })
            .items
            .push((i, id));
    }
    for (var, rule) in missing_tokens {
        tracing::info!("{var} is not set: the links of site rule `{rule}` are checked one by one");
    }
    (groups.into_values().collect(), rest)
}

/// What to tell about `blocked` URLs a site's API could have vouched for, had
/// its token been set: per rule, how many there are and which variable to set.
/// A rate limit or a bot wall on the web is often not one on the API.
#[must_use]
pub fn token_hints<'a>(blocked: impl Iterator<Item = &'a str>, sites: &SiteRules) -> Vec<String> {
    let mut missing: BTreeMap<(String, String, String), usize> = BTreeMap::new();
    for url in blocked {
        let Some(rule) = Url::parse(url)
            .ok()
            .and_then(|u| u.host_str().and_then(|h| sites.lookup(h)))
        else {
            continue;
        };
        let Some(batch) = &rule.batch else { continue };
        if let (Err(var), Some(_)) = (batch.token(), batch.id_of(url)) {
            let api = batch.endpoint.host_str().unwrap_or_default().to_owned();
            *missing.entry((rule.name.clone(), var, api)).or_default() += 1;
        }
    }
    missing
        .into_iter()
        .map(|((rule, var, api), n)| {
            let (links, they) = if n == 1 {
                ("link", "it is")
            } else {
                ("links", "they are")
            };
            format!(
                "{n} {links} of site rule `{rule}` ended blocked; with {var} set {they} checked through {api}, under the token's rate limit"
            )
        })
        .collect()
}

/// The API requests for every group, answering as they finish: each link's
/// decision, `None` where the API could not decide.
pub fn requests<'a>(
    engine: &'a Engine,
    groups: &'a [Group],
) -> impl futures_util::Stream<Item = Vec<(usize, Option<Decision>)>> + 'a {
    let requests = futures_util::stream::FuturesUnordered::new();
    for group in groups {
        for chunk in group.items.chunks(group.rule.size) {
            let token = group.token.as_deref();
            requests.push(async move {
                match group.rule.api {
                    Api::Arxiv => arxiv::check(engine, &group.rule, chunk).await,
                    Api::Github => github::check(engine, &group.rule, token, chunk).await,
                }
            });
        }
    }
    requests
}

/// The most of an API answer read.
const MAX_ANSWER: usize = 16 << 20;

/// Why an API gave no answer.
#[derive(Debug)]
struct Unanswered {
    /// What went wrong, in a few words.
    reason: String,
    /// Whether something else speaks for it: the run's network watch, for
    /// what a machine without a network sees, or the run's stop, for a
    /// request it cut short.
    told: bool,
}

/// Asks `url` with `options`; its status and body (at most [`MAX_ANSWER`]
/// bytes), or why there is none.
async fn ask(
    engine: &Engine,
    url: &Url,
    options: &RequestOptions,
) -> Result<(u16, Vec<u8>), Unanswered> {
    let download = engine.download(url, options).await;
    let response = download.result.map_err(|f| Unanswered {
        reason: f.to_string(),
        told: f.is_network() || matches!(f, Failure::Cancelled),
    })?;
    let Some(mut body) = download.body else {
        return Ok((response.status, response.body));
    };
    let mut bytes = Vec::new();
    let failed = |reason: String| Unanswered {
        reason,
        told: false,
    };
    while let Some(chunk) = body.chunk().await.map_err(|e| failed(e.to_string()))? {
        bytes.extend_from_slice(&chunk);
        if bytes.len() > MAX_ANSWER {
            return Err(failed(format!(
                "the answer is larger than {MAX_ANSWER} bytes"
            )));
        }
    }
    Ok((response.status, bytes))
}
