//! Where the stream publishes the anomalies it finds, for other systems:
//! the Redis stream `{prefix}anomalies`, or an in-process broadcast on the
//! embedded default. Each is one JSON document (see [`anomaly_json`]),
//! published before the batch that found it is committed: at least once,
//! with `series_id`, `timestamp`, `detector` and `model_version` as its key.

use crate::StoreError;
use crate::stream::StreamAnomaly;
use async_trait::async_trait;
use serde::Serialize;
use tokio::sync::broadcast;

/// Anomalies kept for slow in-process subscribers.
const MEMORY_FEED_CAPACITY: usize = 4096;

/// Publishes stream anomalies.
#[async_trait]
pub trait AnomalyFeed: Send + Sync {
    /// Publishes `anomalies`, in order.
    async fn publish(&self, anomalies: &[StreamAnomaly]) -> Result<(), StoreError>;
}

#[derive(Serialize)]
struct AnomalyEvent<'a> {
    series_id: &'a str,
    timestamp: i64,
    value: f64,
    score: Option<f64>,
    detector: &'a str,
    model_version: Option<String>,
    recorded_at_ms: i64,
    source: &'static str,
}

/// The published form: `{"series_id", "timestamp", "value", "score",
/// "detector", "model_version" (null for the default detector),
/// "recorded_at_ms", "source": "stream"}`.
pub fn anomaly_json(anomaly: &StreamAnomaly) -> String {
    let event = AnomalyEvent {
        series_id: anomaly.series_id.as_str(),
        timestamp: anomaly.timestamp,
        value: anomaly.value,
        score: anomaly.score,
        detector: &anomaly.detector,
        model_version: anomaly.version.map(|v| v.to_string()),
        recorded_at_ms: anomaly.recorded_at_ms,
        source: "stream",
    };
    serde_json::to_string(&event).unwrap_or_default()
}

/// The feed of one process: a broadcast channel.
#[derive(Debug)]
pub struct MemoryAnomalyFeed {
    sender: broadcast::Sender<String>,
}

impl Default for MemoryAnomalyFeed {
    fn default() -> Self {
        Self { sender: broadcast::channel(MEMORY_FEED_CAPACITY).0 }
    }
}

impl MemoryAnomalyFeed {
    /// The anomalies published from now on, as JSON.
    pub fn subscribe(&self) -> broadcast::Receiver<String> {
        self.sender.subscribe()
    }
}

#[async_trait]
impl AnomalyFeed for MemoryAnomalyFeed {
    async fn publish(&self, anomalies: &[StreamAnomaly]) -> Result<(), StoreError> {
        for anomaly in anomalies {
            // No subscriber is not an error: nobody is listening yet.
            let _ = self.sender.send(anomaly_json(anomaly));
        }
        Ok(())
    }
}
