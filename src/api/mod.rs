//! Server functions: the application's whole API, callable from pages and over HTTP as
//! form-encoded `POST /api/<name>` with JSON answers (DESIGN.md §6). Each file keeps its
//! server-only helpers in one `mod ssr`.

pub mod account;
pub mod rules;
pub mod sessions;

#[cfg(feature = "ssr")]
mod request;
