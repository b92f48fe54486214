//! AWS profiles: the credentials and settings of `~/.aws/credentials` and
//! `~/.aws/config` for `AWS_PROFILE` (else `default`), for what the
//! environment leaves unsaid. object_store reads the environment only; this
//! fills in the rest the way the AWS tools do, for the keys an archive needs.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// Settings of one profile, by the environment variable each stands for
/// (`AWS_ACCESS_KEY_ID` …). Never printed: it holds secrets.
pub struct Profile(BTreeMap<&'static str, String>);

/// The keys taken from a profile: (key in the files, environment variable).
const KEYS: &[(&str, &str)] = &[
    ("aws_access_key_id", "AWS_ACCESS_KEY_ID"),
    ("aws_secret_access_key", "AWS_SECRET_ACCESS_KEY"),
    ("aws_session_token", "AWS_SESSION_TOKEN"),
    ("region", "AWS_REGION"),
    ("endpoint_url", "AWS_ENDPOINT_URL"),
];

impl Profile {
    /// The profile named by `AWS_PROFILE` (else `default`), from the files
    /// `AWS_SHARED_CREDENTIALS_FILE` and `AWS_CONFIG_FILE` name (else those in
    /// `~/.aws/`); empty when there is none.
    #[must_use]
    pub fn from_files() -> Self {
        let name = std::env::var("AWS_PROFILE").unwrap_or_else(|_| "default".to_owned());
        let home = std::env::var_os("HOME").map(PathBuf::from);
        let file = |var: &str, default: &str| {
            std::env::var_os(var)
                .map(PathBuf::from)
                .or_else(|| home.as_ref().map(|h| h.join(".aws").join(default)))
        };
        let mut found = BTreeMap::new();
        // The config file names a profile `[profile NAME]`, but `[default]`.
        let config_section = if name == "default" {
            name.clone()
        } else {
            format!("profile {name}")
        };
        for (path, section) in [
            (file("AWS_CONFIG_FILE", "config"), config_section.as_str()),
            (
                file("AWS_SHARED_CREDENTIALS_FILE", "credentials"),
                name.as_str(),
            ),
        ] {
            if let Some(text) = path.and_then(|p| std::fs::read_to_string(p).ok()) {
                found.extend(parse(&text, section));
            }
        }
        Profile(found)
    }

    /// The value for environment variable `var`, when the profile has one.
    #[must_use]
    pub fn get(&self, var: &str) -> Option<&str> {
        self.0.get(var).map(String::as_str)
    }
}

/// The keys of `section` in an INI-style AWS file, by environment variable.
fn parse(text: &str, section: &str) -> BTreeMap<&'static str, String> {
    let mut found = BTreeMap::new();
    let mut inside = false;
    for line in text.lines().map(str::trim) {
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            inside = name.trim() == section;
        } else if inside && let Some((key, value)) = line.split_once('=') {
            let key = key.trim();
            if let Some((_, var)) = KEYS.iter().find(|(k, _)| *k == key) {
                found.insert(*var, value.trim().to_owned());
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sections_keys_are_read_and_others_left() {
        let text = "[default]\naws_access_key_id = A\n\n[profile work]\nregion = eu-west-1\nendpoint_url=http://127.0.0.1:9000\noutput = json\n# a comment\n";
        let work = parse(text, "profile work");
        assert_eq!(
            work.get("AWS_REGION").map(String::as_str),
            Some("eu-west-1")
        );
        assert_eq!(
            work.get("AWS_ENDPOINT_URL").map(String::as_str),
            Some("http://127.0.0.1:9000")
        );
        assert!(!work.contains_key("AWS_ACCESS_KEY_ID"));
        assert_eq!(parse(text, "default").len(), 1);
    }
}
