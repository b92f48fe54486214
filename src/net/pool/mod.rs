//! Politeness: the pool of hosts.
//!
//! Each host has two semaphores, its URL slots (its configured concurrency) and
//! its request slots (its concurrency at the pace it is kept now, see [`pace`]);
//! a schedule (the earliest moment the next request may start, so starts are at
//! least its interval apart); and a pause (until when it asked to be left alone,
//! from Retry-After).
//!
//! Checking one URL first takes a [`Ticket`] for its host: one of the host's URL
//! slots, kept for all of that URL's requests to the host (redirect hops and
//! retries), so they do not queue again behind every other URL while the URL's
//! deadline runs. Each request then [`HostPool::start`]s, and waiting never holds
//! a global slot: it waits out any pause, takes one of the host's request slots,
//! sleeps until its start time from the schedule, and only then takes a global
//! permit (the hosts take turns: one request per host waits for one at a time).
//! Should another request of the host have gone out in the meantime less than
//! an interval before (global permits were scarce), it gives the permit back and
//! waits for the interval to pass, so the interval is kept between the moments
//! requests really go out; a host taken one request at a time also keeps its interval
//! after each request's end. The global permit is held while the request is out
//! and no longer: a retry's backoff, a Retry-After pause and a host's interval
//! are waited without it, so a host that makes its URLs wait does not hold up
//! the others.
//!
//! What a host answers sets its pace: every answer is reported with
//! [`HostPool::answered`]. A 429 or 503 cuts the host's request slots and widens
//! its interval, good answers bring them back slowly ([`pace`] says how), and a
//! Retry-After pauses every request to the host. Answers to requests that were
//! already out when the first 429 of a burst came back count once: one cut, one
//! pause. A host that asks for more pauses than the run allows is given up on.

mod pace;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use pace::{Pace, Signal};

/// What the pool needs to know about a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostLimits {
    /// Requests in flight at once.
    pub concurrency: usize,
    /// The least time between two request starts.
    pub interval: Duration,
}

/// How long the run bears with a host that keeps asking to be left alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Patience {
    /// Pauses (429 or 503 with Retry-After, counted once per burst) a host may
    /// ask for; one more and it is given up on.
    pub pauses: u32,
    /// How long a host is given up on.
    pub give_up_for: Duration,
}

/// The hosts being talked to, and the global limit.
#[derive(Debug)]
pub struct HostPool {
    global: Arc<Semaphore>,
    hosts: Mutex<HashMap<String, Arc<Host>>>,
    patience: Patience,
}

#[derive(Debug)]
struct Host {
    name: String,
    /// The host's configured concurrency, to tell from its free URL slots how
    /// many are in use.
    concurrency: usize,
    /// URL slots: one per URL being worked on.
    urls: Arc<Semaphore>,
    /// Request slots: one per request out. Holds the pace's concurrency plus
    /// [`Schedule::owed`] permits.
    requests: Arc<Semaphore>,
    schedule: Mutex<Schedule>,
    /// Held by the one request of this host that is waiting for a global
    /// permit, so that the global permits go round the hosts in turn.
    turn: tokio::sync::Mutex<()>,
}

#[derive(Debug)]
struct Schedule {
    /// The earliest start of the next request.
    next_start: Instant,
    /// When the last request went out.
    last_start: Option<Instant>,
    /// Until when the host asked to be left alone.
    paused_until: Option<Instant>,
    /// Until when the host is given up on, and why: its requests are not sent.
    refused: Option<(Instant, Refusal)>,
    /// How many pauses it asked for.
    pauses: u32,
    /// The episode whose pause was counted last.
    paused_in: Option<u64>,
    /// The pace the host is kept at.
    pace: Pace,
    /// Request slots a cut took away while they were in use: given up as
    /// they come back.
    owed: usize,
}

/// Why a host is given up on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// It asked (Retry-After) for a pause longer than the run may wait.
    LongPause,
    /// It asked for this many pauses, more than the run bears.
    TooManyPauses(u32),
}

