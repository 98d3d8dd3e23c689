//! Views that take props and hold no server state of their own.

pub mod current_user;
pub mod database_status;
pub mod device_icon;
pub mod form;
pub mod layout;
pub mod notice_banner;
pub mod session_row;
