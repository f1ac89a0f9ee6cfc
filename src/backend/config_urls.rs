//! The URLs and origins of a [`BackendConfig`](super::config::BackendConfig), checked
//! when it is loaded (native file or edge variable alike), so that `base_url =
//! "htp:/…"` stops the start with the key's path instead of failing the first payment.
//! Each error names the key (`providers.paysafe.base_url`); a value is shown without what
//! may hold a credential (no user info, no query, no fragment).

use super::config::ProvidersConfig;

/// What a configured URL is used as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlRole {
    /// Paths are appended to it (`{base}/v1/payments`): no query, no fragment.
    Base,
    /// Used as it is (a webhook URL): a query is fine, a fragment is not.
    Whole,
}

/// Checks that `url`, the value of `key`, is an absolute http(s) URL with a host.
pub fn check_url(key: &str, url: &str, role: UrlRole) -> Result<(), String> {
    let parts = parse(url).map_err(|why| refusal(key, url, why))?;
    if parts.fragment {
        return Err(refusal(key, url, "a URL here takes no #fragment"));
    }
    if role == UrlRole::Base && parts.query {
        return Err(refusal(
            key,
            url,
            "paths are appended to this URL: it takes no ?query",
        ));
    }
    Ok(())
}

/// Checks that `origin`, the value of `key`, is exactly `scheme://host[:port]` as a
/// browser sends it in `Origin`: lower case, no default port, no path (not even `/`).
pub fn check_origin(key: &str, origin: &str) -> Result<(), String> {
    let parts = parse(origin).map_err(|why| refusal(key, origin, why))?;
    if parts.authority_end != origin.len() {
        return Err(refusal(
            key,
            origin,
            "an origin is scheme://host[:port], with no path, slash, query or fragment",
        ));
    }
    if origin.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(refusal(
            key,
            origin,
            "write the origin in lower case, as browsers send it",
        ));
    }
    let default_port = if parts.https { ":443" } else { ":80" };
    if origin.ends_with(default_port) {
        return Err(refusal(
            key,
            origin,
            "browsers leave the default port out of an origin: drop it",
        ));
    }
    Ok(())
}

/// Every URL of the providers' sections, each with its key path and role.
pub fn provider_urls(providers: &ProvidersConfig) -> Vec<(String, &str, UrlRole)> {
    let key = |section: &str, key: &str| format!("providers.{section}.{key}");
    let mut urls: Vec<(String, &str, UrlRole)> = Vec::new();
    // A section of a provider this build lacks has no URLs to check: it is refused whole.
    #[cfg(feature = "payroc")]
    if let Some(payroc) = &providers.payroc {
        urls.extend([
            (
                key("payroc", "identity_url"),
                payroc.identity_url.as_str(),
                UrlRole::Base,
            ),
            (key("payroc", "api_url"), &payroc.api_url, UrlRole::Base),
            (
                key("payroc", "payments_url"),
                &payroc.payments_url,
                UrlRole::Base,
            ),
        ]);
    }
    #[cfg(feature = "dlocal")]
    if let Some(dlocal) = &providers.dlocal {
        urls.push((key("dlocal", "base_url"), &dlocal.base_url, UrlRole::Base));
        if let Some(url) = &dlocal.notification_url {
            urls.push((key("dlocal", "notification_url"), url, UrlRole::Whole));
        }
    }
    #[cfg(feature = "paysafe")]
    if let Some(paysafe) = &providers.paysafe {
        urls.push((key("paysafe", "base_url"), &paysafe.base_url, UrlRole::Base));
    }
    #[cfg(feature = "bambora")]
    if let Some(bambora) = &providers.bambora {
        urls.push((key("bambora", "base_url"), &bambora.base_url, UrlRole::Base));
    }
    urls
}

/// Checks every provider URL: `https://`, or `http://` to a loopback host only (a local
/// sandbox). Card numbers, CVVs and credentials go there; `http://api.paysafe.com` (an
/// `s` missed) would send them across the network in clear.
pub fn check_provider_urls(providers: &ProvidersConfig) -> Result<(), String> {
    provider_urls(providers)
        .into_iter()
        .try_for_each(|(key, url, role)| {
            check_url(&key, url, role)?;
            https_or_loopback(
                &key,
                url,
                "a provider URL is https://, or http:// to a loopback address (a local sandbox) only",
            )
        })
}

/// A merchant's webhook endpoint (`webhooks.endpoints[].url`): a whole URL that is
/// `https://`, or `http://` to a loopback host only (`localhost`, `127.0.0.0/8`, `[::1]`):
/// the events it receives describe payments, so they cross no network in clear.
pub fn check_webhook_endpoint(key: &str, url: &str) -> Result<(), String> {
    check_url(key, url, UrlRole::Whole)?;
    https_or_loopback(
        key,
        url,
        "a webhook endpoint is https://, or http:// to a loopback address only",
    )
}

