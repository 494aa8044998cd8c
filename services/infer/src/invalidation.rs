//! The background task that applies invalidations to the local cache and
//! acknowledges them, so train answers a fit (or a delete) only after every
//! replica dropped what it made stale. When the subscription comes back after an
//! outage, fits committed meanwhile may be missing from the shared cache:
//! the replica brings the shared cache up to the database first, and only
//! then trusts "latest" from either cache again.

use crate::LocalCache;
use anomaly_store::{Backends, BusEvent, Repair};
use futures::StreamExt;
use futures::stream::BoxStream;
use std::sync::Weak;
use std::time::Duration;

/// Pause between two failed repairs after a reconnect.
const REPAIR_RETRY: Duration = Duration::from_millis(200);

/// Applies `events` to the cache until the cache is dropped.
pub(crate) fn spawn_listener(mut events: BoxStream<'static, BusEvent>, cache: Weak<LocalCache>, backends: Backends) {
    tokio::spawn(async move {
        while let Some(event) = events.next().await {
            let Some(local) = cache.upgrade() else { return };
            match event {
                BusEvent::Invalidate(series_id, change, ack) => {
                    local.invalidate(&series_id, change);
                    ack.send();
                }
                BusEvent::Connected => {
                    drop(local);
                    if !shared_cache_caught_up(&backends, &cache).await {
                        return;
                    }
                    let Some(local) = cache.upgrade() else { return };
                    tracing::info!("invalidation subscription live");
                    local.set_live(true);
                }
                BusEvent::Heartbeat(sent) => local.heard(sent),
                BusEvent::Disconnected => {
                    tracing::warn!("invalidation subscription down; caches bypassed for latest versions");
                    local.set_live(false);
                }
            }
        }
    });
}

/// Repairs the shared cache from the outbox until that succeeds; false if
/// the local cache was dropped meanwhile.
async fn shared_cache_caught_up(backends: &Backends, cache: &Weak<LocalCache>) -> bool {
    while cache.strong_count() > 0 {
        match backends.repair(Repair::CacheOnly).await {
            Ok(0) => return true,
            Ok(repaired) => {
                tracing::info!(repaired, "shared cache brought up to the database after a reconnect");
                return true;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot repair the shared cache yet; latest versions from the database")
            }
        }
        tokio::time::sleep(REPAIR_RETRY).await;
    }
    false
}
