//! The URLs a check judges: each once, with every place it is cited.

use std::collections::HashMap;

use url::Url;

use crate::judge::Judgement;
use crate::link::{Kind, Link};
use crate::report::check::{CheckResult, Occurrence};

/// One URL to judge, and where it is cited.
#[derive(Debug)]
pub(super) struct CitedUrl {
    pub url: String,
    /// `url`, parsed, when a note's link gave it so: asked without parsing it
    /// again. Boxed: a target keeps its room for it to the run's end, and a
    /// large run has 100,000 of them.
    pub parsed: Option<Box<Url>>,
    pub kind: Kind,
    pub reason: Option<String>,
    pub hint: Option<String>,
    pub occurrences: Vec<Occurrence>,
    /// For each occurrence, whether it stands on an `archiver-ignore` line.
    pub ignored: Vec<bool>,
}

impl CitedUrl {
    /// A target for `url`, of `kind`, cited nowhere yet.
    pub fn new(url: String, kind: Kind) -> Self {
        CitedUrl {
            url,
            parsed: None,
            kind,
            reason: None,
            hint: None,
            occurrences: Vec::new(),
            ignored: Vec::new(),
        }
    }

    /// The URL to ask the network, parsed; `None` when it is not one.
    pub fn web_url(&mut self) -> Option<Url> {
        match self.parsed.take() {
            Some(parsed) => Some(*parsed),
            None => Url::parse(&self.url).ok(),
        }
    }

    /// The report's result for this URL, judged so.
    pub fn into_result(self, judgement: Judgement) -> CheckResult {
        // Occurrences on an `archiver-ignore` line are not reported, unless they
        // are all there is (the URL is then excluded, and they say where).
        let occurrences = if self.ignored.iter().all(|i| *i) {
            self.occurrences
        } else {
            self.occurrences
                .into_iter()
                .zip(&self.ignored)
                .filter(|(_, ignored)| !**ignored)
                .map(|(o, _)| o)
                .collect()
        };
        CheckResult {
            url: self.url,
            verdict: judgement.verdict,
            status: judgement.status,
            final_url: judgement.final_url,
            moved_to: judgement.moved_to,
            pdf_url: None,
            reason: judgement.reason,
            answer_ms: judgement
                .answered_in
                .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            flags: {
                // The URL is flagged when every note citing it points at the
                // archive's copy instead; each occurrence says so on its own.
                let mut flags = judgement.flags;
                if !occurrences.is_empty() && occurrences.iter().all(|o| o.archived) {
                    flags.push("archived".to_owned());
                    flags.sort();
                }
                flags
            },
            archived_copy: None,
            occurrences,
            history: None,
        }
    }
}

/// The URLs to judge, each once, in the order they are first cited: the
/// notes' order, which the hosts' queues keep.
#[derive(Debug, Default)]
pub(super) struct Targets {
    /// Where each URL stands in `cited`. The notes are the user's own: a fast
    /// hash, not one that resists crafted keys.
    index: HashMap<String, usize, foldhash::fast::RandomState>,
    cited: Vec<CitedUrl>,
}

impl Targets {
    /// Makes room for `links` more links, each of which may be a new URL:
    /// growing the table link by link would move every target many times.
    pub fn reserve(&mut self, links: usize) {
        self.index.reserve(links);
        self.cited.reserve(links);
    }

    /// The target of `url`, made (of `kind`) the first time.
    pub fn entry(&mut self, url: &str, kind: Kind) -> &mut CitedUrl {
        // Looked up by reference first: most links of a large run are new, but
        // a URL cited again must not cost a copy of it.
        let at = if let Some(&at) = self.index.get(url) {
            at
        } else {
            self.index.insert(url.to_owned(), self.cited.len());
            self.cited.push(CitedUrl::new(url.to_owned(), kind));
            self.cited.len() - 1
        };
        &mut self.cited[at]
    }

    /// Adds one occurrence of a link.
    pub fn add(&mut self, link: Link, ignored: bool, archived: bool) {
        let target = self.entry(link.identity(), link.kind);
        // The first occurrence's parse stands for the URL.
        if target.occurrences.is_empty() {
            target.parsed = link.parsed.map(|mut url| {
                // The target is the URL without its fragment.
                url.set_fragment(None);
                Box::new(url)
            });
        }
        // An <img> pointing here says more about the target than a plain link to it.
        if matches!(link.kind, Kind::Image | Kind::Video)
            && !matches!(target.kind, Kind::Image | Kind::Video)
        {
            target.kind = link.kind;
        }
        if target.reason.is_none() {
            target.reason = link.reason;
        }
        if target.hint.is_none() {
            target.hint = link.hint;
        }
        target.ignored.push(ignored);
        // Most URLs are cited once: room for exactly one, not the four a first push
        // would make (a tenth of the memory of a 100,000-URL run).
        if target.occurrences.is_empty() {
            target.occurrences.reserve_exact(1);
        }
        target.occurrences.push(Occurrence {
            file: link.file,
            line: link.line,
            column: link.column,
            kind: link.kind,
            archived,
        });
    }

    /// The targets, in the order they were first cited.
    pub fn into_vec(self) -> Vec<CitedUrl> {
        self.cited
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(url: &str, line: u32) -> Link {
        let settings = crate::config::Settings::shipped().unwrap();
        let classifier = crate::classify::Classifier::new(&settings);
        let note = crate::classify::NoteContext::for_file(std::path::Path::new("a.md"));
        let resolved = classifier.resolve(url, &note, None);
        Link {
            file: "a.md".into(),
            line,
            column: 1,
            span: 0..url.len(),
            raw: url.to_owned(),
            url: resolved.url,
            kind: resolved.kind,
            element: crate::link::Element::Link,
            attribute: None,
            text: None,
            reason: resolved.reason,
            hint: resolved.hint,
            srcset: None,
            parsed: resolved.parsed,
        }
    }

    #[test]
    fn each_url_once_in_the_order_first_cited_without_its_fragment() {
        let mut targets = Targets::default();
        for (line, url) in [
            "https://b.example/x#one",
            "https://a.example/",
            "https://b.example/x#two",
        ]
        .into_iter()
        .enumerate()
        {
            targets.add(link(url, u32::try_from(line).unwrap() + 1), false, false);
        }
        let mut cited = targets.into_vec();
        let urls: Vec<&str> = cited.iter().map(|t| t.url.as_str()).collect();
        assert_eq!(urls, ["https://b.example/x", "https://a.example/"]);
        let lines: Vec<u32> = cited[0].occurrences.iter().map(|o| o.line).collect();
        assert_eq!(lines, [1, 3]);
        // The parsed URL asked is the target's, fragment dropped.
        assert_eq!(cited[0].web_url().unwrap().as_str(), "https://b.example/x");
        // A target given without a parsed URL (a command-line URL) is parsed.
        let mut given = CitedUrl::new("https://c.example/y".to_owned(), Kind::Page);
        assert_eq!(given.web_url().unwrap().as_str(), "https://c.example/y");
        assert!(
            CitedUrl::new("not a url".to_owned(), Kind::Invalid)
                .web_url()
                .is_none()
        );
    }
}