/// `url` (already checked) is `https://`, or `http://` to `localhost`, `127.0.0.0/8` or
/// `[::1]`; else `why`.
fn https_or_loopback(key: &str, url: &str, why: &str) -> Result<(), String> {
    let parts = parse(url).map_err(|why| refusal(key, url, why))?;
    if parts.https {
        return Ok(());
    }
    let authority = &url["http://".len()..parts.authority_end];
    let host = match authority.strip_prefix('[') {
        Some(inner) => inner.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if loopback {
        Ok(())
    } else {
        Err(refusal(key, url, why))
    }
}

/// `key: "value": why`, with what may hold a credential left out: the whole value if it
/// has user info, its query and fragment otherwise (a receiver's token often sits there).
fn refusal(key: &str, value: &str, why: &str) -> String {
    if value.contains('@') {
        return format!("{key}: {why} (value not shown: it may hold a credential)");
    }
    match value.split_once(['?', '#']) {
        Some((shown, _)) => {
            format!("{key}: {shown:?} (its query and fragment not shown): {why}")
        }
        None => format!("{key}: {value:?}: {why}"),
    }
}

/// What [`parse`] found.
struct Parts {
    https: bool,
    /// Where the authority (`host[:port]`) ends in the URL.
    authority_end: usize,
    query: bool,
    fragment: bool,
}

const NOT_ABSOLUTE: &str = "not an absolute http(s) URL with a host (https://host[:port][/path])";

fn parse(url: &str) -> Result<Parts, &'static str> {
    if url
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '\\')
    {
        return Err("a URL has no spaces, control characters or backslashes");
    }
    let lower = url.to_ascii_lowercase();
    let (https, rest) = match (
        lower.strip_prefix("https://"),
        lower.strip_prefix("http://"),
    ) {
        (Some(rest), _) => (true, rest),
        (None, Some(rest)) => (false, rest),
        (None, None) => return Err(NOT_ABSOLUTE),
    };
    let authority_len = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_len];
    if authority.contains('@') {
        return Err(
            "a URL here carries no user info (user:password@): put credentials in their own keys",
        );
    }
    check_authority(authority)?;
    let after = &rest[authority_len..];
    Ok(Parts {
        https,
        authority_end: url.len() - rest.len() + authority_len,
        query: after.contains('?'),
        fragment: after.contains('#'),
    })
}

