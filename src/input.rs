//! Which notes to read: files, directories (walked the way ripgrep walks them),
//! glob patterns and standard input, turned into a deduplicated, ordered list.
//!
//! Directory walks honour `.gitignore` (inside a git work tree), `.ignore` and
//! git's exclude files, and skip hidden files, unless told otherwise. A file named
//! explicitly is always read, ignored or not, as Markdown unless its extension
//! says HTML. Other files found in a walk are skipped, with a note under `-v`.

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
    /// Do not honour `.gitignore` and `.ignore`.
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

/// One thing found while expanding the inputs, in input order.
#[derive(Debug)]
pub enum Found {
    /// A note to read.
    Note(Note),
    /// A file that is not a note.
    Skipped(Skipped),
    /// An input that could not be used (missing, unwalkable); the others still are.
    Error(Error),
}

/// One command-line input, understood.
#[derive(Debug)]
enum Input {
    Stdin,
    Dir(PathBuf),
    File(PathBuf),
    Glob {
        pattern: String,
        base: PathBuf,
        matcher: GlobMatcher,
    },
    Missing(PathBuf),
}

/// The inputs of a command: paths, directories, glob patterns and `-`.
#[derive(Debug)]
pub struct Inputs {
    items: Vec<Input>,
}

impl Inputs {
    /// Understands the inputs without reading anything yet.
    ///
    /// # Errors
    /// [`Error::Glob`] for a malformed pattern: a usage error, so nothing is read.
    pub fn parse(inputs: &[String]) -> Result<Self, Error> {
        let mut items = Vec::with_capacity(inputs.len());
        let mut stdin_taken = false;
        for input in inputs {
            let path = Path::new(input);
            let item = if input == STDIN_NAME {
                if std::mem::replace(&mut stdin_taken, true) {
                    continue;
                }
                Input::Stdin
            } else if path.is_dir() {
                Input::Dir(path.to_path_buf())
            } else if path.exists() {
                Input::File(path.to_path_buf())
            } else if is_glob(input) {
                let (base, matcher) = glob_parts(input)?;
                Input::Glob {
                    pattern: input.clone(),
                    base,
                    matcher,
                }
            } else {
                Input::Missing(path.to_path_buf())
            };
            items.push(item);
        }
        Ok(Self { items })
    }

    /// Expands the inputs into notes, skipped files and errors, calling `found`
    /// with each in order (each directory's files sorted by path). `found` returns
    /// `false` to stop early.
    pub fn walk(
        &self,
        settings: &Settings,
        options: WalkOptions,
        stdin_format: Format,
        mut found: impl FnMut(Found) -> bool,
    ) {
        let mut walker = Walker {
            settings,
            options,
            seen: HashSet::new(),
            found: &mut found,
            stopped: false,
        };
        for item in &self.items {
            match item {
                Input::Stdin => walker.emit(Found::Note(Note::Stdin {
                    format: stdin_format,
                })),
                Input::Dir(path) => walker.walk_dir(path, None),
                Input::File(path) => walker.add_file(path.clone(), true),
                Input::Glob {
                    pattern,
                    base,
                    matcher,
                } => {
                    let before = walker.seen.len();
                    if base.is_dir() {
                        walker.walk_dir(base, Some(matcher));
                    }
                    if walker.seen.len() == before {
                        walker.emit(Found::Error(Error::NoMatch {
                            pattern: pattern.clone(),
                        }));
                    }
                }
                Input::Missing(path) => {
                    walker.emit(Found::Error(Error::InputNotFound { path: path.clone() }));
                }
            }
            if walker.stopped {
                return;
            }
        }
    }
}

struct Walker<'a, F: FnMut(Found) -> bool> {
    settings: &'a Settings,
    options: WalkOptions,
    /// Normalized paths already seen: `b.md` named and `./b.md` walked are one note.
    seen: HashSet<PathBuf>,
    found: &'a mut F,
    stopped: bool,
}

impl<F: FnMut(Found) -> bool> Walker<'_, F> {
    fn emit(&mut self, found: Found) {
        if !self.stopped && !(self.found)(found) {
            self.stopped = true;
        }
    }

    fn add_file(&mut self, path: PathBuf, explicit: bool) {
        if !self.seen.insert(crate::classify::normalize(&path)) {
            return;
        }
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or_default();
        let found = match self.settings.note_format(ext) {
            Some(format) => Found::Note(Note::File { path, format }),
            // A file named on the command line is read whatever its name: plain
            // text is Markdown (a binary file is still skipped, with a warning).
            None if explicit => Found::Note(Note::File {
                path,
                format: Format::Markdown,
            }),
            None => Found::Skipped(Skipped {
                path,
                why: "not a note (its extension is neither a Markdown nor an HTML one in the configuration)",
                explicit,
            }),
        };
        self.emit(found);
    }

    fn walk_dir(&mut self, root: &Path, filter: Option<&GlobMatcher>) {
        let no_ignore = self.options.no_ignore;
        let mut builder = WalkBuilder::new(root);
        builder
            .hidden(!self.options.hidden)
            .ignore(!no_ignore)
            .git_ignore(!no_ignore)
            .git_global(!no_ignore)
            .git_exclude(!no_ignore)
            .parents(!no_ignore)
            .sort_by_file_path(Path::cmp);
        for entry in builder.build() {
            if self.stopped {
                return;
            }
            match entry {
                Ok(entry) => {
                    if !entry.file_type().is_some_and(|t| t.is_file()) {
                        continue;
                    }
                    let path = entry.into_path();
                    if filter.is_some_and(|m| !m.is_match(&path)) {
                        continue;
                    }
                    self.add_file(path, false);
                }
                Err(source) => self.emit(Found::Error(Error::Walk {
                    path: root.to_path_buf(),
                    source,
                })),
            }
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
