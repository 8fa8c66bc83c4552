//! The SSRF guard for tenant callback URLs: a tenant must not be able to make the platform call
//! its own network (loopback, private ranges, the cloud metadata endpoint ...).
//!
//! Checked twice: when the URL is saved (`PUT /settings/callback`), and at every delivery on the
//! addresses the name resolves to *then*, connecting to exactly those addresses (so a DNS answer
//! that changes between check and connect — DNS rebinding — cannot slip a private address in).
//! Redirects are not followed. The local process may allow private targets
//! (`MIPING_ALLOW_PRIVATE_CALLBACKS`) so that a receiver on the developer's machine works.

use std::net::{IpAddr, SocketAddr};

use reqwest::Url;

pub const MAX_URL_CHARS: usize = 2048;

/// Whether an address is on the public internet (the only kind a callback may reach in
/// production).
///
/// The classification is IANA's special-purpose address registries (IPv4 and IPv6, as the
/// `iprfc` crate snapshots them: private, loopback, link-local, shared, documentation,
/// benchmarking, NAT64 `64:ff9b::/96` and `64:ff9b:1::/48`, 6to4 `2002::/16`, Teredo `2001::/32`
/// and the rest of `2001::/23`, discard-only `100::/64`, unique-local `fc00::/7`, ...), plus what
/// those registries leave to other RFCs: IPv4 and IPv6 multicast, the deprecated site-local
/// `fec0::/10` and IPv4-compatible `::/96` (RFC 4291), and SIIT's IPv4-translated
/// `::ffff:0:0:0/96` (RFC 2765). Everything in them is refused, including the few blocks IANA
/// marks globally reachable (anycast services no tenant needs to call). An IPv4-mapped address
/// (`::ffff:a.b.c.d`) is judged as the IPv4 address it maps.
pub fn is_public(ip: IpAddr) -> bool {
    use iprfc::{Filter, RFCs};
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    let special = RFCs::filter(Filter::RFC6890 | Filter::RFC4291 | Filter::RFC1112 | Filter::RFC2765);
    !(special.contains(&ip) || ip.is_multicast() || ip.is_unspecified() || ip.is_loopback())
}

/// Why a URL is refused (the message is for the tenant; the code names the rule).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub code: &'static str,
    pub message: String,
}

fn refuse(code: &'static str, message: impl Into<String>) -> Refusal {
    Refusal { code, message: message.into() }
}

