//! Check of the addresses that a webhook host resolves to, applied when the webhook
//! client connects, so that it covers the address actually connected to.
//!
//! A webhook URL names a Microsoft host, but DNS decides where the request goes. The
//! resolver drops every address in a loopback, private, link-local (which includes the
//! cloud metadata address 169.254.169.254), shared, reserved or multicast range, so a
//! hostile DNS answer cannot aim the backend at its own network. Loopback is allowed
//! only with local delivery, which the development webhook origin turns on.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Whether requests may go to loopback addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalDelivery {
    /// Production: only public addresses.
    Off,
    /// The local Teams host on this machine: loopback addresses too.
    On,
}

/// Error returned by the resolver when a host has no allowed address. It names neither
/// the host nor the addresses, because a webhook host is part of a secret URL.
#[derive(Debug, thiserror::Error)]
#[error("the webhook host resolves only to forbidden addresses (private, loopback or reserved)")]
pub struct ForbiddenAddress;

/// Error of [`CheckedResolver::resolve_host`].
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error(transparent)]
    Forbidden(#[from] ForbiddenAddress),
    /// The system resolver failed. Its message does not contain the host.
    #[error("resolving the webhook host failed: {0}")]
    Lookup(#[source] io::Error),
}

/// Returns whether the client may connect to `address`.
pub fn is_allowed(address: IpAddr, local: LocalDelivery) -> bool {
    match address {
        IpAddr::V4(v4) => is_allowed_v4(v4, local),
        IpAddr::V6(v6) => is_allowed_v6(v6, local),
    }
}

fn is_allowed_v4(address: Ipv4Addr, local: LocalDelivery) -> bool {
    if address.is_loopback() {
        return local == LocalDelivery::On;
    }

    let [a, b, c, _] = address.octets();
    let forbidden = a == 0 // "this network", including the unspecified address
        || address.is_private() // 10/8, 172.16/12, 192.168/16
        || address.is_link_local() // 169.254/16, including cloud metadata services
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT), 100.64/10
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments, 192.0.0/24
        || (a == 192 && b == 0 && c == 2) // documentation, 192.0.2/24
        || (a == 192 && b == 88 && c == 99) // 6to4 relay anycast, 192.88.99/24
        || (a == 198 && (b == 18 || b == 19)) // benchmarking, 198.18/15
        || (a == 198 && b == 51 && c == 100) // documentation, 198.51.100/24
        || (a == 203 && b == 0 && c == 113) // documentation, 203.0.113/24
        || address.is_multicast() // 224/4
        || a >= 240; // reserved 240/4 and the broadcast address
    !forbidden
}

fn is_allowed_v6(address: Ipv6Addr, local: LocalDelivery) -> bool {
    if address.is_loopback() {
        return local == LocalDelivery::On;
    }
    // Forms that carry an IPv4 address are judged by that address.
    if let Some(v4) = embedded_ipv4(address) {
        return is_allowed_v4(v4, local);
    }

    let segments = address.segments();
    let forbidden = address.is_unspecified()
        || address.is_multicast() // ff00::/8
        || (segments[0] & 0xfe00) == 0xfc00 // unique local, fc00::/7
        || (segments[0] & 0xffc0) == 0xfe80 // link-local, fe80::/10
        || (segments[0] & 0xffc0) == 0xfec0 // site-local (deprecated), fec0::/10
        || (segments[0] == 0x2001 && segments[1] == 0x0db8) // documentation, 2001:db8::/32
        || (segments[0] == 0x2001 && segments[1] == 0) // Teredo, which hides an IPv4 address
        || (segments[0] == 0x0100 && segments[1..4] == [0, 0, 0]) // discard, 100::/64
        || segments[0] == 0; // the rest of ::/16, reserved
    !forbidden
}

/// Returns the IPv4 address inside an IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible
/// (`::a.b.c.d`), NAT64 (`64:ff9b::a.b.c.d`) or 6to4 (`2002:aabb:ccdd::`) address.
fn embedded_ipv4(address: Ipv6Addr) -> Option<Ipv4Addr> {
    let segments = address.segments();
    let octets = address.octets();
    let tail = Ipv4Addr::new(octets[12], octets[13], octets[14], octets[15]);

    if segments[..5] == [0, 0, 0, 0, 0] && (segments[5] == 0xffff || segments[5] == 0) {
        // `::` and `::1` are handled by the caller before this.
        return Some(tail);
    }
    if segments[..6] == [0x0064, 0xff9b, 0, 0, 0, 0] {
        return Some(tail);
    }
    if segments[0] == 0x2002 {
        return Some(Ipv4Addr::new(octets[2], octets[3], octets[4], octets[5]));
    }
    None
}

