//! The per-client limit on confirms ([`ConfirmRateLimit`]): a GCRA per client, where a
//! client is an IPv4 address or an IPv6 /64, and whose idle clients are forgotten.

use std::net::{IpAddr, Ipv6Addr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Deserialize;

/// How many confirms one client may send: a steady rate and a burst (GCRA). Card testing
/// spreads over many payments, each capped by `max_confirm_attempts`; this caps the
/// payments one client can try. Behind a proxy, the peer is the proxy: put the limit
/// there too (docs/backend.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConfirmRateLimit {
    pub per_minute: u32,
    pub burst: u32,
}

impl Default for ConfirmRateLimit {
    fn default() -> ConfirmRateLimit {
        ConfirmRateLimit {
            per_minute: 30,
            burst: 10,
        }
    }
}

impl ConfirmRateLimit {
    /// `None`: no limit (`per_minute = 0`).
    pub(super) fn limiter(self) -> Option<ConfirmLimiter> {
        let per_minute = std::num::NonZeroU32::new(self.per_minute)?;
        let burst = std::num::NonZeroU32::new(self.burst.max(1))?;
        let quota = governor::Quota::per_minute(per_minute).allow_burst(burst);
        Some(ConfirmLimiter {
            clients: governor::RateLimiter::keyed(quota),
            pruned: Mutex::new(None),
        })
    }
}

/// Above this many clients remembered, those idle long enough to be as good as new are
/// forgotten (at most every [`PRUNE_EVERY`]): without it every address that ever sent a
/// confirm, or anything on a confirm's path, stayed in memory for the life of the process.
const PRUNE_ABOVE: usize = 4096;
const PRUNE_EVERY: Duration = Duration::from_secs(10);

pub(super) struct ConfirmLimiter {
    clients: governor::DefaultKeyedRateLimiter<IpAddr>,
    /// When idle clients were last forgotten.
    pruned: Mutex<Option<Instant>>,
}

impl ConfirmLimiter {
    /// Whether the client at `ip` may confirm now (and counts this confirm if so).
    pub(super) fn admit(&self, ip: IpAddr) -> bool {
        let admitted = self.clients.check_key(&client(ip)).is_ok();
        if self.clients.len() > PRUNE_ABOVE {
            self.prune();
        }
        admitted
    }

    fn prune(&self) {
        let mut pruned = self.pruned.lock().unwrap_or_else(|p| p.into_inner());
        if pruned.is_some_and(|at| at.elapsed() < PRUNE_EVERY) {
            return;
        }
        *pruned = Some(Instant::now());
        self.clients.retain_recent();
        self.clients.shrink_to_fit();
    }

    #[cfg(test)]
    fn remembered(&self) -> usize {
        self.clients.len()
    }
}

/// Whose confirms `ip`'s are: an IPv4 address (also when it comes IPv4-mapped, as from a
/// dual-stack socket), or an IPv6 address's /64, the smallest block a site is given
/// (RFC 6177): keyed by whole IPv6 addresses, one client could take a fresh burst from
/// each of its 2^64.
fn client(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !u128::from(u64::MAX))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn a_client_is_an_ipv4_address_or_an_ipv6_slash_64() {
        assert_eq!(client(ip("192.0.2.7")), ip("192.0.2.7"));
        assert_eq!(client(ip("::ffff:192.0.2.7")), ip("192.0.2.7"));
        assert_eq!(client(ip("2001:db8:1:2:aaaa::1")), ip("2001:db8:1:2::"));
        assert_eq!(
            client(ip("2001:db8:1:2:ffff:ffff:ffff:ffff")),
            ip("2001:db8:1:2::")
        );
        assert_ne!(client(ip("2001:db8:1:3::1")), ip("2001:db8:1:2::"));
    }

    #[test]
    fn addresses_of_one_ipv6_slash_64_share_one_limit() {
        let limiter = ConfirmRateLimit {
            per_minute: 1,
            burst: 2,
        }
        .limiter()
        .unwrap();
        assert!(limiter.admit(ip("2001:db8::1")));
        assert!(limiter.admit(ip("2001:db8::2")));
        assert!(
            !limiter.admit(ip("2001:db8::3")),
            "the /64's burst is spent"
        );
        assert!(limiter.admit(ip("2001:db8:0:1::1")), "another /64");
        assert!(limiter.admit(ip("::ffff:192.0.2.1")));
        assert!(limiter.admit(ip("192.0.2.1")));
        assert!(
            !limiter.admit(ip("192.0.2.1")),
            "mapped or not, one IPv4 client"
        );
    }

    #[test]
    fn idle_clients_are_forgotten() {
        // One confirm a millisecond: a client is as good as new a millisecond after its
        // confirm.
        let limiter = ConfirmRateLimit {
            per_minute: 60_000,
            burst: 1,
        }
        .limiter()
        .unwrap();
        for n in 0..PRUNE_ABOVE as u32 {
            assert!(limiter.admit(IpAddr::V4((0x0a00_0000 + n).into())));
        }
        assert_eq!(limiter.remembered(), PRUNE_ABOVE);
        std::thread::sleep(Duration::from_millis(5));
        assert!(limiter.admit(ip("192.0.2.1")));
        assert!(
            limiter.remembered() < 10,
            "{} remembered",
            limiter.remembered()
        );
    }
}
