//! A host's pace, adapted to what it answers.
//!
//! The configured limits (the run's, or a site rule's: requests in flight at once,
//! least time between two starts) are the fastest a host is ever asked. The pace
//! kept can be slower: a 429 (too many requests) or a 503 (unavailable) with a
//! Retry-After cuts it at once, and good answers bring it back a step at a time,
//! as TCP treats its window (a multiplicative decrease, an additive increase):
//!
//! - a cut halves the requests in flight (down to one) and doubles the interval
//!   between starts (a host with none that is already down to one request at a
//!   time gets a first interval of 250 ms);
//! - a 429 also lowers the host's ceiling for the rest of the run to one step
//!   below the pace that drew it (one request fewer in flight, a quarter more time
//!   between starts), so that coming back up does not provoke the same answer
//!   again; a 503 may be a passing failure and leaves the ceiling where it is;
//! - after [`RAISE_AFTER`] good answers in a row the pace goes one step faster: a
//!   quarter less time between starts while the interval is above the ceiling's,
//!   then one more request in flight, never past the ceiling.
//!
//! A 503 without a Retry-After is weaker news: one page of a busy site failing
//! once (a cache miss, a restarting worker) says nothing about the pace, and
//! cutting the pace for each would take a site whose pages fail 2% of the time
//! down to one request at a time. Such 503s are counted among the host's last
//! [`FAILED_WINDOW`] answers, and [`FAILED_TO_CUT`] of them there cut the pace
//! as above: a host struggling under the load answers 503 to many requests at
//! once, while pages failing 2% of the time put three in ten answers about once
//! in every 75 failures (two in ten would come once in 6, and the hosts so
//! slowed would be the last to finish a run).
//!
//! Requests already in flight when a host first answers 429 tend to come back 429
//! together: they were sent at the old pace, and their answers say nothing new.
//! Each request remembers the episode it started in; only an answer to a request
//! started in the current episode opens a new one (one cut, and one pause when it
//! carries a Retry-After). The others belong to the burst already counted, and
//! their good answers do not count toward a raise either.

use std::time::Duration;

use super::HostLimits;

/// Good answers in a row that raise the pace one step.
pub const RAISE_AFTER: u32 = 10;

/// The answers in which 503s without a Retry-After are counted.
pub const FAILED_WINDOW: u32 = 10;

/// 503s without a Retry-After among the last [`FAILED_WINDOW`] answers that
/// cut the pace.
pub const FAILED_TO_CUT: u32 = 3;

/// The bits of [`Pace::recent`] in use.
const WINDOW_MASK: u16 = (1 << FAILED_WINDOW) - 1;

/// The interval a cut gives a host that had none and is already down to one
/// request at a time.
const FIRST_INTERVAL: Duration = Duration::from_millis(250);

/// The interval of the ceiling below a host that drew a 429 at one request at a
/// time without an interval.
const LEAST_INTERVAL: Duration = Duration::from_millis(50);

/// Cuts never space starts further apart than this.
const LONGEST_INTERVAL: Duration = Duration::from_mins(1);

/// A widened interval coming back toward none is none once below this.
const NEGLIGIBLE: Duration = Duration::from_millis(20);

/// What a slowing answer said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// 429: the pace itself was too fast.
    TooMany,
    /// 503 with a Retry-After: the host asks to be left alone for a while.
    Unavailable,
    /// 503 without a Retry-After: a page failed, maybe for reasons of its own.
    Failed,
}

/// A host's pace and what it has learnt.
#[derive(Debug, Clone)]
pub struct Pace {
    /// The pace kept now.
    now: HostLimits,
    /// The fastest the host may be asked for the rest of the run.
    ceiling: HostLimits,
    /// Cuts so far: the episode a request starting now belongs to.
    episode: u64,
    /// Good answers in a row since the last change.
    good: u32,
    /// The last [`FAILED_WINDOW`] answers of this episode, newest in the
    /// lowest bit: 1 for a [`Signal::Failed`], 0 for a good one.
    recent: u16,
}

impl Pace {
    /// A host kept at `limits` until it answers otherwise.
    #[must_use]
    pub fn new(limits: HostLimits) -> Self {
        Pace {
            now: limits,
            ceiling: limits,
            episode: 0,
            good: 0,
            recent: 0,
        }
    }

    /// The pace kept now.
    #[must_use]
    pub fn now(&self) -> HostLimits {
        self.now
    }

    /// The episode a request starting now belongs to.
    #[must_use]
    pub fn episode(&self) -> u64 {
        self.episode
    }

