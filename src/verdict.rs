//! What `check` concludes about a link: a verdict a person can act on, not a bare
//! status code.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The verdict on one URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// It answers with what it promised.
    Ok,
    /// It answers after redirects; the result carries the final URL.
    Redirected,
    /// The page names its successor (a migrated WeChat account); see `moved_to`.
    Moved,
    /// Gone: 404/410, no such domain, connection refused, a redirect loop.
    Dead,
    /// Answers 200 but says it is gone (a deleted WeChat article, CSDN's 404 page).
    SoftDead,
    /// A bot wall or a rate limit stands in the way; not evidence of death.
    Blocked,
    /// A signed media link whose signature has run out.
    Expired,
    /// No answer within the time allowed.
    Timeout,
    /// Something else failed (TLS, a server error that persisted); see the reason.
    Error,
    /// A relative link to a file that does not exist.
    LocalMissing,
    /// Not a valid URL.
    Invalid,
    /// A scheme the tool does not check (`mailto:`, `javascript:`, `data:`, `ftp:` …).
    Unsupported,
    /// Left out by an include/exclude pattern or an `archiver-ignore` comment.
    Excluded,
}

impl Verdict {
    /// Every verdict, in the order reports list them.
    pub const ALL: [Verdict; 13] = [
        Verdict::Ok,
        Verdict::Redirected,
        Verdict::Moved,
        Verdict::Dead,
        Verdict::SoftDead,
        Verdict::Blocked,
        Verdict::Expired,
        Verdict::Timeout,
        Verdict::Error,
        Verdict::LocalMissing,
        Verdict::Invalid,
        Verdict::Unsupported,
        Verdict::Excluded,
    ];

    /// The kebab-case name used on the command line, in config and in reports.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Redirected => "redirected",
            Verdict::Moved => "moved",
            Verdict::Dead => "dead",
            Verdict::SoftDead => "soft-dead",
            Verdict::Blocked => "blocked",
            Verdict::Expired => "expired",
            Verdict::Timeout => "timeout",
            Verdict::Error => "error",
            Verdict::LocalMissing => "local-missing",
            Verdict::Invalid => "invalid",
            Verdict::Unsupported => "unsupported",
            Verdict::Excluded => "excluded",
        }
    }

    /// Whether the link works (perhaps by another address).
    #[must_use]
    pub fn is_alive(self) -> bool {
        matches!(self, Verdict::Ok | Verdict::Redirected | Verdict::Moved)
    }

    /// Whether the verdict says whether the link works at all. A timeout, an
    /// error, a bot wall, an expired signature, or a link not checked say
    /// nothing either way: a dead link that times out one night has not
    /// recovered.
    #[must_use]
    pub fn is_conclusive(self) -> bool {
        !matches!(
            self,
            Verdict::Timeout
                | Verdict::Error
                | Verdict::Blocked
                | Verdict::Expired
                | Verdict::Excluded
                | Verdict::Unsupported
        )
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for Verdict {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Verdict::ALL
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                let names: Vec<&str> = Verdict::ALL.iter().map(|v| v.as_str()).collect();
                format!(
                    "unknown verdict `{s}` (expected one of: {})",
                    names.join(", ")
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_round_trip_through_their_names() {
        for v in Verdict::ALL {
            assert_eq!(v.as_str().parse::<Verdict>(), Ok(v));
            assert_eq!(
                serde_json::to_string(&v).unwrap(),
                format!("\"{}\"", v.as_str())
            );
        }
        assert!("gone".parse::<Verdict>().unwrap_err().contains("soft-dead"));
    }
}
