//! GitHub's REST API: `GET repos/<owner>/<repo>` with the token answers 200 for
//! a repository the token can see and 404 for one that is gone (or private).
//! The token goes to the API's host alone, redirects included.

use serde::Deserialize;

use super::{Decision, FLAG, ask};
use crate::judge::Judgement;
use crate::net::probe::{Credential, Engine, RequestOptions, host_key};
use crate::sites::batch::BatchRule;
use crate::verdict::Verdict;

/// The part of the API's answer that matters.
#[derive(Debug, Deserialize)]
struct Repository {
    full_name: String,
    html_url: String,
}

/// Asks the API about each repository of `items` (caller's index, `owner/repo`).
pub async fn check(
    engine: &Engine,
    rule: &BatchRule,
    token: Option<&str>,
    items: &[(usize, String)],
) -> Vec<(usize, Option<Decision>)> {
    let mut decided = Vec::with_capacity(items.len());
    for (i, repo) in items {
        decided.push((*i, one(engine, rule, token, repo).await));
    }
    decided
}

async fn one(
    engine: &Engine,
    rule: &BatchRule,
    token: Option<&str>,
    repo: &str,
) -> Option<Decision> {
    let url = rule.endpoint.join(repo).ok()?;
    let options = RequestOptions {
        accept: Some("application/vnd.github+json".to_owned()),
        credential: token.map(|token| Credential {
            host: host_key(&rule.endpoint).to_owned(),
            port: rule.endpoint.port_or_known_default().unwrap_or(443),
            name: "Authorization".to_owned(),
            value: format!("Bearer {token}"),
        }),
        ..RequestOptions::default()
    };
    let (status, body) = match ask(engine, &url, &options).await {
        Ok(answer) => answer,
        Err(e) => {
            tracing::debug!("{url}: {}; checked the usual way", e.reason);
            return None;
        }
    };
    let flags = vec![FLAG.to_owned()];
    let judgement = match status {
        200 => {
            let found: Repository = serde_json::from_slice(&body).ok()?;
            if found.full_name.eq_ignore_ascii_case(repo) {
                Judgement {
                    status: Some(200),
                    flags,
                    ..Judgement::new(Verdict::Ok, None)
                }
            } else {
                // Renamed or moved to another owner: GitHub redirects the
                // old address to the new one.
                Judgement {
                    status: Some(200),
                    final_url: Some(found.html_url),
                    flags,
                    ..Judgement::new(
                        Verdict::Redirected,
                        format!("the repository is now {}", found.full_name),
                    )
                }
            }
        }
        404 | 410 => Judgement {
            status: Some(status),
            flags,
            ..Judgement::new(
                Verdict::Dead,
                format!("GitHub has no repository {repo} (deleted, or private)"),
            )
        },
        401 => {
            static ONCE: std::sync::Once = std::sync::Once::new();
            ONCE.call_once(|| {
                tracing::warn!(
                    "{url}: GitHub refused the token (401); repository links are checked the usual way"
                );
            });
            return None;
        }
        _ => {
            tracing::debug!("{url}: HTTP {status}; checked the usual way");
            return None;
        }
    };
    Some(Decision {
        judgement,
        pdf_url: None,
    })
}
