//! Kafka as a transport: the message format of the points topic (what
//! producers write and the consumer decodes), and the producer that `POST
//! /ingest`, `anomaly replay --kafka` and the anomalies sink write with.
//!
//! A points message is one of:
//! - keyed by its series id (so that a series stays on one partition and is
//!   judged in order), JSON of one point `{"series_id"?, "timestamp",
//!   "value"}` or a batch of one series `{"series_id"?, "timestamps": [...],
//!   "values": [...]}`. The series id is the key, or the body's `series_id`
//!   when there is no key; the two must agree when both are given;
//! - without a key, rows of any series `[["cpu",1609459200,20.1],...]` (the
//!   platform's own log entries), each series' rows in order. `POST /ingest`
//!   writes these: one message per partition instead of one per series, on
//!   the partition librdkafka's default partitioner gives the series id as
//!   a key ([`kafka_partition_of`]), so a series' keyed and row messages
//!   meet on one partition.
//!
//! A message is judged whole or not at all: one bad point makes it
//! malformed.

pub(crate) mod client;

use crate::ports::log_rows::malformed_rows_reason;
use crate::{FeedAnomaly, KafkaClient, StoreError, StreamPoint, by_partition, decode_points, encode_points};
use anomaly_core::{Partitioner, SeriesId};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::future_producer::OwnedDeliveryResult;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use serde::Deserialize;
use std::time::Duration;

/// How long a send may wait for the broker's acknowledgement (queueing
/// included) before it fails.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// A points message's body, one point or a batch.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PointsBody {
    series_id: Option<String>,
    timestamp: Option<i64>,
    value: Option<f64>,
    timestamps: Option<Vec<i64>>,
    values: Option<Vec<f64>>,
}

/// Decodes a points message; `Err` says why it is malformed.
pub fn decode_points_message(key: Option<&[u8]>, payload: Option<&[u8]>) -> Result<Vec<StreamPoint>, String> {
    let payload = payload.ok_or("the message has no value")?;
    if payload.trim_ascii_start().starts_with(b"[") {
        return decode_rows_message(key, payload);
    }
    let body: PointsBody = serde_json::from_slice(payload).map_err(|e| format!("not a points message: {e}"))?;
    let key = key.map(|k| std::str::from_utf8(k).map_err(|_| "the key is not UTF-8".to_owned())).transpose()?;
    let name = match (key, body.series_id.as_deref()) {
        (Some(key), Some(named)) if key != named => {
            return Err(format!("the key {key:?} and the body's series_id {named:?} differ"));
        }
        (Some(id), _) | (None, Some(id)) => id,
        (None, None) => return Err("no series id: give the key or series_id".into()),
    };
    let series_id = SeriesId::parse(name).map_err(|e| e.to_string())?;
    let (timestamps, values) = match (body.timestamp, body.value, body.timestamps, body.values) {
        (Some(timestamp), Some(value), None, None) => (vec![timestamp], vec![value]),
        (None, None, Some(timestamps), Some(values)) => (timestamps, values),
        _ => return Err("give timestamp and value, or timestamps and values".into()),
    };
    if timestamps.is_empty() || timestamps.len() != values.len() {
        return Err(format!(
            "{} timestamps and {} values: give as many of each, at least one",
            timestamps.len(),
            values.len()
        ));
    }
    if let Some(bad) = timestamps.iter().find(|t| **t < 0) {
        return Err(format!("timestamp {bad} is negative"));
    }
    if timestamps.windows(2).any(|pair| pair[1] <= pair[0]) {
        return Err("timestamps must be strictly increasing".into());
    }
    // JSON numbers cannot be NaN or infinite, and serde rejects those that overflow f64.
    Ok(timestamps
        .into_iter()
        .zip(values)
        .map(|(timestamp, value)| StreamPoint { series_id: series_id.clone(), timestamp, value })
        .collect())
}

