//! The store behind `tower-sessions`' own session layer, route by route: the behaviours of
//! tower-sessions 0.15's shared store test suite (`route_tests!` in its `tests/common`, MIT),
//! re-expressed here, with the `sessions` documents checked after each request.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::{Router, body::Body, routing::get};
use http::{Request, Response, StatusCode, header};
use http_body_util::BodyExt;
use mongodb::bson::{Document, doc};
use sessionguard_store::{DEFAULT_COLLECTION, MongoSessionStore};
use time::Duration;
use tower::ServiceExt;
use tower_sessions::{
    Expiry, Session, SessionManagerLayer,
    cookie::{Cookie, SameSite},
};

/// An app whose routes each do one thing to the session, behind the default session layer
/// (cookie `id`, HttpOnly, SameSite=Strict, Secure, path `/`), on a fresh database.
async fn app(expiry: Option<Expiry>) -> (Router, common::TestDatabase) {
    let db = common::fresh_database().await;
    let store = MongoSessionStore::new(&db);
    store.migrate().await.unwrap();
    let mut layer = SessionManagerLayer::new(store);
    if let Some(expiry) = expiry {
        layer = layer.with_expiry(expiry);
    }
    let router = Router::new()
        .route("/", get(|_: Session| async { "hello" }))
        .route("/insert", get(|session: Session| async move { session.insert("answer", 42).await.unwrap() }))
        .route("/get", get(|session: Session| async move { format!("{:?}", session.get::<u32>("answer").await.unwrap()) }))
        .route("/remove", get(|session: Session| async move { session.remove_value("answer").await.unwrap().is_some().to_string() }))
        .route("/cycle", get(|session: Session| async move { session.cycle_id().await.unwrap() }))
        .route("/flush", get(|session: Session| async move { session.flush().await.unwrap() }))
        .layer(layer);
    (router, db)
}

fn one_hour() -> Option<Expiry> {
    Some(Expiry::OnInactivity(Duration::hours(1)))
}

async fn call(app: &Router, path: &str, cookie: Option<&Cookie<'_>>) -> Response<Body> {
    let mut request = Request::builder().uri(path);
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie.encoded().to_string());
    }
    app.clone().oneshot(request.body(Body::empty()).unwrap()).await.unwrap()
}

fn session_cookie(response: &Response<Body>) -> Option<Cookie<'static>> {
    let value = response.headers().get(header::SET_COOKIE)?.to_str().unwrap().to_owned();
    Some(Cookie::parse_encoded(value).unwrap())
}

async fn text(response: Response<Body>) -> String {
    String::from_utf8(response.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap()
}

async fn stored(db: &common::TestDatabase) -> Vec<Document> {
    use futures_util::TryStreamExt;
    db.collection::<Document>(DEFAULT_COLLECTION).find(doc! {}).await.unwrap().try_collect().await.unwrap()
}

#[tokio::test]
async fn a_request_that_leaves_the_session_alone_gets_no_cookie_and_stores_nothing() {
    let (app, db) = app(one_hour()).await;
    let response = call(&app, "/", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(session_cookie(&response).is_none());
    assert!(stored(&db).await.is_empty());
}

#[tokio::test]
async fn an_unknown_well_formed_cookie_is_never_adopted() {
    let (app, db) = app(one_hour()).await;
    let forged = Cookie::new("id", "AAAAAAAAAAAAAAAAAAAAAA");
    let response = call(&app, "/insert", Some(&forged)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let issued = session_cookie(&response).unwrap();
    assert_ne!(issued.value(), forged.value(), "a session id the server never issued is replaced");
    assert_eq!(stored(&db).await.len(), 1);
}

#[tokio::test]
async fn a_malformed_cookie_is_ignored_and_a_fresh_session_starts() {
    let (app, db) = app(one_hour()).await;
    let response = call(&app, "/insert", Some(&Cookie::new("id", "malformed"))).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_ne!(session_cookie(&response).unwrap().value(), "malformed");
    assert_eq!(stored(&db).await.len(), 1);
}

#[tokio::test]
async fn a_new_session_gets_a_strict_http_only_secure_cookie_and_a_document_keyed_by_its_hash() {
    let (app, db) = app(one_hour()).await;
    let response = call(&app, "/insert", None).await;
    let cookie = session_cookie(&response).unwrap();
    assert_eq!(cookie.name(), "id");
    assert_eq!(cookie.http_only(), Some(true));
    assert_eq!(cookie.same_site(), Some(SameSite::Strict));
    assert_eq!(cookie.secure(), Some(true));
    assert_eq!(cookie.path(), Some("/"));
    assert!(cookie.max_age().is_some_and(|age| age <= Duration::hours(1)));
    let documents = stored(&db).await;
    assert_eq!(documents.len(), 1);
    assert_ne!(documents[0].get_str("_id").unwrap(), cookie.value(), "the token itself is never stored");
}

#[tokio::test]
async fn a_session_cookie_without_expiry_carries_no_max_age() {
    let (app, _db) = app(None).await;
    let cookie = session_cookie(&call(&app, "/insert", None).await).unwrap();
    assert_eq!(cookie.max_age(), None, "ends with the browser session; the store's policy still ends it on the server");
}

#[tokio::test]
async fn a_value_reads_back_on_the_next_request() {
    let (app, _db) = app(one_hour()).await;
    let cookie = session_cookie(&call(&app, "/insert", None).await).unwrap();
    let response = call(&app, "/get", Some(&cookie)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(text(response).await, "Some(42)");
}

#[tokio::test]
async fn a_value_never_set_reads_as_none() {
    let (app, db) = app(one_hour()).await;
    assert_eq!(text(call(&app, "/get", None).await).await, "None");
    assert!(stored(&db).await.is_empty());
}

#[tokio::test]
async fn removing_the_last_value_leaves_none() {
    let (app, _db) = app(one_hour()).await;
    let cookie = session_cookie(&call(&app, "/insert", None).await).unwrap();
    assert_eq!(text(call(&app, "/remove", Some(&cookie)).await).await, "true");
    assert_eq!(text(call(&app, "/get", Some(&cookie)).await).await, "None");
}

#[tokio::test]
async fn cycling_the_id_keeps_the_data_and_the_old_cookie_is_worth_nothing() {
    let (app, db) = app(one_hour()).await;
    let first = session_cookie(&call(&app, "/insert", None).await).unwrap();
    let second = session_cookie(&call(&app, "/cycle", Some(&first)).await).unwrap();
    assert_ne!(first.value(), second.value());
    assert_eq!(text(call(&app, "/get", Some(&second)).await).await, "Some(42)");
    assert_eq!(stored(&db).await.len(), 1, "the old document is deleted, not left behind");
    assert_eq!(text(call(&app, "/get", Some(&first)).await).await, "None", "the old id finds nothing");
}

#[tokio::test]
async fn flush_sends_a_removal_cookie_and_deletes_the_document() {
    let (app, db) = app(one_hour()).await;
    let cookie = session_cookie(&call(&app, "/insert", None).await).unwrap();
    let removal = session_cookie(&call(&app, "/flush", Some(&cookie)).await).unwrap();
    assert_eq!(removal.value(), "");
    assert_eq!(removal.max_age(), Some(Duration::ZERO));
    assert!(stored(&db).await.is_empty());
    assert_eq!(text(call(&app, "/get", Some(&cookie)).await).await, "None", "the flushed id finds nothing");
}
