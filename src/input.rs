//! Which notes to read: files, directories (walked the way ripgrep walks them),
//! glob patterns and standard input, turned into a deduplicated, ordered list.
//!
//! Directory walks honour `.gitignore` (inside a git work tree), `.ignore`,
//! `.archiverignore` and git's exclude files, and skip hidden files, unless told
//! otherwise. A file named explicitly is always read, ignored or not. Files that are
//! not notes are skipped, with a note under `-v`.

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};

use globset::{GlobBuilder, GlobMatcher};
use ignore::WalkBuilder;

use crate::config::Settings;
use crate::error::Error;
use crate::extract::Format;
use crate::extract::source::SourceText;

/// The name notes read from standard input are reported under.
pub const STDIN_NAME: &str = "-";

/// How directories are walked.
#[derive(Debug, Clone, Copy, Default)]
pub struct WalkOptions {
    /// Also read hidden files and folders.
    pub hidden: bool,
    /// Do not honour `.gitignore`, `.ignore` and `.archiverignore`.
    pub no_ignore: bool,
}

/// A note to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    /// A file.
    File {
        /// Its path, as named or found.
        path: PathBuf,
        /// How to read it.
        format: Format,
    },
    /// Standard input.
    Stdin {
        /// How to read it.
        format: Format,
    },
}

impl Note {
    /// The path relative links resolve against (`-` for standard input).
    #[must_use]
    pub fn path(&self) -> &Path {
        match self {
            Note::File { path, .. } => path,
            Note::Stdin { .. } => Path::new(STDIN_NAME),
        }
    }

    /// How to read it.
    #[must_use]
    pub fn format(&self) -> Format {
        match self {
            Note::File { format, .. } | Note::Stdin { format } => *format,
        }
    }

    /// The name reports use: see [`display_path`].
    #[must_use]
    pub fn display_name(&self) -> String {
        display_path(self.path())
    }
}

/// A path as reports show it: forward slashes, a leading `./` dropped.
#[must_use]
pub fn display_path(path: &Path) -> String {
    let shown = crate::classify::display(path);
    match shown.strip_prefix("./") {
        Some(rest) if !rest.is_empty() => rest.to_owned(),
        _ => shown,
    }
}

/// A file that was passed over, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The file.
    pub path: PathBuf,
    /// Why it is not a note.
    pub why: &'static str,
    /// Whether the user named it (then the skip deserves a warning, not a note).
    pub explicit: bool,
}

/// The outcome of looking at the inputs.
#[derive(Debug, Default)]
pub struct Discovery {
    /// Notes to read, in order: inputs in the order given, each directory's files
    /// sorted by path.
    pub notes: Vec<Note>,
    /// Files that are not notes.
    pub skipped: Vec<Skipped>,
    /// Inputs that could not be used; the others are still read.
    pub errors: Vec<Error>,
}

/// Expands `inputs` (paths, globs, `-`) into notes. Inputs that are missing or
/// cannot be walked are collected in [`Discovery::errors`]; the rest are still read.
///
/// # Errors
/// [`Error::Glob`] for a malformed pattern: a usage error, so nothing is read.
pub fn discover(
    inputs: &[String],
    settings: &Settings,
    walk: WalkOptions,
    stdin_format: Format,
) -> Result<Discovery, Error> {
    let mut found = Discovery::default();
    let mut seen: HashSet<PathBuf> = HashSet::new();
    let mut stdin_taken = false;

    for input in inputs {
        if input == STDIN_NAME {
            if !stdin_taken {
                found.notes.push(Note::Stdin {
                    format: stdin_format,
                });
                stdin_taken = true;
            }
            continue;
        }
        let path = Path::new(input);
        if path.is_dir() {
            walk_dir(path, None, settings, walk, &mut found, &mut seen);
        } else if path.exists() {
            add_file(path.to_path_buf(), true, settings, &mut found, &mut seen);
        } else if is_glob(input) {
            let (base, matcher) = glob_parts(input)?;
            let before = found.notes.len() + found.skipped.len();
            if base.is_dir() {
                walk_dir(&base, Some(&matcher), settings, walk, &mut found, &mut seen);
            }
            if found.notes.len() + found.skipped.len() == before {
                tracing::warn!("pattern `{input}` matched no files");
            }
        } else {
            found.errors.push(Error::InputNotFound {
                path: path.to_path_buf(),
            });
        }
    }
    Ok(found)
}

