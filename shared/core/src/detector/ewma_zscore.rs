//! EWMA z-score: the mean and variance are exponentially weighted moving
//! averages (weight `alpha` on the newest point), and a point is anomalous
//! when it lies more than k of those standard deviations from that mean.
//! O(1) per point and three numbers of state.

use super::params::{DEFAULT_WINDOW, DetectorParams, check_share, check_warmup};
use super::{Decision, OnlineDetector, Verdict};
use crate::{Threshold, ValidationError};
use serde::{Deserialize, Serialize};

/// The parameters of an EWMA z-score.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EwmaZScoreParams {
    /// Weight of the newest point, in (0, 1) (default 2/51, a 50-point window's).
    pub alpha: f64,
    /// k (default 3).
    pub threshold: Threshold,
    /// Points before the first verdict, 1 to [`MAX_WINDOW`](super::MAX_WINDOW) (default 50).
    pub warmup: u32,
}

impl Default for EwmaZScoreParams {
    fn default() -> Self {
        Self { alpha: 2.0 / (f64::from(DEFAULT_WINDOW) + 1.0), threshold: Threshold::DEFAULT, warmup: DEFAULT_WINDOW }
    }
}

impl DetectorParams for EwmaZScoreParams {
    type Detector = EwmaZScore;

    fn check(&self, kind: &str) -> Result<(), ValidationError> {
        check_share(kind, "alpha", self.alpha)?;
        check_warmup(kind, self.warmup)
    }

    fn of(detector: &EwmaZScore) -> Self {
        Self { alpha: detector.alpha, threshold: detector.threshold, warmup: detector.warmup }
    }

    fn start(self) -> Option<EwmaZScore> {
        Some(EwmaZScore::new(self.alpha, self.threshold, self.warmup))
    }

    fn points_needed(self) -> usize {
        self.warmup as usize
    }

    fn threshold(self) -> f64 {
        self.threshold.get()
    }

    fn warms_on_every_point(self) -> bool {
        true
    }
}

/// EWMA z-score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EwmaZScore {
    /// Weight of the newest point, in (0, 1).
    pub alpha: f64,
    /// The largest normal |z|.
    pub threshold: Threshold,
    /// Points seen before the first verdict.
    pub warmup: u32,
    seen: u64,
    #[serde(with = "super::state_float")]
    mean: f64,
    #[serde(with = "super::state_float")]
    variance: f64,
}

impl EwmaZScore {
    /// An empty detector.
    pub fn new(alpha: f64, threshold: Threshold, warmup: u32) -> Self {
        Self { alpha, threshold, warmup, seen: 0, mean: 0.0, variance: 0.0 }
    }
}

impl OnlineDetector for EwmaZScore {
    fn judge(&self, value: f64) -> Verdict {
        let needed = u64::from(self.warmup.max(1));
        if self.seen < needed {
            return Verdict::WarmingUp { seen: self.seen, needed };
        }
        Verdict::Judged(Decision::from_distance(value - self.mean, self.variance.max(0.0).sqrt(), self.threshold.get()))
    }

    fn learn(&mut self, value: f64) {
        if self.seen == 0 {
            self.mean = value;
        } else {
            let delta = value - self.mean;
            self.mean += self.alpha * delta;
            self.variance = (1.0 - self.alpha) * (self.variance + self.alpha * delta * delta);
        }
        self.seen += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn flags_a_spike_after_warm_up() {
        let mut detector = EwmaZScore::new(0.1, Threshold::DEFAULT, 10);
        for i in 0..10 {
            assert!(matches!(detector.update(if i % 2 == 0 { 9.0 } else { 11.0 }), Verdict::WarmingUp { .. }));
        }
        assert!(!detector.update(10.5).is_anomaly());
        assert!(detector.update(30.0).is_anomaly());
    }

    #[test]
    fn a_learnt_extreme_is_forgotten_within_some_thousands_of_points() {
        let alpha = 2.0 / 51.0; // the default
        let mut detector = EwmaZScore::new(alpha, Threshold::DEFAULT, 50);
        let calm = |i: u64| 10.0 + (i % 4) as f64 * 0.25;
        for i in 0..100 {
            detector.update(calm(i));
        }
        detector.update(3.4e38);
        let flagged_again = (0..100_000u64).find(|&i| {
            let spike_flagged = detector.judge(100.0).is_anomaly();
            detector.update(calm(i));
            spike_flagged
        });
        assert!(flagged_again.is_some_and(|n| (4_000..5_000).contains(&n)), "{flagged_again:?}");
    }

    proptest! {
        #[test]
        fn matches_the_textbook_recursion(values in prop::collection::vec(-1e6f64..1e6, 2..200), alpha in 0.01f64..0.99) {
            let mut detector = EwmaZScore::new(alpha, Threshold::DEFAULT, 1);
            let (mut mean, mut variance) = (values[0], 0.0);
            detector.update(values[0]);
            for &x in &values[1..] {
                let std: f64 = f64::sqrt(variance);
                let expected = if x == mean { 0.0 } else { (x - mean) / std };
                let Verdict::Judged(decision) = detector.update(x) else { panic!("judged") };
                prop_assert!(decision.score == expected || (decision.score - expected).abs() <= 1e-9 * expected.abs().max(1.0));
                let delta = x - mean;
                mean += alpha * delta;
                variance = (1.0 - alpha) * (variance + alpha * delta * delta);
            }
        }

        #[test]
        fn never_panics_on_finite_input(values in prop::collection::vec(prop::num::f64::NORMAL | prop::num::f64::ZERO, 1..100)) {
            let mut detector = EwmaZScore::new(0.5, Threshold::DEFAULT, 2);
            for x in values {
                let _ = detector.update(x);
            }
        }
    }
}
