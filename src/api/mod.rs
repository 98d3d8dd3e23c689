//! Server functions: the application's whole API, callable from pages and over HTTP.

pub mod status;
