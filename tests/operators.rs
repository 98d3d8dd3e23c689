//! The operator's command line, black-box through the binary (`sessionguard sessions …`,
//! `users …`) against the database an app instance serves, and what users and their open tabs
//! see afterwards.

// A failed unwrap is a failed test: that is what tests are for.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "common/live_app.rs"]
mod live_app;

use std::{process::Output, time::Duration};

use axum::http::StatusCode;
use live_app::{Next, PASSWORD, Stream, instance, signed_in};
use mongodb::{
    Database,
    bson::{Document, doc},
};

/// Runs the binary with `args` on the database `db` (or on `uri` when given), as an operator
/// would in a shell on a server.
async fn sessionguard(db: &Database, uri: Option<&str>, args: &[&str]) -> Output {
    let uri = uri.map_or_else(common::mongodb_uri, str::to_owned);
    let (name, args): (String, Vec<String>) = (db.name().to_owned(), args.iter().map(|a| (*a).to_owned()).collect());
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_sessionguard"))
            .args(&args)
            .env("MONGODB_URI", uri)
            .env("MONGODB_DB", name)
            .env("MONGODB_TIMEOUT_MS", "1000")
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

async fn handles_of(db: &common::TestDatabase, email: &str) -> Vec<String> {
    db.sessions_of(email).await.iter().map(|s| s.get_str("handle").unwrap().to_owned()).collect()
}

#[tokio::test]
async fn the_cli_lists_exactly_the_accounts_live_sessions_and_explains_every_failure() {
    let db = common::fresh_database().await;
    let (_, app, _) = instance(&db, |_| {}).await;
    let _laptop = signed_in(&app, "alice@example.com", true).await;
    let _phone = signed_in(&app, "alice@example.com", false).await;
    let _bob = signed_in(&app, "bob@example.com", true).await;

    let listed = sessionguard(&db, None, &["sessions", "list", "Alice@Example.com", "--json"]).await;
    assert!(listed.status.success(), "{}", stderr(&listed));
    let json: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    let rows = json["sessions"].as_array().unwrap();
    let mut listed_handles: Vec<String> = rows.iter().map(|r| r["handle"].as_str().unwrap().to_owned()).collect();
    let mut stored = handles_of(&db, "alice@example.com").await;
    listed_handles.sort();
    stored.sort();
    assert_eq!(listed_handles, stored, "alice's two sessions, and not bob's");
    assert!(
        rows.iter().all(|r| r["device"] == "Firefox on Windows 10" && r["ip"] == "198.51.100.7" && r["signed_in_ms"].is_i64()),
        "{json}"
    );
    assert!(rows[0]["signed_in_ms"].as_i64() >= rows[1]["signed_in_ms"].as_i64(), "newest first");

    let table = sessionguard(&db, None, &["sessions", "list", "alice@example.com"]).await;
    assert!(table.status.success());
    assert!(stored.iter().all(|handle| stdout(&table).contains(handle.as_str())), "{}", stdout(&table));

    let unknown = sessionguard(&db, None, &["sessions", "end", "nobody@example.com"]).await;
    assert_eq!(unknown.status.code(), Some(1));
    assert!(stderr(&unknown).contains("nobody@example.com"), "{}", stderr(&unknown));
    let usage = sessionguard(&db, None, &["sessions", "frobnicate"]).await;
    assert_eq!(usage.status.code(), Some(2));
    assert!(stderr(&usage).contains("usage: sessionguard"));
    let help = sessionguard(&db, None, &["--help"]).await;
    assert!(help.status.success() && stdout(&help).contains("users disable EMAIL"));
    let down = sessionguard(&db, Some(&format!("mongodb://127.0.0.1:{}", free_port())), &["sessions", "list", "alice@example.com"]).await;
    assert_eq!(down.status.code(), Some(3), "{}", stderr(&down));
    assert!(stderr(&down).contains("MONGODB_URI"), "a sentence that says what to fix: {}", stderr(&down));
    assert_eq!(db.sessions_of("alice@example.com").await.len(), 2, "nothing above ended anything");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[tokio::test]
async fn ending_one_session_by_handle_ends_exactly_it_and_its_open_tab_hears_ended_by_admin() {
    let db = common::fresh_database().await;
    let (_, app, _) = instance(&db, |_| {}).await;
    let laptop = signed_in(&app, "alice@example.com", true).await;
    let phone = signed_in(&app, "alice@example.com", false).await;
    let laptop_key = common::session_key(laptop.cookie.as_deref().unwrap());
    let laptop_handle = db.session_of_cookie(laptop.cookie.as_deref().unwrap()).await.unwrap().get_str("handle").unwrap().to_owned();
    let mut laptop_tab = Stream::open(&app, &laptop).await.unwrap();
    let mut phone_tab = Stream::open(&app, &phone).await.unwrap();
    laptop_tab.settle().await;
    phone_tab.settle().await;

    let started = std::time::Instant::now();
    let ended = sessionguard(&db, None, &["sessions", "end", "alice@example.com", "--handle", &laptop_handle]).await;
    assert!(ended.status.success(), "{}", stderr(&ended));
    assert_eq!(stdout(&ended).trim(), "ended 1 session of alice@example.com");
    assert_eq!(laptop_tab.next_besides_list_changes(Duration::from_secs(2)).await, Next::ended("ended_by_admin"));
    assert!(started.elapsed() < Duration::from_secs(4), "the binary and the tab's news took {:?}", started.elapsed());
    assert_eq!(phone_tab.next_besides_list_changes(Duration::from_millis(500)).await, Next::Quiet, "the phone was not ended");

    let sessions = db.collection::<Document>("sessions");
    assert_eq!(sessions.count_documents(doc! { "_id": laptop_key }).await.unwrap(), 0);
    assert!(db.session_of_cookie(phone.cookie.as_deref().unwrap()).await.is_some(), "exactly that one");
    let recorded = db.events_of("alice@example.com", "admin_end").await;
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].get_i64("sessions_ended").unwrap(), 1);

    let again = sessionguard(&db, None, &["sessions", "end", "alice@example.com", "--handle", &laptop_handle]).await;
    assert_eq!(again.status.code(), Some(1), "an ended handle ends nothing and says so");
    assert!(stderr(&again).contains(&laptop_handle));
}

