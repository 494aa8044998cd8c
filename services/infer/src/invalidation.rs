//! The background task that applies invalidations to the local cache and
//! acknowledges them, so train answers a fit only after every replica
//! dropped its stale latest.

use crate::LocalCache;
use anomaly_store::BusEvent;
use futures::StreamExt;
use futures::stream::BoxStream;
use std::sync::Weak;

/// Applies `events` to the cache until the cache is dropped.
pub(crate) fn spawn_listener(mut events: BoxStream<'static, BusEvent>, cache: Weak<LocalCache>) {
    tokio::spawn(async move {
        while let Some(event) = events.next().await {
            let Some(cache) = cache.upgrade() else { return };
            match event {
                BusEvent::Invalidate(series_id, ack) => {
                    cache.invalidate(&series_id);
                    ack.send();
                }
                BusEvent::Connected => {
                    tracing::info!("invalidation subscription live");
                    cache.set_live(true);
                }
                BusEvent::Disconnected => {
                    tracing::warn!("invalidation subscription down; local cache bypassed for latest versions");
                    cache.set_live(false);
                }
            }
        }
    });
}