/// Decodes a message of rows of any series: whole, or `Err` naming why not.
fn decode_rows_message(key: Option<&[u8]>, payload: &[u8]) -> Result<Vec<StreamPoint>, String> {
    if key.is_some() {
        return Err("a message of rows has no key (a keyed message holds one series)".into());
    }
    let text = std::str::from_utf8(payload).map_err(|_| "the value is not UTF-8".to_owned())?;
    match decode_points(text) {
        (_, malformed) if malformed > 0 => Err(malformed_rows_reason("the value", text, malformed)),
        (points, _) if points.is_empty() => Err("a message of rows holds at least one row".into()),
        (points, _) => Ok(points),
    }
}

/// The partition librdkafka's default partitioner (`consistent_random`)
/// gives a message keyed by `series_id` among `partitions` (>= 1): the
/// CRC-32 of the key modulo the partition count.
pub fn kafka_partition_of(series_id: &SeriesId, partitions: u32) -> u32 {
    crc32fast::hash(series_id.as_str().as_bytes()) % partitions.max(1)
}

/// Encodes points of one series as a batch message body.
pub fn encode_points_message(timestamps: &[i64], values: &[f64]) -> String {
    #[derive(serde::Serialize)]
    struct Batch<'a> {
        timestamps: &'a [i64],
        values: &'a [f64],
    }
    serde_json::to_string(&Batch { timestamps, values }).unwrap_or_default()
}

/// Waits for every one of `sends`; the first failure is the error.
async fn all_acknowledged(
    sends: impl IntoIterator<Item = impl Future<Output = OwnedDeliveryResult>>,
) -> Result<(), StoreError> {
    for sent in futures::future::join_all(sends).await {
        sent.map_err(|(error, _)| error)?;
    }
    Ok(())
}

/// Connections `POST /ingest` spreads its rows over, partition `p` on
/// connection `p % ROWS_CONNECTIONS`. librdkafka sends one produce request
/// per partition and a broker answers a connection's requests one at a
/// time, so a body's messages to 16 partitions would wait behind each other
/// on one connection. Measured on tansu (perf/README.md, "Kafka: rows over
/// four connections"): 4 connections judged 20% more points a second than 1
/// on a long-running broker, 4% on a fresh one; 16 ingested no faster than 4.
pub const ROWS_CONNECTIONS: usize = 4;

/// Writes to Kafka: idempotent (retries never duplicate a message), every
/// send acknowledged by all in-sync replicas.
#[derive(Clone)]
pub struct KafkaProducer {
    /// At least one; rows of a partition always take the same one (so they
    /// keep their order), every other send the first.
    connections: Vec<FutureProducer>,
}

impl KafkaProducer {
    /// A producer for `client`'s brokers, with its properties, over
    /// `connections` connections (at least one; see [`ROWS_CONNECTIONS`]).
    pub fn new(client: &KafkaClient, connections: usize) -> Result<Self, StoreError> {
        let connect = || {
            client
                .config()
                .set("enable.idempotence", "true")
                .set("acks", "all")
                // Sends wait for their acknowledgement (a 202 does): no lingering
                // for more messages; those queued while a request is out go together.
                .set("linger.ms", "0")
                .set("message.timeout.ms", SEND_TIMEOUT.as_millis().to_string())
                .create::<FutureProducer>()
        };
        let connections = (0..connections.max(1)).map(|_| connect()).collect::<Result<_, _>>()?;
        Ok(Self { connections })
    }

    /// The connection of every send but rows.
    fn first(&self) -> &FutureProducer {
        &self.connections[0]
    }

    /// Checks that the brokers answer (a metadata request), within `timeout`.
    pub async fn ping(&self, timeout: std::time::Duration) -> Result<(), StoreError> {
        let producer = self.first().clone();
        tokio::task::spawn_blocking(move || producer.client().fetch_metadata(None, timeout).map(|_| ()))
            .await
            .map_err(|e| StoreError::Corrupt(e.to_string()))??;
        Ok(())
    }

