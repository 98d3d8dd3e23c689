//! A tiny browser for the in-process router: one cookie jar, same-origin headers by default.

use std::net::SocketAddr;

use axum::{
    Router,
    body::Body,
    extract::ConnectInfo,
    http::{HeaderMap, Request, StatusCode, header},
};
use http_body_util::BodyExt;
use tower::ServiceExt;

/// The host the in-process tests pretend to serve.
pub const HOST: &str = "sessionguard.test";

/// One answer: status, headers, the body as text, and as JSON (or `Null`).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
    pub json: serde_json::Value,
}

impl Answer {
    /// The `Set-Cookie` headers of this answer.
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers.get_all(header::SET_COOKIE).iter().filter_map(|v| v.to_str().ok().map(str::to_owned)).collect()
    }

    /// Whether this answer told the browser to delete the session cookie, under either name.
    pub fn removes_cookie(&self) -> bool {
        self.set_cookies().iter().any(|c| is_session_cookie(c) && c.contains("Max-Age=0"))
    }

    /// The message of an error answer.
    pub fn message(&self) -> &str {
        self.json["message"].as_str().unwrap_or_default()
    }
}

/// One device: its cookie, address and browser.
#[derive(Clone)]
pub struct Device {
    app: Router,
    pub cookie: Option<String>,
    pub ip: SocketAddr,
    pub user_agent: String,
}

impl Device {
    pub fn new(app: Router, user_agent: &str) -> Self {
        Self { app, cookie: None, ip: SocketAddr::from(([192, 0, 2, 10], 40000)), user_agent: user_agent.into() }
    }

    /// The same device talking to another router (another app instance on the same cookie).
    pub fn on(&self, app: Router) -> Self {
        Self { app, ..self.clone() }
    }

    /// The same device holding `cookie` (`name=value`) instead of its own: for replaying a
    /// cookie after the server told the browser to drop it, as a thief who copied it would.
    pub fn holding(&self, cookie: &str) -> Self {
        Self { cookie: Some(cookie.to_owned()), ..self.clone() }
    }

    /// POSTs a form to `/api/<endpoint>` from this site.
    pub async fn call(&mut self, endpoint: &str, form: &[(&str, &str)]) -> Answer {
        self.call_with(endpoint, form, &[("origin", &format!("http://{HOST}"))]).await
    }

    /// POSTs a form with the given extra headers (and no default Origin).
    pub async fn call_with(&mut self, endpoint: &str, form: &[(&str, &str)], headers: &[(&str, &str)]) -> Answer {
        let body = form.iter().map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v))).collect::<Vec<_>>().join("&");
        let mut request = Request::post(format!("/api/{endpoint}"))
            .header(header::HOST, HOST)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json")
            .header(header::USER_AGENT, &self.user_agent);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send(request.body(Body::from(body)).unwrap()).await
    }

    /// POSTs a form to `/api/<endpoint>` as a browser without JavaScript submits one from the
    /// sign-in page: it accepts HTML, so the server answers with a redirect.
    pub async fn submit(&mut self, endpoint: &str, form: &[(&str, &str)]) -> Answer {
        self.submit_from("/login", endpoint, form).await
    }

    /// POSTs a form to `/api/<endpoint>` as a browser without JavaScript submits one from the
    /// page at `page` (path and query), which it names in `Referer`.
    pub async fn submit_from(&mut self, page: &str, endpoint: &str, form: &[(&str, &str)]) -> Answer {
        let body = form.iter().map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v))).collect::<Vec<_>>().join("&");
        let request = Request::post(format!("/api/{endpoint}"))
            .header(header::HOST, HOST)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "text/html")
            .header(header::ORIGIN, format!("http://{HOST}"))
            .header(header::REFERER, format!("http://{HOST}{page}"))
            .header(header::USER_AGENT, &self.user_agent);
        self.send(request.body(Body::from(body)).unwrap()).await
    }

    /// GETs the page at `path` (and query) as a browser navigation would.
    pub async fn page(&mut self, path: &str) -> Answer {
        let request =
            Request::get(path).header(header::HOST, HOST).header(header::ACCEPT, "text/html").header(header::USER_AGENT, &self.user_agent);
        self.send(request.body(Body::empty()).unwrap()).await
    }

    /// Sends a request with this device's cookie and address, and keeps the cookie it gets.
    pub async fn send(&mut self, mut request: Request<Body>) -> Answer {
        if let Some(cookie) = &self.cookie {
            request.headers_mut().insert(header::COOKIE, cookie.parse().unwrap());
        }
        request.extensions_mut().insert(ConnectInfo(self.ip));
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
        let answer = Answer { status, headers, text: String::from_utf8_lossy(&bytes).into_owned(), json };
        for set in answer.set_cookies() {
            let pair = set.split(';').next().unwrap_or_default().to_owned();
            if set.contains("Max-Age=0") {
                self.cookie = None;
            } else if is_session_cookie(&pair) {
                self.cookie = Some(pair);
            }
        }
        answer
    }
}

/// Whether a `Set-Cookie` value (or a `name=value` pair) is the session cookie, in
/// development (`sessionguard`) or secure (`__Host-sessionguard`) form.
pub fn is_session_cookie(set_cookie: &str) -> bool {
    set_cookie.starts_with("sessionguard=") || set_cookie.starts_with("__Host-sessionguard=")
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
