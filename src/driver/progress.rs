//! What a network run shows on a terminal while it runs.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

/// Progress bars on stderr when stderr is a terminal and warnings are shown;
/// nothing otherwise (the report's summary line says it all at the end).
///
/// One bar counts the URLs done, with their rate. A run that downloads has a
/// second bar for the bytes received; the hosts being asked are shown on the
/// last bar, and the latest failure on the first when there are two.
pub(super) struct Progress {
    bars: Option<Bars>,
}

struct Bars {
    multi: MultiProgress,
    urls: ProgressBar,
    /// The bytes received, and the counter they are read from.
    bytes: Option<(ProgressBar, Arc<AtomicU64>)>,
}

impl Progress {
    /// Bars for `total` URLs; with a bytes bar when `received` is counted.
    pub(super) fn new(total: usize, received: Option<&Arc<AtomicU64>>) -> Self {
        let visible =
            std::io::stderr().is_terminal() && tracing::enabled!(tracing::Level::WARN) && total > 0;
        let bars = visible.then(|| {
            let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
            let urls = multi.add(ProgressBar::new(total as u64));
            if let Ok(style) =
                ProgressStyle::with_template("{bar:30} {pos}/{len} URLs, {rate} · {msg}")
            {
                // indicatif's own {per_sec} shows four decimals: "43.1285/s".
                urls.set_style(style.with_key(
                    "rate",
                    |state: &ProgressState, out: &mut dyn std::fmt::Write| {
                        let _ = write!(out, "{}", rate(state.per_sec()));
                    },
                ));
            }
            let bytes = received.map(|received| {
                let bar = multi.add(ProgressBar::no_length());
                if let Ok(style) = ProgressStyle::with_template(
                    "{spinner} {bytes} received, {bytes_per_sec} · {msg}",
                ) {
                    bar.set_style(style);
                }
                (bar, Arc::clone(received))
            });
            Bars { multi, urls, bytes }
        });
        Progress { bars }
    }

    /// Whether anything is drawn.
    pub(super) fn is_visible(&self) -> bool {
        self.bars.is_some()
    }

    /// One URL done; `failure` names it when it failed.
    pub(super) fn advance(&self, failure: Option<&str>) {
        if let Some(bars) = &self.bars {
            bars.urls.inc(1);
            if let (Some(failure), Some(_)) = (failure, &bars.bytes) {
                bars.urls.set_message(format!("last failure: {failure}"));
            }
        }
    }

    /// Shows the hosts in flight, busiest first, and the bytes received.
    pub(super) fn show(&self, busy: &[(String, usize)]) {
        let Some(bars) = &self.bars else { return };
        let shown: Vec<String> = busy
            .iter()
            .take(3)
            .map(|(h, n)| format!("{h} ×{n}"))
            .collect();
        let more = busy.len().saturating_sub(3);
        let mut hosts = shown.join(", ");
        if more > 0 {
            hosts = format!("{hosts} +{more} hosts");
        }
        match &bars.bytes {
            Some((bar, received)) => {
                bar.set_position(received.load(Ordering::Relaxed));
                bar.set_message(if shown.is_empty() {
                    "waiting".to_owned()
                } else {
                    format!("downloading from {hosts}")
                });
            }
            None => bars.urls.set_message(hosts),
        }
    }

    /// Clears the bars.
    pub(super) fn finish(&self) {
        if let Some(bars) = &self.bars {
            bars.urls.finish_and_clear();
            if let Some((bar, _)) = &bars.bytes {
                bar.finish_and_clear();
            }
            let _ = bars.multi.clear();
        }
    }
}

/// URLs a second, as a person reads it: whole numbers, one decimal below 10.
fn rate(per_second: f64) -> String {
    if !per_second.is_finite() || per_second <= 0.0 {
        "0/s".to_owned()
    } else if per_second < 9.95 {
        format!("{per_second:.1}/s")
    } else {
        format!("{per_second:.0}/s")
    }
}

#[cfg(test)]
mod tests {
    use super::rate;

    #[test]
    fn rates_read_as_people_write_them() {
        assert_eq!(rate(43.1285), "43/s");
        assert_eq!(rate(3.2573), "3.3/s");
        assert_eq!(rate(9.96), "10/s");
        assert_eq!(rate(0.0), "0/s");
        assert_eq!(rate(f64::NAN), "0/s");
        assert_eq!(rate(f64::INFINITY), "0/s");
    }
}
