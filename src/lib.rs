//! sessionguard: sign-in sessions that end for real.
//!
//! The crate builds twice: with `ssr` as the axum server binary, and with `hydrate` as the
//! WebAssembly that brings the server-rendered pages to life in the browser.
//!
//! Modules and their one-way imports: `server → app → layout, pages → components,
//! current_user → api → (ssr) state → auth → db → sessionguard_store`; `error`, `config`, `clock`,
//! `routes`, `model`, `notice`, `format` and `validation` are leaves anyone may use.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[cfg(feature = "ssr")]
pub mod admin;
pub mod api;
pub mod app;
#[cfg(feature = "ssr")]
pub mod cli;
mod components;
mod current_user;
pub mod error;
pub mod format;
mod layout;
pub mod model;
pub mod notice;
mod pages;
pub mod routes;
mod session_watch;
pub mod validation;

#[cfg(feature = "ssr")]
pub mod auth;
#[cfg(feature = "test-util")]
pub mod checkpoint;
#[cfg(feature = "ssr")]
pub mod clock;
#[cfg(feature = "ssr")]
pub mod config;
#[cfg(feature = "ssr")]
pub mod cookie;
#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod live;
#[cfg(feature = "ssr")]
pub mod logging;
#[cfg(feature = "ssr")]
pub mod server;
#[cfg(feature = "ssr")]
pub mod state;
#[cfg(feature = "ssr")]
pub mod telemetry;

/// Entry point of the WebAssembly bundle: hydrates the server-rendered page, then marks
/// `<body data-hydrated="true">` so tests (and curious people) can tell it is interactive.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
    if let Some(body) = leptos::prelude::document().body() {
        let _ = body.set_attribute("data-hydrated", "true");
    }
}
