//! Verdicts of watched series as they are made, so a chart can follow a
//! series live. Not stored and not resumable, and cheap when nobody looks:
//! a monitor marks a series watched while one of its clients follows it,
//! and the stream worker publishes the verdicts of watched series only.
//! A subscriber that falls behind misses some (best effort).

use crate::StoreError;
use anomaly_core::SeriesId;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;

/// Verdicts a subscriber may fall behind by before it misses some.
pub const VERDICT_BUFFER: usize = 4096;

/// One judged (or warming-up) point of a watched series, as the live feed
/// sends it (`event: verdict`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveVerdict {
    /// The series.
    pub series_id: String,
    /// The point's time, Unix seconds.
    pub timestamp: i64,
    /// The point's value.
    pub value: f64,
    /// Its score, when judged and finite.
    pub score: Option<f64>,
    /// The graded anomaly score in [0, 1] (0 while warming up).
    #[serde(default)]
    pub anomaly_score: Option<f64>,
    /// Whether it is anomalous.
    pub anomaly: bool,
    /// The detector has not seen enough points to judge yet.
    pub warming_up: bool,
    /// The detector kind.
    pub detector: String,
    /// The fitted version whose detector judged it (`v3`); `null`: the platform default.
    pub model_version: Option<String>,
}

/// Which series are watched, and their verdicts.
#[async_trait]
pub trait LiveVerdicts: Send + Sync {
    /// Marks `series_id` watched for `ttl` (a watcher renews it).
    async fn watch(&self, series_id: &SeriesId, ttl: Duration) -> Result<(), StoreError>;

    /// The series watched now.
    async fn watched(&self) -> Result<HashSet<SeriesId>, StoreError>;

    /// Publishes verdicts, in order.
    async fn publish(&self, verdicts: &[LiveVerdict]) -> Result<(), StoreError>;

    /// Every verdict published from now on.
    fn subscribe(&self) -> broadcast::Receiver<Arc<LiveVerdict>>;
}
