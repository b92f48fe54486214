//! Telling a host's stand-in picture from the file: WeChat's CDN answers a
//! foreign Referer with 200 and a "not allowed to quote" placeholder, which must
//! never be archived as the image.
//!
//! A placeholder is recognized three ways, all from the site rule: its sha256
//! among the known ones; the hash learnt during the run (`placeholder_probe`);
//! or, when nothing was learnt, its picture size. Learning asks one URL with
//! the foreign Referer, then with the rule's policies in turn: only when one of
//! them gets something else, and the foreign answer is a picture, is its hash
//! the stand-in. Equal answers prove nothing (a walled URL gives everyone the
//! stand-in, a host that ignores Referers gives everyone the file), so learning
//! tries again on a later URL, a few times at most; URLs archived before it
//! concluded are checked against what it learnt at the end of the run
//! ([`Placeholders::stand_ins`]). A learnt hash outranks the size, so a real
//! picture of the stand-in's size is kept.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::OnceCell;
use url::Url;

use super::Downloads;
use crate::media::{self, Class, SNIFF_LEN};
use crate::net::probe::{Engine, RequestOptions};
use crate::sites::fetch::{FetchRule, Referer};
use crate::store::write::{Digest, Writer};

/// The most a learning request reads: stand-ins are small pictures, and a
/// larger answer is the file itself.
const PROBE_LIMIT: u64 = 512 * 1024;

/// How many URLs learning may try before deciding the host has no stand-in.
const LESSONS: u32 = 3;

/// A placeholder learnt at run time: the hash of the stand-in.
#[derive(Debug)]
pub struct Learnt {
    sha256: String,
}

/// What one lesson taught.
pub enum Lesson {
    /// The stand-in's hash.
    Learnt(Learnt),
    /// Nothing either way: try another URL.
    Inconclusive,
}

/// Placeholders learnt during a run, one per site rule and host, each learnt
/// once even when many downloads start together.
#[derive(Debug, Default, Clone)]
pub struct Placeholders {
    by_key: Arc<Mutex<HashMap<String, Arc<Learning>>>>,
}

/// A rule's placeholder on one host: being learnt, learnt, or given up on.
#[derive(Debug, Default)]
struct Learning {
    learnt: OnceCell<Option<Arc<Learnt>>>,
    lessons: AtomicU32,
}

impl Placeholders {
    /// Every stand-in learnt so far.
    #[must_use]
    pub fn stand_ins(&self) -> std::collections::BTreeSet<String> {
        let map = self.by_key.lock().unwrap_or_else(PoisonError::into_inner);
        map.values()
            .filter_map(|l| l.learnt.get().cloned().flatten())
            .map(|l| l.sha256.clone())
            .collect()
    }

    /// The placeholder learnt under `key` (rule and host), taking a lesson
    /// with `learn` while none has been conclusive and lessons are left.
    pub async fn learn<F, Fut>(&self, key: &str, learn: F) -> Option<Arc<Learnt>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Lesson>,
    {
        let learning = {
            let mut map = self.by_key.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(map.entry(key.to_owned()).or_default())
        };
        let taught = learning
            .learnt
            .get_or_try_init(|| async {
                match learn().await {
                    Lesson::Learnt(learnt) => Ok(Some(Arc::new(learnt))),
                    Lesson::Inconclusive
                        if learning.lessons.fetch_add(1, Ordering::SeqCst) + 1 >= LESSONS =>
                    {
                        Ok(None)
                    }
                    Lesson::Inconclusive => Err(()),
                }
            })
            .await;
        taught.ok().cloned().flatten()
    }
}