#[tokio::test]
async fn disabling_ends_every_session_and_refuses_sign_in_with_403_until_enabled() {
    let db = common::fresh_database().await;
    let (_, app, _) = instance(&db, |_| {}).await;
    let laptop = signed_in(&app, "alice@example.com", true).await;
    let _phone = signed_in(&app, "alice@example.com", false).await;
    let mut laptop_tab = Stream::open(&app, &laptop).await.unwrap();
    laptop_tab.settle().await;

    let disabled = sessionguard(&db, None, &["users", "disable", "alice@example.com"]).await;
    assert!(disabled.status.success(), "{}", stderr(&disabled));
    assert_eq!(stdout(&disabled).trim(), "disabled alice@example.com; ended 2 sessions");
    assert!(db.sessions_of("alice@example.com").await.is_empty());
    assert_eq!(laptop_tab.next_besides_list_changes(Duration::from_secs(2)).await, Next::ended("ended_by_admin"));

    let mut device = common::http::Device::new(app.clone(), live_app::FIREFOX);
    let refused = device.call("login", &[("email", "alice@example.com"), ("password", PASSWORD)]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(refused.json["error"], "AccountDisabled");
    assert_eq!(refused.message(), "This account is disabled. Contact support.");
    assert!(refused.set_cookies().iter().all(|c| !common::http::is_session_cookie(c) || c.contains("Max-Age=0")), "no session cookie");
    let guessed = device.call("login", &[("email", "alice@example.com"), ("password", "not the password")]).await;
    assert_eq!(guessed.status, StatusCode::UNAUTHORIZED, "without the password, a disabled account looks like any other");
    assert!(db.sessions_of("alice@example.com").await.is_empty(), "no sign-in started a session");

    let enabled = sessionguard(&db, None, &["users", "enable", "alice@example.com"]).await;
    assert!(enabled.status.success(), "{}", stderr(&enabled));
    let back = device.call("login", &[("email", "alice@example.com"), ("password", PASSWORD)]).await;
    assert_eq!(back.status, StatusCode::OK, "{back:?}");
    assert_eq!(db.sessions_of("alice@example.com").await.len(), 1);
}

/// The server binary, serving on its own addresses with metrics on and JSON logs, its log
/// captured; killed when dropped.
struct Served {
    child: std::process::Child,
    site: std::net::SocketAddr,
    metrics: std::net::SocketAddr,
    log: std::path::PathBuf,
}

impl Served {
    async fn start(db: &Database) -> Self {
        let (site, metrics) = (([127, 0, 0, 1], free_port()).into(), ([127, 0, 0, 1], free_port()).into());
        let log = std::env::temp_dir().join(format!("sessionguard-operators-{}.log", db.name()));
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_sessionguard"))
            .env("MONGODB_URI", common::mongodb_uri())
            .env("MONGODB_DB", db.name())
            .env("SITE_ADDR", format!("{site}"))
            .env("PUBLIC_ORIGIN", format!("http://{site}"))
            .env("METRICS_ADDR", format!("{metrics}"))
            .env("COOKIE_SECURE", "false")
            .env("LOG_FORMAT", "json")
            .env("RUST_LOG", "info")
            .env("LEPTOS_OUTPUT_NAME", "sessionguard")
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .unwrap();
        let served = Self { child, site, metrics, log };
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while get(served.site, "/healthz").await.0 != 200 {
            assert!(std::time::Instant::now() < deadline, "the server did not answer /healthz within 30 s");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        served
    }

    /// A form POST to the API as a same-origin browser would send it: status, `Set-Cookie`
    /// values, body.
    async fn post(&self, endpoint: &str, form: &str, cookie: Option<&str>) -> (u16, Vec<String>, String) {
        let mut headers = vec![
            ("Origin".to_owned(), format!("http://{}", self.site)),
            ("Content-Type".to_owned(), "application/x-www-form-urlencoded".to_owned()),
            ("Accept".to_owned(), "application/json".to_owned()),
        ];
        if let Some(cookie) = cookie {
            headers.push(("Cookie".to_owned(), cookie.to_owned()));
        }
        request(self.site, "POST", &format!("/api/{endpoint}"), headers, form.to_owned()).await
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

async fn get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    let (status, _, body) = request(addr, "GET", path, Vec::new(), String::new()).await;
    (status, body)
}

/// One HTTP/1.1 exchange over a plain socket (the test talks to a real listening process).
async fn request(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    headers: Vec<(String, String)>,
    body: String,
) -> (u16, Vec<String>, String) {
    let method = method.to_owned();
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let Ok(mut stream) = std::net::TcpStream::connect(addr) else { return (0, Vec::new(), String::new()) };
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        stream.write_all(format!("{head}\r\n{body}").as_bytes()).unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
        let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        let cookies = head
            .lines()
            .filter_map(|l| l.strip_prefix("set-cookie: ").or_else(|| l.strip_prefix("Set-Cookie: ")))
            .map(|c| c.split(';').next().unwrap_or_default().to_owned())
            .collect();
        (status, cookies, body.to_owned())
    })
    .await
    .unwrap()
}

/// The value of the metric line that starts with `series` (name and labels), or 0 when absent.
fn metric(text: &str, series: &str) -> f64 {
    text.lines().find_map(|l| l.strip_prefix(series)).and_then(|v| v.trim().parse().ok()).unwrap_or(0.0)
}

#[tokio::test]
async fn metrics_count_sign_ins_and_admin_endings_on_their_own_address_and_every_log_line_is_json() {
    let db = common::fresh_database().await;
    let served = Served::start(&db).await;
    let (status, _, body) = served.post("register", "email=alice%40example.com&password=correct+horse+battery", None).await;
    assert_eq!(status, 200, "{body}");
    let (status, _, _) = served.post("login", "email=alice%40example.com&password=wrong+horse+battery", None).await;
    assert_eq!(status, 401);
    let (status, cookies, body) = served.post("login", "email=alice%40example.com&password=correct+horse+battery", None).await;
    assert_eq!(status, 200, "{body}");
    let cookie = cookies.into_iter().find(|c| c.starts_with("sessionguard=")).unwrap();
    let (status, _, _) = served.post("list_sessions", "", Some(&cookie)).await;
    assert_eq!(status, 200);
    let (status, _, _) = served.post("login", "email=nobody%40example.com&password=correct+horse+battery", None).await;
    assert_eq!(status, 401, "the client cannot tell an unknown account from a wrong password");
    let ended = sessionguard(&db, None, &["sessions", "end", "alice@example.com"]).await;
    assert!(ended.status.success(), "{}", stderr(&ended));

    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let text = loop {
        let (status, text) = get(served.metrics, "/metrics").await;
        assert_eq!(status, 200);
        if metric(&text, "sessionguard_sessions_ended_total{reason=\"admin\"}") >= 2.0 || std::time::Instant::now() > deadline {
            break text;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(metric(&text, "sessionguard_sign_ins_total{outcome=\"ok\"}"), 1.0, "{text}");
    assert_eq!(metric(&text, "sessionguard_sign_ins_total{outcome=\"wrong_password\"}"), 1.0);
    assert_eq!(metric(&text, "sessionguard_sign_ins_total{outcome=\"unknown_account\"}"), 1.0, "operators can");
    assert_eq!(metric(&text, "sessionguard_sessions_ended_total{reason=\"admin\"}"), 2.0, "the registration's and the sign-in's sessions");
    assert!(metric(&text, "sessionguard_db_commands_total{command=\"insert\"}") >= 1.0);
    assert!(
        text.contains("sessionguard_http_request_duration_seconds_count{route=\"/api/login\",status=\"2xx\"}"),
        "by route pattern and status class: {text}"
    );
    assert!(!text.contains("route=\"/api/login?"), "never the raw path");
    assert_eq!(metric(&text, "sessionguard_live_feed_mode{mode=\"change_stream\"}"), 1.0);
    assert_eq!(get(served.site, "/metrics").await.0, 404, "not on the public address");

    let log = std::fs::read_to_string(&served.log).unwrap();
    let lines: Vec<serde_json::Value> =
        log.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"))).collect();
    let requests: Vec<&serde_json::Value> = lines.iter().filter(|l| l["target"] == "sessionguard::request").collect();
    assert!(requests.len() >= 5, "{log}");
    let listed = requests
        .iter()
        .find(|l| l["route"].as_str().is_some_and(|r| r.starts_with("/api")) && l["user_id"].is_string())
        .expect("a signed-in request names its user");
    assert_eq!(listed["status"], 200);
    assert!(listed["latency_ms"].is_number());
    let token = cookie.split_once('=').unwrap().1;
    assert!(
        !log.contains(token) && !log.contains("correct horse") && !log.contains("correct+horse"),
        "no token and no password in the log"
    );
}

#[tokio::test]
async fn a_sign_in_past_its_password_check_when_the_account_is_disabled_gets_403_and_leaves_no_session() {
    let db = common::fresh_database().await;
    let (state, app, _) = instance(&db, |_| {}).await;
    let _laptop = signed_in(&app, "alice@example.com", true).await;
    // The sign-in has checked the password against the account as it was (enabled); then the
    // operator disables it, which ends every session that exists at that moment.
    let held = state.after_password_check.arm();
    let mut late = common::http::Device::new(app.clone(), live_app::FIREFOX);
    let sign_in = tokio::spawn(async move {
        let answer = late.call("login", &[("email", "alice@example.com"), ("password", PASSWORD)]).await;
        (answer, late.cookie)
    });
    held.reached().await;
    let disabled = sessionguard(&db, None, &["users", "disable", "alice@example.com"]).await;
    assert!(disabled.status.success(), "{}", stderr(&disabled));
    held.release().await;

    let (answer, cookie) = sign_in.await.unwrap();
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "its re-check saw the account disabled: {answer:?}");
    assert!(cookie.is_none(), "and it hands out no cookie");
    assert!(db.sessions_of("alice@example.com").await.is_empty(), "the session it wrote was ended again");
}

#[tokio::test]
async fn a_disable_whose_ending_fails_says_so_leaves_the_sessions_powerless_and_finishes_when_run_again() {
    let db = common::fresh_database().await;
    let (state, app, _) = instance(&db, |_| {}).await;
    let mut laptop = signed_in(&app, "alice@example.com", true).await;
    let admin = sessionguard::admin::Admin::new(&db, &state.config);
    // Every attempt to end the sessions fails; the flag itself is written.
    let failing = common::fail_commands(&db, &["delete"], 64, doc! { "times": 3 }).await;
    let err = admin.disable("alice@example.com").await.unwrap_err();
    failing.off().await;
    assert!(matches!(err, sessionguard::admin::AdminError::DisabledNotEnded { .. }), "{err:?}");
    assert!(err.to_string().contains("run the command again"), "{err}");
    assert_eq!(sessionguard::cli::CliError::from(err).exit_code(), std::process::ExitCode::from(3));
    assert_eq!(db.sessions_of("alice@example.com").await.len(), 1, "the ending did not happen");

    let change = laptop.call("change_password", &[("current", PASSWORD), ("new", "a brand new password")]).await;
    assert_eq!(change.status, StatusCode::FORBIDDEN, "a session that outlived the disable changes nothing: {change:?}");
    assert_eq!(change.json["error"], "AccountDisabled");

    assert_eq!(admin.disable("alice@example.com").await.unwrap(), 1, "run again, it finishes the job");
    assert!(db.sessions_of("alice@example.com").await.is_empty());
}
