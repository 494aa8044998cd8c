//! The streaming half's storage: the partitioned log points are appended to
//! ([`PointLog`]), and the durable side of the stream worker
//! ([`StreamStore`]): per-series detector state, each partition's position
//! in the log with its owner's epoch, and the anomalies found.
//!
//! A log entry carries the points of one append for one partition, as JSON:
//! `[["cpu", 1609459200, 20.1], ...]` (series id, Unix seconds, value).

use crate::StoreError;
use crate::ports::anomaly_labels::{AnomalyId, AnomalyLabel, LabelFilter};
use anomaly_core::{Model, ModelVersion, SeriesId};
use async_trait::async_trait;
use serde::Deserialize;
use serde::de::{IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

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

/// Encodes points as a log entry's JSON.
pub fn encode_points(points: &[StreamPoint]) -> String {
    /// The rows, written as they are read, without a copy of each.
    struct Rows<'a>(&'a [StreamPoint]);
    impl serde::Serialize for Rows<'_> {
        fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            serializer.collect_seq(self.0.iter().map(|p| (p.series_id.as_str(), p.timestamp, p.value)))
        }
    }
    serde_json::to_string(&Rows(points)).unwrap_or_default()
}

/// Decodes a log entry's JSON; returns the points that parse and how many did not.
pub fn decode_points(text: &str) -> (Vec<StreamPoint>, u64) {
    let Ok(rows) = serde_json::from_str::<Vec<Row<'_>>>(text) else { return (Vec::new(), 1) };
    let mut malformed = 0;
    let mut points: Vec<StreamPoint> = Vec::with_capacity(rows.len());
    for row in rows {
        let point = (|| {
            let Row::Point(name, timestamp, value) = row else { return None };
            let timestamp = timestamp.as_i64().filter(|t| *t >= 0)?;
            let value = value.as_f64().filter(|v| v.is_finite())?;
            // Points of a series come one after the other: its id is shared.
            let series_id = match points.last() {
                Some(last) if last.series_id.as_str() == name.as_ref() => last.series_id.clone(),
                _ => SeriesId::parse(&name).ok()?,
            };
            Some(StreamPoint { series_id, timestamp, value })
        })();
        match point {
            Some(point) => points.push(point),
            None => malformed += 1,
        }
    }
    (points, malformed)
}

/// One row of an entry as read, without copying its series id: a row of
/// another shape is `Malformed` rather than an error, so one bad row does
/// not cost the entry its other points.
enum Row<'a> {
    Point(Cow<'a, str>, Scalar, Scalar),
    Malformed,
}

/// A row's number, or anything else (`Other`).
#[derive(Clone, Copy)]
enum Scalar {
    Int(i64),
    UInt(u64),
    Float(f64),
    Other,
}

impl Scalar {
    fn as_i64(self) -> Option<i64> {
        match self {
            Scalar::Int(n) => Some(n),
            Scalar::UInt(n) => i64::try_from(n).ok(),
            Scalar::Float(_) | Scalar::Other => None,
        }
    }

    fn as_f64(self) -> Option<f64> {
        match self {
            Scalar::Int(n) => Some(n as f64),
            Scalar::UInt(n) => Some(n as f64),
            Scalar::Float(x) => Some(x),
            Scalar::Other => None,
        }
    }
}

/// A row's element: its text, its number, or something else (null, a
/// boolean, an array or an object, read and skipped).
enum Element<'a> {
    Text(Cow<'a, str>),
    Number(Scalar),
    Other,
}