    /// Sends `(key, value)` messages to `topic` and waits until every one is
    /// acknowledged. Messages of one key keep their order.
    pub async fn send_all(&self, topic: &str, messages: &[(String, String)]) -> Result<(), StoreError> {
        all_acknowledged(messages.iter().map(|(key, value)| {
            self.first().send(FutureRecord::to(topic).key(key.as_str()).payload(value.as_str()), SEND_TIMEOUT)
        }))
        .await
    }

    /// Copies a malformed message (key and value as they came) to `topic`,
    /// with the reason in the header `anomaly-error`.
    pub async fn send_dead_letter(
        &self,
        topic: &str,
        key: Option<&[u8]>,
        payload: Option<&[u8]>,
        error: &str,
    ) -> Result<(), StoreError> {
        let headers = OwnedHeaders::new().insert(Header { key: "anomaly-error", value: Some(error) });
        let mut record: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(topic).headers(headers);
        record.key = key;
        record.payload = payload;
        self.first().send(record, SEND_TIMEOUT).await.map_err(|(error, _)| error)?;
        Ok(())
    }

    /// Sends `points` (of any series, each series' in order) to `topic`
    /// of `partitions` partitions: one message of rows per partition, on
    /// the partition of each series' key ([`kafka_partition_of`]), over
    /// [`ROWS_CONNECTIONS`] connections.
    pub async fn send_points(&self, topic: &str, partitions: u32, points: Vec<StreamPoint>) -> Result<(), StoreError> {
        let messages: Vec<(i32, String)> = by_partition(points, Partitioner::with(partitions, kafka_partition_of))
            .iter()
            .map(|(partition, points)| (i32::try_from(*partition).unwrap_or(i32::MAX), encode_points(points)))
            .collect();
        all_acknowledged(messages.iter().map(|(partition, rows)| {
            let record: FutureRecord<'_, str, str> = FutureRecord::to(topic).partition(*partition).payload(rows);
            let connection = usize::try_from(*partition).unwrap_or_default() % self.connections.len();
            self.connections[connection].send(record, SEND_TIMEOUT)
        }))
        .await
    }

    /// How many partitions `topic` has (a metadata request), within `timeout`.
    pub async fn partitions_of(&self, topic: &str, timeout: Duration) -> Result<u32, StoreError> {
        let (producer, name) = (self.first().clone(), topic.to_owned());
        let metadata = tokio::task::spawn_blocking(move || producer.client().fetch_metadata(Some(&name), timeout))
            .await
            .map_err(|e| StoreError::Corrupt(e.to_string()))??;
        let partitions = metadata.topics().iter().find(|t| t.name() == topic).map_or(0, |t| t.partitions().len());
        match u32::try_from(partitions) {
            Ok(count) if count > 0 => Ok(count),
            _ => Err(StoreError::Corrupt(format!("the topic {topic} has no partitions (does it exist?)"))),
        }
    }

