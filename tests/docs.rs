//! The documentation stays true to the tree: every option a command's `--help`
//! lists is described in docs/commands.md, and docs/architecture.md's module map
//! lists exactly the source files there are.

mod util;

use std::collections::BTreeSet;
use std::path::Path;

use util::Exit;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The long options a `--help` text lists.
fn options(help: &str) -> BTreeSet<String> {
    help.lines()
        .map(str::trim_start)
        .filter_map(|line| {
            let line = line
                .strip_prefix('-')
                .filter(|l| !l.starts_with('-'))
                .and_then(|l| l.split_once(", ").map(|(_, rest)| rest))
                .unwrap_or(line);
            let option = line.strip_prefix("--")?;
            let end = option
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
                .unwrap_or(option.len());
            (end > 0).then(|| format!("--{}", &option[..end]))
        })
        .collect()
}

#[test]
fn every_option_of_every_command_is_in_docs_commands() {
    let docs = std::fs::read_to_string(root().join("docs/commands.md")).unwrap();
    let commands = [
        "links", "check", "fetch", "verify", "gc", "rewrite", "history", "report", "config",
    ];
    let mut missing = Vec::new();
    for command in commands {
        let help = util::archiver()
            .args([command, "--help"])
            .expect(Exit::Success)
            .stdout;
        let found = options(&help);
        assert!(
            found.contains("--help"),
            "{command}: no options read from {help}"
        );
        for option in found {
            if !docs.contains(&format!("`{option}")) {
                missing.push(format!("{command} {option}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "options of --help not described in docs/commands.md:\n{}",
        missing.join("\n")
    );
}

#[test]
fn the_module_map_lists_every_source_file_and_no_other() {
    let map = std::fs::read_to_string(root().join("docs/architecture.md")).unwrap();
    let listed: BTreeSet<String> = map
        .lines()
        .filter_map(|l| l.strip_prefix("| `src/"))
        .filter_map(|l| l.split_once('`').map(|(path, _)| format!("src/{path}")))
        .collect();
    let mut present = BTreeSet::new();
    let mut stack = vec![root().join("src")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let relative = path.strip_prefix(root()).unwrap();
                present.insert(relative.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let unlisted: Vec<&String> = present.difference(&listed).collect();
    let gone: Vec<&String> = listed.difference(&present).collect();
    assert!(
        unlisted.is_empty() && gone.is_empty(),
        "docs/architecture.md's module map is out of date: add {unlisted:?}, remove {gone:?}"
    );
}