/// `host[:port]`: a DNS name or IPv4 address, or `[IPv6]`; a port of 1 to 65535, written
/// as a browser writes it in an origin (digits, no leading zero: `:0443` and a bare `:`
/// are refused). An underscore passes, as in URLs (container names have them).
fn check_authority(authority: &str) -> Result<(), &'static str> {
    let (host, port) = match authority.strip_prefix('[') {
        Some(inner) => {
            let (v6, after) = inner.split_once(']').ok_or(NOT_ABSOLUTE)?;
            if v6.parse::<std::net::Ipv6Addr>().is_err() {
                return Err("the host is not an IPv6 address");
            }
            if !after.is_empty() && !after.starts_with(':') {
                return Err(NOT_ABSOLUTE);
            }
            (None, after.strip_prefix(':'))
        }
        None => match authority.split_once(':') {
            Some((host, port)) => (Some(host), Some(port)),
            None => (Some(authority), None),
        },
    };
    if let Some(port) = port {
        if port.starts_with('0') || !matches!(port.parse::<u16>(), Ok(1..)) {
            return Err("the port is not a number from 1 to 65535 (digits, no leading zero)");
        }
    }
    if let Some(host) = host {
        let label_ok = |label: &str| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        if host.is_empty() {
            return Err(NOT_ABSOLUTE);
        }
        if !host.trim_end_matches('.').split('.').all(label_ok) {
            return Err("the host is not a DNS name or IP address");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_endpoints_are_https_or_loopback() {
        let key = "webhooks.endpoints[0].url";
        assert!(check_webhook_endpoint(key, "https://shop.test/hooks?x=1").is_ok());
        assert!(check_webhook_endpoint(key, "http://127.0.0.1:9000/hooks").is_ok());
        assert!(check_webhook_endpoint(key, "http://localhost:9000/hooks").is_ok());
        assert!(check_webhook_endpoint(key, "http://[::1]:9000/").is_ok());
        let refused = check_webhook_endpoint(key, "http://shop.test/hooks").unwrap_err();
        assert!(refused.starts_with(key), "{refused}");
        assert!(refused.contains("\"http://shop.test/hooks\""), "{refused}");
        assert!(check_webhook_endpoint(key, "http://127.0.0.1.evil.test/").is_err());
        assert!(check_webhook_endpoint(key, "https://shop.test/#frag").is_err());
    }

    #[test]
    fn provider_urls_are_https_or_loopback() {
        let with_paysafe = |base_url: &str| ProvidersConfig {
            paysafe: Some(crate::provider::paysafe::Config {
                base_url: base_url.to_owned(),
                ..crate::provider::paysafe::Config::sandbox("http://127.0.0.1:8081")
            }),
            ..ProvidersConfig::default()
        };
        for fine in [
            "https://api.paysafe.com",
            "http://127.0.0.1:8081/paysafe",
            "http://localhost:8081/paysafe",
            "http://[::1]:8081/paysafe",
        ] {
            assert_eq!(check_provider_urls(&with_paysafe(fine)), Ok(()), "{fine}");
        }
        // An `s` missed: the card number, the CVV and the Basic credential in clear.
        let refused = check_provider_urls(&with_paysafe("http://api.paysafe.com")).unwrap_err();
        assert!(
            refused.starts_with("providers.paysafe.base_url: \"http://api.paysafe.com\": a provider URL is https://"),
            "{refused}"
        );
        assert!(check_provider_urls(&with_paysafe("http://127.0.0.1.evil.test/")).is_err());
    }

    #[test]
    fn a_refused_url_is_shown_without_what_may_hold_a_credential() {
        let key = "webhooks.endpoints[0].url";
        for (url, shown) in [
            (
                "http://shop.test/hooks?token=S3CRET",
                "\"http://shop.test/hooks\"",
            ),
            (
                "http://shop.test/hooks#S3CRET",
                "\"http://shop.test/hooks\"",
            ),
            (
                "https://shop.test/h?token=S3CRET#x",
                "\"https://shop.test/h\"",
            ),
        ] {
            let refused = check_webhook_endpoint(key, url).unwrap_err();
            assert!(!refused.contains("S3CRET"), "{refused}");
            assert!(refused.contains(shown), "{refused}");
            assert!(
                refused.contains("query and fragment not shown"),
                "{refused}"
            );
        }
        let refused = check_url("k", "https://api.test/v1?key=S3CRET", UrlRole::Base).unwrap_err();
        assert!(!refused.contains("S3CRET"), "{refused}");
        assert!(refused.contains("takes no ?query"), "{refused}");
        let refused = check_url("k", "https://user:S3CRET@api.test", UrlRole::Base).unwrap_err();
        assert!(!refused.contains("S3CRET"), "{refused}");
    }

    #[test]
    fn absolute_http_urls_with_a_host_pass() {
        for url in [
            "https://api.paysafe.com",
            "http://127.0.0.1:8081/paysafe",
            "https://API.example.com/v1/",
            "http://[::1]:8081/acs",
            "http://localhost",
        ] {
            assert_eq!(check_url("k", url, UrlRole::Base), Ok(()), "{url}");
        }
        assert_eq!(
            check_url("k", "https://shop.test/hook?x=1", UrlRole::Whole),
            Ok(())
        );
    }

    #[test]
    fn malformed_urls_are_refused_with_their_key() {
        for url in [
            "htp:/x",
            "api.paysafe.com",
            "https://",
            "https:///path",
            "ftp://host",
            "https://host:0",
            "https://host:99999",
            "https://host:port",
            "https://ho st",
            "https://a..b",
            "https://[zz]:1",
            "https://host/x#frag",
        ] {
            let error = check_url("providers.paysafe.base_url", url, UrlRole::Base).expect_err(url);
            assert!(
                error.starts_with("providers.paysafe.base_url: "),
                "{url}: {error}"
            );
        }
        let query = check_url("k", "https://h/x?y=1", UrlRole::Base).unwrap_err();
        assert!(query.contains("?query"), "{query}");
    }

    #[test]
    fn user_info_is_refused_without_echoing_it() {
        let error = check_url("k", "https://user:s3cret@host/x", UrlRole::Base).unwrap_err();
        assert!(
            error.contains("user info") && !error.contains("s3cret"),
            "{error}"
        );
    }

    #[test]
    fn origins_are_exactly_what_browsers_send() {
        for origin in [
            "https://shop.test",
            "http://127.0.0.1:8080",
            "http://[::1]:3000",
        ] {
            assert_eq!(check_origin("o", origin), Ok(()), "{origin}");
        }
        for (origin, says) in [
            ("https://shop.test/", "no path"),
            ("https://shop.test/checkout", "no path"),
            ("https://shop.test?x", "no path"),
            ("https://Shop.test", "lower case"),
            ("https://shop.test:443", "default port"),
            ("http://shop.test:80", "default port"),
            ("https://shop.test:", "no leading zero"),
            ("https://shop.test:0443", "no leading zero"),
            ("http://[::1]:08080", "no leading zero"),
            ("shop.test", "absolute"),
        ] {
            let error = check_origin("checkout_origins[1]", origin).expect_err(origin);
            assert!(
                error.starts_with("checkout_origins[1]: ") && error.contains(says),
                "{origin}: {error}"
            );
        }
    }
}