/// DNS resolver for the webhook client: resolves with the system resolver, then keeps
/// only the allowed addresses.
#[derive(Debug, Clone, Copy)]
pub struct CheckedResolver {
    local: LocalDelivery,
}

impl CheckedResolver {
    pub fn new(local: LocalDelivery) -> Self {
        Self { local }
    }

    /// Resolves `host` and returns its allowed addresses, or [`ForbiddenAddress`] when it
    /// has none. The port of each address is 0: the caller sets the URL's port.
    pub async fn resolve_host(&self, host: &str) -> Result<Vec<SocketAddr>, ResolveError> {
        let resolved = tokio::net::lookup_host((host, 0))
            .await
            .map_err(ResolveError::Lookup)?;
        let allowed: Vec<SocketAddr> = resolved
            .filter(|address| is_allowed(address.ip(), self.local))
            .collect();
        if allowed.is_empty() {
            return Err(ForbiddenAddress.into());
        }
        Ok(allowed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(address: &str, local: LocalDelivery) -> bool {
        is_allowed(address.parse().unwrap(), local)
    }

    #[test]
    fn public_addresses_are_allowed() {
        let addresses = [
            "52.96.0.1",
            "13.107.6.152",
            "8.8.8.8",
            "100.63.255.255",
            "100.128.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "198.20.0.1",
            "2603:1030::1",
            "2620:1ec:c11::212",
            "::ffff:52.96.0.1",
            "64:ff9b::3460:1",
            "2002:3460:1::",
        ];
        for address in addresses {
            assert!(allowed(address, LocalDelivery::Off), "{address}");
        }
    }

    #[test]
    fn forbidden_addresses_are_rejected() {
        let addresses = [
            "127.0.0.1",
            "127.255.255.254",
            "0.0.0.0",
            "0.1.2.3",
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "192.88.99.1",
            "198.18.0.1",
            "198.51.100.1",
            "203.0.113.1",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "fc00::1",
            "fd12:3456:789a::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
            "2001:db8::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "100::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "::10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b::7f00:1",
            "2002:a9fe:a9fe::1",
            "2002:7f00:1::",
            "::2",
        ];
        for address in addresses {
            assert!(!allowed(address, LocalDelivery::Off), "{address}");
        }
    }

    #[test]
    fn local_delivery_allows_only_loopback() {
        for address in ["127.0.0.1", "127.0.0.2", "::1", "::ffff:127.0.0.1"] {
            assert!(allowed(address, LocalDelivery::On), "{address}");
        }
        for address in [
            "10.0.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "fd00::1",
            "0.0.0.0",
            "::",
        ] {
            assert!(!allowed(address, LocalDelivery::On), "{address}");
        }
    }

    // `localhost` resolves from the hosts file, so these tests send no DNS query.
    #[tokio::test]
    async fn resolver_rejects_localhost_without_local_delivery() {
        let resolver = CheckedResolver::new(LocalDelivery::Off);

        let error = resolver.resolve_host("localhost").await.unwrap_err();

        assert!(matches!(error, ResolveError::Forbidden(_)), "{error}");
    }

    #[tokio::test]
    async fn resolver_allows_localhost_with_local_delivery() {
        let resolver = CheckedResolver::new(LocalDelivery::On);

        let addresses = resolver.resolve_host("localhost").await.unwrap();

        assert!(!addresses.is_empty());
        assert!(addresses.iter().all(|address| address.ip().is_loopback()));
    }

    #[tokio::test]
    async fn resolver_checks_ip_literal_hosts() {
        let resolver = CheckedResolver::new(LocalDelivery::Off);

        let loopback = resolver.resolve_host("127.0.0.1").await;
        let metadata = resolver.resolve_host("169.254.169.254").await;

        assert!(matches!(loopback, Err(ResolveError::Forbidden(_))));
        assert!(matches!(metadata, Err(ResolveError::Forbidden(_))));
    }
}
