//! Rolling median/MAD: a point is anomalous when it lies more than k robust
//! standard deviations (1.4826 · MAD) from the median of the `W` points
//! before it. Robust to the outliers it looks for: one spike moves neither
//! the median nor the MAD much. When more than half of the window is one
//! value (MAD 0), the mean absolute deviation from the median stands in
//! (scaled by 1.2533), and when that is 0 too, any other value is anomalous.
//! O(log W) to find a value's place and O(W) to shift it, no allocation.

use super::params::{DEFAULT_WINDOW, DetectorParams, check_window};
use super::window::Window;
use super::{Decision, OnlineDetector, Verdict};
use crate::{Threshold, ValidationError};
use serde::{Deserialize, Serialize};

/// The parameters of a rolling median/MAD.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RollingMadParams {
    /// Points in the window, 2 to [`MAX_WINDOW`](super::MAX_WINDOW) (default 50).
    pub window: u32,
    /// k (default 3).
    pub threshold: Threshold,
}

impl Default for RollingMadParams {
    fn default() -> Self {
        Self { window: DEFAULT_WINDOW, threshold: Threshold::DEFAULT }
    }
}

impl DetectorParams for RollingMadParams {
    type Detector = RollingMad;

    fn check(&self, kind: &str) -> Result<(), ValidationError> {
        check_window(kind, self.window)
    }

    fn of(detector: &RollingMad) -> Self {
        Self { window: detector.window, threshold: detector.threshold }
    }

    fn start(self) -> Option<RollingMad> {
        Some(RollingMad::new(self.window, self.threshold))
    }

    fn points_needed(self) -> usize {
        self.window as usize
    }

    fn threshold(self) -> f64 {
        self.threshold.get()
    }
}

/// MAD to the standard deviation of a normal distribution.
const MAD_TO_STD: f64 = 1.4826;
/// Mean absolute deviation to the standard deviation of a normal distribution.
const MEAN_DEVIATION_TO_STD: f64 = 1.2533;

/// Rolling median/MAD over the last `window` points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "RollingMadState", into = "RollingMadState")]
pub struct RollingMad {
    /// Points in the window.
    pub window: u32,
    /// The largest normal |robust z|.
    pub threshold: Threshold,
    recent: Window,
    /// The window's values in ascending order (derived from `recent`).
    sorted: Vec<f64>,
}

/// What is stored: the sorted copy is rebuilt on restore.
#[derive(Serialize, Deserialize)]
struct RollingMadState {
    window: u32,
    threshold: Threshold,
    recent: Window,
}

impl From<RollingMadState> for RollingMad {
    fn from(state: RollingMadState) -> Self {
        let mut sorted = state.recent.values().to_vec();
        sorted.sort_by(f64::total_cmp);
        Self { window: state.window, threshold: state.threshold, recent: state.recent, sorted }
    }
}

impl From<RollingMad> for RollingMadState {
    fn from(detector: RollingMad) -> Self {
        Self { window: detector.window, threshold: detector.threshold, recent: detector.recent }
    }
}

impl RollingMad {
    /// An empty detector: warming up until `window` points were seen.
    pub fn new(window: u32, threshold: Threshold) -> Self {
        let capacity = window as usize;
        Self { window, threshold, recent: Window::new(capacity), sorted: Vec::with_capacity(capacity) }
    }

    fn median(&self) -> f64 {
        median_of_sorted(&self.sorted)
    }

    /// The robust spread: 1.4826 · MAD, else 1.2533 · mean absolute deviation.
    fn spread(&self, median: f64) -> f64 {
        let mad = self.median_deviation(median);
        if mad > 0.0 {
            return MAD_TO_STD * mad;
        }
        let n = self.sorted.len().max(1) as f64;
        MEAN_DEVIATION_TO_STD * self.sorted.iter().map(|v| (v - median).abs() / n).sum::<f64>()
    }

    /// The median of |x - median| over the window, by merging the two
    /// ascending runs of deviations on either side of the median.
    fn median_deviation(&self, median: f64) -> f64 {
        let sorted = &self.sorted;
        let n = sorted.len();
        let split = sorted.partition_point(|v| *v < median);
        let (mut left, mut right) = (split, split); // left: next is left-1; right: next is right
        let mut next_deviation = || {
            let below = (left > 0).then(|| median - sorted[left - 1]);
            let above = (right < n).then(|| sorted[right] - median);
            match (below, above) {
                (Some(b), Some(a)) if b <= a => {
                    left -= 1;
                    b
                }
                (_, Some(a)) => {
                    right += 1;
                    a
                }
                (Some(b), None) => {
                    left -= 1;
                    b
                }
                (None, None) => 0.0,
            }
        };
        let mut lower = 0.0;
        for _ in 0..n.saturating_sub(1) / 2 {
            next_deviation();
        }
        if n > 0 {
            lower = next_deviation();
        }
        if n % 2 == 1 { lower } else { (lower + next_deviation()) / 2.0 }
    }
}

