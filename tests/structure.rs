//! The shape of the source tree: no file over 600 lines of code (its unit-test
//! module not counted), and no import cycle between the files of `src/`, so that
//! each layer can be read, and changed, without the ones above it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The most lines of code a source file may have.
const MOST_LINES: usize = 600;

fn sources() -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("src")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The module path of a source file: `src/net/pool/mod.rs` is `net::pool`.
fn module_of(file: &Path) -> Vec<String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let relative = file.strip_prefix(&src).unwrap().with_extension("");
    let mut parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// The text before the unit-test module.
fn code_of(text: &str) -> &str {
    text.find("\n#[cfg(test)]\nmod tests")
        .map_or(text, |at| &text[..at])
}

/// `code` without its comments (a line's text from `//` on): a doc comment
/// that names a module is no import.
fn without_comments(code: &str) -> String {
    code.lines()
        .map(|line| line.find("//").map_or(line, |at| &line[..at]))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The modules a file's code names: `crate::a::b`, `super::c`, `self::d`.
fn imports(module: &[String], code: &str) -> BTreeSet<Vec<String>> {
    let mut found = BTreeSet::new();
    let bytes = code.as_bytes();
    for start in ["crate::", "super::", "self::"] {
        let mut from = 0;
        while let Some(at) = code[from..].find(start).map(|i| from + i) {
            from = at + start.len();
            if at > 0 && (bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_') {
                continue;
            }
            // The path, `super::super::x::y` included, up to a brace or a name's end.
            let rest = &code[at..];
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(rest.len());
            let mut segments: Vec<&str> =
                rest[..end].split("::").filter(|s| !s.is_empty()).collect();
            // A file's module is its folder's for mod.rs: `super` is then the
            // folder's parent, as it is for a file beside mod.rs.
            let mut base: Vec<String> = match segments.first().copied() {
                Some("crate") => Vec::new(),
                Some("super" | "self") => module.to_vec(),
                _ => continue,
            };
            let mut first = true;
            while let Some(segment) = segments.first().copied() {
                match segment {
                    "crate" if first => {}
                    "self" if first => {}
                    "super" => {
                        base.pop();
                    }
                    _ => break,
                }
                first = false;
                segments.remove(0);
            }
            base.extend(segments.iter().map(|s| (*s).to_owned()));
            found.insert(base);
        }
    }
    found
}

#[test]
fn no_source_file_is_over_600_lines_of_code() {
    let mut over = Vec::new();
    for file in sources() {
        let text = std::fs::read_to_string(&file).unwrap();
        // Lines of code as counters of code count them: not blank, not only
        // a comment.
        let lines = code_of(&text)
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("//"))
            .count();
        if lines > MOST_LINES {
            over.push(format!("{} ({lines} lines)", file.display()));
        }
    }
    assert!(
        over.is_empty(),
        "over {MOST_LINES} lines of code: split by concern:\n{}",
        over.join("\n")
    );
}

#[test]
fn the_source_files_import_each_other_without_a_cycle() {
    let files = sources();
    let modules: BTreeMap<Vec<String>, PathBuf> =
        files.iter().map(|f| (module_of(f), f.clone())).collect();
    // An import names a file's module or something inside it: the longest
    // module that prefixes the path is the file depended on.
    let file_of = |path: &[String]| -> Option<Vec<String>> {
        (0..=path.len())
            .rev()
            .map(|n| path[..n].to_vec())
            .find(|prefix| modules.contains_key(prefix))
    };
    let mut graph: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for file in &files {
        let module = module_of(file);
        let text = std::fs::read_to_string(file).unwrap();
        let edges = graph.entry(module.clone()).or_default();
        for import in imports(&module, &without_comments(code_of(&text))) {
            if let Some(target) = file_of(&import)
                // A module's own children and its parent's re-exports are its
                // structure, not a dependency between layers.
                && target != module
                && !target.starts_with(&module)
                && !module.starts_with(&target)
            {
                edges.insert(target);
            }
        }
    }
    // Depth-first search for a cycle, reported as the files in it.
    fn visit(
        node: &Vec<String>,
        graph: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        path: &mut Vec<Vec<String>>,
        done: &mut BTreeSet<Vec<String>>,
        cycles: &mut Vec<String>,
    ) {
        if let Some(at) = path.iter().position(|n| n == node) {
            let cycle: Vec<String> = path[at..]
                .iter()
                .chain(std::iter::once(node))
                .map(|m| m.join("::"))
                .collect();
            cycles.push(cycle.join(" → "));
            return;
        }
        if !done.insert(node.clone()) {
            return;
        }
        path.push(node.clone());
        for next in graph.get(node).into_iter().flatten() {
            visit(next, graph, path, done, cycles);
        }
        path.pop();
    }
    let mut cycles = Vec::new();
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        visit(node, &graph, &mut Vec::new(), &mut done, &mut cycles);
    }
    assert!(
        cycles.is_empty(),
        "import cycles between source files:\n{}",
        cycles.join("\n")
    );
}
