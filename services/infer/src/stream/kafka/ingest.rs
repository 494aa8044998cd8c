//! `POST /ingest` on Kafka: a body's points go to the points topic as one
//! message of rows per partition (each series on the partition its id
//! would have as a key), acknowledged by the brokers before the 202.

use anomaly_store::{KafkaProducer, StoreError, StreamPoint};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How long the topic's partition count is taken as known (partitions
/// added to a topic are written to after at most this long).
const PARTITIONS_FRESH: Duration = Duration::from_secs(60);
/// How long reading the topic's partition count may take.
const METADATA_TIMEOUT: Duration = Duration::from_secs(5);

/// Where `POST /ingest` writes when the stream reads Kafka.
pub(crate) struct KafkaIngest {
    producer: KafkaProducer,
    topic: String,
    /// The topic's partition count, and when it was read.
    partitions: Mutex<Option<(Instant, u32)>>,
}

impl KafkaIngest {
    pub(crate) fn new(producer: KafkaProducer, topic: String) -> Self {
        Self { producer, topic, partitions: Mutex::default() }
    }

    /// Produces `points` (each series' in order) and waits for the acknowledgements.
    pub(crate) async fn send(&self, points: Vec<StreamPoint>) -> Result<(), StoreError> {
        let partitions = self.partitions().await?;
        self.producer.send_points(&self.topic, partitions, points).await
    }

    /// Whether the brokers answer within `timeout`.
    pub(crate) async fn ping(&self, timeout: Duration) -> Result<(), StoreError> {
        self.producer.ping(timeout).await
    }

    /// The topic's partition count, read again once [`PARTITIONS_FRESH`] passed.
    async fn partitions(&self) -> Result<u32, StoreError> {
        let known = *self.partitions.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((read, count)) = known
            && read.elapsed() < PARTITIONS_FRESH
        {
            return Ok(count);
        }
        let count = self.producer.partitions_of(&self.topic, METADATA_TIMEOUT).await?;
        *self.partitions.lock().unwrap_or_else(PoisonError::into_inner) = Some((Instant::now(), count));
        Ok(count)
    }
}