fn median_of_sorted(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    match n {
        0 => 0.0,
        _ if n % 2 == 1 => sorted[n / 2],
        _ => sorted[n / 2 - 1] / 2.0 + sorted[n / 2] / 2.0,
    }
}

impl OnlineDetector for RollingMad {
    fn judge(&self, value: f64) -> Verdict {
        if !self.recent.is_full() {
            return Verdict::WarmingUp { seen: self.recent.len() as u64, needed: u64::from(self.window) };
        }
        let median = self.median();
        Verdict::Judged(Decision::from_distance(value - median, self.spread(median), self.threshold.get()))
    }

    fn learn(&mut self, value: f64) {
        if let Some(old) = self.recent.push(value) {
            let at = self.sorted.partition_point(|v| v.total_cmp(&old).is_lt());
            self.sorted.remove(at);
        }
        let at = self.sorted.partition_point(|v| v.total_cmp(&value).is_lt());
        self.sorted.insert(at, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn naive_median(values: &[f64]) -> f64 {
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        median_of_sorted(&sorted)
    }

    /// The robust z of `x` against `window`, computed the obvious way.
    fn naive_score(window: &[f64], x: f64) -> f64 {
        let median = naive_median(window);
        let deviations: Vec<f64> = window.iter().map(|v| (v - median).abs()).collect();
        let mad = naive_median(&deviations);
        let spread = if mad > 0.0 {
            MAD_TO_STD * mad
        } else {
            MEAN_DEVIATION_TO_STD * deviations.iter().map(|d| d / window.len() as f64).sum::<f64>()
        };
        if x == median { 0.0 } else { (x - median) / spread }
    }

    #[test]
    fn one_spike_does_not_hide_the_next() {
        let mut detector = RollingMad::new(9, Threshold::DEFAULT);
        for i in 0..9 {
            detector.update(10.0 + (i % 3) as f64);
        }
        assert!(detector.update(100.0).is_anomaly());
        assert!(detector.update(100.0).is_anomaly(), "the first spike barely moved median and MAD");
        assert!(!detector.update(11.0).is_anomaly());
    }

    #[test]
    fn a_mostly_flat_window_falls_back_to_the_mean_deviation() {
        let mut detector = RollingMad::new(5, Threshold::DEFAULT);
        for v in [5.0, 5.0, 5.0, 5.0, 6.0] {
            detector.update(v);
        }
        // MAD is 0; mean deviation 0.2 · 1.2533: 6 is 4 of those away.
        let Verdict::Judged(decision) = detector.judge(6.0) else { panic!("judged") };
        assert!(decision.anomaly && (decision.score - 1.0 / (0.2 * MEAN_DEVIATION_TO_STD)).abs() < 1e-9);
    }

    proptest! {
        #[test]
        fn matches_the_naive_window(values in prop::collection::vec((-50i32..50).prop_map(|v| f64::from(v) / 4.0), 1..200), window in 1u32..30) {
            let mut detector = RollingMad::new(window, Threshold::DEFAULT);
            for (i, &x) in values.iter().enumerate() {
                let verdict = detector.update(x);
                let w = window as usize;
                if i >= w {
                    let expected = naive_score(&values[i - w..i], x);
                    let Verdict::Judged(decision) = verdict else { panic!("judged after warm-up") };
                    prop_assert!(decision.score == expected || (decision.score - expected).abs() <= 1e-9 * expected.abs().max(1.0), "{} vs {}", decision.score, expected);
                }
            }
        }

        #[test]
        fn a_restored_state_gives_the_same_verdicts(values in prop::collection::vec(-1e3f64..1e3, 10..100), cut in 0usize..10) {
            super::super::assert_restores_exactly(RollingMad::new(7, Threshold::DEFAULT), &values, cut);
        }

        #[test]
        fn never_panics_on_finite_input(values in prop::collection::vec(prop::num::f64::NORMAL | prop::num::f64::ZERO, 1..100)) {
            let mut detector = RollingMad::new(4, Threshold::DEFAULT);
            for x in values {
                let _ = detector.update(x);
            }
        }
    }
}
