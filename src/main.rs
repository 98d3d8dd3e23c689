//! The sessionguard server: load configuration, connect to MongoDB, serve; and the operator's
//! commands on the same configuration (`sessionguard --help` lists them, see `cli`).

use std::{process::ExitCode, sync::Arc};

use leptos::config::get_configuration;
use sessionguard::{
    api::sign_in::create_account,
    auth::{Passwords, Users},
    cli::{self, CliError, Command, USAGE},
    clock::SystemClock,
    config::Config,
    db::{self, ensure_indexes},
    live,
    logging::{self, LogFormat},
    server::{router, use_hashed_names},
    state::AppState,
    telemetry::{self, EndingReason},
};
use sessionguard_store::spawn_expired_sweeper;

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = Command::parse(&args);
    logging::init(LogFormat::from_env(std::env::var("LOG_FORMAT").ok().as_deref()), !matches!(command, Ok(Command::Serve)));
    let outcome = match command {
        Ok(Command::Serve) => serve().await.map_err(CliError::Failed),
        Ok(Command::Help) => {
            println!("{USAGE}");
            Ok(())
        }
        Ok(Command::CreateUser { email }) => create_user(&email).await,
        Ok(command) => cli::run(command).await,
        Err(usage) => Err(usage),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("sessionguard: {err}");
            err.exit_code()
        }
    }
}

/// Creates an account for operators; the password is the first line of standard input.
async fn create_user(email: &str) -> Result<(), CliError> {
    let config = Config::load().map_err(|e| CliError::Failed(e.to_string()))?;
    let mut password = String::new();
    std::io::stdin().read_line(&mut password).map_err(|e| CliError::Failed(format!("reading the password from stdin: {e}")))?;
    let password = password.trim_end_matches(['\r', '\n']).to_owned();
    let db = db::connect(&config).await.map_err(|e| CliError::Unavailable(e.to_string()))?;
    ensure_indexes(&db).await?;
    let passwords = Passwords::new(config.hash_concurrency);
    let created = create_account(&Users::new(&db, Arc::new(SystemClock)), &passwords, email, password, None).await;
    let user = created.map_err(|e| {
        if e.status_code().is_server_error() { CliError::Unavailable(e.to_string()) } else { CliError::Failed(e.to_string()) }
    })?;
    println!("created user {} (id {})", user.email, user.id);
    Ok(())
}

async fn serve() -> Result<(), String> {
    let config = Config::load().map_err(|e| e.to_string())?;
    let mut leptos_options = get_configuration(None).map_err(|e| format!("Leptos settings: {e}"))?.leptos_options;
    leptos_options.site_addr = config.site_addr;
    use_hashed_names(&mut leptos_options).map_err(|e| e.to_string())?;

    let db = db::connect(&config).await.map_err(|e| e.to_string())?;
    ensure_indexes(&db).await.map_err(|e| format!("creating MongoDB indexes: {e}"))?;
    let state = AppState::new(leptos_options, config, db, Arc::new(SystemClock));
    if let Some(addr) = state.config.metrics_addr {
        if !addr.ip().is_loopback() {
            tracing::warn!(%addr, "METRICS_ADDR is not a loopback address: keep it off the internet (metrics tell failed sign-ins for unknown emails apart)");
        }
        telemetry::serve(addr, telemetry::install()?, state.live.clone()).await?;
    }
    spawn_expired_sweeper(state.store.clone(), state.config.sweep_interval, |swept| {
        telemetry::sessions_ended(EndingReason::Expired, swept);
    });
    live::feed::spawn(state.db.clone(), state.registry.clone(), state.live.clone()).await;
    if !state.config.cookie_secure {
        tracing::warn!("COOKIE_SECURE=false: the session cookie is sent over plain HTTP; use this for local development only");
    }
    let addr = state.config.site_addr;
    let listener =
        tokio::net::TcpListener::bind(addr).await.map_err(|e| format!("cannot listen on {addr} (set SITE_ADDR to a free address): {e}"))?;
    tracing::info!("listening on http://{addr}; accepting API calls from {}", state.config.public_origin);
    let unfinished = state.unfinished.clone();
    let stopping = Arc::new(tokio::sync::Notify::new());
    let signalled = {
        let stopping = stopping.clone();
        async move {
            shutdown_signal().await;
            stopping.notify_one();
        }
    };
    let serving = axum::serve(listener, router(state).into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(signalled)
        .into_future();
    // Open live streams keep their connections until their sessions end, which may be hours:
    // after the signal, connections get SHUTDOWN_GRACE to close, then the server stops anyway.
    tokio::select! {
        served = serving => served.map_err(|e| format!("server error: {e}"))?,
        () = async { stopping.notified().await; tokio::time::sleep(SHUTDOWN_GRACE).await } => {
            tracing::info!(grace = ?SHUTDOWN_GRACE, "connections still open after the grace period (live streams); closing them");
        }
    }
    // Changes answered after their deadline still run; stopping now would cut them in half.
    unfinished.close();
    if !unfinished.is_empty() {
        tracing::info!(changes = unfinished.len(), "waiting for changes still running to finish");
    }
    unfinished.wait().await;
    Ok(())
}

/// How long open connections may take to close after a shutdown signal.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
