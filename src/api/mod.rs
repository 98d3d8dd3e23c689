//! Server functions: the application's whole API, callable from pages and over HTTP as
//! form-encoded `POST /api/<name>` with JSON answers (DESIGN.md §6).

pub mod account;
pub mod sessions;
pub mod status;

#[cfg(feature = "ssr")]
mod request;
