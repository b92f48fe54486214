//! The `archiver` binary: parse the command line, run, map the outcome to an exit
//! status.

use std::process::ExitCode;

use archiver::{ExitStatus, cli::Cli};
use clap::Parser;

// Extraction allocates a few small strings per link on every core; mimalloc's
// per-thread free lists make that markedly cheaper than the system allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version are successes; every other clap error is a usage
            // error, which is 3 here (clap's own 2 means findings in this tool).
            let status = if e.use_stderr() {
                ExitStatus::Usage
            } else {
                ExitStatus::Success
            };
            let _ = e.print();
            return status.into();
        }
    };
    archiver::run(&cli).into()
}
