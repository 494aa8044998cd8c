//! Kafka as the stream's source and sink (`KAFKA_BROKERS`): every infer
//! process joins the consumer group on the points topic and judges the
//! partitions assigned to it; anomalies also go to the anomalies topic;
//! `POST /ingest` writes to the points topic. Only the source differs from
//! the platform's own log: judging, checkpoints and the anomaly store are
//! the same ([`super::judge`]).

mod consumer;
mod ingest;
mod worker;

pub(crate) use ingest::KafkaIngest;

use super::judge::Judge;
use super::lag_minutes::LagMinutes;
use super::{StreamMetrics, StreamStatus};
use crate::settings::KafkaSettings;
use anomaly_store::{Backends, KafkaProducer, ROWS_CONNECTIONS, StoreError};
use std::sync::Arc;
use tokio::sync::{mpsc, watch};

/// Messages handed from the consumer thread to the worker without waiting.
const CHANNEL_MESSAGES: usize = 16_384;

/// Joins the group and starts the worker; the returned ingest writes to the
/// points topic.
pub(super) fn start(
    settings: &KafkaSettings,
    backends: Backends,
    judge: Judge,
    status: Arc<StreamStatus>,
    metrics: StreamMetrics,
    stop: watch::Receiver<bool>,
) -> Result<(KafkaIngest, tokio::task::JoinHandle<()>), StoreError> {
    let client = settings.client()?;
    let producer = KafkaProducer::new(&client, ROWS_CONNECTIONS)?;
    let judge = judge.with_kafka_sink(producer.clone(), settings.kafka_anomalies_topic.clone());
    let (to_worker, from_consumer) = mpsc::channel(CHANNEL_MESSAGES);
    let consumer_settings = consumer::ConsumerSettings {
        client,
        group_id: settings.kafka_group_id.clone(),
        topic: settings.kafka_points_topic.clone(),
        session_timeout_ms: settings.kafka_session_timeout_ms,
    };
    let consumer = consumer::start(&consumer_settings, to_worker, status.clone())?;
    let dead_letters = (!settings.kafka_dlq_topic.is_empty())
        .then(|| worker::DeadLetters { producer: producer.clone(), topic: settings.kafka_dlq_topic.clone() });
    let worker = worker::KafkaWorker {
        backends,
        judge,
        status,
        metrics,
        log: format!("kafka:{}", settings.kafka_points_topic),
        lag_minutes: LagMinutes::default(),
        dead_letters,
        from_consumer,
        consumer,
        held: Default::default(),
        pending: Default::default(),
        in_flight: Vec::new(),
        judging_failed: false,
    };
    let handle = tokio::spawn(worker.run(stop));
    Ok((KafkaIngest::new(producer, settings.kafka_points_topic.clone()), handle))
}
