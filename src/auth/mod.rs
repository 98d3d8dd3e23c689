//! Accounts, passwords, sign-in throttling and security events. Server-only; the server
//! functions in `api` call into it. Data access returns the shared [`DbError`](crate::db::DbError).
#![deny(missing_docs)]

mod client;
mod events;
mod known_devices;
mod password;
mod throttle;
mod users;

pub use client::{ClientInfo, ForwardedForError, device_summary};
pub use events::SecurityEvents;
pub use known_devices::{DeviceKey, KNOWN_DEVICE_WINDOW, KnownDevices};
pub use password::{PasswordError, PasswordHashString, Passwords};
pub use throttle::{LoginThrottle, ThrottleVerdict};
pub use users::{SignInState, StoredAccount, User, Users};
