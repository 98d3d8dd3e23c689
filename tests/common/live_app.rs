//! Live sign-out from a tab's side: an app instance with its feed running, signed-in devices,
//! and a tab's event stream (`GET /api/session_events`) read event by event, telling apart an
//! event, silence, the end of the stream and a broken stream.
//!
//! Used by `tests/live.rs` and `tests/live_races.rs` as `#[path = "common/live_app.rs"] mod live_app;`
//! next to `mod common;`.
#![allow(dead_code)]

use std::{
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{
    Router,
    body::Body,
    http::{HeaderMap, Request, StatusCode, header},
};
use http_body_util::BodyExt;
use mongodb::Database;
use sessionguard::{
    clock::SystemClock,
    config::Config,
    live::feed::{self, FeedMode},
    server::router,
    state::AppState,
};
use tower::ServiceExt;

use crate::common::{
    self,
    http::{Device, HOST},
};

pub const PASSWORD: &str = "correct horse battery";
pub const FIREFOX: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0";

/// An app instance with its live feed running on `db`.
pub async fn instance(db: &Database, adjust: impl FnOnce(&mut Config)) -> (AppState, Router, FeedMode) {
    let mut config = common::test_config(db);
    adjust(&mut config);
    let state = common::app_state_with_clock(db.clone(), config, Arc::new(SystemClock));
    let mode = feed::spawn(state.db.clone(), state.registry.clone(), state.live.clone()).await;
    (state.clone(), router(state), mode)
}

/// A device signed in to `app` as `email` (registering the account first when `register`).
pub async fn signed_in(app: &Router, email: &str, register: bool) -> Device {
    let mut device = Device::new(app.clone(), FIREFOX);
    device.ip = SocketAddr::from(([198, 51, 100, 7], 1));
    let endpoint = if register { "register" } else { "login" };
    let answer = device.call(endpoint, &[("email", email), ("password", PASSWORD)]).await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    device
}

/// What a tab's stream gave within the time allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// A named event: `event:` and `data:`.
    Event(String, String),
    /// Nothing but heartbeats: the stream is open and said nothing.
    Quiet,
    /// The server ended the stream.
    Closed,
    /// The body failed (the connection broke): never what a test expects.
    Broken(String),
}

impl Next {
    /// An `ended` event with `reason` (a snake-case `EndReason`).
    pub fn ended(reason: &str) -> Self {
        Self::Event("ended".into(), format!("\"{reason}\""))
    }

    /// The `sessions` event: the user's list changed.
    pub fn sessions() -> Self {
        Self::Event("sessions".into(), "{}".into())
    }
}

/// A refused stream: its status, headers and JSON body.
#[derive(Debug)]
pub struct Refusal {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub json: serde_json::Value,
}

/// An open event stream, read event by event. Alerts of sign-ins elsewhere (`new_sign_in`)
/// are skipped unless the stream was opened to hear them
/// ([`hearing_sign_ins`](Stream::hearing_sign_ins)): a sign-in a test made just before its tab
/// connected may still be on its way (the polling feed reads once a second), and tests of
/// endings are not about it.
pub struct Stream {
    body: Body,
    text: String,
    hear_sign_ins: bool,
}

impl Stream {
    /// Opens `device`'s stream on `app`.
    pub async fn open(app: &Router, device: &Device) -> Result<Self, StatusCode> {
        Self::try_open(app, device).await.map_err(|refusal| refusal.status)
    }

    /// Opens `device`'s stream on `app`, or says how it was refused.
    pub async fn try_open(app: &Router, device: &Device) -> Result<Self, Refusal> {
        let request = Request::get("/api/session_events")
            .header(header::HOST, HOST)
            .header(header::ACCEPT, "text/event-stream")
            .header(header::COOKIE, device.cookie.clone().unwrap_or_default())
            .body(Body::empty())
            .unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        if response.status() != StatusCode::OK {
            let (status, headers) = (response.status(), response.headers().clone());
            let bytes = response.into_body().collect().await.unwrap().to_bytes();
            let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
            return Err(Refusal { status, headers, json });
        }
        Ok(Self { body: response.into_body(), text: String::new(), hear_sign_ins: false })
    }

    /// This stream, reporting `new_sign_in` events too.
    pub fn hearing_sign_ins(mut self) -> Self {
        self.hear_sign_ins = true;
        self
    }

    /// The next named event, skipping heartbeats, within `limit`; or why there was none.
    pub async fn next(&mut self, limit: Duration) -> Next {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(end) = self.text.find("\n\n") {
                let block: String = self.text.drain(..end + 2).collect();
                let field = |name: &str| block.lines().find_map(|l| l.strip_prefix(name)).map(|v| v.trim().to_owned());
                if let (Some(event), Some(data)) = (field("event:"), field("data:")) {
                    if event == "new_sign_in" && !self.hear_sign_ins {
                        continue;
                    }
                    return Next::Event(event, data);
                }
                continue;
            }
            let Some(left) = deadline.checked_duration_since(Instant::now()) else { return Next::Quiet };
            match tokio::time::timeout(left, self.body.frame()).await {
                Err(_) => return Next::Quiet,
                Ok(None) => return Next::Closed,
                Ok(Some(Err(err))) => return Next::Broken(err.to_string()),
                Ok(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        self.text.push_str(&String::from_utf8_lossy(&data));
                    }
                }
            }
        }
    }

    /// The next event other than a list change, within `limit`.
    pub async fn next_besides_list_changes(&mut self, limit: Duration) -> Next {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next(left).await {
                event if event == Next::sessions() => continue,
                other => return other,
            }
        }
    }

    /// Lets the list changes already on their way pass (the feed gathers changes for 25 ms
    /// after each fetch, so a sign-in a moment ago may still be announced), asserting that
    /// nothing else comes and the stream stays open.
    pub async fn settle(&mut self) {
        loop {
            match self.next(Duration::from_millis(300)).await {
                Next::Quiet => return,
                event => assert_eq!(event, Next::sessions(), "before anything ended, only list changes"),
            }
        }
    }
}
