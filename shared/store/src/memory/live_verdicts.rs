//! The live verdicts of one process (the embedded platform): watched
//! series in a map, verdicts on a broadcast channel.

use crate::StoreError;
use crate::ports::live_verdicts::{LiveVerdict, LiveVerdicts, VERDICT_BUFFER};
use anomaly_core::SeriesId;
use async_trait::async_trait;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::broadcast;

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
            anomaly_score: Some(0.14),
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