    /// Sends anomalies to `topic`, keyed by series id, as `GET /anomalies` lists them.
    pub async fn send_anomalies(&self, topic: &str, anomalies: &[FeedAnomaly]) -> Result<(), StoreError> {
        let messages: Vec<(String, String)> =
            anomalies.iter().map(|a| (a.series_id.clone(), serde_json::to_string(a).unwrap_or_default())).collect();
        self.send_all(topic, &messages).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(key: Option<&str>, body: &str) -> Result<Vec<(String, i64, f64)>, String> {
        decode_points_message(key.map(str::as_bytes), Some(body.as_bytes()))
            .map(|points| points.into_iter().map(|p| (p.series_id.to_string(), p.timestamp, p.value)).collect())
    }

    #[test]
    fn single_points_and_batches_decode_with_the_key_or_the_body_id() {
        assert_eq!(decode(Some("cpu"), r#"{"timestamp": 5, "value": 1.5}"#), Ok(vec![("cpu".into(), 5, 1.5)]));
        assert_eq!(
            decode(None, r#"{"series_id": "cpu", "timestamp": 5, "value": 1.5}"#),
            Ok(vec![("cpu".into(), 5, 1.5)])
        );
        assert_eq!(
            decode(Some("cpu"), r#"{"series_id": "cpu", "timestamps": [1, 2], "values": [3, 4]}"#),
            Ok(vec![("cpu".into(), 1, 3.0), ("cpu".into(), 2, 4.0)])
        );
        let body = encode_points_message(&[7, 8], &[f64::MAX, -0.5]);
        assert_eq!(decode(Some("m"), &body), Ok(vec![("m".into(), 7, f64::MAX), ("m".into(), 8, -0.5)]));
    }

    #[test]
    fn rows_of_many_series_decode_whole_or_not_at_all() {
        assert_eq!(
            decode(None, r#" [["cpu",5,1.5],["mem",5,2],["cpu",6,1e300]]"#),
            Ok(vec![("cpu".into(), 5, 1.5), ("mem".into(), 5, 2.0), ("cpu".into(), 6, 1e300)])
        );
        let cases = [
            (Some("cpu"), r#"[["cpu",5,1.5]]"#, "a message of rows has no key"),
            (None, r#"[["cpu",5,1.5],["bad id",5,1]]"#, "1 row(s) are not"),
            (None, r#"[["cpu",-5,1.5],["cpu",5,"x"]]"#, "2 row(s) are not"),
            (None, r#"[["cpu",5,1.5]"#, "not a JSON array of rows"),
            (None, "[]", "at least one row"),
        ];
        for (key, body, says) in cases {
            let error = decode(key, body).expect_err(body);
            assert!(error.contains(says), "{body}: {error}");
        }
    }

    #[test]
    fn the_partition_of_a_series_is_the_crc32_of_its_id() {
        // CRC-32 (IEEE) of "123456789" is 0xcbf43926, the standard check value.
        let id = SeriesId::parse("123456789").expect("valid");
        assert_eq!(kafka_partition_of(&id, u32::MAX), 0xcbf4_3926);
        assert_eq!(kafka_partition_of(&id, 16), 0xcbf4_3926 % 16);
        assert_eq!(kafka_partition_of(&id, 0), 0, "no partitions counts as one");
    }

    #[test]
    fn malformed_messages_say_why() {
        let cases = [
            (Some("cpu"), "not json", "not a points message"),
            (Some("cpu"), r#"{"timestamp": 5}"#, "give timestamp and value"),
            (Some("cpu"), r#"{"timestamp": 5, "value": 1, "values": [1]}"#, "give timestamp and value"),
            (None, r#"{"timestamp": 5, "value": 1}"#, "no series id"),
            (Some("a"), r#"{"series_id": "b", "timestamp": 5, "value": 1}"#, "differ"),
            (Some("bad id"), r#"{"timestamp": 5, "value": 1}"#, "series"),
            (Some("cpu"), r#"{"timestamp": -1, "value": 1}"#, "negative"),
            (Some("cpu"), r#"{"timestamp": 1.5, "value": 1}"#, "not a points message"),
            (Some("cpu"), r#"{"timestamp": 1, "value": 1e999}"#, "not a points message"),
            (Some("cpu"), r#"{"timestamps": [2, 1], "values": [1, 1]}"#, "strictly increasing"),
            (Some("cpu"), r#"{"timestamps": [1, 2], "values": [1]}"#, "as many"),
            (Some("cpu"), r#"{"timestamps": [], "values": []}"#, "at least one"),
            (Some("cpu"), r#"{"timestamp": 1, "value": 1, "extra": 2}"#, "unknown field"),
        ];
        for (key, body, reason) in cases {
            let error = decode(key, body).expect_err(body);
            assert!(error.contains(reason), "{body}: {error}");
        }
        assert!(decode_points_message(Some(b"cpu"), None).is_err());
        assert!(decode_points_message(Some(&[0xff]), Some(br#"{"timestamp": 1, "value": 1}"#)).is_err());
    }
}
