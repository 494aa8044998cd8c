//! Anomaly likelihood, as Numenta layers it over HTM: not "is this raw
//! score high?" but "is the recent average of the raw score improbable
//! given how that average has been distributed so far?". A series whose
//! raw score is always noisy stops alerting on its noise; one that is
//! always calm alerts on a small, sustained rise.
//!
//! The short-term average is over the last [`SHORT`] raw scores; its
//! long-term distribution is an exponentially weighted mean and variance
//! (weight [`LONG_ALPHA`]). The result is a z value: the Gaussian tail
//! probability Numenta thresholds is a monotone function of it, so
//! thresholding z is the same rule without the special function. O(SHORT)
//! per point, a dozen numbers of state.

use serde::{Deserialize, Serialize};

/// Raw scores in the short-term average (chosen on NAB's DEV half).
pub const SHORT: usize = 8;
/// Weight of the newest short-term average in the long-term distribution
/// (chosen on NAB's DEV half).
pub const LONG_ALPHA: f64 = 0.002;
/// Short-term averages seen before a z is given (0 before).
pub const WARMUP: u64 = 300;

/// The likelihood layer's state over one raw score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnomalyLikelihood {
    /// The last raw scores, oldest first once full.
    recent: Vec<f64>,
    /// Where the next raw score goes once `recent` is full.
    next: usize,
    /// The sum of the raw scores that stay in the short-term average when
    /// the next one joins (the newest `SHORT - 1`, oldest first).
    #[serde(with = "crate::detector::state_float")]
    kept: f64,
    /// Short-term averages learnt from.
    seen: u64,
    #[serde(with = "crate::detector::state_float")]
    mean: f64,
    #[serde(with = "crate::detector::state_float")]
    variance: f64,
}

impl Default for AnomalyLikelihood {
    fn default() -> Self {
        Self { recent: Vec::with_capacity(SHORT), next: 0, kept: 0.0, seen: 0, mean: 0.0, variance: 0.0 }
    }
}

impl AnomalyLikelihood {
    /// The short-term average once `raw` joins the recent scores.
    fn short_mean(&self, raw: f64) -> f64 {
        (self.kept + raw) / (self.recent.len().min(SHORT - 1) + 1) as f64
    }

    /// How many long-term standard deviations the short-term average with
    /// `raw` lies above the long-term mean; 0 while warming up or when
    /// `raw` is not finite (a value that overflows is the value channels'
    /// business, and learning from it would blind this layer for good).
    pub fn z(&self, raw: f64) -> f64 {
        if self.seen < WARMUP || !raw.is_finite() {
            return 0.0;
        }
        let above = self.short_mean(raw) - self.mean;
        if above <= 0.0 {
            0.0
        } else if self.variance > 0.0 {
            above / self.variance.sqrt()
        } else {
            f64::INFINITY
        }
    }

    /// Learns from `raw` (after [`z`](Self::z) judged it); non-finite raw
    /// scores, and those that would overflow the long-term variance, are
    /// left out.
    pub fn learn(&mut self, raw: f64) {
        if !raw.is_finite() {
            return;
        }
        let short = self.short_mean(raw);
        let alpha = LONG_ALPHA.max(1.0 / (self.seen as f64 + 1.0));
        let delta = short - self.mean;
        let mean = self.mean + alpha * delta;
        let variance = (1.0 - alpha) * (self.variance + alpha * delta * delta);
        if !(mean.is_finite() && variance.is_finite()) {
            return;
        }
        if self.recent.len() < SHORT {
            self.recent.push(raw);
        } else {
            // (`% SHORT` first: a checkpoint is read back as written, but a
            // damaged one must not make the worker panic.)
            self.next %= SHORT;
            self.recent[self.next] = raw;
            self.next = (self.next + 1) % SHORT;
        }
        // Oldest first, as a plain sum over the window would add them; once
        // full, the oldest (at `next`) is the one that leaves.
        self.kept = if self.recent.len() < SHORT {
            self.recent.iter().sum()
        } else {
            self.recent[self.next + 1..].iter().chain(&self.recent[..self.next]).sum()
        };
        (self.mean, self.variance) = (mean, variance);
        self.seen += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn learnt(raws: &[f64]) -> AnomalyLikelihood {
        let mut layer = AnomalyLikelihood::default();
        for &raw in raws {
            layer.learn(raw);
        }
        layer
    }

    #[test]
    fn a_sustained_rise_over_a_calm_past_scores_high_and_a_usual_value_does_not() {
        let calm: Vec<f64> = (0..1000).map(|i| 1.0 + f64::from(i % 3) * 0.1).collect();
        let layer = learnt(&calm);
        assert!(layer.z(1.1) < 2.0, "usual: {}", layer.z(1.1));
        let mut rising = layer.clone();
        for _ in 0..SHORT - 1 {
            rising.learn(3.0);
        }
        assert!(rising.z(3.0) > 10.0, "sustained: {}", rising.z(3.0));
    }

    #[test]
    fn a_noisy_past_makes_its_noise_normal() {
        let noisy: Vec<f64> = (0..1000).map(|i| if i % 4 == 0 { 10.0 } else { 0.0 }).collect();
        assert!(learnt(&noisy).z(10.0) < 3.0, "{}", learnt(&noisy).z(10.0));
    }

    #[test]
    fn hostile_raw_scores_are_left_out_and_do_not_blind_the_layer() {
        let calm: Vec<f64> = (0..1000).map(|i| f64::from(i % 3)).collect();
        let mut layer = learnt(&calm);
        let before = layer.clone();
        for raw in [f64::INFINITY, f64::NAN, f64::MAX] {
            assert!(!layer.z(raw).is_nan());
            layer.learn(raw);
        }
        assert_eq!(layer.mean, before.mean, "nothing non-finite learnt");
        assert!(layer.z(50.0) > 3.0, "still sees a rise after hostile values: {}", layer.z(50.0));
    }

    /// The rule written plainly: the mean of the last SHORT raw scores
    /// against the EWMA of the earlier such means.
    fn naive(raws: &[f64]) -> Vec<f64> {
        let (mut mean, mut variance) = (0.0, 0.0);
        let mut out = Vec::new();
        for i in 0..raws.len() {
            let start = (i + 1).saturating_sub(SHORT);
            let short = raws[start..=i].iter().sum::<f64>() / (i + 1 - start) as f64;
            let seen = i as u64;
            out.push(if seen < WARMUP || short <= mean {
                0.0
            } else if variance > 0.0 {
                (short - mean) / f64::sqrt(variance)
            } else {
                f64::INFINITY
            });
            let alpha = LONG_ALPHA.max(1.0 / (seen as f64 + 1.0));
            let delta = short - mean;
            mean += alpha * delta;
            variance = (1.0 - alpha) * (variance + alpha * delta * delta);
        }
        out
    }

    proptest! {
        #[test]
        fn matches_the_plain_rule(raws in prop::collection::vec(0.0f64..1e3, 1..800)) {
            let mut layer = AnomalyLikelihood::default();
            let online: Vec<f64> = raws.iter().map(|&raw| { let z = layer.z(raw); layer.learn(raw); z }).collect();
            for (i, (a, b)) in online.iter().zip(naive(&raws)).enumerate() {
                prop_assert!((a - b).abs() <= 1e-6 * b.abs().max(1.0), "at {}: {} vs {}", i, a, b);
            }
        }
    }
}
