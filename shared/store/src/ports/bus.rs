//! The invalidation bus: train announces a new version (or a deleted
//! series), every infer replica drops its process-local entries for that
//! series and acknowledges, and train answers the fit (or the delete) only
//! once every live replica has done so. That is what makes a predict that
//! starts after a fit has answered see the new version on every replica.
//!
//! A replica that stalls (paused, swapped out, starved) cannot acknowledge,
//! and the fit answers without it after [`ACK_TIMEOUT`]. So that such a
//! replica never answers "latest" from what it cached before, a shared bus
//! sends each subscriber its own heartbeat through the same channel every
//! quarter of [`ACK_TIMEOUT`]: hearing one proves every invalidation
//! published before it has been applied, and a subscriber whose newest
//! heartbeat heard was sent [`ACK_TIMEOUT`] ago or more must not trust its
//! local "latest" (any fit it missed has answered by then).

use crate::StoreError;
use anomaly_core::SeriesId;
use async_trait::async_trait;
use futures::stream::BoxStream;
use std::fmt;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// How long a publisher waits for the acknowledgements before it answers
/// anyway (and logs which were missing). Only a stuck replica hits it.
pub const ACK_TIMEOUT: Duration = Duration::from_secs(1);

/// How often a subscriber of a shared bus hears its own heartbeat.
pub const HEARTBEAT_EVERY: Duration = Duration::from_millis(250);

/// This process's monotonic clock for heartbeats: time since its first use.
pub fn bus_clock() -> Duration {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed()
}

/// What happened to a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// A new version was stored: the cached latest is stale.
    NewVersion,
    /// The series was deleted: every cached version is gone.
    Deleted,
}

/// What a subscriber hears.
#[derive(Debug)]
pub enum BusEvent {
    /// The subscription is live (first time or after a reconnect): messages
    /// may have been missed before, so local caches start from empty.
    Connected,
    /// The subscription broke: nothing heard until the next `Connected`, so
    /// local caches must not be trusted for "latest".
    Disconnected,
    /// This series changed; send the [`Ack`] once the local cache no longer
    /// holds what the change made stale.
    Invalidate(SeriesId, Change, Ack),
    /// The subscriber's own heartbeat, sent at this [`bus_clock`] time:
    /// every invalidation published before then has been heard.
    Heartbeat(Duration),
}

/// Tells the publisher that an invalidation has been applied.
pub struct Ack(Option<Box<dyn FnOnce() + Send>>);

impl Ack {
    pub(crate) fn new(send: impl FnOnce() + Send + 'static) -> Self {
        Self(Some(Box::new(send)))
    }

    /// Sends the acknowledgement.
    pub fn send(mut self) {
        if let Some(send) = self.0.take() {
            send();
        }
    }
}

impl fmt::Debug for Ack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Ack")
    }
}

/// Publishes and delivers invalidations.
#[async_trait]
pub trait InvalidationBus: Send + Sync {
    /// Announces a change of `series_id` and waits until every live
    /// subscriber has acknowledged it (at most [`ACK_TIMEOUT`]).
    async fn publish(&self, series_id: &SeriesId, change: Change) -> Result<(), StoreError>;

    /// An endless stream of events; reconnects by itself.
    fn subscribe(&self) -> BoxStream<'static, BusEvent>;

    /// Whether subscribers hear heartbeats (a bus shared between processes)
    /// and must distrust their local "latest" when the newest is
    /// [`ACK_TIMEOUT`] old; an in-process bus cannot leave a replica behind.
    fn sends_heartbeats(&self) -> bool {
        false
    }
}
