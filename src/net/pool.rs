//! Politeness: the pool of hosts.
//!
//! Each host has a semaphore (its concurrency), a schedule (the earliest moment the
//! next request may start, so starts are at least its interval apart) and a pause
//! (until when it asked to be left alone, from Retry-After).
//!
//! Checking one URL first takes a [`Ticket`] for its host: one of the host's
//! concurrency slots, kept for all of that URL's requests to the host (redirect
//! hops and retries), so they do not queue again behind every other URL while the
//! URL's deadline runs. Each request then [`Ticket::start`]s: it waits out any
//! pause without holding anything global, takes a global permit (the hosts take
//! turns: one request per host waits for one at a time), and only then
//! claims its start time from the schedule, so the interval is kept between the
//! moments requests really go out; a host taken one request at a time also
//! keeps its interval after each request's end. A paced host holds at most its concurrency in
//! global permits while it waits its turn, so a slow host cannot hold up the others.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// What the pool needs to know about a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostLimits {
    /// Requests in flight at once.
    pub concurrency: usize,
    /// The least time between two request starts.
    pub interval: Duration,
}

/// The hosts being talked to, and the global limit.
#[derive(Debug)]
pub struct HostPool {
    global: Arc<Semaphore>,
    hosts: Mutex<HashMap<String, Arc<Host>>>,
}

#[derive(Debug)]
struct Host {
    /// The host's concurrency, to tell from its free permits how many are in use.
    concurrency: usize,
    permits: Arc<Semaphore>,
    interval: Duration,
    schedule: Mutex<Schedule>,
    /// Held by the one request of this host that is waiting for a global
    /// permit, so that the global permits go round the hosts in turn.
    turn: tokio::sync::Mutex<()>,
}

#[derive(Debug)]
struct Schedule {
    /// The earliest start of the next request.
    next_start: Instant,
    /// Until when the host asked to be left alone.
    paused_until: Option<Instant>,
    /// Until when the host is given up on: it asked for a pause longer than the
    /// run allows, so its requests are not sent.
    refused_until: Option<Instant>,
    /// How many pauses it asked for.
    pauses: u32,
}

/// `now + wait`, saturating at a century: a server may ask for a pause of 2^64
/// seconds, a configuration set a deadline of 10^19.
#[must_use]
pub fn later(wait: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(wait)
        .unwrap_or_else(|| now + Duration::from_hours(100 * 365 * 24))
}

/// One URL's hold on one of its host's concurrency slots.
#[derive(Debug)]
pub struct Ticket {
    host: Arc<Host>,
    name: String,
    _permit: OwnedSemaphorePermit,
}

/// The right to send one request now; dropping it (when the answer has been
/// read) frees the global slot.
#[derive(Debug)]
pub struct Started {
    _global: OwnedSemaphorePermit,
    host: Arc<Host>,
}

impl Drop for Started {
    /// A host taken one request at a time (an API that asks for one request
    /// every few seconds) gets its interval after the end of each request as
    /// well as between starts: a slow answer, or a connection that took long
    /// to open, must not bring the next request closer than the interval to
    /// the server.
    fn drop(&mut self) {
        if self.host.concurrency == 1 && !self.host.interval.is_zero() {
            let mut schedule = self.host.lock();
            schedule.next_start = schedule.next_start.max(Instant::now() + self.host.interval);
        }
    }
}

/// Why a request may not go out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotStarted {
    /// The pool is closed: the run is being stopped.
    Closed,
    /// The host asked for a pause longer than allowed; it has this much left.
    Refused(Duration),
}

