//! The streaming half's storage: the partitioned log points are appended to
//! ([`PointLog`]), and the durable side of the stream worker
//! ([`StreamStore`]): per-series detector state, each partition's position
//! in the log with its owner's epoch, and the anomalies found.
//!
//! A log entry carries the points of one append for one partition, as JSON:
//! `[["cpu", 1609459200, 20.1], ...]` (series id, Unix seconds, value).

use crate::StoreError;
use crate::ports::anomaly_labels::{AnomalyId, AnomalyLabel, LabelFilter};
use anomaly_core::{Model, ModelVersion, Partitioner, SeriesId};
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

pub use super::log_rows::{decode_points, encode_points};

/// One point of one series.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamPoint {
    /// The series.
    pub series_id: SeriesId,
    /// Unix seconds.
    pub timestamp: i64,
    /// The value, finite.
    pub value: f64,
}

/// The position of an entry in a partition, ordered. What its two parts
/// hold depends on the source:
///
/// | source | `major` | `minor` |
/// |---|---|---|
/// | Redis Streams | the append time, Unix ms (the stream id `ms-seq`) | the sequence within that ms |
/// | the SQL log (embedded default) | the row id | 0 |
/// | Kafka | the next offset (the message's offset + 1) | 0 |
///
/// A stored position is the last entry whose effects are durable; a
/// worker reads after it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LogPosition {
    /// The first part (see the table).
    pub major: u64,
    /// The second part (see the table).
    pub minor: u64,
}

impl LogPosition {
    /// Before every entry.
    pub const START: LogPosition = LogPosition { major: 0, minor: 0 };

    /// Parses `major-minor` (or a bare `major`), as a Redis stream id is written.
    pub fn parse(text: &str) -> Option<Self> {
        let (major, minor) = text.split_once('-').unwrap_or((text, "0"));
        Some(Self { major: major.parse().ok()?, minor: minor.parse().ok()? })
    }
}

impl fmt::Display for LogPosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.major, self.minor)
    }
}

/// One entry read from a partition.
#[derive(Debug, Clone, PartialEq)]
pub struct LogEntry {
    /// Its position.
    pub id: LogPosition,
    /// Its points, in order. Points that did not parse are left out and counted.
    pub points: Vec<StreamPoint>,
    /// Points of the entry that did not parse (written by a foreign producer).
    pub malformed: u64,
}

/// `points` grouped by the partition `partitioner` gives their series, in
/// partition order, each partition's points in their order.
pub fn by_partition(points: Vec<StreamPoint>, mut partitioner: Partitioner) -> Vec<(u32, Vec<StreamPoint>)> {
    let mut grouped: BTreeMap<u32, Vec<StreamPoint>> = BTreeMap::new();
    for point in points {
        grouped.entry(partitioner.of(&point.series_id)).or_default().push(point);
    }
    grouped.into_iter().collect()
}

/// The partitioned, durable log of incoming points.
#[async_trait]
pub trait PointLog: Send + Sync {
    /// Number of partitions.
    fn partitions(&self) -> u32;

    /// Whether an entry id's first part is its append time in Unix milliseconds.
    fn ids_are_times(&self) -> bool;

    /// Appends `points` (all of `partition`) as one entry; returns once durable.
    async fn append(&self, partition: u32, points: &[StreamPoint]) -> Result<LogPosition, StoreError>;

    /// Appends each `(partition, points)` as one entry of its partition;
    /// returns once all are durable. After an error some may be appended.
    async fn append_all(&self, entries: &[(u32, Vec<StreamPoint>)]) -> Result<(), StoreError> {
        for (partition, points) in entries {
            self.append(*partition, points).await?;
        }
        Ok(())
    }

    /// Entries of `partition` after `after`, oldest first, at most `count`.
    async fn read_after(&self, partition: u32, after: LogPosition, count: usize) -> Result<Vec<LogEntry>, StoreError>;

    /// Waits until an entry may lie after one of `positions` (partition,
    /// entry), or `timeout` passed.
    async fn wait_for_appends(&self, positions: &[(u32, LogPosition)], timeout: Duration);

    /// Entries up to `upto` are judged and their effects durable: the log
    /// may drop them.
    async fn acknowledge(&self, partition: u32, upto: LogPosition) -> Result<(), StoreError>;

    /// How many entries of `partition` lie after `after`.
    async fn entries_after(&self, partition: u32, after: LogPosition) -> Result<u64, StoreError>;
}

/// What the stream knows about one series.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesStream {
    /// The series.
    pub series_id: SeriesId,
    /// The fitted version whose detector judges it; `None`: the platform default.
    pub version: Option<ModelVersion>,
    /// The detector with its state.
    pub model: Model,
    /// The last judged point (Unix seconds, value).
    pub last_point: Option<(i64, f64)>,
    /// Points judged.
    pub points: u64,
    /// Of which anomalous.
    pub anomalies: u64,
    /// Points skipped as late or repeated.
    pub late: u64,
    /// When the state was last written, Unix milliseconds.
    pub updated_ms: i64,
}

