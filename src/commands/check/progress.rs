//! The progress bar of a `check` run.

/// A progress bar on stderr when stderr is a terminal; nothing otherwise.
pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    pub fn new(total: usize) -> Self {
        use std::io::IsTerminal;
        let visible =
            std::io::stderr().is_terminal() && tracing::enabled!(tracing::Level::WARN) && total > 0;
        let bar = visible.then(|| {
            let bar = indicatif::ProgressBar::with_draw_target(
                Some(total as u64),
                indicatif::ProgressDrawTarget::stderr(),
            );
            if let Ok(style) =
                indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} URLs, {rate} · {msg}")
            {
                // indicatif's own {per_sec} shows four decimals: "43.1285/s".
                bar.set_style(style.with_key(
                    "rate",
                    |state: &indicatif::ProgressState, out: &mut dyn std::fmt::Write| {
                        let _ = write!(out, "{}", rate(state.per_sec()));
                    },
                ));
            }
            bar
        });
        Progress { bar }
    }

    pub fn is_visible(&self) -> bool {
        self.bar.is_some()
    }

    pub fn advance(&self) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }

    /// Shows the hosts in flight, busiest first.
    pub fn hosts(&self, busy: &[(String, usize)]) {
        if let Some(bar) = &self.bar {
            let shown: Vec<String> = busy
                .iter()
                .take(3)
                .map(|(h, n)| format!("{h} ×{n}"))
                .collect();
            let more = busy.len().saturating_sub(3);
            let mut msg = shown.join(", ");
            if more > 0 {
                msg = format!("{msg} +{more} hosts");
            }
            bar.set_message(msg);
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
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
