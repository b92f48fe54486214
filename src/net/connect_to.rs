//! Connection overrides with curl's `--connect-to` meaning: `HOST:PORT=ADDR:PORT`
//! sends connections for `HOST:PORT` to `ADDR:PORT` while the URL, the `Host` header
//! and the TLS server name stay the real ones. Users point a host at a mirror or a
//! test server with it; the tests point real URLs at a local fixture server.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use serde::{Serialize, Serializer};

/// One override.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectTo {
    /// The host as in URLs, lowercase.
    pub host: String,
    /// The port as in URLs (the scheme's default when the URL names none).
    pub port: u16,
    /// Where to connect instead.
    pub to: SocketAddr,
}

impl FromStr for ConnectTo {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |why: &str| {
            format!(
                "connect-to `{s}`: {why}; expected HOST:PORT=ADDR:PORT, e.g. mmbiz.qpic.cn:443=127.0.0.1:40123"
            )
        };
        let (from, to) = s.split_once('=').ok_or_else(|| bad("no `=`"))?;
        let (host, port) = from
            .rsplit_once(':')
            .ok_or_else(|| bad("no port before `=`"))?;
        let host = host.trim().trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err(bad("empty host"));
        }
        let port: u16 = port
            .trim()
            .parse()
            .map_err(|_| bad("the first port is not a number"))?;
        let (addr, to_port) = to
            .trim()
            .rsplit_once(':')
            .ok_or_else(|| bad("no port after `=`"))?;
        let addr: IpAddr = addr
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse()
            .map_err(|_| bad("the address is not an IP address"))?;
        let to_port: u16 = to_port
            .parse()
            .map_err(|_| bad("the second port is not a number"))?;
        if to_port == 0 {
            return Err(bad("port 0"));
        }
        Ok(ConnectTo {
            host: host.to_ascii_lowercase(),
            port,
            to: SocketAddr::new(addr, to_port),
        })
    }
}

impl fmt::Display for ConnectTo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}={}", self.host, self.port, self.to)
    }
}

impl Serialize for ConnectTo {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_curl_syntax() {
        let c: ConnectTo = "MMBIZ.qpic.cn:443=127.0.0.1:40123".parse().unwrap();
        assert_eq!(c.host, "mmbiz.qpic.cn");
        assert_eq!(c.port, 443);
        assert_eq!(c.to, "127.0.0.1:40123".parse().unwrap());
        assert_eq!(c.to_string(), "mmbiz.qpic.cn:443=127.0.0.1:40123");
        let v6: ConnectTo = "a.org:80=[::1]:8080".parse().unwrap();
        assert_eq!(v6.to, "[::1]:8080".parse().unwrap());
    }

    #[test]
    fn refuses_malformed_rules_with_an_example() {
        for bad in [
            "a.org",
            "a.org:443",
            "a.org=1.2.3.4:5",
            "a.org:x=1.2.3.4:5",
            ":443=1.2.3.4:5",
            "a.org:443=host:5",
            "a.org:443=1.2.3.4:0",
        ] {
            let err = bad.parse::<ConnectTo>().unwrap_err();
            assert!(
                err.contains(bad) && err.contains("HOST:PORT=ADDR:PORT"),
                "{err}"
            );
        }
    }
}