/// An anomaly found by the stream.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamAnomaly {
    /// The series.
    pub series_id: SeriesId,
    /// The point's time, Unix seconds.
    pub timestamp: i64,
    /// The point's value.
    pub value: f64,
    /// Its score, when finite.
    pub score: Option<f64>,
    /// The graded anomaly score in [0, 1] (0.5 at the edge of normal; see
    /// `anomaly_core::anomaly_score`); `None` on rows stored before it existed.
    pub anomaly_score: Option<f64>,
    /// The detector kind that flagged it.
    pub detector: String,
    /// The fitted version whose detector flagged it; `None`: the platform default.
    pub version: Option<ModelVersion>,
    /// When it was found, Unix milliseconds.
    pub recorded_at_ms: i64,
    /// What a person said about it, when read back (ignored when written).
    pub label: Option<AnomalyLabel>,
}

impl StreamAnomaly {
    /// Its stable id.
    pub fn id(&self) -> AnomalyId {
        AnomalyId::Stream {
            series_id: self.series_id.clone(),
            timestamp: self.timestamp,
            version: self.version,
            detector: self.detector.clone(),
        }
    }
}

/// The name of the platform's own log (Redis Streams or the SQL log) in
/// the stored positions; a Kafka topic's is `kafka:<topic>`.
pub const POINT_LOG: &str = "points";

/// What one batch of a partition leaves behind, written atomically.
#[derive(Debug, Clone, Default)]
pub struct Checkpoint {
    /// The log the partition belongs to ([`POINT_LOG`] or `kafka:<topic>`).
    pub log: String,
    /// The partition.
    pub partition: u32,
    /// The owner's epoch (fencing token): a write from an older epoch is refused.
    pub epoch: u64,
    /// The last entry whose points are reflected.
    pub last_entry: LogPosition,
    /// The states of the series the batch touched.
    pub series: Vec<SeriesStream>,
    /// The anomalies the batch found.
    pub anomalies: Vec<StreamAnomaly>,
    /// Every point the batch judged, with its verdict (empty when the
    /// history is off).
    pub judged: Vec<crate::JudgedPoint>,
    /// Points the batch took in (judged, or skipped as late).
    pub points: u64,
    /// The Unix minute it was judged in (for the per-minute counters).
    pub minute: i64,
}

/// What the stream did in one minute, over every partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamMinute {
    /// Unix minute (seconds / 60).
    pub minute: i64,
    /// Points taken in (judged, or skipped as late).
    pub points: u64,
    /// Anomalies found.
    pub anomalies: u64,
    /// The most entries one partition was behind during the minute.
    pub lag_entries: u64,
}

/// Which stream anomalies to read: newest point first.
#[derive(Debug, Clone, Default)]
pub struct AnomalyQuery {
    /// One series, or all.
    pub series_id: Option<SeriesId>,
    /// Points at or after this Unix second.
    pub from: Option<i64>,
    /// Points at or before this Unix second.
    pub to: Option<i64>,
    /// At most this many.
    pub limit: u32,
    /// Only those with this label, or none.
    pub label: Option<LabelFilter>,
}

/// The durable side of the stream worker.
#[async_trait]
pub trait StreamStore: Send + Sync {
    /// The last entry of `partition` of `log` whose effects are durable, and
    /// the epoch that wrote it (`START`, 0 when none).
    async fn partition_position(&self, log: &str, partition: u32) -> Result<(LogPosition, u64), StoreError>;

    /// The stream state of one series, if it was ever streamed.
    async fn series_stream(&self, series_id: &SeriesId) -> Result<Option<SeriesStream>, StoreError>;

    /// The stream states of those of `series` that were ever streamed, in
    /// one query for many (what a worker meeting new series reads).
    async fn series_streams(&self, series: &[SeriesId]) -> Result<Vec<SeriesStream>, StoreError>;

    /// Writes a batch's states, anomalies (idempotently: one per series,
    /// point time, detector and version), judged points and position in one
    /// transaction.
    /// `Ok(false)`: a newer epoch owns the partition, nothing was written.
    async fn commit(&self, checkpoint: &Checkpoint) -> Result<bool, StoreError>;

    /// Records how many entries `partitions` of `log` are behind now (the
    /// most of the minute is kept; the worker passes only those that lag),
    /// and forgets minutes before the last [`crate::MINUTES_KEPT`].
    async fn record_lag(&self, log: &str, partitions: &[(u32, u64)], minute: i64) -> Result<(), StoreError>;

    /// Points, anomalies and the worst lag per minute from `since_minute`
    /// on, oldest first; minutes without any are absent.
    async fn stream_minutes(&self, since_minute: i64) -> Result<Vec<StreamMinute>, StoreError>;

    /// Anomalies found by the stream.
    async fn stream_anomalies(&self, query: &AnomalyQuery) -> Result<Vec<StreamAnomaly>, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_and_foreign_ones_are_counted() {
        let point = StreamPoint { series_id: SeriesId::parse("cpu").expect("valid"), timestamp: 5, value: 1.5 };
        let text = encode_points(std::slice::from_ref(&point));
        assert_eq!(text, r#"[["cpu",5,1.5]]"#);
        assert_eq!(decode_points(&text), (vec![point.clone()], 0));
        let (points, malformed) = decode_points(r#"[["cpu",5,1.5],["bad id",1,1],["x",-1,1],["x",1,"y"]]"#);
        assert_eq!((points, malformed), (vec![point], 3));
        assert_eq!(decode_points("not json").1, 1);
        assert_eq!(LogPosition::parse("17-3"), Some(LogPosition { major: 17, minor: 3 }));
        assert_eq!(LogPosition::parse("17").map(|id| id.to_string()), Some("17-0".into()));
    }
}