/// `now + wait`, saturating at a century: a server may ask for a pause of 2^64
/// seconds, a configuration set a deadline of 10^19.
#[must_use]
pub fn later(wait: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(wait)
        .unwrap_or_else(|| now + Duration::from_hours(100 * 365 * 24))
}

/// One URL's hold on one of its host's URL slots.
#[derive(Debug)]
pub struct Ticket {
    host: Arc<Host>,
    name: String,
    _permit: OwnedSemaphorePermit,
}

/// One of a host's request slots. A slot a cut took away is given up when it
/// comes back instead of being freed.
#[derive(Debug)]
struct Slot {
    permit: Option<OwnedSemaphorePermit>,
    host: Arc<Host>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut schedule = self.host.lock();
        if let Some(permit) = self.permit.take() {
            if schedule.owed > 0 {
                schedule.owed -= 1;
                permit.forget();
            } else {
                drop(permit);
            }
        }
    }
}

/// The right to send one request now; dropping it (when the answer has been
/// read) frees the global slot and the host's request slot.
#[derive(Debug)]
pub struct Started {
    _global: OwnedSemaphorePermit,
    _slot: Slot,
    host: Arc<Host>,
    /// The pace's episode when the request went out.
    episode: u64,
}

impl Drop for Started {
    /// A host taken one request at a time (an API that asks for one request
    /// every few seconds) gets its interval after the end of each request as
    /// well as between starts: a slow answer, or a connection that took long
    /// to open, must not bring the next request closer than the interval to
    /// the server.
    fn drop(&mut self) {
        let mut schedule = self.host.lock();
        let pace = schedule.pace.now();
        if pace.concurrency == 1 && !pace.interval.is_zero() {
            schedule.next_start = schedule.next_start.max(Instant::now() + pace.interval);
        }
    }
}

/// Why a request may not go out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotStarted {
    /// The pool is closed: the run is being stopped.
    Closed,
    /// The host is given up on, for this much longer.
    Refused(Duration, Refusal),
}

/// What an answer says about its host's pace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Anything but a 429 or a 503.
    Fine,
    /// 429, with its Retry-After if it has one.
    TooMany(Option<Duration>),
    /// 503, with its Retry-After if it has one.
    Unavailable(Option<Duration>),
}

/// What a request must do before it may go out.
enum Hold {
    /// Nothing: go, as a request of this episode of the host's pace.
    Go(u64),
    /// A pause: wait until then, and start over.
    Until(Instant),
    /// A pause began while the request waited for its turn: start over.
    Again,
    /// Another request went out less than an interval ago (global permits
    /// were scarce): go at this moment instead.
    After(Instant),
}

