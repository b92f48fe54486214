//! Which notes to read: files, directories (walked the way ripgrep walks them),
//! glob patterns and standard input, turned into a deduplicated, ordered list.
//!
//! Directory walks honour `.gitignore` (inside a git work tree), `.ignore` and
//! git's exclude files, and skip hidden files, unless told otherwise. A file named
//! explicitly is always read, ignored or not, as Markdown unless its extension
//! says HTML. Other files found in a walk are skipped, with a note under `-v`.
//!
//! Only regular files are read. A FIFO would block the run forever and a device
//! (`/dev/zero`) would fill memory, so anything else named on the command line is
//! an error naming it, decided from its metadata before it is opened; the walk
//! skips FIFOs, sockets, devices and symlinks (naming them under `-v`). A note is
//! read in two steps: its first bytes, which tell a binary file (skipped without
//! reading the rest), then the rest, never more than `input.max_note_size`.

use std::collections::HashSet;
use std::fs::Metadata;
use std::io::Read;
use std::path::{Path, PathBuf};

use globset::{GlobBuilder, GlobMatcher};
use ignore::WalkBuilder;

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
    pub why: String,
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
    /// Something that exists but cannot be a note (a FIFO, a device, a symlink
    /// loop): what it is, reported in its turn.
    Unusable {
        path: PathBuf,
        what: String,
    },
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
            } else if let Some(item) = existing(path) {
                item
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
    /// `false` to stop early. `note_format` says whether a file extension (without
    /// the dot, any case) is a note's, and which format it is read as (the
    /// configuration's `links.*_extensions` decide it).
    pub fn walk(
        &self,
        note_format: &dyn Fn(&str) -> Option<Format>,
        options: WalkOptions,
        stdin_format: Format,
        mut found: impl FnMut(Found) -> bool,
    ) {
        let mut walker = Walker {
            note_format,
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
                Input::Unusable { path, what } => walker.emit(Found::Error(Error::NotAFile {
                    path: path.clone(),
                    what: what.clone(),
                })),
            }
            if walker.stopped {
                return;
            }
        }
    }
}

struct Walker<'a, F: FnMut(Found) -> bool> {
    note_format: &'a dyn Fn(&str) -> Option<Format>,
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
        let found = match (self.note_format)(ext) {
            Some(format) => Found::Note(Note::File { path, format }),
            // A file named on the command line is read whatever its name: plain
            // text is Markdown (a binary file is still skipped, with a warning).
            None if explicit => Found::Note(Note::File {
                path,
                format: Format::Markdown,
            }),
            None => Found::Skipped(Skipped {
                path,
                why: "not a note (its extension is neither a Markdown nor an HTML one in the configuration)".to_owned(),
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
                    // The walk does not follow links, so this is the entry itself.
                    let Some(kind) = entry.file_type().filter(|t| !t.is_dir()) else {
                        continue;
                    };
                    let path = entry.into_path();
                    if filter.is_some_and(|m| !m.is_match(&path)) {
                        continue;
                    }
                    if kind.is_file() {
                        self.add_file(path, false);
                    } else {
                        // A FIFO would block the run and a link may lead out of
                        // the tree: passed over, and named under `-v`.
                        let why = match std::fs::symlink_metadata(&path) {
                            Ok(meta) if meta.file_type().is_symlink() => {
                                "a symbolic link (folders are walked without following links; name it to read what it points to)".to_owned()
                            }
                            Ok(meta) => format!("{}, not a regular file", file_kind(&meta)),
                            Err(_) => "not a regular file".to_owned(),
                        };
                        self.emit(Found::Skipped(Skipped {
                            path,
                            why,
                            explicit: false,
                        }));
                    }
                }
                Err(source) => self.emit(Found::Error(Error::Walk {
                    path: root.to_path_buf(),
                    source,
                })),
            }
        }
    }
}

/// A command-line input that exists as something other than a folder: a file to
/// read, or what makes it unusable. `None` when nothing is there at all (not even
/// a symlink), so that it may still be a glob.
fn existing(path: &Path) -> Option<Input> {
    // Symlinks are followed: a link to a note is that note.
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => Some(Input::File(path.to_path_buf())),
        Ok(meta) => Some(Input::Unusable {
            path: path.to_path_buf(),
            what: not_a_file(&meta),
        }),
        Err(e) => {
            // The name is there but leads nowhere: a loop or a dangling link.
            std::fs::symlink_metadata(path).ok()?;
            Some(Input::Unusable {
                path: path.to_path_buf(),
                what: broken_link(path, &e),
            })
        }
    }
}

