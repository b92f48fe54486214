//! Retries and Retry-After: how long a URL waits before it is asked again, and
//! what a 429 or 503 asked for.

use std::time::Duration;

use reqwest::header::{self, HeaderMap};
use tokio::time::Instant;

use super::pool::later;
use super::settings::NetSettings;

/// Pauses a host may ask for before it is given up on (a burst of 429s from
/// requests out together asks for one): a host that answers every request with
/// 429 would otherwise make the run wait for ever.
pub(super) const MAX_PAUSES: u32 = 3;

/// What a 429 or 503 asked for.
pub(super) enum RateLimit {
    /// The host is paused (or given up on, as the response says).
    Paused,
    /// No Retry-After: back off as for any transient failure.
    NoRetryAfter,
}

/// The wait before retry `attempt` + 1 after an answer with `status` (0
/// for no answer): the base delay × 2^attempt, less a random part of up to
/// a half ("equal jitter": the retries of URLs that failed together spread
/// out, and the base is the longest wait, which a run's last retries make it
/// wait in full). A server that answered 5xx is up and failed one request, and
/// is asked again sooner (`retry_delay_5xx`) than one that did not answer
/// or answered 429 (`retry_delay`): if the host is in trouble, its pace
/// slows down all its requests, not this one's wait.
pub(super) fn backoff(settings: &NetSettings, attempt: u32, status: u16) -> Duration {
    let delay = if (500..600).contains(&status) {
        settings.retry_delay_5xx
    } else {
        settings.retry_delay
    };
    let base = delay.saturating_mul(1 << attempt.min(16));
    base.mul_f64(1.0 - fastrand::f64() / 2.0)
}

/// Sleeps `wait` and says so, unless that would pass the deadline.
pub(super) async fn wait(wait: Duration, deadline: Instant) -> bool {
    if later(wait) > deadline {
        return false;
    }
    tokio::time::sleep(wait).await;
    true
}

/// Retry-After in seconds or as an HTTP date.
pub(super) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn backoff_is_at_most_its_base_and_at_least_half() {
        let defaults = crate::config::Settings::load(
            &crate::config::UserConfig::None,
            &crate::config::Overrides::default(),
        )
        .unwrap();
        let settings = defaults.network.clone();
        assert_eq!(settings.retry_delay, Duration::from_secs(1));
        assert_eq!(settings.retry_delay_5xx, Duration::from_millis(50));
        let waits = |attempt, status| {
            (0..200)
                .map(|_| backoff(&settings, attempt, status))
                .collect::<Vec<_>>()
        };
        for (attempt, status, base) in [(0, 503, 50), (1, 500, 100), (0, 0, 1000), (2, 429, 4000)] {
            let base = Duration::from_millis(base);
            let waits = waits(attempt, status);
            assert!(
                waits.iter().all(|w| *w <= base && *w >= base / 2),
                "{attempt} {status}: {waits:?}"
            );
            // Spread out, not one wait for all.
            assert!(waits.iter().any(|w| *w < base * 3 / 4), "{waits:?}");
            assert!(waits.iter().any(|w| *w > base * 3 / 4), "{waits:?}");
        }
    }

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        let mut headers = HeaderMap::new();
        headers.insert(header::RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        let later = std::time::SystemTime::now() + Duration::from_secs(30);
        headers.insert(
            header::RETRY_AFTER,
            HeaderValue::from_str(&httpdate::fmt_http_date(later)).unwrap(),
        );
        let wait = retry_after(&headers).unwrap();
        assert!(
            wait > Duration::from_secs(25) && wait <= Duration::from_secs(30),
            "{wait:?}"
        );
        headers.insert(header::RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers), None);
    }
}
