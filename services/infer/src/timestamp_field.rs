//! The `timestamp` of a predict or ingest body, read in place: Unix
//! seconds as digits in a string or as a non-negative integer. What was
//! wrong with it is kept for the 422 answer, so a bad timestamp is
//! reported like any other invalid field, not as unreadable JSON; and a
//! good one costs no `String` or `serde_json::Value` per point.

use anomaly_core::{ValidationError, parse_timestamp};
use serde::Deserialize;
use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// A timestamp as read: Unix seconds, or why it is not one.
#[derive(Debug, Clone, PartialEq)]
pub struct TimestampField(Result<i64, ValidationError>);

impl TimestampField {
    /// The timestamp as Unix seconds.
    pub fn unix_seconds(&self) -> Result<i64, ValidationError> {
        self.0.clone()
    }
}

/// Names what was sent in the message, at most 40 characters of it.
fn invalid(sent: impl fmt::Display) -> TimestampField {
    TimestampField(Err(ValidationError::InvalidTimestamp(sent.to_string().chars().take(40).collect())))
}

/// Whole, non-negative seconds from a number; the number as JSON writes it otherwise.
fn from_number(number: serde_json::Number) -> TimestampField {
    // A whole number written as 1609459500.0 is still whole seconds.
    match number.as_i64().or_else(|| number.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9e18).map(|f| f as i64)) {
        Some(seconds) if seconds >= 0 => TimestampField(Ok(seconds)),
        _ => invalid(number),
    }
}

/// Anything else sent, written back as JSON for the message.
fn from_other(sent: Result<serde_json::Value, impl de::Error>) -> TimestampField {
    invalid(sent.unwrap_or_default())
}

impl<'de> Deserialize<'de> for TimestampField {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TimestampVisitor)
    }
}

struct TimestampVisitor;

impl<'de> Visitor<'de> for TimestampVisitor {
    type Value = TimestampField;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("Unix seconds: digits in a string or an integer >= 0")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<TimestampField, E> {
        Ok(TimestampField(parse_timestamp(text)))
    }

    fn visit_u64<E: de::Error>(self, number: u64) -> Result<TimestampField, E> {
        Ok(from_number(number.into()))
    }

    fn visit_i64<E: de::Error>(self, number: i64) -> Result<TimestampField, E> {
        Ok(from_number(number.into()))
    }

    fn visit_f64<E: de::Error>(self, number: f64) -> Result<TimestampField, E> {
        Ok(serde_json::Number::from_f64(number).map_or_else(|| invalid(number), from_number))
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<TimestampField, E> {
        Ok(invalid(value))
    }

    fn visit_unit<E: de::Error>(self) -> Result<TimestampField, E> {
        Ok(invalid(serde_json::Value::Null))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<TimestampField, A::Error> {
        Ok(from_other(serde_json::Value::deserialize(SeqAccessDeserializer::new(seq))))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<TimestampField, A::Error> {
        Ok(from_other(serde_json::Value::deserialize(MapAccessDeserializer::new(map))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// What a `timestamp` of this JSON reads as.
    fn read(body: serde_json::Value) -> Result<i64, ValidationError> {
        serde_json::from_str::<TimestampField>(&body.to_string()).expect("any JSON value is read").unix_seconds()
    }

    #[test]
    fn digits_in_a_string_and_whole_non_negative_numbers_are_seconds() {
        assert_eq!(read(json!("1609459500")), Ok(1_609_459_500));
        assert_eq!(read(json!(1_609_459_500)), Ok(1_609_459_500));
        assert_eq!(read(json!(1_609_459_500.0)), Ok(1_609_459_500));
        assert_eq!(read(json!(0)), Ok(0));
        assert_eq!(read(json!(i64::MAX)), Ok(i64::MAX));
    }

    #[test]
    fn anything_else_names_what_was_sent() {
        let message = |body| match read(body) {
            Err(ValidationError::InvalidTimestamp(sent)) => sent,
            other => panic!("expected invalid_timestamp, got {other:?}"),
        };
        assert_eq!(message(json!("-5")), "\"-5\"");
        assert_eq!(message(json!("12a")), "\"12a\"");
        assert_eq!(message(json!(-5)), "-5");
        assert_eq!(message(json!(1.5)), "1.5");
        assert_eq!(message(json!(1e20)), json!(1e20).to_string(), "as JSON writes it");
        assert_eq!(message(json!(u64::MAX)), u64::MAX.to_string());
        assert_eq!(message(json!(true)), "true");
        assert_eq!(message(json!(null)), "null");
        assert_eq!(message(json!([1, 2])), "[1,2]");
        assert_eq!(message(json!({"a": "x".repeat(60)})).chars().count(), 40);
    }

    #[test]
    fn a_string_with_escapes_is_read_too() {
        let escaped: TimestampField = serde_json::from_str(r#""16094\u00350""#).expect("reads");
        assert_eq!(escaped.unix_seconds(), Ok(1_609_450));
    }
}
