//! Points in the server's code where a test can hold a request, act, and let it go on: the way
//! to force one interleaving of two requests instead of hoping for it. Built only for tests and
//! with the `test-util` feature.

use std::sync::{Arc, Mutex};

use tokio::sync::Barrier;

/// A place one request can be held at. Unarmed, passing it costs a lock and nothing else.
#[derive(Debug, Clone, Default)]
pub struct Checkpoint(Arc<Mutex<Option<Armed>>>);

/// An armed checkpoint: the next request to pass it waits for [`Armed::release`].
#[derive(Debug, Clone)]
pub struct Armed {
    reached: Arc<Barrier>,
    released: Arc<Barrier>,
}

impl Checkpoint {
    /// Arms the checkpoint for the next request that passes it.
    pub fn arm(&self) -> Armed {
        let armed = Armed { reached: Arc::new(Barrier::new(2)), released: Arc::new(Barrier::new(2)) };
        *self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(armed.clone());
        armed
    }

    /// Called by the server code: holds the request here if the checkpoint is armed.
    pub async fn pass(&self) {
        let armed = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take();
        if let Some(armed) = armed {
            armed.reached.wait().await;
            armed.released.wait().await;
        }
    }
}

impl Armed {
    /// Waits until a request is held at the checkpoint.
    pub async fn reached(&self) {
        self.reached.wait().await;
    }

    /// Lets the held request go on.
    pub async fn release(&self) {
        self.released.wait().await;
    }
}