impl HostPool {
    /// A pool allowing `max_concurrency` requests in flight overall.
    #[must_use]
    pub fn new(max_concurrency: usize) -> Self {
        Self {
            global: Arc::new(Semaphore::new(max_concurrency.max(1))),
            hosts: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Arc<Host>>> {
        self.hosts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn host(&self, name: &str, limits: HostLimits) -> Arc<Host> {
        Arc::clone(self.lock().entry(name.to_owned()).or_insert_with(|| {
            Arc::new(Host {
                concurrency: limits.concurrency.max(1),
                permits: Arc::new(Semaphore::new(limits.concurrency.max(1))),
                interval: limits.interval,
                schedule: Mutex::new(Schedule {
                    next_start: Instant::now(),
                    paused_until: None,
                    refused_until: None,
                    pauses: 0,
                }),
                turn: tokio::sync::Mutex::new(()),
            })
        }))
    }

    /// Waits for one of `host`'s concurrency slots; `None` once the pool is closed.
    /// The limits of the first request to a host are the host's for the whole run.
    pub async fn ticket(&self, host: &str, limits: HostLimits) -> Option<Ticket> {
        if self.global.is_closed() {
            return None;
        }
        let state = self.host(host, limits);
        let permit = Arc::clone(&state.permits).acquire_owned().await.ok()?;
        Some(Ticket {
            host: state,
            name: host.to_owned(),
            _permit: permit,
        })
    }

    /// Waits for the right to send one request with `ticket`.
    ///
    /// # Errors
    /// [`NotStarted::Closed`] once the pool is closed, [`NotStarted::Refused`]
    /// while the host is given up on.
    pub async fn start(&self, ticket: &Ticket) -> Result<Started, NotStarted> {
        let host = &ticket.host;
        loop {
            // A pause is waited out without holding a global permit.
            let now = Instant::now();
            let (refused, paused) = {
                let schedule = host.lock();
                (
                    schedule.refused_until.filter(|u| *u > now),
                    schedule.paused_until.filter(|u| *u > now),
                )
            };
            if let Some(until) = refused {
                return Err(NotStarted::Refused(until - now));
            }
            if let Some(until) = paused {
                tokio::time::sleep_until(until).await;
                continue;
            }
            let global = {
                // One request per host waits in the global queue at a time: a
                // host whose URLs came in first cannot take every free slot in
                // a burst (opening a connection for each) while the others
                // wait; each host gets its next slot after the others had theirs.
                let _turn = host.turn.lock().await;
                Arc::clone(&self.global)
                    .acquire_owned()
                    .await
                    .map_err(|_| NotStarted::Closed)?
            };
            // The start is claimed now that nothing else stands in the way, so
            // the interval separates the moments requests really go out.
            let start = {
                let mut schedule = host.lock();
                let now = Instant::now();
                if let Some(until) = schedule.refused_until.filter(|u| *u > now) {
                    return Err(NotStarted::Refused(until - now));
                }
                if schedule.paused_until.is_some_and(|u| u > now) {
                    None
                } else {
                    let start = schedule.next_start.max(now);
                    schedule.next_start = start + host.interval;
                    Some(start)
                }
            };
            let Some(start) = start else {
                continue;
            };
            tokio::time::sleep_until(start).await;
            let (refused, paused) = {
                let schedule = host.lock();
                let now = Instant::now();
                (
                    schedule.refused_until.filter(|u| *u > now).map(|u| u - now),
                    schedule.paused_until.is_some_and(|u| u > now),
                )
            };
            if let Some(left) = refused {
                return Err(NotStarted::Refused(left));
            }
            if paused {
                // A pause began while this request waited for its turn. Its start
                // time is lost, which only spaces later requests more widely.
                continue;
            }
            return Ok(Started {
                _global: global,
                host: Arc::clone(host),
            });
        }
    }

    /// Leaves `ticket`'s host alone for `pause` (a Retry-After), for every request
    /// to it.
    pub fn pause(
        &self,
        ticket: &Ticket,
        pause: Duration,
        give_up_after: u32,
        give_up_for: Duration,
    ) {
        let until = later(pause);
        let mut schedule = ticket.host.lock();
        schedule.paused_until = Some(schedule.paused_until.map_or(until, |p| p.max(until)));
        // A host that keeps asking for pauses is not going to let the run through:
        // give up on it rather than wait out pause after pause.
        schedule.pauses += 1;
        if schedule.pauses > give_up_after {
            let until = later(give_up_for);
            schedule.refused_until = Some(schedule.refused_until.map_or(until, |p| p.max(until)));
        }
    }

    /// Whether `ticket`'s host is paused now.
    #[must_use]
    pub fn is_paused(&self, ticket: &Ticket) -> bool {
        let now = Instant::now();
        let schedule = ticket.host.lock();
        schedule.paused_until.is_some_and(|u| u > now)
            || schedule.refused_until.is_some_and(|u| u > now)
    }

    /// Gives up on `ticket`'s host for `pause`: its requests are not sent.
    pub fn refuse(&self, ticket: &Ticket, pause: Duration) {
        let until = later(pause);
        let mut schedule = ticket.host.lock();
        schedule.refused_until = Some(schedule.refused_until.map_or(until, |p| p.max(until)));
    }

    /// The hosts with requests in flight now, busiest first.
    #[must_use]
    pub fn busy_hosts(&self) -> Vec<(String, usize)> {
        let mut busy: Vec<(String, usize)> = self
            .lock()
            .iter()
            .map(|(name, h)| {
                (
                    name.clone(),
                    h.concurrency.saturating_sub(h.permits.available_permits()),
                )
            })
            .filter(|(_, n)| *n > 0)
            .collect();
        busy.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        busy
    }

    /// Whether any URL is being worked on: holds one of its host's slots.
    #[must_use]
    pub fn is_busy(&self) -> bool {
        self.lock()
            .values()
            .any(|h| h.permits.available_permits() < h.concurrency)
    }

    /// Whether [`HostPool::close`] was called.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.global.is_closed()
    }

    /// Stops handing out tickets and starts: waiting and later requests fail.
    pub fn close(&self) {
        self.global.close();
        for host in self.lock().values() {
            host.permits.close();
        }
    }
}

impl Ticket {
    /// The host this ticket is for.
    #[must_use]
    pub fn host(&self) -> &str {
        &self.name
    }
}

impl Host {
    fn lock(&self) -> MutexGuard<'_, Schedule> {
        self.schedule.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(concurrency: usize, interval_ms: u64) -> HostLimits {
        HostLimits {
            concurrency,
            interval: Duration::from_millis(interval_ms),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn starts_are_spaced_by_the_interval() {
        let pool = HostPool::new(16);
        let began = Instant::now();
        let mut starts = Vec::new();
        for _ in 0..4 {
            let ticket = pool.ticket("a.org", limits(8, 250)).await.unwrap();
            let _started = pool.start(&ticket).await.unwrap();
            starts.push(began.elapsed());
        }
        let gaps: Vec<_> = starts
            .windows(2)
            .map(|w| w[1].saturating_sub(w[0]))
            .collect();
        assert!(
            gaps.iter().all(|g| *g >= Duration::from_millis(250)),
            "{gaps:?}"
        );
        // Another host is not held up by the first one's interval.
        let other = Instant::now();
        let ticket = pool.ticket("b.org", limits(8, 250)).await.unwrap();
        let _started = pool.start(&ticket).await.unwrap();
        assert_eq!(other.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn the_interval_holds_when_the_global_limit_delays_starts() {
        // One global slot, held for a second by another host: the paced host's
        // requests, all waiting, must still go out 250 ms apart.
        let pool = Arc::new(HostPool::new(1));
        let slow = pool.ticket("slow.org", limits(8, 0)).await.unwrap();
        let held = pool.start(&slow).await.unwrap();
        let mut tasks = Vec::new();
        for _ in 0..3 {
            let pool = pool.clone();
            tasks.push(tokio::spawn(async move {
                let ticket = pool.ticket("paced.org", limits(8, 250)).await.unwrap();
                let _started = pool.start(&ticket).await.unwrap();
                Instant::now()
            }));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        drop(held);
        let mut starts = Vec::new();
        for t in tasks {
            starts.push(t.await.unwrap());
        }
        starts.sort();
        for w in starts.windows(2) {
            assert!(w[1] - w[0] >= Duration::from_millis(250), "{starts:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_host_never_has_more_than_its_concurrency_in_flight() {
        let pool = Arc::new(HostPool::new(16));
        let in_flight = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let most = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..10 {
            let (pool, in_flight, most) = (pool.clone(), in_flight.clone(), most.clone());
            tasks.push(tokio::spawn(async move {
                let ticket = pool.ticket("a.org", limits(3, 0)).await.unwrap();
                let _started = pool.start(&ticket).await.unwrap();
                let now = in_flight.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                most.fetch_max(now, std::sync::atomic::Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(100)).await;
                in_flight.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(most.load(std::sync::atomic::Ordering::SeqCst), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn hosts_take_turns_for_the_global_slots() {
        // One global slot, held. Three requests to a.org queue for it, then one
        // to b.org: b.org must go second, not after all of a.org's.
        let pool = Arc::new(HostPool::new(1));
        let first = pool.ticket("a.org", limits(8, 0)).await.unwrap();
        let held = pool.start(&first).await.unwrap();
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for host in ["a.org", "a.org", "a.org", "b.org"] {
            let (pool, order) = (pool.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                let ticket = pool.ticket(host, limits(8, 0)).await.unwrap();
                let started = pool.start(&ticket).await.unwrap();
                order.lock().unwrap().push(host);
                tokio::time::sleep(Duration::from_millis(10)).await;
                drop(started);
            }));
            // Queued in this order.
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        drop(held);
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), ["a.org", "b.org", "a.org", "a.org"]);
    }

    #[tokio::test(start_paused = true)]
    async fn pauses_hold_and_refusals_turn_away_every_later_request() {
        let pool = HostPool::new(16);
        let ticket = pool.ticket("a.org", limits(8, 0)).await.unwrap();
        drop(pool.start(&ticket).await.unwrap());
        pool.pause(&ticket, Duration::from_secs(5), 3, Duration::from_mins(2));
        let waited = Instant::now();
        drop(pool.start(&ticket).await.unwrap());
        assert!(waited.elapsed() >= Duration::from_secs(5));
        pool.refuse(&ticket, Duration::from_mins(1));
        assert!(matches!(
            pool.start(&ticket).await,
            Err(NotStarted::Refused(_))
        ));
        pool.close();
        assert!(pool.ticket("b.org", limits(8, 0)).await.is_none());
    }
}