impl HostPool {
    /// A pool allowing `max_concurrency` requests in flight overall.
    #[must_use]
    pub fn new(max_concurrency: usize, patience: Patience) -> Self {
        Self {
            global: Arc::new(Semaphore::new(max_concurrency.max(1))),
            hosts: Mutex::new(HashMap::new()),
            patience,
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Arc<Host>>> {
        self.hosts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn host(&self, name: &str, limits: HostLimits) -> Arc<Host> {
        Arc::clone(self.lock().entry(name.to_owned()).or_insert_with(|| {
            let limits = HostLimits {
                concurrency: limits.concurrency.max(1),
                ..limits
            };
            Arc::new(Host {
                name: name.to_owned(),
                concurrency: limits.concurrency,
                urls: Arc::new(Semaphore::new(limits.concurrency)),
                requests: Arc::new(Semaphore::new(limits.concurrency)),
                schedule: Mutex::new(Schedule {
                    next_start: Instant::now(),
                    last_start: None,
                    paused_until: None,
                    refused: None,
                    pauses: 0,
                    paused_in: None,
                    pace: Pace::new(limits),
                    owed: 0,
                }),
                turn: tokio::sync::Mutex::new(()),
            })
        }))
    }

    /// Waits for one of `host`'s URL slots; `None` once the pool is closed.
    /// The limits of the first request to a host are the host's for the whole run.
    pub async fn ticket(&self, host: &str, limits: HostLimits) -> Option<Ticket> {
        if self.global.is_closed() {
            return None;
        }
        let state = self.host(host, limits);
        let permit = Arc::clone(&state.urls).acquire_owned().await.ok()?;
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
        'start: loop {
            // A pause is waited out holding nothing.
            if let Hold::Until(until) = host.hold(false)? {
                tokio::time::sleep_until(until).await;
                continue;
            }
            let slot = Slot {
                permit: Some(
                    Arc::clone(&host.requests)
                        .acquire_owned()
                        .await
                        .map_err(|_| NotStarted::Closed)?,
                ),
                host: Arc::clone(host),
            };
            // The host's interval is waited holding only the host's own slot.
            let start = host.claim();
            tokio::time::sleep_until(start).await;
            loop {
                if !matches!(host.hold(false)?, Hold::Go(_)) {
                    continue 'start;
                }
                let global = {
                    // One request per host waits in the global queue at a
                    // time: a host whose URLs came in first cannot take every
                    // free slot in a burst (opening a connection for each)
                    // while the others wait; each host gets its next slot
                    // after the others had theirs.
                    let _turn = host.turn.lock().await;
                    Arc::clone(&self.global)
                        .acquire_owned()
                        .await
                        .map_err(|_| NotStarted::Closed)?
                };
                // Checked as it goes out, so the interval separates the
                // moments requests really leave, however long the global
                // permit took. The permit goes back before any more waiting.
                match host.hold(true)? {
                    Hold::Go(episode) => {
                        return Ok(Started {
                            _global: global,
                            _slot: slot,
                            host: Arc::clone(host),
                            episode,
                        });
                    }
                    Hold::After(at) => {
                        drop(global);
                        tokio::time::sleep_until(at).await;
                    }
                    Hold::Until(_) | Hold::Again => continue 'start,
                }
            }
        }
    }

    /// Learns from the answer to `started`'s request: a good answer counts
    /// toward a faster pace, a 429 or 503 slows the host down (once per
    /// burst; a lone 503 without a Retry-After is forgiven, see [`pace`]), and
    /// its Retry-After pauses every request to the host.
    pub fn answered(&self, started: &Started, answer: Answer) {
        let host = &started.host;
        let mut schedule = host.lock();
        let (signal, pause) = match answer {
            Answer::Fine => {
                let more = schedule.pace.went_well(started.episode);
                if more > 0 {
                    tracing::debug!(
                        "{}: answering well; {:?} now",
                        host.name,
                        schedule.pace.now()
                    );
                    // A slot still owed is simply no longer owed.
                    let from_owed = more.min(schedule.owed);
                    schedule.owed -= from_owed;
                    host.requests.add_permits(more - from_owed);
                }
                return;
            }
            Answer::TooMany(pause) => (Signal::TooMany, pause),
            Answer::Unavailable(pause @ Some(_)) => (Signal::Unavailable, pause),
            Answer::Unavailable(None) => (Signal::Failed, None),
        };
        if let Some(fewer) = schedule.pace.slow_down(started.episode, signal) {
            // Free slots go at once; those in use, as they come back.
            let forgotten = host.requests.forget_permits(fewer);
            schedule.owed += fewer - forgotten;
            tracing::debug!("{}: slowing down to {:?}", host.name, schedule.pace.now());
        }
        let Some(pause) = pause else { return };
        let until = later(pause);
        schedule.paused_until = Some(schedule.paused_until.map_or(until, |p| p.max(until)));
        // A host that keeps asking for pauses is not going to let the run
        // through: give up on it rather than wait out pause after pause. The
        // answers of one burst ask for one pause.
        let episode = schedule.pace.episode();
        if schedule.paused_in != Some(episode) {
            schedule.paused_in = Some(episode);
            schedule.pauses += 1;
            if schedule.pauses > self.patience.pauses {
                let pauses = schedule.pauses;
                schedule.refuse(self.patience.give_up_for, Refusal::TooManyPauses(pauses));
            }
        }
    }

    /// Whether `ticket`'s host is paused now.
    #[must_use]
    pub fn is_paused(&self, ticket: &Ticket) -> bool {
        let now = Instant::now();
        let schedule = ticket.host.lock();
        schedule.paused_until.is_some_and(|u| u > now)
            || schedule.refused.is_some_and(|(u, _)| u > now)
    }

    /// Gives up on `ticket`'s host for `pause`, which it asked for: its
    /// requests are not sent.
    pub fn refuse(&self, ticket: &Ticket, pause: Duration) {
        ticket.host.lock().refuse(pause, Refusal::LongPause);
    }

    /// The hosts with URLs being worked on now, busiest first.
    #[must_use]
    pub fn busy_hosts(&self) -> Vec<(String, usize)> {
        let mut busy: Vec<(String, usize)> = self
            .lock()
            .iter()
            .map(|(name, h)| {
                (
                    name.clone(),
                    h.concurrency.saturating_sub(h.urls.available_permits()),
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
            .any(|h| h.urls.available_permits() < h.concurrency)
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
            host.urls.close();
            host.requests.close();
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

    /// What stands between a request and its going out now. With `going`,
    /// nothing does, and the request is about to leave: its start is recorded.
    fn hold(&self, going: bool) -> Result<Hold, NotStarted> {
        let mut schedule = self.lock();
        let now = Instant::now();
        if let Some((until, why)) = schedule.refused.filter(|(u, _)| *u > now) {
            return Err(NotStarted::Refused(until - now, why));
        }
        if let Some(until) = schedule.paused_until.filter(|u| *u > now) {
            return Ok(if going {
                Hold::Again
            } else {
                Hold::Until(until)
            });
        }
        if going {
            let interval = schedule.pace.now().interval;
            if let Some(next) = schedule.last_start.map(|last| last + interval)
                && now < next
            {
                return Ok(Hold::After(next));
            }
            schedule.last_start = Some(now);
        }
        Ok(Hold::Go(schedule.pace.episode()))
    }

    /// Claims the next start time: at least an interval after the one claimed
    /// before it and after the last request that went out.
    fn claim(&self) -> Instant {
        let mut schedule = self.lock();
        let interval = schedule.pace.now().interval;
        let mut start = schedule.next_start.max(Instant::now());
        if let Some(last) = schedule.last_start {
            start = start.max(last + interval);
        }
        schedule.next_start = start + interval;
        start
    }
}

impl Schedule {
    fn refuse(&mut self, pause: Duration, why: Refusal) {
        let until = later(pause);
        if self.refused.is_none_or(|(u, _)| u < until) {
            self.refused = Some((until, why));
        }
    }
}

/// A URL's host as the pool and the feeders know it: a trailing dot dropped.
#[must_use]
pub fn host_key(url: &url::Url) -> &str {
    let host = url.host_str().unwrap_or_default();
    host.strip_suffix('.').unwrap_or(host)
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

    fn pool(max_concurrency: usize) -> HostPool {
        HostPool::new(
            max_concurrency,
            Patience {
                pauses: 3,
                give_up_for: Duration::from_mins(2),
            },
        )
    }

    #[tokio::test(start_paused = true)]
    async fn starts_are_spaced_by_the_interval() {
        let pool = pool(16);
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
        let pool = Arc::new(pool(1));
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
        let pool = Arc::new(pool(16));
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
        let pool = Arc::new(pool(1));
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
        let pool = pool(16);
        let ticket = pool.ticket("a.org", limits(8, 0)).await.unwrap();
        let started = pool.start(&ticket).await.unwrap();
        pool.answered(&started, Answer::TooMany(Some(Duration::from_secs(5))));
        drop(started);
        let waited = Instant::now();
        drop(pool.start(&ticket).await.unwrap());
        assert!(waited.elapsed() >= Duration::from_secs(5));
        pool.refuse(&ticket, Duration::from_mins(1));
        assert!(matches!(
            pool.start(&ticket).await,
            Err(NotStarted::Refused(_, Refusal::LongPause))
        ));
        pool.close();
        assert!(pool.ticket("b.org", limits(8, 0)).await.is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_of_429s_asks_for_one_pause_and_more_bursts_give_up() {
        let pool = pool(16);
        let pause = Some(Duration::from_secs(1));
        let mut tickets = Vec::new();
        for _ in 0..4 {
            tickets.push(pool.ticket("a.org", limits(8, 0)).await.unwrap());
        }
        // Four requests out together, all answered 429: one pause, not four.
        let mut burst = Vec::new();
        for ticket in &tickets {
            burst.push(pool.start(ticket).await.unwrap());
        }
        for started in &burst {
            pool.answered(started, Answer::TooMany(pause));
        }
        drop(burst);
        let started = pool.start(&tickets[0]).await.unwrap();
        // Three more bursts, each of a request sent after the last pause: the
        // fourth pause is more than the run bears.
        pool.answered(&started, Answer::TooMany(pause));
        drop(started);
        for _ in 0..2 {
            let started = pool.start(&tickets[0]).await.unwrap();
            pool.answered(&started, Answer::TooMany(pause));
        }
        assert!(matches!(
            pool.start(&tickets[0]).await,
            Err(NotStarted::Refused(_, Refusal::TooManyPauses(4)))
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn a_cut_leaves_fewer_requests_out_at_once_and_good_answers_bring_them_back() {
        let pool = Arc::new(pool(16));
        let mut tickets = Vec::new();
        for _ in 0..8 {
            tickets.push(pool.ticket("a.org", limits(8, 0)).await.unwrap());
        }
        let mut out = Vec::new();
        for ticket in &tickets {
            out.push(pool.start(ticket).await.unwrap());
        }
        // Three 503s while eight are out (fewer are forgiven): four may be
        // out once they come back.
        pool.answered(&out[0], Answer::Unavailable(None));
        pool.answered(&out[1], Answer::Unavailable(None));
        pool.answered(&out[2], Answer::Unavailable(None));
        drop(out);
        let mut out = Vec::new();
        for ticket in &tickets[..4] {
            out.push(pool.start(ticket).await.unwrap());
        }
        let fifth = tokio::time::timeout(Duration::from_mins(1), pool.start(&tickets[4])).await;
        assert!(fifth.is_err(), "a fifth request went out");
        // Good answers at the new pace: one more may go.
        for _ in 0..pace::RAISE_AFTER {
            pool.answered(&out[0], Answer::Fine);
        }
        let fifth = tokio::time::timeout(Duration::from_secs(1), pool.start(&tickets[4])).await;
        assert!(fifth.is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn a_host_s_interval_is_waited_without_a_global_permit() {
        // One global slot. a.org's second request must wait a minute for its
        // interval; b.org's request goes meanwhile.
        let pool = Arc::new(pool(1));
        let a = pool.ticket("a.org", limits(8, 60_000)).await.unwrap();
        drop(pool.start(&a).await.unwrap());
        let waiting = {
            let pool = Arc::clone(&pool);
            tokio::spawn(async move {
                let a = pool.ticket("a.org", limits(8, 60_000)).await.unwrap();
                drop(pool.start(&a).await.unwrap());
                Instant::now()
            })
        };
        tokio::time::sleep(Duration::from_secs(1)).await;
        let began = Instant::now();
        let b = pool.ticket("b.org", limits(8, 0)).await.unwrap();
        drop(pool.start(&b).await.unwrap());
        assert_eq!(began.elapsed(), Duration::ZERO);
        assert!(waiting.await.unwrap() - began >= Duration::from_secs(58));
    }
}
