//! Politeness: the pool of hosts.
//!
//! Each host has a semaphore (its concurrency), a schedule (the earliest moment the
//! next request may start, so starts are at least its interval apart) and a pause
//! (until when it asked to be left alone, from Retry-After). A request takes, in
//! order: its host's permit, its start time, then a global permit. Waiting on a
//! busy or slow host therefore never holds a global permit that another host could
//! use.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
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
    /// The earliest start of the next request, and the end of any pause.
    schedule: Mutex<Schedule>,
}

#[derive(Debug)]
struct Schedule {
    next_start: Instant,
    paused_until: Option<Instant>,
}

/// The right to send one request; dropping it frees the slot.
#[derive(Debug)]
pub struct Slot {
    _host: OwnedSemaphorePermit,
    _global: OwnedSemaphorePermit,
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

    fn host(&self, name: &str, limits: HostLimits) -> Arc<Host> {
        let mut hosts = self
            .hosts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Arc::clone(hosts.entry(name.to_owned()).or_insert_with(|| {
            Arc::new(Host {
                concurrency: limits.concurrency.max(1),
                permits: Arc::new(Semaphore::new(limits.concurrency.max(1))),
                interval: limits.interval,
                schedule: Mutex::new(Schedule {
                    next_start: Instant::now(),
                    paused_until: None,
                }),
            })
        }))
    }

    /// Waits for the right to send a request to `host`; `None` once the pool is
    /// closed (the run is being stopped). The limits of the first request to a
    /// host are the host's for the whole run.
    pub async fn slot(&self, host: &str, limits: HostLimits) -> Option<Slot> {
        let state = self.host(host, limits);
        let host_permit = Arc::clone(&state.permits).acquire_owned().await.ok()?;
        loop {
            let start = {
                let mut schedule = state.lock();
                let now = Instant::now();
                let earliest = schedule
                    .paused_until
                    .map_or(schedule.next_start, |p| p.max(schedule.next_start));
                let start = earliest.max(now);
                schedule.next_start = start + state.interval;
                start
            };
            tokio::time::sleep_until(start).await;
            // A pause may have begun while this request waited for its turn.
            let paused = state
                .lock()
                .paused_until
                .is_some_and(|p| p > Instant::now());
            if !paused {
                break;
            }
        }
        let global = Arc::clone(&self.global).acquire_owned().await.ok()?;
        Some(Slot {
            _host: host_permit,
            _global: global,
        })
    }

    /// The hosts with requests in flight now, busiest first.
    #[must_use]
    pub fn busy_hosts(&self) -> Vec<(String, usize)> {
        let hosts = self
            .hosts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut busy: Vec<(String, usize)> = hosts
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

    /// Stops handing out slots: waiting and later requests get `None`.
    pub fn close(&self) {
        self.global.close();
        let hosts = self
            .hosts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for host in hosts.values() {
            host.permits.close();
        }
    }

    /// Leaves `host` alone for `pause` (a Retry-After), for every request to it.
    pub fn pause(&self, host: &str, pause: Duration) {
        let hosts = self
            .hosts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(state) = hosts.get(host) {
            let until = Instant::now() + pause;
            let mut schedule = state.lock();
            schedule.paused_until = Some(schedule.paused_until.map_or(until, |p| p.max(until)));
        }
    }
}

impl Host {
    fn lock(&self) -> std::sync::MutexGuard<'_, Schedule> {
        self.schedule
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
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
        let pool = Arc::new(HostPool::new(16));
        let began = Instant::now();
        let mut starts = Vec::new();
        for _ in 0..4 {
            let _slot = pool.slot("a.org", limits(8, 250)).await.unwrap();
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
        let _slot = pool.slot("b.org", limits(8, 250)).await.unwrap();
        assert_eq!(other.elapsed(), Duration::ZERO);
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
                let _slot = pool.slot("a.org", limits(3, 0)).await.unwrap();
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
    async fn a_pause_holds_every_later_request_to_the_host() {
        let pool = HostPool::new(16);
        drop(pool.slot("a.org", limits(8, 0)).await);
        pool.pause("a.org", Duration::from_secs(5));
        let waited = Instant::now();
        drop(pool.slot("a.org", limits(8, 0)).await);
        assert!(waited.elapsed() >= Duration::from_secs(5));
        pool.close();
        assert!(pool.slot("a.org", limits(8, 0)).await.is_none());
    }
}
