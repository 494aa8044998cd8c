//! `TrainingSeries`: a fit request's points once they are known to be usable.

use crate::ValidationError;

/// Timestamps strictly ascending and >= 0, values finite, at least the
/// configured minimum number of points.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainingSeries {
    timestamps: Vec<i64>,
    values: Vec<f64>,
}

impl TrainingSeries {
    /// Checks the raw arrays; `min_points` is the configured minimum (>= 1).
    pub fn new(timestamps: Vec<i64>, values: Vec<f64>, min_points: usize) -> Result<Self, ValidationError> {
        if timestamps.is_empty() && values.is_empty() {
            return Err(ValidationError::EmptySeries);
        }
        if timestamps.len() != values.len() {
            return Err(ValidationError::LengthMismatch { timestamps: timestamps.len(), values: values.len() });
        }
        if values.len() < min_points.max(1) {
            return Err(ValidationError::TooFewPoints { min: min_points.max(1), got: values.len() });
        }
        if let Some(index) = values.iter().position(|v| !v.is_finite()) {
            return Err(ValidationError::NonFiniteValue(format!("values[{index}] is not a finite number")));
        }
        check_timestamps(&timestamps)?;
        Ok(Self { timestamps, values })
    }

    /// The timestamps, Unix seconds, strictly ascending.
    pub fn timestamps(&self) -> &[i64] {
        &self.timestamps
    }

    /// The values, all finite.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Always false: a validated series has at least one point.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

fn check_timestamps(timestamps: &[i64]) -> Result<(), ValidationError> {
    if let Some(index) = timestamps.iter().position(|&t| t < 0) {
        return Err(ValidationError::NegativeTimestamp { index, value: timestamps[index] });
    }
    for (index, pair) in timestamps.windows(2).enumerate() {
        let (before, value) = (pair[0], pair[1]);
        if value == before {
            return Err(ValidationError::DuplicateTimestamp { index: index + 1, value });
        }
        if value < before {
            return Err(ValidationError::UnsortedTimestamps { index: index + 1, value });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(ts: Vec<i64>, vs: Vec<f64>) -> &'static str {
        TrainingSeries::new(ts, vs, 3).expect_err("should be rejected").code()
    }

    #[test]
    fn accepts_a_clean_series() {
        let series = TrainingSeries::new(vec![0, 60, 120], vec![1.0, 2.0, 3.0], 3).expect("valid");
        assert_eq!(series.len(), 3);
    }

    #[test]
    fn names_each_defect() {
        assert_eq!(code(vec![], vec![]), "empty_series");
        assert_eq!(code(vec![1, 2, 3], vec![1.0, 2.0]), "length_mismatch");
        assert_eq!(code(vec![1, 2], vec![1.0, 2.0]), "too_few_points");
        assert_eq!(code(vec![1, 2, 3], vec![1.0, f64::NAN, 2.0]), "non_finite_value");
        assert_eq!(code(vec![1, 3, 2], vec![1.0, 2.0, 3.0]), "unsorted_timestamps");
        assert_eq!(code(vec![1, 2, 2], vec![1.0, 2.0, 3.0]), "duplicate_timestamp");
        assert_eq!(code(vec![-1, 2, 3], vec![1.0, 2.0, 3.0]), "negative_timestamp");
    }
}
