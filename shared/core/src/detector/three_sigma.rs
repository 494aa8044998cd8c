//! The contract's baseline detector: a value is anomalous when it lies more
//! than k standard deviations from the training mean.

use super::params::DetectorParams;
use super::{Decision, Direction, OnlineDetector, Verdict};
use crate::{TrainingSeries, ValidationError, stats::RunningStats, threshold::Threshold};
use serde::{Deserialize, Serialize};

/// The parameters of 3-sigma.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ThreeSigmaParams {
    /// k (default 3).
    pub threshold: Threshold,
    /// Which side is anomalous (default both).
    pub direction: Direction,
}

impl DetectorParams for ThreeSigmaParams {
    type Detector = ThreeSigma;

    /// `threshold` and `direction` are checked for every kind alike.
    fn check(&self, _kind: &str) -> Result<(), ValidationError> {
        Ok(())
    }

    fn of(detector: &ThreeSigma) -> Self {
        Self { threshold: detector.threshold, direction: detector.direction }
    }

    /// Exists only fitted.
    fn start(self) -> Option<ThreeSigma> {
        None
    }

    fn points_needed(self) -> usize {
        1
    }

    fn threshold(self) -> f64 {
        self.threshold.get()
    }

    fn direction(self) -> Direction {
        self.direction
    }

    fn fit(self, series: &TrainingSeries) -> Result<ThreeSigma, ValidationError> {
        ThreeSigma::fit(series, self.threshold, self.direction)
    }
}

/// Fitted 3-sigma parameters (k is configurable, 3 by default). Frozen at
/// fit time: online, it judges every point against the training statistics
/// and learns nothing.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ThreeSigma {
    /// Training mean.
    pub mean: f64,
    /// Training population standard deviation, > 0.
    pub std: f64,
    /// The multiplier k.
    pub threshold: Threshold,
    /// Which side of the band is anomalous.
    pub direction: Direction,
}

impl ThreeSigma {
    /// Fits mean and population std in one stable pass. Rejects a constant
    /// series (std = 0 flags nothing useful) and values whose spread overflows.
    pub fn fit(series: &TrainingSeries, threshold: Threshold, direction: Direction) -> Result<Self, ValidationError> {
        let stats = RunningStats::of(series.values());
        let (mean, std) = (stats.mean(), stats.std_dev());
        if !mean.is_finite() || !std.is_finite() || !(threshold.get() * std).is_finite() {
            return Err(ValidationError::ValuesOutOfRange);
        }
        if std == 0.0 {
            return Err(ValidationError::ConstantSeries);
        }
        Ok(Self { mean, std, threshold, direction })
    }
}

impl OnlineDetector for ThreeSigma {
    fn judge(&self, value: f64) -> Verdict {
        Verdict::Judged(self.evaluate(value))
    }

    /// Frozen at fit time: learns nothing.
    fn learn(&mut self, _value: f64) {}
}

impl ThreeSigma {
    /// Scores `value` and decides whether it lies outside the band.
    pub fn evaluate(&self, value: f64) -> Decision {
        let band = self.threshold.get() * self.std;
        // Written exactly as the reference model compares, not through z, so
        // `Upper` reproduces `value > mean + 3 * std` bit for bit.
        let anomaly = match self.direction {
            Direction::TwoSided => (value - self.mean).abs() > band,
            Direction::Upper => value > self.mean + band,
            Direction::Lower => value < self.mean - band,
        };
        let z = (value - self.mean) / self.std;
        let outward = match self.direction {
            Direction::TwoSided => z.abs(),
            Direction::Upper => z,
            Direction::Lower => -z,
        };
        Decision::graded(anomaly, z, outward / self.threshold.get())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn fit(values: &[f64], direction: Direction) -> ThreeSigma {
        let timestamps = (0..values.len() as i64).collect();
        let series = TrainingSeries::new(timestamps, values.to_vec(), 1).expect("valid series");
        ThreeSigma::fit(&series, Threshold::DEFAULT, direction).expect("fits")
    }

    #[test]
    fn two_sided_flags_spikes_and_drops() {
        // mean 0, std 1.
        let model = fit(&[-1.0, 1.0, -1.0, 1.0], Direction::TwoSided);
        assert!(model.evaluate(3.5).anomaly);
        assert!(model.evaluate(-3.5).anomaly);
        assert!(!model.evaluate(3.0).anomaly, "the band edge itself is normal");
        assert_eq!(model.evaluate(2.0).score, 2.0);
    }

    #[test]
    fn upper_and_lower_are_one_sided() {
        let upper = fit(&[-1.0, 1.0], Direction::Upper);
        assert!(upper.evaluate(3.5).anomaly && !upper.evaluate(-100.0).anomaly);
        let lower = fit(&[-1.0, 1.0], Direction::Lower);
        assert!(lower.evaluate(-3.5).anomaly && !lower.evaluate(100.0).anomaly);
    }

    #[test]
    fn rejects_constant_and_overflowing_series() {
        let constant = TrainingSeries::new(vec![1, 2, 3], vec![5.0; 3], 1).expect("valid");
        assert_eq!(
            ThreeSigma::fit(&constant, Threshold::DEFAULT, Direction::TwoSided),
            Err(ValidationError::ConstantSeries)
        );
        let huge = TrainingSeries::new(vec![1, 2], vec![f64::MAX, -f64::MAX], 1).expect("valid");
        assert_eq!(
            ThreeSigma::fit(&huge, Threshold::DEFAULT, Direction::TwoSided),
            Err(ValidationError::ValuesOutOfRange)
        );
    }

    proptest! {
        #[test]
        fn upper_matches_the_reference_model(values in prop::collection::vec(-1e6f64..1e6, 2..50), x in -1e7f64..1e7) {
            let timestamps = (0..values.len() as i64).collect();
            let series = TrainingSeries::new(timestamps, values.clone(), 1).expect("valid");
            if let Ok(model) = ThreeSigma::fit(&series, Threshold::DEFAULT, Direction::Upper) {
                prop_assert_eq!(model.evaluate(x).anomaly, x > model.mean + 3.0 * model.std);
            }
        }

        #[test]
        fn never_panics_on_finite_input(values in prop::collection::vec(prop::num::f64::NORMAL | prop::num::f64::ZERO, 1..50), x in prop::num::f64::NORMAL) {
            let timestamps = (0..values.len() as i64).collect();
            let series = TrainingSeries::new(timestamps, values, 1).expect("finite values are valid");
            if let Ok(model) = ThreeSigma::fit(&series, Threshold::DEFAULT, Direction::TwoSided) {
                prop_assert!(model.mean.is_finite() && model.std > 0.0);
                let _ = model.evaluate(x);
            }
        }
    }
}
