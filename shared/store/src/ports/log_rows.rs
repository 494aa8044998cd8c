//! A log entry's points as JSON rows `[["cpu",1609459200,20.1],...]`: the
//! format of the platform's own log (Redis Streams, the SQL log) and of
//! Kafka's messages of rows. Read borrowed from the text, without a
//! `serde_json::Value` per row, since every point the stream judges
//! passes through here; a row of the wrong shape is counted, not an error.

use super::stream::StreamPoint;
use anomaly_core::SeriesId;
use serde::Deserialize;
use serde::de::{IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;

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

/// Why rows did not all decode, `malformed` (> 0) being what [`decode_points`]
/// counted: `subject` (the field or value that holds them) is not a JSON
/// array, or so many of its rows are not points.
pub(crate) fn malformed_rows_reason(subject: &str, text: &str, malformed: u64) -> String {
    if serde_json::from_str::<Vec<serde_json::Value>>(text).is_err() {
        format!("{subject} is not a JSON array of rows")
    } else {
        format!("{malformed} row(s) are not [series_id, unix_seconds >= 0, finite value]")
    }
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
                // Elements after the third are read and ignored, as they
                // always were: a producer may append fields of its own.
                Ok(match elements {
                    [Element::Text(name), timestamp, value] if count >= 3 => {
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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
