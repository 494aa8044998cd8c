//! Verdicts of watched series as they are made, so a chart can follow a
//! series live. Not stored and not resumable, and cheap when nobody looks:
//! a monitor marks a series watched while one of its clients follows it,
//! and the stream worker publishes the verdicts of watched series only.
//! A subscriber that falls behind misses some (best effort).

use crate::StoreError;
use anomaly_core::SeriesId;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
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

/// The verdicts of one process (the embedded platform).
pub struct MemoryLiveVerdicts {
    watched: Mutex<HashMap<SeriesId, Instant>>,
    sender: broadcast::Sender<Arc<LiveVerdict>>,
}

impl Default for MemoryLiveVerdicts {
    fn default() -> Self {
        Self { watched: Mutex::default(), sender: broadcast::channel(VERDICT_BUFFER).0 }
    }
}

#[async_trait]
impl LiveVerdicts for MemoryLiveVerdicts {
    async fn watch(&self, series_id: &SeriesId, ttl: Duration) -> Result<(), StoreError> {
        let now = Instant::now();
        let mut watched = self.watched.lock().unwrap_or_else(PoisonError::into_inner);
        watched.retain(|_, until| *until > now);
        let until = watched.entry(series_id.clone()).or_insert(now);
        *until = (*until).max(now + ttl);
        Ok(())
    }

    async fn watched(&self) -> Result<HashSet<SeriesId>, StoreError> {
        let now = Instant::now();
        let watched = self.watched.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(watched.iter().filter(|(_, until)| **until > now).map(|(id, _)| id.clone()).collect())
    }

    async fn publish(&self, verdicts: &[LiveVerdict]) -> Result<(), StoreError> {
        for verdict in verdicts {
            // No subscriber is not an error: nobody looks right now.
            let _ = self.sender.send(Arc::new(verdict.clone()));
        }
        Ok(())
    }

    fn subscribe(&self) -> broadcast::Receiver<Arc<LiveVerdict>> {
        self.sender.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(series: &str) -> LiveVerdict {
        LiveVerdict {
            series_id: series.into(),
            timestamp: 60,
            value: 1.0,
            score: Some(0.5),
            anomaly: false,
            warming_up: false,
            detector: "rolling_zscore".into(),
            model_version: None,
        }
    }

    #[tokio::test]
    async fn a_watch_lapses_unless_renewed_and_subscribers_get_what_follows() {
        let live = MemoryLiveVerdicts::default();
        let cpu = SeriesId::parse("cpu").expect("id");
        live.watch(&cpu, Duration::from_millis(50)).await.expect("watch");
        live.watch(&cpu, Duration::from_millis(1)).await.expect("a shorter watch keeps the longer");
        assert_eq!(live.watched().await.expect("watched"), HashSet::from([cpu.clone()]));
        tokio::time::sleep(Duration::from_millis(80)).await;
        assert!(live.watched().await.expect("watched").is_empty(), "lapsed");

        live.publish(&[verdict("before")]).await.expect("publish without subscribers");
        let mut receiver = live.subscribe();
        live.publish(&[verdict("cpu"), verdict("mem")]).await.expect("publish");
        assert_eq!(receiver.recv().await.expect("first").series_id, "cpu");
        assert_eq!(receiver.recv().await.expect("second").series_id, "mem");
    }
}
