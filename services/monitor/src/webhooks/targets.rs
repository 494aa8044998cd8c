//! Where a webhook may point. By default not inside: a URL whose host is,
//! or resolves to, a loopback, private, link-local, shared (CGNAT),
//! unspecified, broadcast or multicast address is refused when registered,
//! and again when each delivery connects (the name is resolved anew then,
//! so a DNS answer that changes after registration cannot aim a delivery
//! inside either). Credentials in a URL are always refused: the webhook's
//! secret is what authenticates it. `WEBHOOK_ALLOW_PRIVATE=true` allows
//! internal targets (a receiver on the same host or network).

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// Whether webhooks may point at internal addresses.
#[derive(Debug, Clone, Copy, Default)]
pub struct Targets {
    /// `WEBHOOK_ALLOW_PRIVATE`.
    pub allow_private: bool,
}

/// Whether `ip` is an address of the host or its networks rather than of the internet.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_internal_v4(v4),
        IpAddr::V6(v6) => {
            let segments = v6.segments();
            let embedded_v4 = v6.to_ipv4_mapped().or_else(|| {
                // NAT64 (64:ff9b::/96) carries an IPv4 address in its last 32 bits.
                (segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0]).then(|| Ipv4Addr::from(v6.to_bits() as u32))
            });
            embedded_v4.is_some_and(is_internal_v4)
                || v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (segments[0] & 0xfe00) == 0xfc00 // unique local
                || (segments[0] & 0xffc0) == 0xfe80 // link-local
        }
    }
}

fn is_internal_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast()
        || a == 0 // "this network", 0.0.0.0 included
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
}

/// The host of `url` when it is an address (the URL parser has already
/// turned spellings such as `2130706433` or `0x7f.1` into `127.0.0.1`).
fn ip_literal(url: &Url) -> Option<IpAddr> {
    url.host_str()?.trim_start_matches('[').trim_end_matches(']').parse().ok()
}

impl Targets {
    /// Why `url` may not be registered, if it may not: credentials in it,
    /// or a host that is, or resolves to, an internal address.
    pub async fn refusal(&self, url: &Url) -> Option<String> {
        if !url.username().is_empty() || url.password().is_some() {
            return Some("url must not hold credentials; deliveries are signed with the webhook's secret".into());
        }
        if self.allow_private {
            return None;
        }
        let addresses: Vec<IpAddr> = match ip_literal(url) {
            Some(ip) => vec![ip],
            // A name that does not resolve now may later; each delivery checks it.
            None => tokio::net::lookup_host((url.host_str()?, url.port_or_known_default().unwrap_or(80)))
                .await
                .map(|found| found.map(|address| address.ip()).collect())
                .unwrap_or_default(),
        };
        addresses.into_iter().find(|ip| is_internal(*ip)).map(|ip| {
            format!("url points at the internal address {ip}; set WEBHOOK_ALLOW_PRIVATE=true to allow internal targets")
        })
    }

    /// Why a delivery to `url` may not connect, if its host is an internal
    /// address literal (names are checked by [`PublicOnly`] as they resolve).
    pub fn literal_refusal(&self, url: &str) -> Option<String> {
        if self.allow_private {
            return None;
        }
        let ip = ip_literal(&Url::parse(url).ok()?)?;
        is_internal(ip).then(|| format!("refused: {ip} is an internal address (WEBHOOK_ALLOW_PRIVATE is off)"))
    }
}

/// A resolver that gives deliveries only the public addresses of a name,
/// and an error when it has none.
pub struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = found.iter().copied().filter(|address| !is_internal(address.ip())).collect();
            if public.is_empty() && !found.is_empty() {
                let message = format!("refused: {} resolves only to internal addresses", name.as_str());
                return Err(message.into());
            }
            Ok(Box::new(public.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_told_from_public_ones() {
        let internal = [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "64:ff9b::a00:1",
            "ff02::1",
        ];
        for ip in internal {
            assert!(is_internal(ip.parse().expect("ip")), "{ip}");
        }
        for ip in ["93.184.216.34", "8.8.8.8", "100.128.0.1", "2606:4700::1111", "::ffff:8.8.8.8"] {
            assert!(!is_internal(ip.parse().expect("ip")), "{ip}");
        }
    }

    #[tokio::test]
    async fn registration_refuses_internal_hosts_in_every_spelling_and_credentials() {
        let refused = Targets { allow_private: false };
        for url in [
            "http://127.0.0.1:8080/x",
            "http://2130706433/x",
            "http://0x7f.1/x",
            "http://[::1]/x",
            "http://0.0.0.0/x",
            "http://169.254.169.254/latest/meta-data/",
            "http://localhost:9/x",
        ] {
            let url = Url::parse(url).expect("url");
            assert!(refused.refusal(&url).await.is_some(), "{url}");
            assert!(refused.literal_refusal(url.as_str()).is_some() || url.host_str() == Some("localhost"), "{url}");
        }
        let with_credentials = Url::parse("https://user:pass@example.com/x").expect("url");
        assert!(refused.refusal(&with_credentials).await.is_some());
        let allowed = Targets { allow_private: true };
        assert!(allowed.refusal(&Url::parse("http://127.0.0.1/x").expect("url")).await.is_none());
        assert!(allowed.refusal(&with_credentials).await.is_some(), "credentials are refused all the same");
        assert!(allowed.literal_refusal("http://127.0.0.1/x").is_none());
    }
}
