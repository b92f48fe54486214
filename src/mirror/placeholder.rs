//! Telling a host's stand-in picture from the file: WeChat's CDN answers a
//! foreign Referer with 200 and a "not allowed to quote" placeholder, which must
//! never be archived as the image.
//!
//! A placeholder is recognized three ways, all from the site rule: its sha256
//! among the known ones, its picture size, or the hash learnt during the run by
//! asking once with a foreign Referer (`placeholder_probe`) and remembering the
//! answer. A host that answers that probe with the real file is caught out when
//! the probed URL gives the same bytes to every Referer policy: the learnt hash
//! is then dropped.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::OnceCell;
use url::Url;

use super::Target;
use crate::net::probe::{Engine, Extra};
use crate::sites::fetch::FetchRule;
use crate::store::write::{Digest, Writer};

/// The most a placeholder probe reads: placeholders are small pictures, and a
/// larger answer is the file itself.
const PROBE_LIMIT: u64 = 4 << 20;

/// A placeholder learnt at run time.
#[derive(Debug)]
pub struct Learnt {
    /// The URL the probe asked.
    url: Url,
    /// What came back with the foreign Referer.
    sha256: String,
    /// Cleared when the same URL gave the same bytes without that Referer.
    trusted: AtomicBool,
}

/// Placeholders learnt during a run, one per site rule, each learnt once even
/// when many downloads of the rule start together.
#[derive(Debug, Default, Clone)]
pub struct Placeholders {
    by_rule: Arc<Mutex<HashMap<String, Arc<Learning>>>>,
}

/// A rule's placeholder: being learnt, learnt, or found not to exist.
type Learning = OnceCell<Option<Arc<Learnt>>>;

impl Placeholders {
    /// The placeholder learnt for `rule`, learning it with `learn` the first time.
    pub async fn learn<F, Fut>(&self, rule: &str, learn: F) -> Option<Arc<Learnt>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Option<Learnt>>,
    {
        let cell = {
            let mut map = self.by_rule.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(map.entry(rule.to_owned()).or_default())
        };
        cell.get_or_init(|| async { learn().await.map(Arc::new) })
            .await
            .clone()
    }
}

/// Asks `url` with the foreign Referer `probe` and returns the answer's hash.
pub async fn learn_placeholder(
    engine: &Engine,
    target: &Target,
    url: &Url,
    probe: &str,
) -> Option<Learnt> {
    let extra = Extra {
        referer: Some(probe.to_owned()),
        ..Extra::default()
    };
    let download = engine.download(url, &extra).await;
    let mut body = download.body?;
    // Hashed by the object writer, off the async threads, then dropped.
    let mut writer = Writer::start(target.tmp.clone(), target.objects.clone());
    let mut size = 0u64;
    let digest = loop {
        match body.chunk().await {
            Ok(Some(chunk)) => {
                size += chunk.len() as u64;
                if size > PROBE_LIMIT || writer.write(chunk).await.is_err() {
                    break None;
                }
            }
            Ok(None) => break writer.finish(Some(size)).await.ok(),
            Err(_) => break None,
        }
    };
    writer.abandon().await;
    let digest = digest?;
    tracing::debug!(
        "{url}: with Referer {probe}, {} bytes, sha256 {}",
        digest.size,
        digest.sha256
    );
    Some(Learnt {
        url: url.clone(),
        sha256: digest.sha256,
        trusted: AtomicBool::new(true),
    })
}

/// What an answer is checked against.
pub struct PlaceholderCheck<'a> {
    /// The site rule's known placeholders.
    pub rule: &'a FetchRule,
    /// The one learnt this run, if any.
    pub learnt: Option<&'a Learnt>,
}

impl PlaceholderCheck<'_> {
    /// How the body of `url` was recognized as a placeholder, if it was.
    /// `last_try` says whether another Referer policy is left to try.
    pub fn recognizes(
        &self,
        url: &Url,
        digest: &Digest,
        head: &[u8],
        last_try: bool,
    ) -> Option<String> {
        let size = imagesize::blob_size(head)
            .ok()
            .and_then(|s| Some((u32::try_from(s.width).ok()?, u32::try_from(s.height).ok()?)));
        if self
            .rule
            .placeholder_sha256
            .iter()
            .any(|h| h == &digest.sha256)
        {
            return Some(format!("known sha256 {}", short(&digest.sha256)));
        }
        if let Some((w, h)) = size
            && self.rule.placeholder_size.contains(&(w, h))
        {
            return Some(format!("a {w}×{h} picture"));
        }
        let learnt = self.learnt?;
        if learnt.sha256 != digest.sha256 || !learnt.trusted.load(Ordering::Relaxed) {
            return None;
        }
        if learnt.url == *url && last_try {
            // The probed URL gives every Referer what the foreign one got: this
            // host sends no placeholder, and the probe's answer was the file.
            learnt.trusted.store(false, Ordering::Relaxed);
            return None;
        }
        Some(format!(
            "the sha256 {} a foreign Referer draws",
            short(&digest.sha256)
        ))
    }
}

fn short(sha: &str) -> &str {
    &sha[..sha.len().min(12)]
}
