//! A plain axum app on this store. `POST /login?name=alice` signs in (a real app checks a
//! password first), `GET /` says who you are, `POST /logout` ends this session and
//! `POST /logout-everywhere` ends every session of the user, both through the registry.
//!
//! ```sh
//! MONGODB_URI=mongodb://127.0.0.1:27017 cargo run -p sessionguard-store --example axum
//! curl -c jar -X POST 'http://127.0.0.1:3000/login?name=alice'
//! curl -b jar http://127.0.0.1:3000/
//! curl -b jar -c jar -X POST http://127.0.0.1:3000/logout-everywhere
//! ```

use std::time::Duration;

use axum::{
    Router,
    extract::{Query, State},
    http::StatusCode,
    routing::{get, post},
};
use serde::Deserialize;
use sessionguard_store::{MongoSessionStore, SessionRegistry, USER_ID_KEY, spawn_expired_sweeper};
use tower_sessions::{Session, SessionManagerLayer};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let uri = std::env::var("MONGODB_URI").unwrap_or_else(|_| "mongodb://127.0.0.1:27017".into());
    let db = mongodb::Client::with_uri_str(&uri).await?.database("sessionguard_example");
    let store = MongoSessionStore::new(&db);
    store.migrate().await?;
    spawn_expired_sweeper(store.clone(), Duration::from_secs(300), |swept| println!("swept {swept} expired sessions"));

    let app = Router::new()
        .route("/", get(who_am_i))
        .route("/login", post(log_in))
        .route("/logout", post(log_out))
        .route("/logout-everywhere", post(log_out_everywhere))
        .with_state(store.registry())
        // Secure cookies need https; this demo serves plain http on localhost.
        .layer(SessionManagerLayer::new(store).with_secure(false));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}

#[derive(Deserialize)]
struct Who {
    name: String,
}

async fn log_in(session: Session, Query(who): Query<Who>) -> Result<String, StatusCode> {
    if session.id().is_some() {
        session.cycle_id().await.map_err(failed)?; // a new id at sign-in: no session fixation
    }
    // The store copies `USER_ID_KEY` to an indexed field: that is what log out everywhere finds.
    session.insert(USER_ID_KEY, &who.name).await.map_err(failed)?;
    Ok(format!("signed in as {}\n", who.name))
}

async fn who_am_i(session: Session) -> Result<String, StatusCode> {
    let user = session.get::<String>(USER_ID_KEY).await.map_err(failed)?;
    Ok(user.map_or_else(|| "not signed in\n".to_owned(), |name| format!("you are {name}\n")))
}

async fn log_out(State(registry): State<SessionRegistry>, session: Session) -> Result<&'static str, StatusCode> {
    if let Some(id) = session.id() {
        // Ended in the database first: the answer proves it. Only then is the cookie dropped.
        registry.end(&id).await.map_err(failed)?;
    }
    session.flush().await.map_err(failed)?;
    Ok("signed out\n")
}

async fn log_out_everywhere(State(registry): State<SessionRegistry>, session: Session) -> Result<String, StatusCode> {
    let Some(user) = session.get::<String>(USER_ID_KEY).await.map_err(failed)? else {
        return Err(StatusCode::UNAUTHORIZED);
    };
    let ended = registry.end_all_for_user(&user).await.map_err(failed)?;
    session.flush().await.map_err(failed)?;
    Ok(format!("ended {} sessions\n", ended.count))
}

/// Every failure here is the database's: say so, and let the user retry.
fn failed(err: impl std::fmt::Display) -> StatusCode {
    eprintln!("session store: {err}");
    StatusCode::SERVICE_UNAVAILABLE
}
