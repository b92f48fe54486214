//! Why a URL was not archived: a [`Code`] that the code acts on and reports
//! show (`reason_code`), and a sentence for people.

use std::fmt;

use crate::media::Class;
use crate::net::probe::Failure;
use crate::net::watch::Heard;
use crate::verdict::Verdict;

/// What kind of problem stopped a download. Shown as its kebab-case name:
/// `http-404`, `placeholder`, `not-an-image`, `no-such-host` …
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// The server answered this status, not a file.
    Http(u16),
    /// The host's name does not resolve.
    NoSuchHost,
    /// No answer in time, or a body that stopped arriving.
    Timeout,
    /// Another failure below HTTP, named as the network layer names it
    /// (`refused`, `tls`, `redirect-loop` …).
    Network(&'static str),
    /// The answer judged as `check` judges it: `blocked`, `expired`,
    /// `soft-dead`, `dead`.
    Judged(Verdict),
    /// The body is not what the link promised: `not-an-image`, `not-a-pdf` …
    Unexpected(Class),
    /// Only the host's anti-hotlink placeholder came back.
    Placeholder,
    /// A paper page that names no PDF.
    NoPdf,
    /// Over `fetch.max_object_size`.
    TooLarge,
    /// Slower than the least speed a download may keep.
    TooSlow,
    /// Shorter than its Content-Length said.
    Truncated,
    /// The archive could not be written.
    WriteFailed,
    /// The disk holding the archive is full: the run stops.
    DiskFull,
    /// Not a valid URL.
    Invalid,
    /// Not a link of a kind that is fetched.
    NotMedia,
    /// The run was stopped first.
    Interrupted,
    /// A bug: something that should not happen happened.
    Internal,
}

impl Code {
    /// The code of a request that failed below HTTP.
    #[must_use]
    pub fn of_failure(failure: &Failure) -> Self {
        match failure {
            Failure::NoSuchHost(_) => Code::NoSuchHost,
            Failure::Timeout | Failure::Deadline => Code::Timeout,
            Failure::Cancelled => Code::Interrupted,
            other => Code::Network(other.code()),
        }
    }

    /// Whether the file is gone at its source (rather than out of reach for
    /// now, too large, or behind a wall or a login page): only then is a copy
    /// sought elsewhere. A refused connection may be a server down for the night.
    #[must_use]
    pub fn is_gone(self) -> bool {
        matches!(
            self,
            Code::Http(404 | 410)
                | Code::NoSuchHost
                | Code::Placeholder
                | Code::Judged(Verdict::SoftDead)
        )
    }

    /// Whether the failure may be the Referer's doing: a refusal, or other
    /// content than the link promised (a video CDN that wants WeChat's own).
    #[must_use]
    pub fn may_be_the_referer(self) -> bool {
        matches!(
            self,
            Code::Http(401 | 403)
                | Code::Judged(Verdict::Blocked | Verdict::Expired)
                | Code::Unexpected(Class::Image | Class::Pdf | Class::Video)
        )
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Code::Http(status) => return write!(f, "http-{status}"),
            Code::NoSuchHost => "no-such-host",
            Code::Timeout => "timeout",
            Code::Network(name) => name,
            Code::Judged(verdict) => verdict.as_str(),
            Code::Unexpected(class) => class.mismatch_code(),
            Code::Placeholder => "placeholder",
            Code::NoPdf => "no-pdf",
            Code::TooLarge => "too-large",
            Code::TooSlow => "too-slow",
            Code::Truncated => "truncated",
            Code::WriteFailed => "write-failed",
            Code::DiskFull => "disk-full",
            Code::Invalid => "invalid",
            Code::NotMedia => "not-media",
            Code::Interrupted => "interrupted",
            Code::Internal => "internal",
        };
        f.write_str(name)
    }
}

/// Why a URL was not archived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// What kind of problem.
    pub code: Code,
    /// The sentence for people.
    pub reason: String,
    /// What the attempt showed about the network.
    pub heard: Heard,
}

impl Problem {
    /// A problem with what a server sent (so the network works).
    #[must_use]
    pub fn new(code: Code, reason: impl Into<String>) -> Self {
        Problem {
            code,
            reason: reason.into(),
            heard: Heard::Answer,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Code;
    use crate::media::{Class, MediaKind, check};
    use crate::net::probe::Failure;
    use crate::verdict::Verdict;

    #[test]
    fn codes_read_as_reports_have_always_shown_them() {
        assert_eq!(Code::Http(404).to_string(), "http-404");
        assert_eq!(Code::Judged(Verdict::SoftDead).to_string(), "soft-dead");
        assert_eq!(Code::Unexpected(Class::Image).to_string(), "not-an-image");
        assert_eq!(Code::Unexpected(Class::Pdf).to_string(), "not-a-pdf");
        assert_eq!(Code::DiskFull.to_string(), "disk-full");
        assert_eq!(
            Code::of_failure(&Failure::NoSuchHost("x".into())).to_string(),
            "no-such-host"
        );
        assert_eq!(Code::of_failure(&Failure::Deadline).to_string(), "timeout");
        // A media mismatch is named as media names it, for every kind.
        for kind in MediaKind::ALL {
            let mismatch = check(kind, None).unwrap_err();
            assert_eq!(
                Code::Unexpected(mismatch.expected).to_string(),
                mismatch.code()
            );
        }
    }

    #[test]
    fn gone_means_gone_at_the_source() {
        for gone in [
            Code::Http(404),
            Code::Http(410),
            Code::NoSuchHost,
            Code::Placeholder,
            Code::Judged(Verdict::SoftDead),
        ] {
            assert!(gone.is_gone(), "{gone}");
        }
        for not_gone in [
            Code::Http(403),
            Code::Http(500),
            Code::Network("refused"),
            Code::Timeout,
            Code::TooLarge,
            Code::Judged(Verdict::Blocked),
            Code::Judged(Verdict::Expired),
            Code::Truncated,
            Code::Network("tls"),
            Code::Unexpected(Class::Image),
        ] {
            assert!(!not_gone.is_gone(), "{not_gone}");
        }
    }
}
