//! `archiver links` output: `text`, `json`, `jsonl` and `csv`, per occurrence or,
//! with `--unique`, per normalized URL.
//!
//! Per-occurrence `text`, `jsonl` and `csv` are rendered note by note, on the worker
//! threads that parsed the note ([`Render`]), and written in input order, so output
//! costs no serial time and memory stays flat. `json` (one document, summary first)
//! and `--unique` must see every link before writing ([`Collected`]).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::hash::BuildHasher;
use std::io::{self, Write};

use serde::Serialize;

use crate::link::{Element, Kind, Link};

/// Output formats of `archiver links`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LinksFormat {
    /// `file:line:col  kind  url`, one line per link.
    #[default]
    Text,
    /// One JSON document: `{"summary": {…}, "links": […]}`.
    Json,
    /// One JSON object per line.
    Jsonl,
    /// Comma-separated values with a header row, spans as `span_start`/`span_end`.
    Csv,
}

/// Counts for the whole run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// Notes read.
    pub notes: usize,
    /// Link occurrences listed.
    pub links: usize,
    /// Distinct normalized URLs among them.
    pub unique_urls: usize,
    /// Occurrences per kind, in [`Kind::ALL`] order, zeros included.
    #[serde(serialize_with = "ordered_map")]
    pub kinds: Vec<(Kind, usize)>,
    /// Files passed over (not notes, or binary).
    pub skipped_files: usize,
    /// Inputs or notes that could not be read.
    pub errors: usize,
}

/// Pairs as a JSON object, keeping their order.
///
/// # Errors
/// What the serializer reports.
pub fn ordered_map<K: Serialize, V: Serialize, S: serde::Serializer>(
    pairs: &[(K, V)],
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_map(pairs.iter().map(|(k, v)| (k, v)))
}

/// A JSON report: the summary first, then the entries.
#[derive(Serialize)]
pub struct Document<'a, S: Serialize, T: Serialize> {
    /// The counts.
    pub summary: &'a S,
    /// The entries.
    pub links: &'a [T],
}

impl Summary {
    /// One line for people: `1234 links in 89 notes (567 unique): 12 image, …`.
    #[must_use]
    pub fn line(&self) -> String {
        let mut line = format!(
            "{} in {}",
            plural(self.links, "link"),
            plural(self.notes, "note")
        );
        if self.unique_urls != self.links {
            let _ = write!(line, " ({} unique)", self.unique_urls);
        }
        let kinds: Vec<String> = self
            .kinds
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(k, n)| format!("{n} {k}"))
            .collect();
        if !kinds.is_empty() {
            let _ = write!(line, ": {}", kinds.join(", "));
        }
        if self.skipped_files > 0 {
            let _ = write!(line, "; {} skipped", plural(self.skipped_files, "file"));
        }
        if self.errors > 0 {
            let _ = write!(line, "; {}", plural(self.errors, "error"));
        }
        line
    }
}

fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// What one note contributes to the summary, computed where the note was parsed.
#[derive(Debug, Default)]
pub struct NoteCounts {
    per_kind: [usize; Kind::ALL.len()],
    /// Hashes of the links' identities: enough to count distinct URLs without
    /// keeping them.
    identities: Vec<u64>,
}

impl NoteCounts {
    /// Counts a note's links.
    #[must_use]
    pub fn of(links: &[Link]) -> Self {
        let hasher = FixedState;
        let mut counts = NoteCounts {
            per_kind: [0; Kind::ALL.len()],
            identities: Vec::with_capacity(links.len()),
        };
        for link in links {
            counts.per_kind[link.kind as usize] += 1;
            counts.identities.push(hasher.hash_one(link.identity()));
        }
        counts
    }
}

/// A hasher with fixed keys, so that identity hashes from different threads agree.
#[derive(Clone, Copy)]
struct FixedState;

impl BuildHasher for FixedState {
    type Hasher = std::hash::DefaultHasher;

    fn build_hasher(&self) -> Self::Hasher {
        std::hash::DefaultHasher::new()
    }
}

