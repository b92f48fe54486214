//! `archiver links` output: `text`, `json`, `jsonl` and `csv`, per occurrence or,
//! with `--unique`, per normalized URL.
//!
//! Per-occurrence `text`, `jsonl` and `csv` stream: each note's links are written as
//! soon as the note is read, so memory stays flat on a large collection. `json` (one
//! document with the summary first) and `--unique` need every link first.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{self, Write};

use serde::Serialize;

use crate::link::{Kind, Link};

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
    /// Occurrences per kind (every kind present, zeros included).
    pub kinds: Vec<(Kind, usize)>,
    /// Files passed over (not notes, or binary).
    pub skipped_files: usize,
    /// Inputs or notes that could not be read.
    pub errors: usize,
}

/// Accumulates the summary as notes are listed.
#[derive(Debug, Default)]
pub struct Tally {
    summary: Summary,
    per_kind: [usize; Kind::ALL.len()],
    identities: std::collections::HashSet<String>,
}

impl Tally {
    /// Counts one note's links.
    pub fn note(&mut self, links: &[Link]) {
        self.summary.notes += 1;
        self.summary.links += links.len();
        for link in links {
            self.per_kind[link.kind as usize] += 1;
            if !self.identities.contains(link.identity()) {
                self.identities.insert(link.identity().to_owned());
            }
        }
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
        self.summary.unique_urls = self.identities.len();
        self.summary.kinds = Kind::ALL
            .iter()
            .map(|&k| (k, self.per_kind[k as usize]))
            .collect();
        self.summary
    }
}

impl Summary {
    /// The per-kind counts as a JSON object, in kind order.
    fn kinds_map(&self) -> serde_json::Map<String, serde_json::Value> {
        self.kinds
            .iter()
            .map(|(k, n)| (k.as_str().to_owned(), (*n).into()))
            .collect()
    }

    fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "notes": self.notes,
            "links": self.links,
            "unique_urls": self.unique_urls,
            "kinds": self.kinds_map(),
            "skipped_files": self.skipped_files,
            "errors": self.errors,
        })
    }

    /// One line for people: `1234 links (567 unique) in 89 notes`.
    #[must_use]
    pub fn line(&self) -> String {
        let mut line = format!(
            "{} in {}",
            plural(self.links, "link"),
            plural(self.notes, "note"),
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
            line.push_str(": ");
            line.push_str(&kinds.join(", "));
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

/// Where listed links go.
pub trait LinkSink {
    /// Takes one note's links, in source order.
    ///
    /// # Errors
    /// A write error of the underlying output.
    fn note(&mut self, links: Vec<Link>) -> io::Result<()>;

    /// Writes whatever was held back, then flushes.
    ///
    /// # Errors
    /// A write error of the underlying output.
    fn finish(self: Box<Self>, summary: &Summary) -> io::Result<()>;
}

/// The sink for a format and mode, writing to `out`.
pub fn sink<'w>(
    format: LinksFormat,
    unique: bool,
    out: Box<dyn Write + 'w>,
) -> Box<dyn LinkSink + 'w> {
    if unique {
        return Box::new(Unique {
            format,
            out,
            groups: Vec::new(),
            index: HashMap::new(),
        });
    }
    match format {
        LinksFormat::Text => Box::new(Text { out }),
        LinksFormat::Jsonl => Box::new(Jsonl { out }),
        LinksFormat::Csv => Box::new(Csv {
            // The header is written by hand, so that an empty listing has one too.
            out: csv::WriterBuilder::new()
                .has_headers(false)
                .from_writer(out),
            header: false,
        }),
        LinksFormat::Json => Box::new(Json {
            out,
            links: Vec::new(),
        }),
    }
}

fn write_text_line(out: &mut dyn Write, link: &Link) -> io::Result<()> {
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
    out.write_all(b"\n")
}

struct Text<'w> {
    out: Box<dyn Write + 'w>,
}

impl LinkSink for Text<'_> {
    fn note(&mut self, links: Vec<Link>) -> io::Result<()> {
        for link in &links {
            write_text_line(&mut self.out, link)?;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>, _: &Summary) -> io::Result<()> {
        self.out.flush()
    }
}

struct Jsonl<'w> {
    out: Box<dyn Write + 'w>,
}

