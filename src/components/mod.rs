//! Views that take props and hold no server state of their own: they never call the server;
//! the pages pass them data, signals and actions.

pub mod credentials_form;
pub mod device_icon;
pub mod email_text;
pub mod form;
pub mod notice_banner;
pub mod session_row;
pub mod sign_in_alert;
