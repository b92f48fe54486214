//! warcio (PyPI), the reference WARC reader, run as its command line.

use std::process::{Command, Output};

/// `warcio ARGS…`; `None`, with a note on stderr, where warcio is not
/// installed (`pip install warcio`).
pub fn warcio(args: &[&str]) -> Option<Output> {
    let probe = Command::new("python3")
        .args(["-c", "import warcio"])
        .output()
        .ok()?;
    if !probe.status.success() {
        eprintln!("skipped: warcio is not installed (pip install warcio)");
        return None;
    }
    let output = Command::new("python3")
        .args([
            "-c",
            "import sys; from warcio.cli import main; sys.exit(main(sys.argv[1:]))",
        ])
        .args(args)
        .output()
        .expect("python3 runs");
    Some(output)
}