impl LinkSink for Jsonl<'_> {
    fn note(&mut self, links: Vec<Link>) -> io::Result<()> {
        for link in &links {
            serde_json::to_writer(&mut self.out, link)?;
            self.out.write_all(b"\n")?;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>, _: &Summary) -> io::Result<()> {
        self.out.flush()
    }
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
    element: crate::link::Element,
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
            attribute: l.attribute.as_deref().unwrap_or_default(),
            raw: &l.raw,
            url: &l.url,
            text: l.text.as_deref().unwrap_or_default(),
            reason: l.reason.as_deref().unwrap_or_default(),
            hint: l.hint.as_deref().unwrap_or_default(),
        }
    }
}

struct Csv<'w> {
    out: csv::Writer<Box<dyn Write + 'w>>,
    header: bool,
}

impl Csv<'_> {
    fn ensure_header(&mut self) -> io::Result<()> {
        if !self.header {
            self.out
                .write_record([
                    "file",
                    "line",
                    "column",
                    "span_start",
                    "span_end",
                    "kind",
                    "element",
                    "attribute",
                    "raw",
                    "url",
                    "text",
                    "reason",
                    "hint",
                ])
                .map_err(csv_error)?;
            self.header = true;
        }
        Ok(())
    }
}

fn csv_error(e: csv::Error) -> io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => e,
        other => io::Error::other(format!("{other:?}")),
    }
}

impl LinkSink for Csv<'_> {
    fn note(&mut self, links: Vec<Link>) -> io::Result<()> {
        self.ensure_header()?;
        for link in &links {
            let row = CsvRow::from(link);
            self.out.serialize(row).map_err(csv_error)?;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>, _: &Summary) -> io::Result<()> {
        self.ensure_header()?;
        self.out.flush()
    }
}

struct Json<'w> {
    out: Box<dyn Write + 'w>,
    links: Vec<Link>,
}

impl LinkSink for Json<'_> {
    fn note(&mut self, mut links: Vec<Link>) -> io::Result<()> {
        self.links.append(&mut links);
        Ok(())
    }

    fn finish(mut self: Box<Self>, summary: &Summary) -> io::Result<()> {
        #[derive(Serialize)]
        struct Document<'a> {
            summary: serde_json::Value,
            links: &'a [Link],
        }
        let doc = Document {
            summary: summary.to_json(),
            links: &self.links,
        };
        serde_json::to_writer_pretty(&mut self.out, &doc)?;
        self.out.write_all(b"\n")?;
        self.out.flush()
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

impl Group {
    /// An element that imposes a kind (an `<img>` pointing here) says more about the
    /// target than a plain link to the same URL.
    fn absorb(&mut self, link: Link) {
        if matches!(link.kind, Kind::Image | Kind::Video)
            && !matches!(self.kind, Kind::Image | Kind::Video)
        {
            self.kind = link.kind;
        }
        self.count += 1;
        self.occurrences.push(link);
    }
}

struct Unique<'w> {
    format: LinksFormat,
    out: Box<dyn Write + 'w>,
    groups: Vec<Group>,
    index: HashMap<String, usize>,
}

impl LinkSink for Unique<'_> {
    fn note(&mut self, links: Vec<Link>) -> io::Result<()> {
        for link in links {
            let key = link.identity().to_owned();
            let slot = *self.index.entry(key.clone()).or_insert_with(|| {
                self.groups.push(Group {
                    url: key,
                    kind: link.kind,
                    count: 0,
                    occurrences: Vec::new(),
                });
                self.groups.len() - 1
            });
            self.groups[slot].absorb(link);
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>, summary: &Summary) -> io::Result<()> {
        let out = &mut self.out;
        match self.format {
            LinksFormat::Text => {
                for g in &self.groups {
                    writeln!(out, "{:>5}  {:<7}  {}", g.count, g.kind, g.url)?;
                }
            }
            LinksFormat::Jsonl => {
                for g in &self.groups {
                    serde_json::to_writer(&mut *out, g)?;
                    out.write_all(b"\n")?;
                }
            }
            LinksFormat::Json => {
                let doc = serde_json::json!({
                    "summary": summary.to_json(),
                    "links": &self.groups,
                });
                serde_json::to_writer_pretty(&mut *out, &doc)?;
                out.write_all(b"\n")?;
            }
            LinksFormat::Csv => {
                let mut w = csv::WriterBuilder::new()
                    .has_headers(false)
                    .from_writer(&mut *out);
                w.write_record([
                    "url",
                    "kind",
                    "count",
                    "first_file",
                    "first_line",
                    "first_column",
                ])
                .map_err(csv_error)?;
                for g in &self.groups {
                    let first = &g.occurrences[0];
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
        out.flush()
    }
}
