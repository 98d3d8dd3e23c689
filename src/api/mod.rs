//! Server functions: the application's whole API, callable from pages and over HTTP as
//! form-encoded `POST /api/<name>` with JSON answers (DESIGN.md §6). Each file keeps its
//! server-only helpers in one `mod ssr`.

pub mod account;
pub mod remembered_email;
pub mod rules;
pub mod sessions;
pub mod sign_in;

#[cfg(feature = "ssr")]
mod credentials;
#[cfg(feature = "ssr")]
mod errors;
#[cfg(feature = "ssr")]
mod request;
#[cfg(feature = "ssr")]
mod session_lifecycle;
