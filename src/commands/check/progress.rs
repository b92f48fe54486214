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
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{bar:30} {pos}/{len} URLs, {per_sec} · {msg}",
            ) {
                bar.set_style(style);
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
