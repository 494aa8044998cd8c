//! Where the stream's points come from: the platform's own log (Redis
//! Streams, or the database on the embedded default) or a Kafka topic.
//! `POST /ingest` appends through the source, and `/ready` and
//! `/healthcheck` ask it how far the worker is behind and whether it
//! answers. A new source (NATS JetStream, Redis pub/sub) is one more
//! implementation, beside its worker.

use super::StreamStatus;
use super::kafka::KafkaIngest;
use anomaly_core::Partitioner;
use anomaly_store::{LogPosition, PointLog, StoreError, StreamPoint, by_partition};
use async_trait::async_trait;
use std::sync::Arc;
use std::time::Duration;

/// A source of the stream.
#[async_trait]
pub(crate) trait StreamSource: Send + Sync {
    /// Its name in `/healthcheck`: `log` or `kafka`.
    fn name(&self) -> &'static str;

    /// Appends `points` (of any series) durably.
    async fn append(&self, points: Vec<StreamPoint>) -> Result<(), StoreError>;

    /// Entries (Kafka: messages) of `partition` after `position` not judged yet.
    async fn behind(&self, partition: u32, position: LogPosition) -> Result<u64, StoreError>;

    /// Whether the source answers within `timeout`.
    async fn answers(&self, timeout: Duration) -> bool;
}

/// The platform's own partitioned log.
pub(crate) struct OwnLog(pub(crate) Arc<dyn PointLog>);

#[async_trait]
impl StreamSource for OwnLog {
    fn name(&self) -> &'static str {
        "log"
    }

    /// One entry per partition the points fall in.
    async fn append(&self, points: Vec<StreamPoint>) -> Result<(), StoreError> {
        self.0.append_all(&by_partition(points, Partitioner::new(self.0.partitions()))).await
    }

    async fn behind(&self, partition: u32, position: LogPosition) -> Result<u64, StoreError> {
        self.0.entries_after(partition, position).await
    }

    async fn answers(&self, timeout: Duration) -> bool {
        matches!(tokio::time::timeout(timeout, self.0.entries_after(0, LogPosition::START)).await, Ok(Ok(_)))
    }
}

/// A Kafka topic: ingest produces to it, the lag is read from the
/// partitions' high watermarks the consumer keeps in [`StreamStatus`].
pub(crate) struct KafkaTopic {
    pub(crate) ingest: KafkaIngest,
    pub(crate) status: Arc<StreamStatus>,
}

#[async_trait]
impl StreamSource for KafkaTopic {
    fn name(&self) -> &'static str {
        "kafka"
    }

    /// One message of rows per partition, acknowledged by the brokers.
    async fn append(&self, points: Vec<StreamPoint>) -> Result<(), StoreError> {
        self.ingest.send(points).await
    }

    async fn behind(&self, partition: u32, position: LogPosition) -> Result<u64, StoreError> {
        Ok(self.status.kafka_lag(partition, position))
    }

    async fn answers(&self, timeout: Duration) -> bool {
        self.ingest.ping(timeout).await.is_ok()
    }
}
