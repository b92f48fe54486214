//! Opening a page in a real browser with the network blocked: headless
//! Chromium (Debian's `chromium`) driven by tests/browser/open_offline.py
//! (PyPI's `playwright`, never a browser download).

use std::path::Path;
use std::process::Command;

/// What a reader sees of `file` in Chromium, with requests allowed under `root`
/// only: `title`, `text`, `images` (`src`, `loaded`), `inside` (files asked for,
/// relative to `root`), `outside` (requests blocked), `errors`. `None`, with a
/// note on stderr, where chromium or playwright is missing.
pub fn open_offline(file: &Path, root: &Path) -> Option<serde_json::Value> {
    open_offline_named(file, root, None)
}

/// [`open_offline`], saving the page as `name`.png in the folder
/// `ARCHIVER_SCREENSHOTS` names, when it is set: how the README's pictures
/// are made.
pub fn open_offline_named(
    file: &Path,
    root: &Path,
    name: Option<&str>,
) -> Option<serde_json::Value> {
    let mut args = vec![file.as_os_str(), root.as_os_str()];
    args.extend(name.map(std::ffi::OsStr::new));
    run_script("open_offline.py", &args)
}

/// Runs tests/browser/`script` with `args` and reads the JSON it prints;
/// `None`, with a note on stderr, when it says (exit code 3) that chromium or
/// playwright is missing.
pub fn run_script(script: &str, args: &[&std::ffi::OsStr]) -> Option<serde_json::Value> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/browser")
        .join(script);
    let output = Command::new("python3")
        .arg(script)
        .args(args)
        .output()
        .ok()?;
    if output.status.code() == Some(3) {
        eprintln!(
            "skipped: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
        return None;
    }
    assert!(
        output.status.success(),
        "the browser run failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some(serde_json::from_slice(&output.stdout).expect("the harness prints JSON"))
}
