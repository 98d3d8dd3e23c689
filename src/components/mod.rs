//! Views that take props and touch no server state.

pub mod database_status;
pub mod layout;
