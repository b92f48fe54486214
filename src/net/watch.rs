//! Telling a machine without a network from a collection of dead links, for
//! `check` and `fetch`: when many hosts fail as unreachable and none answers,
//! the run stops with "the network looks down" instead of reporting every link
//! dead. A run of a few hosts cannot tell by counting: once its first hosts
//! failed so and none answered within the grace time (and again at the run's
//! end), the canary names (`network.canary`, names that exist) are looked up,
//! and when none resolves either, the network is down for a small run too,
//! however many of its URLs a paced host still had to ask.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use tokio::time::Instant;

use super::probe::{Engine, Failure, Hop};

/// When this many hosts have failed as on a machine without a network (no name
/// resolves, nothing is reachable) and none answered, the network is taken to be
/// down rather than every link dead: a collection of notes with that many dead
/// domains and not one live link does not happen.
const NETWORK_DOWN_HOSTS: usize = 8;

/// How long a run waits, once that many hosts failed, for any host to answer
/// before it stops (a live host may just be slower than the dead ones).
const NETWORK_DOWN_GRACE: Duration = Duration::from_secs(5);

/// What one URL's requests showed about the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Heard {
    /// Some host answered something (a status, a redirect, a refused connection).
    Answer,
    /// Nothing answered, as on a machine without a network; with the failure.
    Unreachable(String),
    /// Nothing to tell (the run was stopped, a deadline passed).
    Nothing,
}

impl Heard {
    /// What an outcome shows.
    #[must_use]
    pub fn of(hops: &[Hop], result: Result<(), &Failure>) -> Self {
        // Any answer, a redirect or a refused connection included, shows the
        // network works.
        let any_answer = hops.iter().any(|h| h.status.is_some());
        match result {
            Err(f) if f.is_network() && !any_answer => Heard::Unreachable(describe(f)),
            Err(Failure::Cancelled | Failure::Deadline) => Heard::Nothing,
            _ => Heard::Answer,
        }
    }
}

fn describe(failure: &Failure) -> String {
    failure.to_string()
}

/// Tells a machine without a network from a collection of dead links: when
/// many hosts failed as unreachable and none answered, and none answers within a
/// grace time either, the run stops with [`NetworkWatch::down`] saying why.
#[derive(Debug)]
pub struct NetworkWatch {
    answered: HashSet<String>,
    unreachable: BTreeMap<String, String>,
    grace: Duration,
    /// How long past the grace a request still out is waited for: one
    /// request's timeout.
    timeout: Duration,
    check_at: Option<Instant>,
    /// Until when requests still out are waited for, once the grace is over.
    wait_until: Option<Instant>,
    /// No canary name resolved when the grace was over.
    canary_failed: bool,
    /// Whether the network was looked at for the first hosts that failed,
    /// fewer than [`NETWORK_DOWN_HOSTS`].
    few_looked_at: bool,
}

impl NetworkWatch {
    /// A watch whose grace time is at most `timeout`.
    #[must_use]
    pub fn new(timeout: Duration) -> Self {
        NetworkWatch {
            answered: HashSet::new(),
            unreachable: BTreeMap::new(),
            grace: timeout.min(NETWORK_DOWN_GRACE),
            timeout,
            check_at: None,
            wait_until: None,
            canary_failed: false,
            few_looked_at: false,
        }
    }

    /// Counts what a URL of `host` showed. Answers count as they come, not when
    /// their URL is done (a URL may still be waiting out a Retry-After).
    pub fn observe(&mut self, host: &str, heard: Heard) {
        match heard {
            Heard::Unreachable(why) => {
                self.unreachable.entry(host.to_owned()).or_insert(why);
            }
            Heard::Answer => {
                self.answered.insert(host.to_owned());
            }
            Heard::Nothing => {}
        }
        if self.answered.is_empty() && self.check_at.is_none() {
            // Enough hosts tell by their number; fewer, once, by the canary:
            // a run of a few paced hosts would otherwise ask every one of its
            // URLs in vain before saying so.
            let enough = self.unreachable.len() >= NETWORK_DOWN_HOSTS;
            if enough || (!self.unreachable.is_empty() && !self.few_looked_at) {
                self.few_looked_at = true;
                self.check_at = Some(Instant::now() + self.grace);
            }
        }
    }

    /// When to look again, if the network is in doubt.
    #[must_use]
    pub fn check_at(&self) -> Option<Instant> {
        self.check_at
    }

    /// At [`NetworkWatch::check_at`]: whether to stop now, nothing having
    /// answered in the grace time. A request still out (an API asked about
    /// many papers at once, a slow host) may yet answer: it is waited for, up
    /// to one request's timeout more, unless no canary name resolves either:
    /// without a resolver, the requests still to go out (a paced host's) can
    /// only fail as the others did.
    pub async fn grace_over(&mut self, engine: &Engine) -> bool {
        self.check_at = None;
        if !self.answered.is_empty() || engine.heard_an_answer() {
            return false;
        }
        if self.wait_until.is_none()
            && engine.is_busy()
            && !engine.canary().is_empty()
            && !engine.canary_resolves().await
            && !engine.heard_an_answer()
        {
            self.canary_failed = true;
            return true;
        }
        if self.unreachable.len() < NETWORK_DOWN_HOSTS {
            // Names resolve: a few dead hosts are dead links. Looked at
            // again if enough hosts fail.
            return false;
        }
        let now = Instant::now();
        let until = *self.wait_until.get_or_insert(now + self.timeout);
        if engine.is_busy() && now < until {
            self.check_at = Some(now + Duration::from_millis(250).min(until - now));
            return false;
        }
        true
    }

    /// Why the network looks down, if it does: no answer from anyone, and
    /// enough hosts tried to tell, or fewer and no canary name resolves either.
    pub async fn down(&self, engine: &Engine) -> Option<String> {
        if !self.answered.is_empty() || engine.heard_an_answer() || self.unreachable.is_empty() {
            return None;
        }
        let hosts = match self.unreachable.len() {
            1 => "the one host tried did not answer".to_owned(),
            n => format!("none of the {n} hosts tried answered"),
        };
        let canary = if self.canary_failed || self.unreachable.len() < NETWORK_DOWN_HOSTS {
            let names = engine.canary();
            if names.is_empty() || (!self.canary_failed && engine.canary_resolves().await) {
                return None;
            }
            match names {
                [one] => format!(" and {one} does not resolve either"),
                [first, ..] => {
                    format!(" and neither {first} nor any other name looked up resolves")
                }
                [] => String::new(),
            }
        } else {
            String::new()
        };
        let example = self
            .unreachable
            .values()
            .next()
            .cloned()
            .unwrap_or_default();
        Some(format!(
            "{hosts}{canary} (e.g. {example}); check the connection, DNS or proxy settings, or use --connect-to"
        ))
    }
}
