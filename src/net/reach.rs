//! Where a redirect may lead: a page on the web must not make the tool ask the
//! machines of the network it runs in (a cloud's metadata service at
//! 169.254.169.254, a router at 192.168.1.1, a service on localhost). Once a
//! redirect leaves a public link's host, the chain connects to public addresses
//! only: the resolver leaves internal ones out (so a name cannot answer one
//! thing to a check and another to the connection), and an internal IP literal
//! or `localhost` is refused before any connection. Unless
//! `network.allow_private_redirects` says otherwise; a link that itself names
//! such an address is the user's own and is followed.

use std::net::IpAddr;

use url::{Host, Url};

use crate::net::connect_to::ConnectTo;

/// Whether `ip` belongs to the machine or its local network: loopback,
/// private (RFC 1918, unique local), link-local, shared (CGNAT) or
/// unspecified; IPv4 addresses written in IPv6 (mapped, or behind NAT64 or
/// 6to4) count as themselves.
#[must_use]
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || (a == 100 && (64..128).contains(&b))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped().or_else(|| embedded_ipv4(v6)) {
                return is_internal(IpAddr::V4(v4));
            }
            let s = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                // NAT64's local-use prefix (RFC 8215): a translator of the
                // network the tool runs in.
                || (s[0] == 0x0064 && s[1] == 0xff9b && s[2] == 0x0001)
        }
    }
}

/// The IPv4 address an IPv6 address carries to a translator or relay that
/// forwards to it: NAT64's well-known prefix 64:ff9b::/96 (RFC 6052) and
/// 6to4's 2002::/16 (RFC 3056). Such an address reaches the IPv4 one.
fn embedded_ipv4(v6: std::net::Ipv6Addr) -> Option<std::net::Ipv4Addr> {
    let segments = v6.segments();
    let octets = v6.octets();
    let at = |from: usize| {
        std::net::Ipv4Addr::new(
            octets[from],
            octets[from + 1],
            octets[from + 2],
            octets[from + 3],
        )
    };
    if segments[..6] == [0x0064, 0xff9b, 0, 0, 0, 0] {
        Some(at(12))
    } else if segments[0] == 0x2002 {
        Some(at(2))
    } else {
        None
    }
}

/// The internal address `url`'s host is without a lookup: an internal IP
/// literal, or `localhost` and its subdomains.
#[must_use]
pub fn literal_internal(url: &Url) -> Option<IpAddr> {
    match url.host()? {
        Host::Ipv4(ip) => Some(IpAddr::V4(ip)).filter(|ip| is_internal(*ip)),
        Host::Ipv6(ip) => Some(IpAddr::V6(ip)).filter(|ip| is_internal(*ip)),
        Host::Domain(name) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            (name == "localhost" || name.ends_with(".localhost"))
                .then_some(IpAddr::from([127, 0, 0, 1]))
        }
    }
}

/// How many of a name's addresses must be internal for the name to count as
/// internal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    /// One is enough: where a redirect may lead (the connection may use it).
    Any,
    /// Every one: the link the user wrote (a public name with one stray
    /// internal record is still public).
    All,
}

/// The internal address `url`'s host stands for, if it stands for one: an IP
/// literal, `localhost`, or a name the resolver maps to such addresses (`count`
/// says how many). A host the user pointed somewhere with `--connect-to` is
/// where the user said, and is not looked up. A lookup that fails or takes
/// longer than `wait` finds nothing: the connection will fail the same way.
pub async fn internal_address(
    url: &Url,
    overrides: &[ConnectTo],
    count: Count,
    wait: std::time::Duration,
) -> Option<IpAddr> {
    let port = url.port_or_known_default().unwrap_or(443);
    if let Some(ip) = literal_internal(url) {
        return Some(ip);
    }
    match url.host()? {
        Host::Ipv4(_) | Host::Ipv6(_) => None,
        Host::Domain(name) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            if overrides.iter().any(|c| c.host == name && c.port == port) {
                return None;
            }
            let lookup = tokio::net::lookup_host((name.as_str(), port));
            let addrs: Vec<IpAddr> = tokio::time::timeout(wait, lookup)
                .await
                .ok()?
                .ok()?
                .map(|a| a.ip())
                .collect();
            match count {
                Count::Any => addrs.into_iter().find(|ip| is_internal(*ip)),
                Count::All if addrs.iter().all(|ip| is_internal(*ip)) => addrs.first().copied(),
                Count::All => None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_told_from_public_ones() {
        for internal in [
            "127.0.0.1",
            "127.8.9.10",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b::127.0.0.1",
            "64:ff9b:1::808:808",
            "2002:c0a8:0101::1",
        ] {
            assert!(is_internal(internal.parse().unwrap()), "{internal}");
        }
        for public in [
            "93.184.216.34",
            "8.8.8.8",
            "172.32.0.1",
            "2606:4700::1111",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ] {
            assert!(!is_internal(public.parse().unwrap()), "{public}");
        }
    }

    #[tokio::test]
    async fn literals_and_localhost_need_no_lookup_and_overrides_are_trusted() {
        let wait = std::time::Duration::from_secs(1);
        let internal = |u: &str, overrides: Vec<ConnectTo>| {
            let u = Url::parse(u).unwrap();
            async move { internal_address(&u, &overrides, Count::Any, wait).await }
        };
        assert!(internal("http://127.0.0.1:8080/", vec![]).await.is_some());
        assert!(internal("http://[::1]/", vec![]).await.is_some());
        assert!(internal("http://localhost/", vec![]).await.is_some());
        assert!(internal("http://a.localhost/", vec![]).await.is_some());
        // Other spellings of loopback, as the URL parser writes them.
        assert!(internal("http://2130706433/", vec![]).await.is_some());
        assert!(internal("http://0x7f.1/", vec![]).await.is_some());
        assert!(internal("http://[::ffff:7f00:1]/", vec![]).await.is_some());
        assert!(internal("http://8.8.8.8/", vec![]).await.is_none());
        let overrides = vec!["example.org:443=127.0.0.1:4000".parse().unwrap()];
        assert!(internal("https://example.org/", overrides).await.is_none());
    }
}
