//! What this process sent to MongoDB, counted by command name through the driver's command
//! monitoring: the one place that observes commands, so that a metrics exporter can replace
//! the counting here without touching `connect`.

use std::{collections::BTreeMap, sync::Mutex};

use mongodb::event::{EventHandler, command::CommandEvent};

/// Every command the clients made by [`super::connect`] have started, by command name.
static COMMANDS_STARTED: Mutex<BTreeMap<String, u64>> = Mutex::new(BTreeMap::new());

/// The handler [`super::connect`] installs on every client it makes.
pub(super) fn observer() -> EventHandler<CommandEvent> {
    EventHandler::callback(|event| {
        if let CommandEvent::Started(started) = event {
            let mut counts = COMMANDS_STARTED.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            *counts.entry(started.command_name).or_default() += 1;
        }
    })
}

/// How many commands of each name this process has sent to MongoDB since it started, for
/// `/healthz` and the benchmarks' "round trips per request".
pub fn commands_started() -> BTreeMap<String, u64> {
    COMMANDS_STARTED.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
}
