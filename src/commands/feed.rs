//! Feeding URLs to the engine, host by host, for `check` and `fetch`.
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
use tokio::time::Instant;
use url::Url;

use crate::Error;
use crate::net::probe::Engine;

/// Spawns one feeder per host: it runs `work` on the host's URLs (indexes into
/// `urls`), as many at once as the host allows, and sends each result to `done`
/// with its index.
pub fn spawn_feeders<T, F, Fut>(
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

/// Sleeps until `at`; for ever when there is no `at` (a `select!` branch that
/// is disabled then anyway).
pub async fn sleep_until_some(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// The runtime a command's network work runs on.
///
/// # Errors
/// [`Error::Runtime`] when the operating system refuses its threads.
pub fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)
}

/// A flag raised on Ctrl-C or SIGTERM, for work done outside a runtime: it stops
/// between two steps (two notes written) instead of being killed in the middle
/// of one. The signals are caught from when this returns.
#[must_use]
pub fn interrupt_flag() -> std::sync::Arc<std::sync::atomic::AtomicBool> {
    use std::sync::atomic::{AtomicBool, Ordering};
    let flag = std::sync::Arc::new(AtomicBool::new(false));
    let raised = std::sync::Arc::clone(&flag);
    let (ready, listening) = std::sync::mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                let _ = ready.send(());
                return;
            };
            runtime.block_on(async move {
                #[cfg(unix)]
                {
                    use tokio::signal::unix::{SignalKind, signal};
                    // Registered before the caller goes on.
                    let interrupt = signal(SignalKind::interrupt()).ok();
                    let terminate = signal(SignalKind::terminate()).ok();
                    let _ = ready.send(());
                    let wait = |s: Option<tokio::signal::unix::Signal>| async move {
                        match s {
                            Some(mut s) => {
                                s.recv().await;
                            }
                            None => std::future::pending::<()>().await,
                        }
                    };
                    tokio::select! {
                        () = wait(interrupt) => {}
                        () = wait(terminate) => {}
                    }
                }
                #[cfg(not(unix))]
                {
                    let _ = ready.send(());
                    let _ = tokio::signal::ctrl_c().await;
                }
                raised.store(true, Ordering::SeqCst);
            });
        });
    if spawned.is_ok() {
        let _ = listening.recv();
    }
    flag
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        let term = async {
            match terminate.as_mut() {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = interrupt => {}
            () = term => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
