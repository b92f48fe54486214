//! Which URLs `check` leaves out: include and exclude patterns.

use regex::Regex;

use crate::Error;
use crate::config::CheckSettings;

/// Include and exclude patterns from the configuration, flags and the ignore file.
pub struct Excluder {
    include: Vec<Regex>,
    exclude: Vec<Regex>,
}

impl Excluder {
    pub fn new(settings: &CheckSettings) -> Result<Self, Error> {
        let mut exclude = settings.exclude.clone();
        let file = &settings.ignore_file;
        if let Ok(text) = std::fs::read_to_string(file) {
            for (n, line) in text.lines().enumerate() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                exclude.push(Regex::new(line).map_err(|e| {
                    Error::config_value_because(
                        format!("{}:{}", file.display(), n + 1),
                        format!("`{line}` is not a regular expression"),
                        e,
                    )
                })?);
            }
        }
        Ok(Excluder {
            include: settings.include.clone(),
            exclude,
        })
    }

    /// Why `url` is not to be checked, if it is not.
    pub fn excludes(&self, url: &str) -> Option<String> {
        if let Some(re) = self.exclude.iter().find(|re| re.is_match(url)) {
            return Some(format!("matches the exclude pattern `{}`", re.as_str()));
        }
        if !self.include.is_empty() && !self.include.iter().any(|re| re.is_match(url)) {
            return Some("matches no include pattern".to_owned());
        }
        None
    }
}
