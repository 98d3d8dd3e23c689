//! Who is asking: the client address and a readable device summary.

use std::net::SocketAddr;

use axum::extract::ConnectInfo;
use http::{HeaderMap, header::USER_AGENT};

/// The longest `User-Agent` kept; anything longer is cut, so a client cannot bloat documents.
const MAX_USER_AGENT_CHARS: usize = 512;

/// The requesting client, as recorded on sessions and security events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientInfo {
    /// The client's IP address, or "unknown".
    pub ip: String,
    /// The `User-Agent` header (at most 512 characters), or "".
    pub user_agent: String,
}

impl ClientInfo {
    /// Reads the client from a request: the socket address, or the first `X-Forwarded-For`
    /// entry when `trust_proxy` is set (only safe behind a proxy that overwrites that header).
    pub fn from_request(parts: &http::request::Parts, trust_proxy: bool) -> Self {
        let socket_ip = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.ip().to_string());
        let forwarded_ip = trust_proxy.then(|| forwarded_for(&parts.headers)).flatten();
        let user_agent = parts
            .headers
            .get(USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(MAX_USER_AGENT_CHARS).collect())
            .unwrap_or_default();
        Self { ip: forwarded_ip.or(socket_ip).unwrap_or_else(|| "unknown".into()), user_agent }
    }
}

fn forwarded_for(headers: &HeaderMap) -> Option<String> {
    let first = headers.get("x-forwarded-for")?.to_str().ok()?.split(',').next()?.trim();
    first.parse::<std::net::IpAddr>().ok().map(|ip| ip.to_string())
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

    #[test]
    fn forwarded_for_is_used_only_when_trusted() {
        let request = http::Request::builder()
            .header("x-forwarded-for", "198.51.100.4, 10.0.0.1")
            .extension(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 9))))
            .body(())
            .unwrap();
        let (parts, ()) = request.into_parts();
        assert_eq!(ClientInfo::from_request(&parts, false).ip, "127.0.0.1");
        assert_eq!(ClientInfo::from_request(&parts, true).ip, "198.51.100.4");
    }
}
