//! The background task that finishes what failed fits could not: every
//! [`REPAIR_EVERY`], the series whose version is stored but not yet in the
//! shared cache or not yet announced get both (see `anomaly_store::Repair`).
//! It also runs at start-up, for fits cut short by a crash.

use anomaly_store::{Backends, Repair};
use std::time::Duration;
use tokio::task::JoinHandle;

/// How often owed series are repaired.
pub const REPAIR_EVERY: Duration = Duration::from_secs(1);

/// The running task; stopped when dropped.
pub struct CacheRepairer(JoinHandle<()>);

impl CacheRepairer {
    /// Starts repairing `backends` every [`REPAIR_EVERY`].
    pub fn start(backends: Backends) -> Self {
        Self(tokio::spawn(async move {
            let mut ticks = tokio::time::interval(REPAIR_EVERY);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                match backends.repair(Repair::CacheAndAnnounce).await {
                    Ok(0) => {}
                    Ok(repaired) => tracing::info!(repaired, "shared cache caught up with stored versions"),
                    // Debug: during an outage this fails every second, and
                    // the healthcheck already reports the cache as down.
                    Err(error) => tracing::debug!(%error, "shared cache repair failed; retrying"),
                }
            }
        }))
    }
}

impl Drop for CacheRepairer {
    fn drop(&mut self) {
        self.0.abort();
    }
}