/// The URL's own shape: http(s), a host, no credentials, not too long. Returns it parsed.
pub fn check_shape(raw: &str) -> Result<Url, Refusal> {
    if raw.len() > MAX_URL_CHARS {
        return Err(refuse("too_long", format!("at most {MAX_URL_CHARS} characters")));
    }
    let url = Url::parse(raw).map_err(|e| refuse("invalid", format!("not a valid URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(refuse("unsupported_scheme", "must be an http:// or https:// URL"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(refuse("invalid", "the URL has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(refuse("credentials_in_url", "must not contain credentials; use the secret to authenticate us"));
    }
    if url.fragment().is_some() {
        return Err(refuse("invalid", "must not have a #fragment"));
    }
    Ok(url)
}

/// Resolves the URL's host and returns the addresses to connect to: all of them must be public
/// unless `allow_private`. An IP literal is checked as is.
pub async fn resolve(url: &Url, allow_private: bool) -> Result<Vec<SocketAddr>, Refusal> {
    let host = url.host_str().ok_or_else(|| refuse("invalid", "the URL has no host"))?;
    let port = url.port_or_known_default().ok_or_else(|| refuse("invalid", "the URL has no port"))?;
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<SocketAddr> = match bare.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => {
            let lower = bare.to_ascii_lowercase();
            if !allow_private && (lower == "localhost" || lower.ends_with(".localhost")) {
                return Err(refuse("private_address", "must reach a public address, not this machine"));
            }
            tokio::net::lookup_host((bare, port))
                .await
                .map_err(|_| refuse("unresolvable", format!("{host} does not resolve")))?
                .collect()
        }
    };
    if addrs.is_empty() {
        return Err(refuse("unresolvable", format!("{host} does not resolve")));
    }
    if !allow_private && let Some(bad) = addrs.iter().find(|a| !is_public(a.ip())) {
        return Err(refuse(
            "private_address",
            format!("{host} resolves to {}, which is not a public address", bad.ip()),
        ));
    }
    Ok(addrs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn private_and_special_addresses_are_not_public() {
        for s in [
            "127.0.0.1",
            "127.1.2.3",
            "0.0.0.0",
            "0.1.2.3",
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "169.254.0.1",
            "100.64.0.1",
            "100.127.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "198.18.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "fc00::1",
            "fd00:ec2::254",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.1.2.3",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "64:ff9b::a00:1",
            "2002:7f00:1::",
            "2001:db8::1",
            // Found by a black-box probe: accepted by the former hand-written list.
            "::ffff:0:7f00:1", // SIIT IPv4-translated 127.0.0.1
            "::ffff:0:a00:1",  // SIIT IPv4-translated 10.0.0.1
            "2001::1",         // Teredo
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "100::1",           // discard-only
            "64:ff9b:1::a00:1", // local-use NAT64
            "fec0::1",          // site-local (deprecated)
            "3fff::1",          // documentation (RFC 9637)
            "5f00::1",          // SRv6 SIDs
            "240.0.0.1",        // reserved
        ] {
            assert!(!is_public(ip(s)), "{s} must not count as public");
        }
    }

    #[test]
    fn public_addresses_are_public() {
        for s in [
            "8.8.8.8",
            "1.1.1.1",
            "100.63.255.255",
            "100.128.0.1",
            "172.32.0.1",
            "172.15.255.255",
            "192.169.0.1",
            "2606:4700:4700::1111",
            "2a00:1450:4001::200e",
            "::ffff:8.8.8.8",
        ] {
            assert!(is_public(ip(s)), "{s} is public");
        }
    }

    #[test]
    fn url_shape() {
        assert!(check_shape("https://erp.example.com/hooks/miping?x=1").is_ok());
        assert!(check_shape("http://203.0.113.5:8080/cb").is_ok());
        assert_eq!(check_shape("ftp://example.com/").unwrap_err().code, "unsupported_scheme");
        assert_eq!(check_shape("file:///etc/passwd").unwrap_err().code, "unsupported_scheme");
        assert_eq!(check_shape("https://user:pw@example.com/").unwrap_err().code, "credentials_in_url");
        assert_eq!(check_shape("not a url").unwrap_err().code, "invalid");
        assert_eq!(check_shape(&format!("https://e.com/{}", "a".repeat(3000))).unwrap_err().code, "too_long");
    }

    #[tokio::test]
    async fn private_targets_are_refused_unless_allowed() {
        for raw in [
            "http://127.0.0.1:9000/cb",
            "http://[::1]/cb",
            "http://169.254.169.254/latest/meta-data/",
            "http://localhost:8080/",
            "http://api.localhost/",
            "http://10.0.0.5/",
            "http://[::ffff:127.0.0.1]/",
            "http://2130706433/", // 127.0.0.1 as one decimal number
            "http://0x7f.1/",     // 127.0.0.1 in hex shorthand
        ] {
            let url = check_shape(raw).unwrap();
            assert_eq!(resolve(&url, false).await.unwrap_err().code, "private_address", "{raw}");
        }
        let url = check_shape("http://127.0.0.1:9000/cb").unwrap();
        assert_eq!(resolve(&url, true).await.unwrap(), vec!["127.0.0.1:9000".parse().unwrap()]);
        let url = check_shape("https://8.8.8.8/cb").unwrap();
        assert_eq!(resolve(&url, false).await.unwrap(), vec!["8.8.8.8:443".parse().unwrap()]);
    }
}
