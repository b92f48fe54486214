//! Which hosts answer HEAD, learnt during a run.
//!
//! A link is asked with HEAD first, and with GET when HEAD is refused. A host
//! that refuses HEAD (405 or 501) refuses it for every URL: once it has done so
//! [`TRIES`] times without answering any HEAD otherwise, it is asked with GET
//! for the rest of the run, one round trip per URL instead of two. Until a host
//! has answered a HEAD, at most [`TRIES`] HEADs to it are out or refused at
//! once: other URLs wait for those answers, so a burst of first requests to a
//! host cannot all go out as HEADs. A HEAD that gets no answer (a timeout, a
//! broken connection) tells nothing and gives its try back.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::Notify;

/// HEADs a host may refuse before it is asked with GET only; also the most
/// HEADs out at once to a host that has not answered one yet.
pub const TRIES: usize = 3;

/// Per host, whether it answers HEAD.
#[derive(Debug, Default)]
pub struct HeadMemory {
    hosts: Mutex<HashMap<String, Arc<Host>>>,
}

#[derive(Debug, Default)]
struct Host {
    state: Mutex<State>,
    /// Told whenever a HEAD to the host is settled.
    settled: Notify,
}

#[derive(Debug, Default)]
struct State {
    /// The host answered a HEAD with something other than a refusal.
    answers: bool,
    /// HEADs refused (405, 501).
    refused: usize,
    /// HEADs out while the host has not answered one.
    out: usize,
}

impl Host {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl HeadMemory {
    /// Whether to ask `host` with HEAD now: a [`HeadTry`] to report the answer
    /// to, or `None` when the host refuses HEAD and is asked with GET. Waits
    /// while the HEADs already out to a host not yet known to answer HEAD use up
    /// its tries.
    pub async fn admit(&self, host: &str) -> Option<HeadTry> {
        let host = Arc::clone(
            self.hosts
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(host.to_owned())
                .or_default(),
        );
        loop {
            let settled = host.settled.notified();
            tokio::pin!(settled);
            // Registered before the state is read: a HEAD settled in between
            // still wakes this one.
            settled.as_mut().enable();
            {
                let mut state = host.lock();
                if state.answers {
                    return Some(HeadTry {
                        host: Arc::clone(&host),
                        counted: false,
                    });
                }
                if state.refused >= TRIES {
                    return None;
                }
                if state.refused + state.out < TRIES {
                    state.out += 1;
                    return Some(HeadTry {
                        host: Arc::clone(&host),
                        counted: true,
                    });
                }
            }
            settled.await;
        }
    }
}

/// A HEAD about to be sent. Dropped without [`HeadTry::answered`] (the URL gave
/// up first), it tells nothing.
#[derive(Debug)]
pub struct HeadTry {
    host: Arc<Host>,
    /// Whether it holds one of the host's tries.
    counted: bool,
}

impl HeadTry {
    /// Reports the HEAD's status, `None` when it got no answer.
    pub fn answered(self, status: Option<u16>) {
        let mut state = self.host.lock();
        match status {
            Some(405 | 501) => state.refused += 1,
            Some(_) => state.answers = true,
            None => {}
        }
    }
}

impl Drop for HeadTry {
    fn drop(&mut self) {
        if self.counted {
            let mut state = self.host.lock();
            state.out = state.out.saturating_sub(1);
        }
        self.host.settled.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::FutureExt;

    #[tokio::test]
    async fn a_host_that_refuses_head_is_asked_with_get_after_its_tries() {
        let memory = HeadMemory::default();
        let tries: Vec<HeadTry> = [
            memory.admit("a.example").await,
            memory.admit("a.example").await,
            memory.admit("a.example").await,
        ]
        .into_iter()
        .map(Option::unwrap)
        .collect();
        // A fourth waits while three are out.
        let fourth = memory.admit("a.example");
        tokio::pin!(fourth);
        assert!(fourth.as_mut().now_or_never().is_none(), "it waits");
        for t in tries {
            t.answered(Some(405));
        }
        assert!(fourth.await.is_none(), "refused three times: GET");
        assert!(memory.admit("a.example").await.is_none());
        // Another host is its own.
        assert!(memory.admit("b.example").await.is_some());
    }

    #[tokio::test]
    async fn a_host_that_answers_one_head_is_asked_with_head_freely() {
        let memory = HeadMemory::default();
        let first = memory.admit("a.example").await.unwrap();
        first.answered(Some(405));
        let lost = memory.admit("a.example").await.unwrap();
        lost.answered(None);
        memory.admit("a.example").await.unwrap().answered(Some(200));
        let many: Vec<_> =
            futures_util::future::join_all((0..10).map(|_| memory.admit("a.example"))).await;
        assert!(many.iter().all(Option::is_some));
        for t in many.into_iter().flatten() {
            t.answered(Some(405));
        }
        assert!(
            memory.admit("a.example").await.is_some(),
            "it answered once"
        );
    }

    #[tokio::test]
    async fn a_head_without_an_answer_gives_its_try_back() {
        let memory = HeadMemory::default();
        for _ in 0..10 {
            drop(memory.admit("a.example").await.unwrap());
            memory.admit("a.example").await.unwrap().answered(None);
        }
        let refused = memory.admit("a.example").await.unwrap();
        refused.answered(Some(501));
        assert!(memory.admit("a.example").await.is_some());
    }
}
