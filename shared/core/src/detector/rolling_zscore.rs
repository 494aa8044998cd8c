//! Rolling z-score: a point is anomalous when it lies more than k standard
//! deviations from the mean of the `W` points before it. O(1) per point:
//! the mean and squared spread are updated as a value enters and another
//! leaves, and recomputed exactly every `W` points so rounding cannot drift.

use super::params::{DEFAULT_WINDOW, DetectorParams, check_window};
use super::window::Window;
use super::{Decision, OnlineDetector, Verdict};
use crate::{Threshold, ValidationError};
use serde::{Deserialize, Serialize};

/// The parameters of a rolling z-score.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RollingZScoreParams {
    /// Points in the window, 2 to [`MAX_WINDOW`](super::MAX_WINDOW) (default 50).
    pub window: u32,
    /// k (default 3).
    pub threshold: Threshold,
}

impl Default for RollingZScoreParams {
    fn default() -> Self {
        Self { window: DEFAULT_WINDOW, threshold: Threshold::DEFAULT }
    }
}

impl DetectorParams for RollingZScoreParams {
    type Detector = RollingZScore;

    fn check(&self, kind: &str) -> Result<(), ValidationError> {
        check_window(kind, self.window)
    }

    fn of(detector: &RollingZScore) -> Self {
        Self { window: detector.window, threshold: detector.threshold }
    }

    fn start(self) -> Option<RollingZScore> {
        Some(RollingZScore::new(self.window, self.threshold))
    }

    fn points_needed(self) -> usize {
        self.window as usize
    }

    fn threshold(self) -> f64 {
        self.threshold.get()
    }
}

/// Rolling z-score over the last `window` points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RollingZScore {
    /// Points in the window.
    pub window: u32,
    /// The largest normal |z|.
    pub threshold: Threshold,
    recent: Window,
    #[serde(with = "super::state_float")]
    mean: f64,
    /// Sum of squared distances from `mean` over the window.
    #[serde(with = "super::state_float")]
    m2: f64,
    /// Updates since the last exact recomputation.
    since_exact: u32,
}

impl RollingZScore {
    /// An empty detector: warming up until `window` points were seen.
    pub fn new(window: u32, threshold: Threshold) -> Self {
        Self { window, threshold, recent: Window::new(window as usize), mean: 0.0, m2: 0.0, since_exact: 0 }
    }

    /// Mean and squared spread of the window, exactly (two passes; each
    /// value divided first so that large values do not overflow the sum).
    fn recompute(&mut self) {
        let values = self.recent.values();
        let n = values.len().max(1) as f64;
        self.mean = values.iter().map(|v| v / n).sum();
        self.m2 = values.iter().map(|v| (v - self.mean) * (v - self.mean)).sum();
        self.since_exact = 0;
    }

    /// Standard deviation of the window.
    fn std(&self) -> f64 {
        (self.m2.max(0.0) / self.recent.len().max(1) as f64).sqrt()
    }
}

impl OnlineDetector for RollingZScore {
    fn judge(&self, value: f64) -> Verdict {
        if !self.recent.is_full() {
            return Verdict::WarmingUp { seen: self.recent.len() as u64, needed: u64::from(self.window) };
        }
        Verdict::Judged(Decision::from_distance(value - self.mean, self.std(), self.threshold.get()))
    }

    fn learn(&mut self, value: f64) {
        let n = self.recent.len() as f64;
        match self.recent.push(value) {
            None => {
                let delta = value - self.mean;
                self.mean += delta / (n + 1.0);
                self.m2 += delta * (value - self.mean);
            }
            Some(old) => {
                let old_mean = self.mean;
                self.mean += (value - old) / n;
                self.m2 += (value - old) * (value - self.mean + old - old_mean);
                self.since_exact += 1;
            }
        }
        if self.since_exact >= self.window || !(self.mean.is_finite() && self.m2.is_finite()) {
            self.recompute();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The z of `x` against the population mean and std of `window`, naively.
    fn naive_z(window: &[f64], x: f64) -> f64 {
        let n = window.len() as f64;
        let mean = window.iter().sum::<f64>() / n;
        let std = (window.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
        if x == mean { 0.0 } else { (x - mean) / std }
    }

    #[test]
    fn warms_up_then_flags_a_spike() {
        let mut detector = RollingZScore::new(4, Threshold::DEFAULT);
        for (i, v) in [1.0, 2.0, 1.0, 2.0].into_iter().enumerate() {
            assert_eq!(detector.update(v), Verdict::WarmingUp { seen: i as u64, needed: 4 });
        }
        assert!(!detector.update(2.0).is_anomaly());
        assert!(detector.update(10.0).is_anomaly());
    }

    #[test]
    fn a_flat_window_flags_any_change() {
        let mut detector = RollingZScore::new(3, Threshold::DEFAULT);
        for _ in 0..3 {
            detector.update(5.0);
        }
        assert_eq!(detector.judge(5.0), Verdict::Judged(Decision { anomaly: false, score: 0.0, anomaly_score: 0.0 }));
        assert!(detector.judge(5.000001).is_anomaly());
    }

    proptest! {
        #[test]
        fn matches_the_naive_window(values in prop::collection::vec(-1e6f64..1e6, 1..300), window in 2u32..40) {
            let mut detector = RollingZScore::new(window, Threshold::DEFAULT);
            for (i, &x) in values.iter().enumerate() {
                let verdict = detector.update(x);
                let w = window as usize;
                if i < w {
                    prop_assert!(matches!(verdict, Verdict::WarmingUp { .. }), "warming up at point {}", i);
                } else {
                    let expected = naive_z(&values[i - w..i], x);
                    let Verdict::Judged(decision) = verdict else { panic!("judged after warm-up") };
                    let tolerance = 1e-6 * expected.abs().max(1.0);
                    prop_assert!(
                        (decision.score - expected).abs() <= tolerance || (expected.is_infinite() && decision.score.abs() > 1e6),
                        "point {}: {} vs {}", i, decision.score, expected
                    );
                }
            }
        }

        #[test]
        fn never_panics_on_finite_input(values in prop::collection::vec(prop::num::f64::NORMAL | prop::num::f64::SUBNORMAL | prop::num::f64::ZERO, 1..100)) {
            let mut detector = RollingZScore::new(5, Threshold::DEFAULT);
            for x in values {
                let _ = detector.update(x);
            }
        }

        #[test]
        fn a_restored_state_gives_the_same_verdicts(values in prop::collection::vec(-1e3f64..1e3, 10..100), cut in 0usize..10) {
            super::super::assert_restores_exactly(RollingZScore::new(7, Threshold::DEFAULT), &values, cut);
        }
    }
}
