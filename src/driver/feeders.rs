//! Feeding URLs to the engine, host by host.
//!
//! One feeder task per host takes that host's URLs in turn, as many at once as
//! the host allows, so only the URLs being worked on exist as live requests
//! (memory stays flat however many URLs wait) and no host's queue holds up
//! another's. Results come back through a channel as they finish.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use futures_util::StreamExt;
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinSet;
use url::Url;

use crate::net::probe::Engine;

/// Spawns one feeder per host: it runs `work` on the host's URLs (indexes into
/// `urls`), as many at once as the host allows, and sends each result to `done`
/// with its index.
pub(super) fn spawn_feeders<T, F, Fut>(
    by_host: BTreeMap<&str, Vec<usize>>,
    urls: &Arc<Vec<Option<Url>>>,
    engine: &Arc<Engine>,
    done: &UnboundedSender<(usize, T)>,
    work: F,
) -> JoinSet<()>
where
    T: Send + 'static,
    F: Fn(Arc<Engine>, usize, Url) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = T> + Send + 'static,
{
    let mut tasks = JoinSet::new();
    for queue in by_host.into_values() {
        let (engine, done, all) = (Arc::clone(engine), done.clone(), Arc::clone(urls));
        let at_once = queue
            .first()
            .and_then(|i| urls[*i].as_ref())
            .map_or(1, |u| engine.concurrency_for(u));
        let work = work.clone();
        tasks.spawn(async move {
            futures_util::stream::iter(queue)
                .filter_map(move |i| {
                    let url = all[i].clone();
                    std::future::ready(url.map(|url| (i, url)))
                })
                .map(|(i, url)| {
                    let fut = work(Arc::clone(&engine), i, url);
                    async move { (i, fut.await) }
                })
                .buffer_unordered(at_once)
                .for_each(|finished| {
                    let _ = done.send(finished);
                    std::future::ready(())
                })
                .await;
        });
    }
    tasks
}