    /// A slowing answer to a request started in episode `started_in`. A new
    /// episode cuts the pace: returns by how many requests in flight, `None`
    /// when the answer belongs to a burst already counted.
    pub fn slow_down(&mut self, started_in: u64, signal: Signal) -> Option<usize> {
        if started_in != self.episode {
            return None;
        }
        self.good = 0;
        if signal == Signal::Failed {
            self.recent = (self.recent << 1 | 1) & WINDOW_MASK;
            if self.recent.count_ones() < FAILED_TO_CUT {
                return None;
            }
        }
        self.recent = 0;
        self.episode += 1;
        let before = self.now;
        if signal == Signal::TooMany {
            self.ceiling = slowest(self.ceiling, one_step_slower(before));
        }
        self.now = slowest(cut(before), self.ceiling);
        Some(before.concurrency - self.now.concurrency)
    }

    /// A good answer (anything but 429 or 503) to a request started in episode
    /// `started_in`. Returns how many more requests may be in flight now (0 or 1).
    pub fn went_well(&mut self, started_in: u64) -> usize {
        if started_in != self.episode {
            return 0;
        }
        self.recent = (self.recent << 1) & WINDOW_MASK;
        self.good += 1;
        if self.good < RAISE_AFTER {
            return 0;
        }
        self.good = 0;
        let before = self.now;
        self.now = one_step_faster(before, self.ceiling);
        self.now.concurrency - before.concurrency
    }
}

/// The slower of two paces in each of its limits.
fn slowest(a: HostLimits, b: HostLimits) -> HostLimits {
    HostLimits {
        concurrency: a.concurrency.min(b.concurrency),
        interval: a.interval.max(b.interval),
    }
}

/// Half as many in flight, twice as far apart.
fn cut(pace: HostLimits) -> HostLimits {
    let interval = if !pace.interval.is_zero() {
        pace.interval.saturating_mul(2).min(LONGEST_INTERVAL)
    } else if pace.concurrency <= 1 {
        FIRST_INTERVAL
    } else {
        Duration::ZERO
    };
    HostLimits {
        concurrency: (pace.concurrency / 2).max(1),
        interval,
    }
}

/// The ceiling below a pace that drew a 429.
fn one_step_slower(pace: HostLimits) -> HostLimits {
    let interval = if !pace.interval.is_zero() {
        pace.interval + pace.interval / 4
    } else if pace.concurrency <= 1 {
        LEAST_INTERVAL
    } else {
        Duration::ZERO
    };
    HostLimits {
        concurrency: pace.concurrency.saturating_sub(1).max(1),
        interval,
    }
}

