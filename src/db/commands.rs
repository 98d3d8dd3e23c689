//! What this process sends to MongoDB, counted by command name through the driver's command
//! monitoring ([`crate::telemetry::DB_COMMANDS`]): the one place that observes commands.

use mongodb::event::{EventHandler, command::CommandEvent};

use crate::telemetry;

/// The handler [`super::connect`] installs on every client it makes.
pub(super) fn observer() -> EventHandler<CommandEvent> {
    EventHandler::callback(|event| {
        if let CommandEvent::Started(started) = event {
            telemetry::db_command(started.command_name);
        }
    })
}
