//! Who is asking: the client address and a readable device summary.

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use http::{HeaderMap, header::USER_AGENT};

/// The longest `User-Agent` kept; anything longer is cut, so a client cannot bloat documents.
const MAX_USER_AGENT_CHARS: usize = 512;

/// The requesting client, as recorded on sessions and security events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientInfo {
    /// The client's IP address, or "unknown" when the server was not told (in-process calls).
    pub ip: String,
    /// The `User-Agent` header (at most 512 characters), or "".
    pub user_agent: String,
    address: Option<IpAddr>,
}

/// Behind a trusted proxy, `X-Forwarded-For` did not name a client: missing, unreadable, or
/// with fewer entries than the configured number of proxies appends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("X-Forwarded-For is missing or does not hold {hops} address(es) appended by our proxies")]
pub struct ForwardedForError {
    hops: usize,
}

impl ClientInfo {
    /// Reads the client from a request.
    ///
    /// Without a proxy (`trusted_hops` is `None`) the client is the socket's peer. Behind
    /// `n` proxies of ours, each appending the address it received from to `X-Forwarded-For`,
    /// the client is the entry `n` places from the right: everything left of it was written by
    /// the client and proves nothing. Never falls back to the peer (which is our own proxy).
    ///
    /// # Errors
    /// [`ForwardedForError`] when behind a proxy the header has no such entry or it is not an
    /// IP address.
    pub fn from_request(parts: &http::request::Parts, trusted_hops: Option<usize>) -> Result<Self, ForwardedForError> {
        let address = match trusted_hops {
            Some(hops) => Some(forwarded_for(&parts.headers, hops).ok_or(ForwardedForError { hops })?),
            None => parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.ip()),
        };
        let user_agent = parts
            .headers
            .get(USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(MAX_USER_AGENT_CHARS).collect())
            .unwrap_or_default();
        Ok(Self { ip: address.map_or_else(|| "unknown".into(), |ip| ip.to_string()), user_agent, address })
    }

    /// The operator at the command line, as security events record actions taken there.
    pub fn operator() -> Self {
        Self { ip: "command line".into(), user_agent: "sessionguard command line".into(), address: None }
    }

    /// The client's network, as a new-device check compares it: an IPv4 address's /24, an IPv6
    /// address's /64; `None` when the address is unknown.
    pub fn network(&self) -> Option<String> {
        match self.address.map(|ip| ip.to_canonical())? {
            IpAddr::V4(v4) => {
                let [a, b, c, _] = v4.octets();
                Some(format!("{a}.{b}.{c}.0/24"))
            }
            IpAddr::V6(v6) => Some(slash_64(v6)),
        }
    }

    /// The key the throttle counts this client under: the IPv4 address, or an IPv6 address's
    /// /64 network, since one subscriber commonly holds a whole /64 and could rotate through it.
    pub fn throttle_key(&self) -> String {
        match self.address.map(|ip| ip.to_canonical()) {
            Some(IpAddr::V6(v6)) => slash_64(v6),
            Some(IpAddr::V4(v4)) => v4.to_string(),
            None => self.ip.clone(),
        }
    }
}

/// An IPv6 address's /64 network, which one subscriber commonly holds whole.
fn slash_64(v6: std::net::Ipv6Addr) -> String {
    let s = v6.segments();
    format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
}

/// The entry `hops` places from the right of all `X-Forwarded-For` headers taken together.
fn forwarded_for(headers: &HeaderMap, hops: usize) -> Option<IpAddr> {
    let mut entries = Vec::new();
    for value in headers.get_all("x-forwarded-for") {
        entries.extend(value.to_str().ok()?.split(',').map(str::trim));
    }
    let index = entries.len().checked_sub(hops)?;
    entries.get(index)?.parse().ok()
}

/// A readable summary of a `User-Agent`, like "Firefox on Windows", and whether the device is
/// a phone or tablet. Parsed with `woothee`; unknown agents read "Unknown browser".
pub fn device_summary(user_agent: &str) -> (String, bool) {
    let Some(parsed) = woothee::parser::Parser::new().parse(user_agent) else {
        return ("Unknown browser".into(), false);
    };
    let known = |v: &str| !v.is_empty() && v != woothee::woothee::VALUE_UNKNOWN;
    let mobile = matches!(parsed.category, "smartphone" | "mobilephone");
    let summary = match (known(parsed.name), known(parsed.os)) {
        (true, true) => format!("{} on {}", parsed.name, parsed.os),
        (true, false) => parsed.name.to_owned(),
        (false, true) => format!("Unknown browser on {}", parsed.os),
        (false, false) => "Unknown browser".to_owned(),
    };
    (summary, mobile)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_name_browser_and_os() {
        let firefox = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0";
        assert_eq!(device_summary(firefox), ("Firefox on Windows 10".into(), false));
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";
        let (summary, mobile) = device_summary(iphone);
        assert!(summary.starts_with("Safari on iPhone"), "{summary}");
        assert!(mobile);
        assert_eq!(device_summary("curl/8.0"), ("HTTP Library".into(), false));
        assert_eq!(device_summary(""), ("Unknown browser".into(), false));
    }

    fn parts(forwarded: &[&str]) -> http::request::Parts {
        let mut request = http::Request::builder().extension(ConnectInfo(SocketAddr::from(([10, 0, 0, 2], 9))));
        for value in forwarded {
            request = request.header("x-forwarded-for", *value);
        }
        request.body(()).unwrap().into_parts().0
    }

    #[test]
    fn the_client_is_counted_from_the_right() {
        let spoofed = parts(&["6.6.6.6, 198.51.100.4"]);
        assert_eq!(ClientInfo::from_request(&spoofed, None).unwrap().ip, "10.0.0.2", "no proxy: the peer");
        assert_eq!(ClientInfo::from_request(&spoofed, Some(1)).unwrap().ip, "198.51.100.4", "one proxy: the rightmost entry");
        assert_eq!(ClientInfo::from_request(&spoofed, Some(2)).unwrap().ip, "6.6.6.6");
        let split = parts(&["6.6.6.6", "198.51.100.4, 10.0.0.7"]);
        assert_eq!(ClientInfo::from_request(&split, Some(2)).unwrap().ip, "198.51.100.4", "several headers read as one list");
    }

    #[test]
    fn a_malformed_header_is_an_error_not_the_proxy_address() {
        for forwarded in [&[][..], &["not-an-ip"][..], &[""][..]] {
            assert!(ClientInfo::from_request(&parts(forwarded), Some(1)).is_err(), "{forwarded:?}");
        }
        assert!(ClientInfo::from_request(&parts(&["198.51.100.4"]), Some(2)).is_err(), "fewer entries than proxies");
    }

    #[test]
    fn ipv6_clients_are_throttled_by_their_64() {
        let a = ClientInfo::from_request(&parts(&["2001:db8:1:2:aaaa::1"]), Some(1)).unwrap();
        let b = ClientInfo::from_request(&parts(&["2001:db8:1:2:ffff::9"]), Some(1)).unwrap();
        assert_eq!(a.throttle_key(), "2001:db8:1:2::/64");
        assert_eq!(a.throttle_key(), b.throttle_key());
        let v4 = ClientInfo::from_request(&parts(&["::ffff:198.51.100.4"]), Some(1)).unwrap();
        assert_eq!(v4.throttle_key(), "198.51.100.4", "an IPv4-mapped address is its IPv4 address");
    }
}
