//! Building the HTTP client: rustls trusting the system's roots (`$SSL_CERT_FILE`
//! and `$SSL_CERT_DIR` included) plus extra CA files, HTTP/2 where the server
//! offers it, gzip and brotli, proxies from the environment, connection reuse, and
//! connection overrides through a resolver. Redirects are never followed here: the
//! engine follows them itself, so each hop is paced and recorded.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Once};
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use super::connect_to::ConnectTo;
use super::settings::NetSettings;
use crate::error::Error;

/// The clients requests go through: one per URL scheme, because an override is
/// keyed by host and port and a resolver only sees the host; and a second pair
/// whose resolver connects to public addresses only, for the hops a redirect
/// from a public host leads to (see `crate::net::reach`). Checking the
/// addresses the connection is made to, rather than a lookup of its own before
/// it, leaves a name no moment to answer differently.
#[derive(Debug, Clone)]
pub struct Clients {
    http: reqwest::Client,
    https: reqwest::Client,
    public_http: reqwest::Client,
    public_https: reqwest::Client,
    /// The cookies hosts set during the run, shared by the clients.
    jar: Arc<reqwest::cookie::Jar>,
}

impl Clients {
    /// Builds the clients for `settings`.
    ///
    /// # Errors
    /// [`Error::ConfigValue`] when a CA file cannot be read or holds no
    /// certificate, or the TLS setup fails.
    pub fn new(settings: &NetSettings) -> Result<Self, Error> {
        let tls = tls_config(&settings.ca_certs)?;
        let jar = Arc::new(reqwest::cookie::Jar::default());
        let build = |default_port: u16, public_only: bool| -> Result<reqwest::Client, Error> {
            let overrides: HashMap<String, SocketAddr> = settings
                .connect_to
                .iter()
                .filter(|c| c.port == default_port)
                .map(|c| (c.host.clone(), c.to))
                .collect();
            reqwest::Client::builder()
                .tls_backend_preconfigured(tls.clone())
                .dns_resolver(Resolver {
                    public_only,
                    overrides,
                    other_ports: settings
                        .connect_to
                        .iter()
                        .filter(|c| c.port != default_port)
                        .cloned()
                        .collect(),
                })
                .redirect(reqwest::redirect::Policy::none())
                // Some sites set a cookie and redirect back to the same page.
                .cookie_provider(Arc::clone(&jar))
                .user_agent(settings.user_agent.clone())
                .connect_timeout(settings.timeout)
                .pool_max_idle_per_host(settings.host_concurrency.max(1))
                .build()
                .map_err(|e| {
                    Error::config_value_because("network", "cannot set up the HTTP client", e)
                })
        };
        Ok(Self {
            http: build(80, false)?,
            https: build(443, false)?,
            public_http: build(80, true)?,
            public_https: build(443, true)?,
            jar,
        })
    }

    /// The cookies the run's hosts set for `url`, as a `Cookie` header would
    /// carry them.
    #[must_use]
    pub fn cookies(&self, url: &url::Url) -> Option<reqwest::header::HeaderValue> {
        reqwest::cookie::CookieStore::cookies(&*self.jar, url)
    }

    /// The client for `url`'s scheme; with `public_only`, one that connects to
    /// public addresses only (a `--connect-to` override is still followed).
    #[must_use]
    pub fn for_url(&self, url: &url::Url, public_only: bool) -> &reqwest::Client {
        match (url.scheme() == "http", public_only) {
            (true, false) => &self.http,
            (false, false) => &self.https,
            (true, true) => &self.public_http,
            (false, true) => &self.public_https,
        }
    }
}

