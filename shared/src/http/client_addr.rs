//! The client's address, for throttling sign-ins per (email, address) and per address.
//!
//! Where it comes from: behind API Gateway the request context's `sourceIp` (lambda_http puts
//! the context in the request's extensions); on the local process the socket's peer address
//! (axum's `ConnectInfo`). `X-Forwarded-For` is anyone's to write, so it is read only when the
//! operator says a trusted proxy sets it (`MIPING_TRUST_X_FORWARDED_FOR`), and then only its last
//! entry (the one that proxy appended).

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

use crate::app::AppState;

/// The caller's address, when known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddr(pub Option<IpAddr>);

impl ClientAddr {
    /// The throttling bucket: an IPv4 address, or an IPv6 address's /64 (one subscriber's
    /// network: rotating addresses inside it must not buy new attempts); `unknown` when there is
    /// no address.
    pub fn bucket(&self) -> String {
        match self.0 {
            None => "unknown".to_owned(),
            Some(IpAddr::V4(v4)) => v4.to_string(),
            Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
                Some(v4) => v4.to_string(),
                None => {
                    let s = v6.segments();
                    format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
                }
            },
        }
    }

    pub fn from_parts(parts: &Parts, trust_forwarded_for: bool) -> Self {
        if trust_forwarded_for
            && let Some(ip) = parts
                .headers
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.rsplit(',').next())
                .and_then(|last| last.trim().parse::<IpAddr>().ok())
        {
            return Self(Some(ip));
        }
        #[cfg(feature = "lambda")]
        if let Some(lambda_http::request::RequestContext::ApiGatewayV2(ctx)) =
            parts.extensions.get::<lambda_http::request::RequestContext>()
        {
            return Self(ctx.http.source_ip.as_deref().and_then(|ip| ip.parse().ok()));
        }
        Self(parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.ip()))
    }
}

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(Self::from_parts(parts, state.config.trust_forwarded_for))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(xff: Option<&str>, peer: Option<&str>) -> Parts {
        let mut req = axum::http::Request::builder().uri("/auth/login");
        if let Some(v) = xff {
            req = req.header("x-forwarded-for", v);
        }
        let (mut parts, ()) = req.body(()).unwrap().into_parts();
        if let Some(p) = peer {
            parts.extensions.insert(ConnectInfo::<SocketAddr>(p.parse().unwrap()));
        }
        parts
    }

    #[test]
    fn the_peer_address_unless_a_trusted_proxy_says_otherwise() {
        let p = parts(Some("1.2.3.4, 5.6.7.8"), Some("10.0.0.9:5555"));
        assert_eq!(ClientAddr::from_parts(&p, false).bucket(), "10.0.0.9", "X-Forwarded-For is not trusted");
        assert_eq!(ClientAddr::from_parts(&p, true).bucket(), "5.6.7.8", "the last hop, appended by the proxy");
        assert_eq!(ClientAddr::from_parts(&parts(None, None), false).bucket(), "unknown");
    }

    #[test]
    fn ipv6_addresses_count_by_their_64() {
        let a = ClientAddr(Some("2001:db8:1:2:aaaa::1".parse().unwrap()));
        let b = ClientAddr(Some("2001:db8:1:2:bbbb::7".parse().unwrap()));
        assert_eq!(a.bucket(), b.bucket());
        assert_eq!(a.bucket(), "2001:db8:1:2::/64");
        assert_eq!(ClientAddr(Some("::ffff:10.1.2.3".parse().unwrap())).bucket(), "10.1.2.3");
    }
}
