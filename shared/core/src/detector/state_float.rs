//! Serde for a float of a detector's learnt state. Hostile but valid input
//! (±1.79e308) can overflow a running mean or variance to infinity, and
//! JSON has no infinity: serde_json writes it as `null` and cannot read the
//! checkpoint back. Non-finite values are written as the strings `"inf"`,
//! `"-inf"` and `"NaN"` instead, and read back as they were.

use serde::{Deserialize, Deserializer, Serializer};

/// Writes `value`: a number when finite, else its name.
pub(crate) fn serialize<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
    if value.is_finite() {
        serializer.serialize_f64(*value)
    } else if value.is_nan() {
        serializer.serialize_str("NaN")
    } else if *value > 0.0 {
        serializer.serialize_str("inf")
    } else {
        serializer.serialize_str("-inf")
    }
}

/// Reads a number, or one of the names [`serialize`] writes.
pub(crate) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Stored {
        Number(f64),
        Name(String),
    }
    match Stored::deserialize(deserializer)? {
        Stored::Number(value) => Ok(value),
        Stored::Name(name) => match name.as_str() {
            "inf" => Ok(f64::INFINITY),
            "-inf" => Ok(f64::NEG_INFINITY),
            "NaN" => Ok(f64::NAN),
            other => {
                Err(serde::de::Error::custom(format!("expected a number, \"inf\", \"-inf\" or \"NaN\"; got {other:?}")))
            }
        },
    }
}
