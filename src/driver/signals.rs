//! Ctrl-C and SIGTERM, and the runtime network work runs on.

use tokio::time::Instant;

use crate::Error;

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

/// Runs `work` to its end, unless Ctrl-C or SIGTERM comes first: then `None`,
/// and what `work` did so far stands.
pub async fn unless_interrupted<F: std::future::Future>(work: F) -> Option<F::Output> {
    tokio::select! {
        done = work => Some(done),
        () = shutdown_signal() => None,
    }
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
