//! Why an input was refused: one variant per cause, each with a stable
//! machine code that clients can match on and a message that says what to fix.

use thiserror::Error;

/// A validation failure of client input. Never a server fault.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ValidationError {
    /// The series id is empty, too long or has characters outside the allowed set.
    #[error("series_id must be 1 to {max} bytes of [A-Za-z0-9._:-], other than . and ..; got {got:?}")]
    InvalidSeriesId {
        /// The longest id accepted, in bytes.
        max: usize,
        /// The id as received (cut to a readable length).
        got: String,
    },
    /// The version selector is not `vN`, `VN` or `N` with N >= 1.
    #[error("version must look like v3, V3 or 3 (a whole number from 1); got {0:?}")]
    InvalidVersion(String),
    /// `timestamps` and `values` are empty.
    #[error("timestamps and values must not be empty")]
    EmptySeries,
    /// `timestamps` and `values` differ in length.
    #[error("timestamps has {timestamps} entries but values has {values}; they must match")]
    LengthMismatch {
        /// Number of timestamps received.
        timestamps: usize,
        /// Number of values received.
        values: usize,
    },
    /// Fewer points than the configured minimum.
    #[error("at least {min} points are needed to fit a model; got {got}")]
    TooFewPoints {
        /// The configured minimum.
        min: usize,
        /// Points received.
        got: usize,
    },
    /// A value is NaN or infinite (or out of the f64 range in the JSON text).
    #[error("{0}")]
    NonFiniteValue(String),
    /// Every training value is the same, so the standard deviation is 0.
    #[error(
        "all values are equal (standard deviation 0): a constant series cannot flag anything; send data with some variation"
    )]
    ConstantSeries,
    /// The values are so large that their mean or spread overflows f64.
    #[error("values are too large: their mean or standard deviation overflows a 64-bit float; rescale the series")]
    ValuesOutOfRange,
    /// A timestamp is smaller than the one before it.
    #[error("timestamps must be sorted ascending; timestamps[{index}] = {value} comes after a larger one")]
    UnsortedTimestamps {
        /// Position of the offending timestamp.
        index: usize,
        /// Its value.
        value: i64,
    },
    /// A timestamp appears twice.
    #[error("timestamps must be unique; timestamps[{index}] = {value} repeats the one before it")]
    DuplicateTimestamp {
        /// Position of the repeated timestamp.
        index: usize,
        /// Its value.
        value: i64,
    },
    /// A timestamp is negative.
    #[error("timestamps must be Unix seconds >= 0; timestamps[{index}] = {value}")]
    NegativeTimestamp {
        /// Position of the offending timestamp.
        index: usize,
        /// Its value.
        value: i64,
    },
    /// A predict timestamp that is not a whole number of seconds >= 0.
    #[error("timestamp must be Unix seconds as digits (\"1609459500\") or a non-negative integer; got {0}")]
    InvalidTimestamp(String),
    /// The direction is not one of the known names.
    #[error("direction must be \"two_sided\" (default), \"upper\" or \"lower\"; got {0:?}")]
    InvalidDirection(String),
    /// The detector kind is unknown or one of its parameters is out of range.
    #[error("{0}")]
    InvalidDetector(String),
    /// The threshold multiplier is not finite or not positive.
    #[error("threshold must be a number > 0 and at most 1e6 (default 3.0); got {0}")]
    InvalidThreshold(f64),
}

impl ValidationError {
    /// The stable machine code sent in the `error` field of a 422 answer.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidSeriesId { .. } => "invalid_series_id",
            Self::InvalidVersion(_) => "invalid_version",
            Self::EmptySeries => "empty_series",
            Self::LengthMismatch { .. } => "length_mismatch",
            Self::TooFewPoints { .. } => "too_few_points",
            Self::NonFiniteValue(_) => "non_finite_value",
            Self::ConstantSeries => "constant_series",
            Self::ValuesOutOfRange => "values_out_of_range",
            Self::UnsortedTimestamps { .. } => "unsorted_timestamps",
            Self::DuplicateTimestamp { .. } => "duplicate_timestamp",
            Self::NegativeTimestamp { .. } => "negative_timestamp",
            Self::InvalidTimestamp(_) => "invalid_timestamp",
            Self::InvalidDirection(_) => "invalid_direction",
            Self::InvalidThreshold(_) => "invalid_threshold",
            Self::InvalidDetector(_) => "invalid_detector",
        }
    }
}