fn add_file(
    path: PathBuf,
    explicit: bool,
    settings: &Settings,
    found: &mut Discovery,
    seen: &mut HashSet<PathBuf>,
) {
    // `b.md` named and `./b.md` walked are the same note.
    if !seen.insert(crate::classify::normalize(&path)) {
        return;
    }
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default();
    match settings.note_format(ext) {
        Some(format) => found.notes.push(Note::File { path, format }),
        None => found.skipped.push(Skipped {
            path,
            why: "not a note (its extension is neither a Markdown nor an HTML one in the configuration)",
            explicit,
        }),
    }
}

fn walk_dir(
    root: &Path,
    filter: Option<&GlobMatcher>,
    settings: &Settings,
    options: WalkOptions,
    found: &mut Discovery,
    seen: &mut HashSet<PathBuf>,
) {
    let mut builder = WalkBuilder::new(root);
    builder
        .hidden(!options.hidden)
        .ignore(!options.no_ignore)
        .git_ignore(!options.no_ignore)
        .git_global(!options.no_ignore)
        .git_exclude(!options.no_ignore)
        .parents(!options.no_ignore)
        .sort_by_file_path(Path::cmp);
    if !options.no_ignore {
        builder.add_custom_ignore_filename(".archiverignore");
    }
    for entry in builder.build() {
        match entry {
            Ok(entry) => {
                if !entry.file_type().is_some_and(|t| t.is_file()) {
                    continue;
                }
                let path = entry.into_path();
                if filter.is_some_and(|m| !m.is_match(&path)) {
                    continue;
                }
                add_file(path, false, settings, found, seen);
            }
            Err(source) => found.errors.push(Error::Walk {
                path: root.to_path_buf(),
                source,
            }),
        }
    }
}

fn is_glob(input: &str) -> bool {
    input.contains(['*', '?', '[', '{'])
}

/// The folder to walk for a glob (its longest leading part without wildcards) and
/// the matcher for the paths the walk yields.
fn glob_parts(pattern: &str) -> Result<(PathBuf, GlobMatcher), Error> {
    let mut base = PathBuf::new();
    for part in Path::new(pattern).components() {
        if is_glob(&part.as_os_str().to_string_lossy()) {
            break;
        }
        base.push(part);
    }
    // With no literal folder in front, the walk starts at "." and yields paths that
    // start with "./": match the pattern against those.
    let anchored = if base.as_os_str().is_empty() {
        base.push(".");
        format!("./{pattern}")
    } else {
        pattern.to_owned()
    };
    let glob = GlobBuilder::new(&anchored)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .map_err(|source| Error::Glob {
            pattern: pattern.to_owned(),
            source,
        })?;
    Ok((base, glob.compile_matcher()))
}

/// How much of a file is looked at to tell text from binary, as git does.
const BINARY_SNIFF_LEN: usize = 8192;

/// Reads a note. `Ok(None)` means it is binary and was skipped.
///
/// # Errors
/// [`Error::Read`] naming the file, or [`Error::Stdin`].
pub fn read(note: &Note) -> Result<Option<SourceText>, Error> {
    let bytes = match note {
        Note::File { path, .. } => std::fs::read(path).map_err(|source| Error::Read {
            path: path.clone(),
            source,
        })?,
        Note::Stdin { .. } => {
            let mut bytes = Vec::new();
            std::io::stdin()
                .lock()
                .read_to_end(&mut bytes)
                .map_err(Error::Stdin)?;
            bytes
        }
    };
    let head = &bytes[..bytes.len().min(BINARY_SNIFF_LEN)];
    if memchr::memchr(0, head).is_some() {
        return Ok(None);
    }
    Ok(Some(SourceText::new(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_bases_stop_at_the_first_wildcard() {
        let (base, m) = glob_parts("notes/2021*/**/*.md").unwrap();
        assert_eq!(base, Path::new("notes"));
        assert!(m.is_match("notes/202104/0424.md"));
        assert!(m.is_match("notes/202104/sub/x.md"));
        assert!(!m.is_match("notes/202104/0424.txt"));
        let (base, m) = glob_parts("*.md").unwrap();
        assert_eq!(base, Path::new("."));
        assert!(m.is_match("./README.md"));
        assert!(
            !m.is_match("./notes/a.md"),
            "a single star stays in its folder"
        );
        assert!(glob_parts("notes/[.md").is_err());
    }

    #[test]
    fn display_names_drop_a_leading_dot_slash() {
        let note = Note::File {
            path: PathBuf::from("./notes/a.md"),
            format: Format::Markdown,
        };
        assert_eq!(note.display_name(), "notes/a.md");
        assert_eq!(
            Note::Stdin {
                format: Format::Html
            }
            .display_name(),
            "-"
        );
    }
}
