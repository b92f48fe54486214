//! `archiver config`: the configuration in effect, or the shipped defaults.

use std::io::Write;

use crate::cli::ConfigArgs;
use crate::config::{DEFAULT_CONFIG, Settings};
use crate::{Error, ExitStatus};

/// Prints the effective configuration (or, with `--default`, the shipped file).
///
/// # Errors
/// Only a write error on stdout.
pub fn run(args: &ConfigArgs, settings: &Settings) -> Result<ExitStatus, Error> {
    let mut out = std::io::stdout().lock();
    if args.default {
        out.write_all(DEFAULT_CONFIG.as_bytes())
            .map_err(Error::Output)?;
    } else {
        let text = settings
            .to_toml()
            .map_err(|e| Error::config_value("effective configuration", e.to_string()))?;
        writeln!(out, "# merged from: {}", settings.sources.join(", ")).map_err(Error::Output)?;
        out.write_all(text.as_bytes()).map_err(Error::Output)?;
    }
    out.flush().map_err(Error::Output)?;
    Ok(ExitStatus::Success)
}