/// Accumulates the summary as notes are listed.
#[derive(Debug, Default)]
pub struct Tally {
    summary: Summary,
    per_kind: [usize; Kind::ALL.len()],
    /// Identity hashes of every link; sorted and deduplicated at the end.
    identities: Vec<u64>,
}

impl Tally {
    /// Adds one note's counts.
    pub fn note(&mut self, counts: &NoteCounts) {
        self.summary.notes += 1;
        self.summary.links += counts.identities.len();
        for (total, n) in self.per_kind.iter_mut().zip(counts.per_kind) {
            *total += n;
        }
        self.identities.extend(&counts.identities);
    }

    /// Counts a skipped file.
    pub fn skipped(&mut self) {
        self.summary.skipped_files += 1;
    }

    /// Counts an error.
    pub fn error(&mut self) {
        self.summary.errors += 1;
    }

    /// The errors counted so far.
    #[must_use]
    pub fn errors(&self) -> usize {
        self.summary.errors
    }

    /// The final counts.
    #[must_use]
    pub fn finish(mut self) -> Summary {
        self.identities.sort_unstable();
        self.identities.dedup();
        self.summary.unique_urls = self.identities.len();
        self.summary.kinds = Kind::ALL
            .iter()
            .map(|&k| (k, self.per_kind[k as usize]))
            .collect();
        self.summary
    }
}

/// Renders a note's links for a per-occurrence streaming format. Runs on worker
/// threads; the bytes are written in input order.
#[derive(Debug, Clone, Copy)]
pub struct Render {
    format: LinksFormat,
}

impl Render {
    /// The renderer for `format`, or `None` when the format (or `--unique`) needs to
    /// see every link before writing anything.
    #[must_use]
    pub fn streaming(format: LinksFormat, unique: bool) -> Option<Self> {
        match format {
            LinksFormat::Text | LinksFormat::Jsonl | LinksFormat::Csv if !unique => {
                Some(Self { format })
            }
            _ => None,
        }
    }

    /// What precedes the first note (the CSV header).
    #[must_use]
    pub fn header(self) -> &'static [u8] {
        match self.format {
            LinksFormat::Csv => CSV_HEADER,
            _ => b"",
        }
    }

    /// Appends `links` to `out`.
    pub fn note(self, links: &[Link], out: &mut Vec<u8>) {
        // Writing into a Vec cannot fail; serde_json and csv report only I/O errors
        // and invalid data, and every field here is a plain string or number.
        match self.format {
            LinksFormat::Text => {
                for link in links {
                    let _ = write_text_line(out, link);
                }
            }
            LinksFormat::Jsonl => {
                for link in links {
                    let _ = serde_json::to_writer(&mut *out, link);
                    out.push(b'\n');
                }
            }
            LinksFormat::Csv => {
                let mut w = csv_writer(&mut *out);
                for link in links {
                    let _ = w.serialize(CsvRow::from(link));
                }
                let _ = w.flush();
            }
            LinksFormat::Json => {}
        }
    }
}

const CSV_HEADER: &[u8] =
    b"file,line,column,span_start,span_end,kind,element,attribute,raw,url,text,reason,hint\n";

fn csv_writer<W: Write>(out: W) -> csv::Writer<W> {
    // The header is written once, by hand, so that an empty listing has one too.
    csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(out)
}

fn write_text_line(out: &mut Vec<u8>, link: &Link) -> io::Result<()> {
    write!(
        out,
        "{}:{}:{}  {:<7}  {}",
        link.file, link.line, link.column, link.kind, link.url
    )?;
    if let Some(reason) = &link.reason {
        write!(out, "  ({reason})")?;
    }
    if let Some(hint) = &link.hint {
        write!(out, "  (hint: {hint})")?;
    }
    out.push(b'\n');
    Ok(())
}

/// A CSV row: the link's fields, flat.
#[derive(Serialize)]
struct CsvRow<'a> {
    file: &'a str,
    line: u32,
    column: u32,
    span_start: usize,
    span_end: usize,
    kind: Kind,
    element: Element,
    attribute: &'a str,
    raw: &'a str,
    url: &'a str,
    text: &'a str,
    reason: &'a str,
    hint: &'a str,
}

