//! Following redirects, and keeping a chain that starts on the web out of the
//! network the tool runs in.

use std::collections::HashMap;

use reqwest::header;
use url::Url;

use super::failure::Failure;
use super::pool::host_key;
use super::probe::{ChainState, Engine};
use super::reach;
use super::response::{Hop, Response};

impl Engine {
    /// Asks `start` and follows its redirects, within the URL's limits.
    pub(super) async fn follow(
        &self,
        start: &Url,
        hops: &mut Vec<Hop>,
        state: &mut ChainState,
    ) -> Result<Response, Failure> {
        let mut url = start.clone();
        // A URL may come round twice (a redirect that sets a cookie and sends the
        // client back); a third time is a loop.
        let mut visits: HashMap<Url, usize> = HashMap::from([(url.clone(), 1)]);
        let mut redirects = 0;
        loop {
            let response = self.request(&url, hops, state).await?;
            if !matches!(response.status, 301 | 302 | 303 | 307 | 308) {
                return Ok(response);
            }
            // Servers send raw UTF-8 in Location; read it as such (joining
            // percent-encodes it).
            let Some(location) = response
                .headers
                .get(header::LOCATION)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            else {
                return Ok(response);
            };
            let next = url
                .join(location.trim())
                .map_err(|e| Failure::BadRedirect(format!("{location} ({e})")))?;
            if !matches!(next.scheme(), "http" | "https") {
                return Err(Failure::BadRedirect(format!(
                    "redirect to a {} URL: {next}",
                    next.scheme()
                )));
            }
            if redirects == self.settings.max_redirects {
                return Err(Failure::TooManyRedirects(redirects + 1));
            }
            self.guard_redirect(start, &url, &next, state).await?;
            let seen = visits.entry(next.clone()).or_default();
            *seen += 1;
            if *seen > 2 {
                return Err(Failure::RedirectLoop(next.to_string()));
            }
            tracing::debug!("{url} → {} {next}", response.status);
            redirects += 1;
            url = next;
        }
    }

    /// Keeps a redirect chain that started at a public link out of the network
    /// the tool runs in: from the first hop to another host on, connections go
    /// to public addresses only (the resolver leaves the others out, so a name
    /// cannot answer differently between a check and the connection), and a
    /// hop to an internal IP literal or `localhost` is refused outright.
    pub(super) async fn guard_redirect(
        &self,
        start: &Url,
        from: &Url,
        next: &Url,
        state: &mut ChainState,
    ) -> Result<(), Failure> {
        if self.settings.allow_private_redirects {
            return Ok(());
        }
        if !state.options.public_only
            && host_key(next) != host_key(from)
            && self.keeps_public(start).await
        {
            state.options.public_only = true;
        }
        match reach::literal_internal(next) {
            Some(ip) if state.options.public_only => {
                Err(Failure::PrivateRedirect(format!("{next} ({ip})")))
            }
            _ => Ok(()),
        }
    }

    /// Whether going from the link `from` (as the user wrote it) to `to` (a
    /// redirect's target, or an address a page named) would take the tool
    /// from the web into the network it runs in: `to` is a loopback, private
    /// or link-local address while `from` is not. The failure to report then,
    /// unless `network.allow_private_redirects` allows it.
    pub async fn leads_inside(&self, from: &Url, to: &Url) -> Option<Failure> {
        if self.settings.allow_private_redirects {
            return None;
        }
        let (overrides, wait) = (&self.settings.connect_to, self.settings.timeout);
        let ip = reach::internal_address(to, overrides, reach::Count::Any, wait).await?;
        reach::internal_address(from, overrides, reach::Count::All, wait)
            .await
            .is_none()
            .then(|| Failure::PrivateRedirect(format!("{to} ({ip})")))
    }

    /// Whether requests that leave `link`'s host must keep to public addresses:
    /// `link` is public (not every one of its addresses is internal) and
    /// `network.allow_private_redirects` is off.
    pub async fn keeps_public(&self, link: &Url) -> bool {
        !self.settings.allow_private_redirects
            && reach::internal_address(
                link,
                &self.settings.connect_to,
                reach::Count::All,
                self.settings.timeout,
            )
            .await
            .is_none()
    }
}
