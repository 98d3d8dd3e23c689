//! The server's log: an ended session's cookie is routine, a malformed one is worth a warning.

// A failed unwrap is a failed test: that is what tests are for.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::{
    io::Write,
    sync::{Arc, Mutex},
};

use axum::http::StatusCode;
use common::http::Device;
use sessionguard::{cookie::cookie_name, logging::log_filter, server::router};
use tracing_subscriber::fmt::MakeWriter;

/// Everything the subscriber writes, kept for the test to read.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Self;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn an_ended_sessions_cookie_is_not_a_warning_but_a_malformed_cookie_is() {
    let db = common::fresh_database().await;
    let state = common::app_state(db.clone());
    let name = cookie_name(&state.config).to_owned();
    let app = router(state);
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt().with_env_filter(log_filter(None)).with_ansi(false).with_writer(captured.clone()).finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    // Log out, then come back with the old cookie, as a second tab or a back button does.
    let mut device = Device::new(app.clone(), "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0");
    let answer = device.call("register", &[("email", "log-noise@example.com"), ("password", "correct horse battery")]).await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    let old_cookie = device.cookie.clone().unwrap();
    assert_eq!(device.call("logout", &[]).await.status, StatusCode::OK);
    let answer = device.holding(&old_cookie).page("/").await;
    assert_eq!(answer.status, StatusCode::OK);
    let log = captured.text();
    assert!(!log.contains("WARN"), "an ended session's cookie after a logout is routine, not a warning:\n{log}");

    // A cookie that is no session id at all is worth a warning.
    let answer = device.holding(&format!("{name}=not-a-session-id")).page("/").await;
    assert_eq!(answer.status, StatusCode::OK);
    let log = captured.text();
    assert!(log.contains("WARN") && log.contains("malformed session id"), "a malformed cookie is suspicious:\n{log}");
}