/// One step back toward the ceiling: the interval first, then the concurrency.
fn one_step_faster(pace: HostLimits, ceiling: HostLimits) -> HostLimits {
    if pace.interval > ceiling.interval {
        let mut interval = pace
            .interval
            .saturating_sub(pace.interval / 4)
            .max(ceiling.interval);
        if interval < NEGLIGIBLE {
            interval = ceiling.interval;
        }
        return HostLimits { interval, ..pace };
    }
    HostLimits {
        concurrency: (pace.concurrency + 1).min(ceiling.concurrency.max(1)),
        ..pace
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

    /// Good answers of the current episode until the pace changes.
    fn raise(pace: &mut Pace) -> HostLimits {
        for _ in 0..RAISE_AFTER {
            pace.went_well(pace.episode());
        }
        pace.now()
    }

    #[test]
    fn a_burst_of_429s_cuts_once() {
        let mut pace = Pace::new(limits(8, 0));
        let started_in = pace.episode();
        assert_eq!(pace.slow_down(started_in, Signal::TooMany), Some(4));
        // The rest of the burst: sent at the old pace, already counted.
        for _ in 0..3 {
            assert_eq!(pace.slow_down(started_in, Signal::TooMany), None);
        }
        assert_eq!(pace.now(), limits(4, 0));
        // A 429 to a request sent at the new pace is news.
        assert_eq!(pace.slow_down(pace.episode(), Signal::TooMany), Some(2));
        assert_eq!(pace.now(), limits(2, 0));
    }

    #[test]
    fn cuts_halve_the_concurrency_then_widen_the_interval() {
        let mut pace = Pace::new(limits(4, 0));
        let mut seen = Vec::new();
        for _ in 0..5 {
            pace.slow_down(pace.episode(), Signal::Unavailable);
            seen.push(pace.now());
        }
        assert_eq!(
            seen,
            [
                limits(2, 0),
                limits(1, 0),
                limits(1, 250),
                limits(1, 500),
                limits(1, 1000)
            ]
        );
        // A paced host is spaced further apart at once: halving its concurrency
        // alone would not slow it while its answers come quickly.
        let mut paced = Pace::new(limits(2, 1000));
        paced.slow_down(0, Signal::TooMany);
        assert_eq!(paced.now(), limits(1, 2000));
    }

    #[test]
    fn good_answers_bring_a_503_host_back_to_its_limits() {
        let mut pace = Pace::new(limits(8, 0));
        pace.slow_down(0, Signal::Unavailable);
        assert_eq!(pace.now(), limits(4, 0));
        // Answers to requests of the old episode do not count.
        for _ in 0..2 * RAISE_AFTER {
            assert_eq!(pace.went_well(0), 0);
        }
        assert_eq!(pace.now(), limits(4, 0));
        let mut steps = Vec::new();
        while steps.last() != Some(&limits(8, 0)) {
            steps.push(raise(&mut pace));
            assert!(steps.len() < 10, "{steps:?}");
        }
        assert_eq!(
            steps,
            [limits(5, 0), limits(6, 0), limits(7, 0), limits(8, 0)]
        );
    }

    #[test]
    fn a_429_lowers_the_ceiling_below_the_pace_that_drew_it() {
        let mut pace = Pace::new(limits(8, 0));
        pace.slow_down(0, Signal::TooMany);
        for _ in 0..20 {
            raise(&mut pace);
        }
        assert_eq!(pace.now(), limits(7, 0));

        let mut paced = Pace::new(limits(2, 1000));
        paced.slow_down(0, Signal::TooMany);
        let mut steps = vec![paced.now()];
        for _ in 0..6 {
            steps.push(raise(&mut paced));
        }
        assert_eq!(
            steps,
            [
                limits(1, 2000),
                limits(1, 1500),
                limits(1, 1250),
                limits(1, 1250),
                limits(1, 1250),
                limits(1, 1250),
                limits(1, 1250),
            ]
        );

        // Down to one at a time with no interval: the ceiling gets one.
        let mut single = Pace::new(limits(1, 0));
        single.slow_down(0, Signal::TooMany);
        assert_eq!(single.now(), limits(1, 250));
        for _ in 0..20 {
            raise(&mut single);
        }
        assert_eq!(single.now(), limits(1, 50));
    }

    #[test]
    fn a_503_without_retry_after_cuts_only_as_the_third_in_ten_answers() {
        let mut pace = Pace::new(limits(8, 0));
        assert_eq!(pace.slow_down(0, Signal::Failed), None);
        for _ in 0..5 {
            pace.went_well(0);
        }
        assert_eq!(pace.slow_down(0, Signal::Failed), None);
        assert_eq!(pace.now(), limits(8, 0));
        // Ten answers on, the first has left the window: still two in ten.
        for _ in 0..3 {
            pace.went_well(0);
        }
        assert_eq!(pace.slow_down(0, Signal::Failed), None);
        assert_eq!(pace.now(), limits(8, 0));
        // Three in the last ten: the host is struggling.
        assert_eq!(pace.slow_down(0, Signal::Failed), Some(4));
        assert_eq!(pace.now(), limits(4, 0));
        // The new episode counts afresh, and old answers do not count in it.
        assert_eq!(pace.slow_down(0, Signal::Failed), None);
        assert_eq!(pace.slow_down(pace.episode(), Signal::Failed), None);
        assert_eq!(pace.slow_down(pace.episode(), Signal::Failed), None);
        assert_eq!(pace.now(), limits(4, 0));
        assert_eq!(pace.slow_down(pace.episode(), Signal::Failed), Some(2));
    }

    /// One answer to a request of the current episode, a 503 without a
    /// Retry-After when `failed`; whether it cut the pace.
    fn answer(pace: &mut Pace, failed: bool) -> bool {
        let episode = pace.episode();
        if failed {
            pace.slow_down(episode, Signal::Failed).is_some()
        } else {
            pace.went_well(episode);
            false
        }
    }

    #[test]
    fn pages_failing_two_percent_of_the_time_seldom_slow_a_host() {
        // Every 50th answer failing, at an unlucky spacing and at random: the
        // host keeps its pace through almost all of them.
        let mut pace = Pace::new(limits(8, 0));
        for i in 0..1000 {
            answer(&mut pace, i % 50 == 0);
        }
        assert_eq!(pace.episode(), 0);
        let mut rng = fastrand::Rng::with_seed(7);
        let mut pace = Pace::new(limits(8, 0));
        let cuts = (0..100_000)
            .filter(|_| answer(&mut pace, rng.u32(..100) < 2))
            .count();
        // About 2,000 failures: one in 75 cuts, as the module says.
        assert!((10..=50).contains(&cuts), "{cuts} cuts");
        // Half the answers failing: cut within the first few.
        let mut pace = Pace::new(limits(8, 0));
        for i in 0..6 {
            answer(&mut pace, i % 2 == 0);
        }
        assert_eq!(pace.now(), limits(4, 0));
    }

    #[test]
    fn a_widened_interval_comes_back_to_none() {
        let mut pace = Pace::new(limits(1, 0));
        pace.slow_down(0, Signal::Unavailable);
        assert_eq!(pace.now(), limits(1, 250));
        for _ in 0..20 {
            raise(&mut pace);
        }
        assert_eq!(pace.now(), limits(1, 0));
    }
}
