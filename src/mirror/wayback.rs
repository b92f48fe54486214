//! Files gone at their source, from the Wayback Machine: its availability API
//! names the closest capture, and the capture's raw bytes (`id_`, without the
//! toolbar) are archived like any download, checked the same way, with the
//! manifest saying `source: wayback` and the capture's timestamp.

use url::Url;

use super::placeholder::PlaceholderCheck;
use super::{Attempt, Downloads, Mirrored, Tried, attempt};
use crate::manifest::Source;
use crate::media::MediaKind;
use crate::net::probe::Engine;
use crate::sites::SiteRules;
use crate::sites::fetch::Referer;

/// Where the Wayback Machine answers.
#[derive(Debug, Clone)]
pub struct Wayback {
    /// The availability API, asked with `?url=`.
    pub api: Url,
    /// The capture URL template, with `{timestamp}` and `{url}`.
    pub capture: String,
}

/// Why no capture was archived.
#[derive(Debug)]
pub enum Missing {
    /// In words, to add to the origin's problem.
    Why(String),
    /// The disk filled up while writing the capture: the run stops.
    DiskFull(super::Problem),
}

impl From<String> for Missing {
    fn from(why: String) -> Self {
        Missing::Why(why)
    }
}

impl Wayback {
    /// Archives the closest capture of `url`.
    ///
    /// # Errors
    /// Why there is none to archive, as a clause to add to the original reason.
    pub async fn capture(
        &self,
        engine: &Engine,
        sites: &SiteRules,
        target: &Downloads,
        url: &Url,
        kind: MediaKind,
        check: &PlaceholderCheck<'_>,
    ) -> Result<Mirrored, Missing> {
        let timestamp = self.closest(engine, url).await?;
        let capture = self
            .capture
            .replace("{timestamp}", &timestamp)
            .replace("{url}", url.as_str());
        let capture = Url::parse(&capture)
            .map_err(|e| format!("the capture URL {capture} is not a URL: {e}"))?;
        tracing::debug!("{url}: gone; trying the Wayback Machine's capture {capture}");
        let tried = Tried {
            referer: &Referer::None,
            last: true,
            known: None,
            public_only: false,
        };
        match attempt(engine, sites, target, &capture, kind, tried, check).await {
            Ok(mirrored) => Ok(Mirrored {
                source: Source::Wayback,
                captured_at: Some(timestamp),
                uses: Vec::new(),
                page_sha256: None,
                ..mirrored
            }),
            Err(Attempt::Unchanged) => Err("the capture could not be read".to_owned().into()),
            Err(Attempt::Placeholder(why)) => Err(format!(
                "the Wayback Machine's capture of {timestamp} is the placeholder too ({why})"
            )
            .into()),
            // A full disk is the run's problem, not the capture's.
            Err(Attempt::Failed(problem)) if problem.code == super::Code::DiskFull => {
                Err(Missing::DiskFull(problem))
            }
            Err(Attempt::Failed(problem)) => Err(format!(
                "the Wayback Machine's capture of {timestamp} could not be archived either: {}",
                problem.reason
            )
            .into()),
        }
    }

    /// The timestamp of the closest usable capture of `url`.
    /// (Its errors are sentences, as [`Missing::Why`].)
    async fn closest(&self, engine: &Engine, url: &Url) -> Result<String, String> {
        let mut api = self.api.clone();
        api.query_pairs_mut().append_pair("url", url.as_str());
        let outcome = engine.page(&api).await;
        let body = match &outcome.result {
            Ok(r) if (200..300).contains(&r.status) => &r.body,
            Ok(r) => {
                return Err(format!("the Wayback Machine's API answered {}", r.status));
            }
            Err(f) => {
                return Err(format!(
                    "the Wayback Machine could not be asked ({})",
                    f.code()
                ));
            }
        };
        let doc: serde_json::Value = serde_json::from_slice(body)
            .map_err(|e| format!("the Wayback Machine's answer is not JSON ({e})"))?;
        let closest = &doc["archived_snapshots"]["closest"];
        let available = closest["available"].as_bool() == Some(true);
        let status_ok = closest["status"]
            .as_str()
            .is_none_or(|s| s.starts_with('2'));
        match closest["timestamp"].as_str() {
            Some(ts)
                if available
                    && status_ok
                    && !ts.is_empty()
                    && ts.len() <= 14
                    && ts.bytes().all(|b| b.is_ascii_digit()) =>
            {
                Ok(ts.to_owned())
            }
            _ => Err("no capture in the Wayback Machine".to_owned()),
        }
    }
}