/// What a non-regular file is, and what to do about it.
fn not_a_file(meta: &Metadata) -> String {
    let kind = file_kind(meta);
    format!(
        "is {kind}, not a regular file; only regular files are read as notes (to read a stream, pipe it to `-`)"
    )
}

/// The kind of a file that is not a regular one, as the error names it.
fn file_kind(meta: &Metadata) -> &'static str {
    let kind = meta.file_type();
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if kind.is_char_device() {
            return "a character device";
        }
        if kind.is_block_device() {
            return "a block device";
        }
        if kind.is_socket() {
            return "a socket";
        }
    }
    if kind.is_dir() {
        "a folder"
    } else if kind.is_symlink() {
        "a symbolic link"
    } else {
        "a special file"
    }
}

/// Why a symlink cannot be followed: a loop, or a target that is not there.
fn broken_link(path: &Path, error: &std::io::Error) -> String {
    // ELOOP's ErrorKind (`FilesystemLoop`) has no stable name to match on yet;
    // its Debug form is stable enough to tell it from the others.
    if format!("{:?}", error.kind()) == "FilesystemLoop" {
        return "is a symbolic link loop (following it leads back to itself); point it at a note or remove it".to_owned();
    }
    match std::fs::read_link(path) {
        Ok(target) => format!(
            "is a symbolic link to {}, which does not exist; point it at a note or remove it",
            target.display()
        ),
        Err(_) => format!("cannot be followed: {error}"),
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

/// What reading a note gave.
#[derive(Debug)]
pub enum Loaded {
    /// Its text.
    Text(SourceText),
    /// A NUL byte among its first bytes: a binary file, not read further.
    Binary,
    /// Larger than `input.max_note_size` (this many bytes at least): not read.
    TooLarge(u64),
}

/// Reads a note: its first bytes, to tell a binary file without reading it
/// whole, then the rest, up to `max_size` bytes.
///
/// # Errors
/// [`Error::NotAFile`] for something other than a regular file (checked before
/// it is opened, so a FIFO cannot block), [`Error::Read`] naming the file, or
/// [`Error::Stdin`].
pub fn read(note: &Note, max_size: u64) -> Result<Loaded, Error> {
    match note {
        Note::File { path, .. } => {
            let io = |source| Error::Read {
                path: path.clone(),
                source,
            };
            let meta = std::fs::metadata(path).map_err(io)?;
            if !meta.is_file() {
                return Err(Error::NotAFile {
                    path: path.clone(),
                    what: not_a_file(&meta),
                });
            }
            if meta.len() > max_size {
                return Ok(Loaded::TooLarge(meta.len()));
            }
            let file = std::fs::File::open(path).map_err(io)?;
            // Swapped for something else since the look: read no further.
            let opened = file.metadata().map_err(io)?;
            if !opened.is_file() {
                return Err(Error::NotAFile {
                    path: path.clone(),
                    what: not_a_file(&opened),
                });
            }
            read_capped(file, opened.len(), max_size).map_err(io)
        }
        Note::Stdin { .. } => {
            read_capped(std::io::stdin().lock(), 0, max_size).map_err(Error::Stdin)
        }
    }
}

/// Reads `from` in two steps, the first bytes then the rest; `expected` sizes
/// the buffer. Stops one byte past `max_size`, so that a file that grows (or an
/// endless stream) is told too large rather than read without end.
fn read_capped(from: impl std::io::Read, expected: u64, max_size: u64) -> std::io::Result<Loaded> {
    let mut from = from.take(max_size.saturating_add(1));
    let capacity = usize::try_from(expected.min(max_size)).unwrap_or(0);
    let mut bytes = Vec::with_capacity(capacity.max(BINARY_SNIFF_LEN));
    (&mut from)
        .take(BINARY_SNIFF_LEN as u64)
        .read_to_end(&mut bytes)?;
    if memchr::memchr(0, &bytes).is_some() {
        return Ok(Loaded::Binary);
    }
    from.read_to_end(&mut bytes)?;
    let len = bytes.len() as u64;
    if len > max_size {
        return Ok(Loaded::TooLarge(len));
    }
    Ok(Loaded::Text(SourceText::new(bytes)))
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