impl Element<'_> {
    fn scalar(&self) -> Scalar {
        match self {
            Element::Number(scalar) => *scalar,
            Element::Text(_) | Element::Other => Scalar::Other,
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Row<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RowVisitor;
        impl<'de> Visitor<'de> for RowVisitor {
            type Value = Row<'de>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a row [series_id, unix_seconds, value]")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Row<'de>, A::Error> {
                let mut elements = [Element::Other, Element::Other, Element::Other];
                let mut count = 0;
                while let Some(element) = seq.next_element::<Element<'de>>()? {
                    if let Some(slot) = elements.get_mut(count) {
                        *slot = element;
                    }
                    count += 1;
                }
                Ok(match elements {
                    [Element::Text(name), timestamp, value] if count == 3 => {
                        Row::Point(name, timestamp.scalar(), value.scalar())
                    }
                    _ => Row::Malformed,
                })
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Row<'de>, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Row::Malformed)
            }

            fn visit_bool<E>(self, _: bool) -> Result<Row<'de>, E> {
                Ok(Row::Malformed)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Row<'de>, E> {
                Ok(Row::Malformed)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Row<'de>, E> {
                Ok(Row::Malformed)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Row<'de>, E> {
                Ok(Row::Malformed)
            }
            fn visit_str<E>(self, _: &str) -> Result<Row<'de>, E> {
                Ok(Row::Malformed)
            }
            fn visit_unit<E>(self) -> Result<Row<'de>, E> {
                Ok(Row::Malformed)
            }
        }
        deserializer.deserialize_any(RowVisitor)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Element<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ElementVisitor;
        impl<'de> Visitor<'de> for ElementVisitor {
            type Value = Element<'de>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E>(self, text: &'de str) -> Result<Self::Value, E> {
                Ok(Element::Text(Cow::Borrowed(text)))
            }
            fn visit_str<E>(self, text: &str) -> Result<Self::Value, E> {
                Ok(Element::Text(Cow::Owned(text.to_owned())))
            }
            fn visit_i64<E>(self, n: i64) -> Result<Self::Value, E> {
                Ok(Element::Number(Scalar::Int(n)))
            }
            fn visit_u64<E>(self, n: u64) -> Result<Self::Value, E> {
                Ok(Element::Number(Scalar::UInt(n)))
            }
            fn visit_f64<E>(self, x: f64) -> Result<Self::Value, E> {
                Ok(Element::Number(Scalar::Float(x)))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Element::Other)
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(Element::Other)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Element::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Element::Other)
            }
        }
        deserializer.deserialize_any(ElementVisitor)
    }
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
    use proptest::prelude::*;

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

    /// The entry decoding as it was written first, through `serde_json::Value`:
    /// the reference the borrowing decoder must agree with.
    fn decode_through_values(text: &str) -> (Vec<StreamPoint>, u64) {
        let Ok(rows) = serde_json::from_str::<Vec<serde_json::Value>>(text) else { return (Vec::new(), 1) };
        let mut malformed = 0;
        let points = rows
            .iter()
            .filter_map(|row| {
                let point = (|| {
                    let series_id = SeriesId::parse(row.get(0)?.as_str()?).ok()?;
                    let timestamp = row.get(1)?.as_i64().filter(|t| *t >= 0)?;
                    let value = row.get(2)?.as_f64().filter(|v| v.is_finite())?;
                    Some(StreamPoint { series_id, timestamp, value })
                })();
                malformed += u64::from(point.is_none());
                point
            })
            .collect();
        (points, malformed)
    }

    fn element() -> impl Strategy<Value = serde_json::Value> {
        use serde_json::{Value, json};
        prop_oneof![
            prop::sample::select(vec!["cpu", "mem", "a b", "", "caf\u{e9}", "x\"y", "."]).prop_map(|s| json!(s)),
            any::<i64>().prop_map(|n| json!(n)),
            any::<u64>().prop_map(|n| json!(n)),
            any::<f64>().prop_map(|x| serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)),
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            Just(json!([1, ["cpu"]])),
            Just(json!({"series_id": "cpu"})),
        ]
    }

    proptest! {
        /// Rows of every shape, valid or not, and text that is not JSON (cut short).
        #[test]
        fn the_borrowing_decoder_agrees_with_decoding_through_values(
            rows in prop::collection::vec(
                prop_oneof![
                    prop::collection::vec(element(), 0..5).prop_map(serde_json::Value::Array),
                    (element(), element(), element()).prop_map(|(a, b, c)| serde_json::json!([a, b, c])),
                    element(),
                ],
                0..12,
            ),
            cut in any::<bool>(),
        ) {
            let mut text = serde_json::Value::Array(rows).to_string();
            if cut {
                text.pop();
            }
            prop_assert_eq!(decode_points(&text), decode_through_values(&text));
        }
    }
}
