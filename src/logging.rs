//! Diagnostics on stderr, in the shape compilers use: `error: …`, `warning: …`,
//! `note: …`. Findings are never logged: they are the command's output.

use std::fmt;
use std::io::IsTerminal;

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::FmtContext;
use tracing_subscriber::fmt::format::{FormatEvent, FormatFields, Writer};
use tracing_subscriber::registry::LookupSpan;

/// `level: message`, colored when stderr is a terminal.
struct Plain {
    color: bool,
}

impl<S, N> FormatEvent<S, N> for Plain
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let (label, color) = match *event.metadata().level() {
            Level::ERROR => ("error", "\x1b[1;31m"),
            Level::WARN => ("warning", "\x1b[1;33m"),
            Level::INFO => ("note", "\x1b[1;36m"),
            Level::DEBUG | Level::TRACE => ("debug", "\x1b[2m"),
        };
        if self.color {
            write!(writer, "{color}{label}\x1b[0m: ")?;
        } else {
            write!(writer, "{label}: ")?;
        }
        ctx.format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

/// Installs the stderr logger. `verbosity`: -1 quiet, 0 default (warnings), 1 notes,
/// 2 and more debugging. `ARCHIVER_LOG` (an env-filter directive) overrides it.
pub fn init(verbosity: i8) {
    let level = match verbosity {
        ..0 => "error",
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = EnvFilter::try_from_env("ARCHIVER_LOG")
        .unwrap_or_else(|_| EnvFilter::new(format!("archiver={level},{level}")));
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    // A second initialisation (tests running `run` twice) keeps the first logger.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .event_format(Plain { color })
        .try_init();
}