/// rustls with ring, trusting the system's roots and `extra` PEM files, offering
/// HTTP/2 and HTTP/1.1.
fn tls_config(extra: &[std::path::PathBuf]) -> Result<rustls::ClientConfig, Error> {
    static PROVIDER: Once = Once::new();
    PROVIDER.call_once(|| {
        // Another part of the process may have installed one already; either is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
    let mut roots = RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for error in &native.errors {
        tracing::debug!("system certificates: {error}");
    }
    let (added, ignored) = roots.add_parsable_certificates(native.certs);
    tracing::debug!("trusting {added} system certificates ({ignored} unusable)");
    for path in extra {
        let certs = read_pem(path)?;
        let (added, _) = roots.add_parsable_certificates(certs);
        if added == 0 {
            return Err(Error::config_value(
                path.display().to_string(),
                "no usable CA certificate in this file (expected PEM \"BEGIN CERTIFICATE\" blocks)",
            ));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::config_value_because("network", "TLS setup", e))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

fn read_pem(path: &Path) -> Result<Vec<CertificateDer<'static>>, Error> {
    let bytes = std::fs::read(path).map_err(|source| Error::ConfigRead {
        path: path.to_path_buf(),
        source,
    })?;
    CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            Error::config_value_because(path.display().to_string(), "not a PEM certificate file", e)
        })
}

/// Name resolution with overrides: an overridden host resolves to its address
/// and port; any other host through the system resolver.
struct Resolver {
    /// Leave out loopback, private and link-local addresses; refuse a name
    /// that has nothing else.
    public_only: bool,
    overrides: HashMap<String, SocketAddr>,
    /// Overrides for ports other than this client's default; they cannot apply to
    /// a URL on the default port, and a URL naming its port keeps it.
    other_ports: Vec<ConnectTo>,
}

impl Resolve for Resolver {
    fn resolve(&self, name: Name) -> Resolving {
        let lower = name.as_str().to_ascii_lowercase();
        // `example.org.` is `example.org`.
        let host = lower.strip_suffix('.').unwrap_or(&lower).to_owned();
        if let Some(addr) = self.overrides.get(&host) {
            let addr = *addr;
            return Box::pin(async move { Ok(Box::new(std::iter::once(addr)) as Addrs) });
        }
        if self.other_ports.iter().any(|c| c.host == host) {
            tracing::debug!("{host}: connect-to rules exist only for other ports");
        }
        let public_only = self.public_only;
        Box::pin(async move {
            // Port 0: the connector puts in the URL's port.
            let addrs = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|e| {
                    Box::new(ResolveError::new(&host, e))
                        as Box<dyn std::error::Error + Send + Sync>
                })?;
            let mut addrs: Vec<SocketAddr> = addrs.collect();
            if public_only {
                addrs = public(&host, addrs)
                    .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)?;
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// Whether any of `names` resolves within `wait` (all are looked up at once);
/// a name with a connection override resolves to it.
pub async fn any_resolves(names: &[String], overrides: &[ConnectTo], wait: Duration) -> bool {
    let lookups = names.iter().map(|name| async move {
        if overrides.iter().any(|c| c.host == *name) {
            return true;
        }
        let lookup = tokio::net::lookup_host((name.as_str(), 0));
        match tokio::time::timeout(wait, lookup).await {
            Ok(Ok(mut addrs)) => addrs.next().is_some(),
            Ok(Err(e)) => {
                tracing::debug!("canary: {}", ResolveError::new(name, e));
                false
            }
            Err(_) => {
                tracing::debug!("canary: {name} did not resolve within {wait:?}");
                false
            }
        }
    });
    futures_util::future::join_all(lookups)
        .await
        .into_iter()
        .any(|resolved| resolved)
}

/// The public addresses among `addrs`; an error naming an internal one when
/// there are none.
fn public(host: &str, addrs: Vec<SocketAddr>) -> Result<Vec<SocketAddr>, ResolveError> {
    let first = addrs.first().map(SocketAddr::ip);
    let public: Vec<SocketAddr> = addrs
        .into_iter()
        .filter(|a| !super::reach::is_internal(a.ip()))
        .collect();
    match (public.is_empty(), first) {
        (true, Some(ip)) => Err(ResolveError {
            no_such_host: false,
            private: Some(ip),
            host: host.to_owned(),
            source: None,
        }),
        _ => Ok(public),
    }
}

/// A failed lookup, telling "no such host" (the name does not exist) from other
/// failures (no resolver reachable, a timeout), which do not prove a link dead.
#[derive(Debug)]
pub struct ResolveError {
    /// Whether the name does not exist.
    pub no_such_host: bool,
    /// The name resolves to internal addresses only, where only public ones
    /// were allowed: one of them.
    pub private: Option<std::net::IpAddr>,
    /// The name looked up.
    host: String,
    /// Why the lookup failed; none when it worked but found only internal
    /// addresses.
    source: Option<io::Error>,
}

impl ResolveError {
    fn new(host: &str, e: io::Error) -> Self {
        let text = e.to_string();
        // getaddrinfo's EAI_NONAME / EAI_NODATA, as the standard library words them.
        let no_such_host = [
            "Name or service not known",
            "No address associated",
            "nodename nor servname",
        ]
        .iter()
        .any(|m| text.contains(m));
        ResolveError {
            no_such_host,
            private: None,
            host: host.to_owned(),
            source: Some(e),
        }
    }
}

impl std::fmt::Display for ResolveError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let host = &self.host;
        match (&self.source, self.private) {
            (Some(e), _) => write!(f, "cannot resolve {host}: {e}"),
            (None, Some(ip)) => write!(f, "{host} resolves to the private address {ip}"),
            (None, None) => write!(f, "cannot resolve {host}"),
        }
    }
}

impl std::error::Error for ResolveError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_ref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_connected_to_where_only_they_may_be() {
        let addr = |s: &str| s.parse::<SocketAddr>().unwrap();
        let mixed = vec![
            addr("127.0.0.1:0"),
            addr("93.184.216.34:0"),
            addr("[::1]:0"),
        ];
        assert_eq!(
            public("a.example", mixed).unwrap(),
            [addr("93.184.216.34:0")]
        );
        let inside = vec![addr("169.254.169.254:0"), addr("[fe80::1]:0")];
        let e = public("metadata.example", inside).unwrap_err();
        assert_eq!(e.private, Some("169.254.169.254".parse().unwrap()));
        assert!(e.to_string().contains("private address"), "{e}");
    }
}