impl<'a> From<&'a Link> for CsvRow<'a> {
    fn from(l: &'a Link) -> Self {
        CsvRow {
            file: &l.file,
            line: l.line,
            column: l.column,
            span_start: l.span.start,
            span_end: l.span.end,
            kind: l.kind,
            element: l.element,
            attribute: l.attribute.unwrap_or_default(),
            raw: &l.raw,
            url: &l.url,
            text: l.text.as_deref().unwrap_or_default(),
            reason: l.reason.as_deref().unwrap_or_default(),
            hint: l.hint.as_deref().unwrap_or_default(),
        }
    }
}

/// The formats that write only at the end: `json`, and any format with `--unique`.
#[derive(Debug)]
pub struct Collected {
    format: LinksFormat,
    unique: bool,
    links: Vec<Link>,
}

impl Collected {
    /// Collects for `format` (per URL when `unique`).
    #[must_use]
    pub fn new(format: LinksFormat, unique: bool) -> Self {
        Self {
            format,
            unique,
            links: Vec::new(),
        }
    }

    /// Keeps one note's links.
    pub fn note(&mut self, mut links: Vec<Link>) {
        self.links.append(&mut links);
    }

    /// Writes everything.
    ///
    /// # Errors
    /// A write error of `out`.
    pub fn finish(self, summary: &Summary, out: &mut dyn Write) -> io::Result<()> {
        if self.unique {
            return write_unique(&group(self.links), self.format, summary, out);
        }
        // Only `json` collects without `--unique`.
        let doc = Document {
            summary,
            links: &self.links,
        };
        serde_json::to_writer_pretty(&mut *out, &doc)?;
        out.write_all(b"\n")
    }
}

/// The occurrences of one normalized URL.
#[derive(Debug, Serialize)]
struct Group {
    url: String,
    kind: Kind,
    count: usize,
    occurrences: Vec<Link>,
}

/// Groups links by identity, in order of first appearance. An element that imposes
/// a kind (an `<img>` pointing at the URL) says more about the target than a plain
/// link to it, so it decides the group's kind.
fn group(links: Vec<Link>) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for link in links {
        let key = link.identity().to_owned();
        let slot = *index.entry(key.clone()).or_insert_with(|| {
            groups.push(Group {
                url: key,
                kind: link.kind,
                count: 0,
                occurrences: Vec::new(),
            });
            groups.len() - 1
        });
        let group = &mut groups[slot];
        let media = |k: Kind| matches!(k, Kind::Image | Kind::Video);
        if media(link.kind) && !media(group.kind) {
            group.kind = link.kind;
        }
        group.count += 1;
        group.occurrences.push(link);
    }
    groups
}

fn write_unique(
    groups: &[Group],
    format: LinksFormat,
    summary: &Summary,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        LinksFormat::Text => {
            for g in groups {
                writeln!(out, "{:>5}  {:<7}  {}", g.count, g.kind, g.url)?;
            }
        }
        LinksFormat::Jsonl => {
            for g in groups {
                serde_json::to_writer(&mut *out, g)?;
                out.write_all(b"\n")?;
            }
        }
        LinksFormat::Json => {
            let doc = Document {
                summary,
                links: groups,
            };
            serde_json::to_writer_pretty(&mut *out, &doc)?;
            out.write_all(b"\n")?;
        }
        LinksFormat::Csv => {
            out.write_all(b"url,kind,count,first_file,first_line,first_column\n")?;
            let mut w = csv_writer(&mut *out);
            for g in groups {
                let Some(first) = g.occurrences.first() else {
                    continue;
                };
                w.write_record([
                    g.url.as_str(),
                    g.kind.as_str(),
                    &g.count.to_string(),
                    &first.file,
                    &first.line.to_string(),
                    &first.column.to_string(),
                ])
                .map_err(csv_error)?;
            }
            w.flush()?;
        }
    }
    Ok(())
}

fn csv_error(e: csv::Error) -> io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => e,
        other => io::Error::other(format!("{other:?}")),
    }
}
