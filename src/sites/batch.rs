//! How a site rule lets `check` verify many links through the site's API
//! instead of one polite request each: arXiv's query API takes a hundred paper
//! ids per request; GitHub's REST API answers for a repository with a token's
//! higher rate limit. Which links qualify, where the API is and how many ids go
//! in one request are data here, from `config.toml`; the two protocols are in
//! `crate::batch`.

use regex::Regex;
use serde::{Serialize, Serializer};
use url::Url;

/// The APIs `check` can speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Api {
    /// arXiv's query API: `?id_list=a,b,c` answers an Atom feed with one entry
    /// per existing paper.
    Arxiv,
    /// GitHub's REST API: `repos/<owner>/<repo>` answers 200 for a repository
    /// the token can see, 404 otherwise.
    Github,
}

impl std::str::FromStr for Api {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "arxiv" => Ok(Api::Arxiv),
            "github" => Ok(Api::Github),
            other => Err(format!("api `{other}` is not one of: arxiv, github")),
        }
    }
}

/// A site rule's `batch` table.
#[derive(Debug, Clone, Serialize)]
pub struct BatchRule {
    /// The protocol.
    pub api: Api,
    /// Where the API answers: the query URL for arXiv, the prefix an id is
    /// appended to for GitHub.
    #[serde(serialize_with = "url_str")]
    pub endpoint: Url,
    /// A regular expression over the whole URL; its first group is the id the
    /// API knows (`2207.02696`, `owner/repo`). URLs it does not match are
    /// checked the usual way.
    #[serde(serialize_with = "regex_str")]
    pub id: Regex,
    /// Ids per request.
    pub size: usize,
    /// First path segments that are never ids (GitHub's `features`, `topics` …).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reserved: Vec<String>,
    /// The environment variable holding the API token, sent to the endpoint's
    /// host and port over HTTPS only; without it set, the rule's links are
    /// checked the usual way.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_env: Option<String>,
}

impl BatchRule {
    /// Validates a rule's parts.
    ///
    /// # Errors
    /// A message naming the part that is wrong.
    pub fn parse(
        api: &str,
        endpoint: &str,
        id: &str,
        size: Option<usize>,
        reserved: Vec<String>,
        token_env: Option<String>,
    ) -> Result<Self, String> {
        let api: Api = api.parse().map_err(|e| format!("batch: {e}"))?;
        let endpoint = Url::parse(endpoint)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| format!("batch: endpoint `{endpoint}` is not an http(s) URL"))?;
        let id = Regex::new(id)
            .map_err(|e| format!("batch: id `{id}` is not a regular expression: {e}"))?;
        if id.captures_len() < 2 {
            return Err("batch: id needs a group, (…), around the id".to_owned());
        }
        if token_env.is_some() && endpoint.scheme() != "https" {
            return Err(format!(
                "batch: a token is sent over HTTPS only, and endpoint `{endpoint}` is not https"
            ));
        }
        let size = size.unwrap_or(1);
        if size == 0 {
            return Err("batch: size must be at least 1".to_owned());
        }
        Ok(BatchRule {
            api,
            endpoint,
            id,
            size,
            reserved,
            token_env,
        })
    }

    /// The id of `url` the API knows, if the rule covers it.
    #[must_use]
    pub fn id_of(&self, url: &str) -> Option<String> {
        let id = self.id.captures(url)?.get(1)?.as_str();
        let first = id.split('/').next().unwrap_or_default();
        if self.reserved.iter().any(|r| r.eq_ignore_ascii_case(first)) {
            return None;
        }
        Some(id.to_owned())
    }

    /// The token from the environment, when the rule needs one: `Ok(None)` for
    /// a rule that needs none.
    ///
    /// # Errors
    /// The variable's name, when a token is needed and it is unset or empty.
    pub fn token(&self) -> Result<Option<String>, String> {
        match &self.token_env {
            None => Ok(None),
            Some(var) => match std::env::var(var) {
                Ok(token) if !token.trim().is_empty() => Ok(Some(token.trim().to_owned())),
                _ => Err(var.clone()),
            },
        }
    }
}

fn url_str<S: Serializer>(url: &Url, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(url.as_str())
}

fn regex_str<S: Serializer>(re: &Regex, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(re.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_come_from_the_first_group_and_reserved_names_are_not_ids() {
        let rule = BatchRule::parse(
            "github",
            "https://api.github.com/repos/",
            r"^https?://github\.com/([^/?#]+/[^/?#]+?)(?:\.git)?/?$",
            None,
            vec!["topics".into()],
            Some("GITHUB_TOKEN".into()),
        )
        .unwrap();
        assert_eq!(
            rule.id_of("https://github.com/rust-lang/rust").as_deref(),
            Some("rust-lang/rust")
        );
        assert_eq!(
            rule.id_of("https://github.com/a/b.git").as_deref(),
            Some("a/b")
        );
        assert_eq!(rule.id_of("https://github.com/topics/rust"), None);
        assert_eq!(rule.id_of("https://github.com/a/b/issues"), None);
        assert!(BatchRule::parse("gopher", "https://x/", "(x)", None, vec![], None).is_err());
        assert!(BatchRule::parse("arxiv", "https://x/", "x", None, vec![], None).is_err());
        assert!(BatchRule::parse("arxiv", "ftp://x/", "(x)", None, vec![], None).is_err());
    }
}