/// Asks `url` with the foreign Referer `probe`, then with each of `policies`
/// until one gets something else, and learns the foreign answer's hash when
/// one does and it is a picture. With `public_only`, the requests connect to
/// public addresses only.
pub async fn learn_placeholder(
    engine: &Engine,
    target: &Downloads,
    (url, public_only): (&Url, bool),
    probe: &str,
    policies: &[Referer],
) -> Lesson {
    let ask = |referer| answer(engine, target, url, referer, public_only);
    let Some(Answer::Small(foreign, head)) = ask(Some(probe)).await else {
        return Lesson::Inconclusive;
    };
    if !media::sniff(&head).is_some_and(|s| s.class == Class::Image) {
        return Lesson::Inconclusive;
    }
    let mut differs = false;
    for policy in policies {
        differs = match ask(policy.header()).await {
            Some(Answer::Small(own, _)) => own.sha256 != foreign.sha256,
            // Larger than any stand-in: the file itself.
            Some(Answer::Large) => true,
            None => false,
        };
        if differs {
            break;
        }
    }
    if !differs {
        tracing::debug!("{url}: the same answer whatever the Referer; no lesson");
        return Lesson::Inconclusive;
    }
    tracing::debug!(
        "{url}: Referer {probe} draws a stand-in of {} bytes, sha256 {}",
        foreign.size,
        foreign.sha256
    );
    Lesson::Learnt(Learnt {
        sha256: foreign.sha256,
    })
}

/// A 2xx answer to a lesson's request.
enum Answer {
    /// Small enough to be a stand-in: its hash and first bytes.
    Small(Digest, Vec<u8>),
    /// Over [`PROBE_LIMIT`].
    Large,
}

/// A 2xx answer's hash and first bytes, within the request timeout.
async fn answer(
    engine: &Engine,
    target: &Downloads,
    url: &Url,
    referer: Option<&str>,
    public_only: bool,
) -> Option<Answer> {
    let options = RequestOptions {
        referer: referer.map(str::to_owned),
        public_only,
        ..RequestOptions::default()
    };
    let read = async {
        let download = engine.download(url, &options).await;
        let mut body = download.body?;
        // Hashed by the object writer, off the async threads, then dropped.
        let mut writer = Writer::start(target.store.stage());
        let (mut size, mut head) = (0u64, Vec::new());
        let answer = loop {
            match body.chunk().await {
                Ok(Some(chunk)) => {
                    size += chunk.len() as u64;
                    if head.len() < SNIFF_LEN {
                        let room = SNIFF_LEN - head.len();
                        head.extend_from_slice(&chunk[..chunk.len().min(room)]);
                    }
                    if size > PROBE_LIMIT {
                        break Some(Answer::Large);
                    }
                    if writer.write(chunk).await.is_err() {
                        break None;
                    }
                }
                Ok(None) => {
                    break writer
                        .finish(Some(size))
                        .await
                        .ok()
                        .map(|d| Answer::Small(d, std::mem::take(&mut head)));
                }
                Err(_) => break None,
            }
        };
        writer.abandon().await;
        answer
    };
    tokio::time::timeout(target.probe_timeout, read)
        .await
        .ok()
        .flatten()
}

/// What an answer is checked against.
pub struct PlaceholderCheck<'a> {
    /// The site rule's known placeholders.
    pub rule: &'a FetchRule,
    /// The one learnt this run, if any.
    pub learnt: Option<&'a Learnt>,
}

impl PlaceholderCheck<'_> {
    /// How a body was recognized as a placeholder, if it was.
    pub fn recognizes(&self, digest: &Digest, head: &[u8]) -> Option<String> {
        if self
            .rule
            .placeholder_sha256
            .iter()
            .any(|h| h == &digest.sha256)
        {
            return Some(format!("known sha256 {}", short(&digest.sha256)));
        }
        // What the host really sends as its stand-in outranks a size: a real
        // picture of the same size is kept.
        if let Some(learnt) = self.learnt {
            return (learnt.sha256 == digest.sha256).then(|| {
                format!(
                    "the sha256 {} a foreign Referer draws",
                    short(&digest.sha256)
                )
            });
        }
        let size = imagesize::blob_size(head)
            .ok()
            .and_then(|s| Some((u32::try_from(s.width).ok()?, u32::try_from(s.height).ok()?)));
        match size {
            Some((w, h)) if self.rule.placeholder_size.contains(&(w, h)) => {
                Some(format!("a {w}×{h} picture"))
            }
            _ => None,
        }
    }
}

fn short(sha: &str) -> &str {
    &sha[..sha.len().min(12)]
}
