//! What `fetch` shows on a terminal while it runs.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::report::fetch::{FetchOutcome, FetchResult};

/// Progress bars on stderr when stderr is a terminal: URLs done, bytes received,
/// and the hosts downloading now. Nothing otherwise: the report's summary line
/// says it all at the end.
pub(super) struct Progress {
    pub(super) bars: Option<(
        indicatif::MultiProgress,
        indicatif::ProgressBar,
        indicatif::ProgressBar,
    )>,
    pub(super) received: Arc<AtomicU64>,
}

impl Progress {
    pub(super) fn new(total: usize, received: &Arc<AtomicU64>) -> Self {
        let visible =
            std::io::stderr().is_terminal() && tracing::enabled!(tracing::Level::WARN) && total > 0;
        let bars = visible.then(|| {
            let multi =
                indicatif::MultiProgress::with_draw_target(indicatif::ProgressDrawTarget::stderr());
            let items = multi.add(indicatif::ProgressBar::new(total as u64));
            if let Ok(style) =
                indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} URLs · {msg}")
            {
                items.set_style(style);
            }
            let bytes = multi.add(indicatif::ProgressBar::no_length());
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{spinner} {bytes} received, {bytes_per_sec} · {msg}",
            ) {
                bytes.set_style(style);
            }
            (multi, items, bytes)
        });
        Progress {
            bars,
            received: Arc::clone(received),
        }
    }

    pub(super) fn advance(&self, result: &FetchResult) {
        if let Some((_, items, _)) = &self.bars {
            items.inc(1);
            if result.outcome == FetchOutcome::Failed {
                items.set_message(format!(
                    "last failure: {} [{}]",
                    result.url,
                    result.reason_code.as_deref().unwrap_or_default()
                ));
            }
        }
    }

    pub(super) fn show(&self, busy: &[(String, usize)]) {
        if let Some((_, _, bytes)) = &self.bars {
            bytes.set_position(self.received.load(Ordering::Relaxed));
            let active: Vec<String> = busy
                .iter()
                .take(3)
                .map(|(h, n)| format!("{h} ×{n}"))
                .collect();
            let more = busy.len().saturating_sub(3);
            let mut msg = format!("downloading from {}", active.join(", "));
            if active.is_empty() {
                msg = "waiting".into();
            } else if more > 0 {
                msg = format!("{msg} +{more} hosts");
            }
            bytes.set_message(msg);
        }
    }

    pub(super) fn finish(&self) {
        if let Some((multi, items, bytes)) = &self.bars {
            items.finish_and_clear();
            bytes.finish_and_clear();
            let _ = multi.clear();
        }
    }
}
