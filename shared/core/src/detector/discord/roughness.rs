//! The roughness of a series: the mean size of its steps over the last
//! subsequence (one period of a regular series; a fixed stretch of any
//! other, see novelty), as a value on a log scale, and whether it leaves the
//! range it has had so far. Added noise makes a stretch rougher,
//! smoothing, a dropout or a flat line smoother, often with the usual shape
//! (the block means the shape channel compares average noise away). A new
//! extreme of roughness is news once, as a new extreme of value is for
//! novelty's spatial channel: the range then grows to hold it.
//!
//! Fed a point at a time, and told when a block ends (by the shape channel
//! on a regular series); O(1) per point and per block, a sum per block of
//! state.

use crate::detector::state_float;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// A roughness past its range by this share of the range is an alert
/// (evidence 1). Chosen on ucr-dev and its synthetic anomalies among 0.2
/// to 1 (NAB did not move at any): one step inside the plateau where no
/// ucr-dev file is lost, 0.3 to 1 (docs/evaluation.md).
pub const TOLERANCE: f64 = 0.4;
/// Subsequences measured before the range is trusted: three periods.
const SETTLE: u32 = 48;
/// The range counts as at least this wide (on the log scale: roughness
/// within about 10% of itself is the same), so that a series of constant
/// roughness does not alert on the least change.
const MIN_WIDTH: f64 = 0.1;
/// The smallest roughness, as a share of the learnt half-range: a flat
/// stretch is as smooth as this, not infinitely smooth.
const FLOOR: f64 = 1e-4;
/// The highest evidence given.
const MAX_EVIDENCE: f64 = 100.0;

/// The roughness channel's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Roughness {
    /// Blocks a subsequence spans, and points in a block.
    blocks: usize,
    points: u32,
    /// The smallest roughness counted (see [`FLOOR`]).
    #[serde(with = "state_float")]
    floor: f64,
    /// The previous value (NaN before the first).
    #[serde(with = "state_float")]
    previous: f64,
    /// The step sizes of the block being filled, summed.
    #[serde(with = "state_float")]
    steps: f64,
    /// The step sums of the last `blocks` blocks.
    sums: VecDeque<f64>,
    /// The range of the log roughness so far, and subsequences measured.
    #[serde(with = "state_float")]
    low: f64,
    #[serde(with = "state_float")]
    high: f64,
    measured: u32,
}

impl Roughness {
    /// A channel over subsequences of `blocks` blocks of `points` points,
    /// on a series whose learnt half-range is `half`.
    pub fn new(blocks: usize, points: u32, half: f64) -> Self {
        Self {
            blocks: blocks.max(1),
            points: points.max(1),
            floor: floor_of(half),
            previous: f64::NAN,
            steps: 0.0,
            sums: VecDeque::with_capacity(blocks),
            low: f64::INFINITY,
            high: f64::NEG_INFINITY,
            measured: 0,
        }
    }

    /// Sets the smallest roughness counted from the series' half-range
    /// `half` as it is now (for a channel that starts before the range is
    /// known; see [`FLOOR`]).
    pub fn set_half_range(&mut self, half: f64) {
        self.floor = floor_of(half);
    }

    /// Takes a point in.
    pub fn take(&mut self, value: f64) {
        // Clamped as the learnt points are, so that sums stay finite.
        let value = value.clamp(f64::from(f32::MIN), f64::from(f32::MAX));
        if !value.is_nan() && !self.previous.is_nan() {
            self.steps += (value - self.previous).abs();
        }
        if !value.is_nan() {
            self.previous = value;
        }
    }

    /// Ends a block: once a subsequence is full and the range settled, the
    /// evidence of its roughness (0 inside the range, 1 at [`TOLERANCE`]
    /// past it); then the range holds it.
    pub fn block_ends(&mut self) -> Option<f64> {
        if self.sums.len() == self.blocks {
            self.sums.pop_front();
        }
        self.sums.push_back(std::mem::take(&mut self.steps));
        if self.sums.len() < self.blocks {
            return None;
        }
        let mean = self.sums.iter().sum::<f64>() / (self.blocks as f64 * f64::from(self.points));
        let level = mean.max(self.floor).ln();
        let outside = (level - self.high).max(self.low - level);
        let width = (self.high - self.low).max(MIN_WIDTH);
        let evidence = if outside > 0.0 { (outside / (width * TOLERANCE)).min(MAX_EVIDENCE) } else { 0.0 };
        self.low = self.low.min(level);
        self.high = self.high.max(level);
        self.measured = self.measured.saturating_add(1);
        (self.measured > SETTLE).then_some(evidence)
    }
}

/// The smallest roughness counted on a series whose half-range is `half`
/// (at most `f32::MAX`, as the values taken in are).
fn floor_of(half: f64) -> f64 {
    (half.clamp(0.0, f64::from(f32::MAX)) * FLOOR).max(f64::MIN_POSITIVE)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `values` in blocks of 8 (subsequences of 4 blocks); the
    /// evidence at each block's end, with the block's last index.
    fn evidence(values: &[f64]) -> Vec<(usize, f64)> {
        let mut channel = Roughness::new(4, 8, 1.0);
        values
            .iter()
            .enumerate()
            .filter_map(|(i, v)| {
                channel.take(*v);
                if (i + 1) % 8 == 0 { channel.block_ends().map(|e| (i, e)) } else { None }
            })
            .collect()
    }

    fn wave(i: usize) -> f64 {
        (i as f64 / 32.0 * std::f64::consts::TAU).sin()
    }

    #[test]
    fn noise_or_a_flat_stretch_leaves_the_range_and_the_usual_wave_does_not() {
        let mut next = crate::detector::lcg(9);
        let mut jitter = move || ((next() >> 40) as f64 / (1u64 << 24) as f64 - 0.5) * 0.02;
        let base: Vec<f64> = (0..4000).map(|i| wave(i) + jitter()).collect();
        let usual = evidence(&base);
        assert!(usual.iter().filter(|(i, _)| *i > 1000).all(|(_, e)| *e < 1.0), "{usual:?}");
        let mut noisy = base.clone();
        noisy[3000..3064].iter_mut().zip(1..).for_each(|(v, k)| *v += if k % 2 == 0 { 0.4 } else { -0.4 });
        let peak = evidence(&noisy).into_iter().fold((0, 0.0), |best, e| if e.1 > best.1 { e } else { best });
        assert!(peak.1 > 1.0 && (3000..3100).contains(&peak.0), "noise is rougher: {peak:?}");
        let mut flat = base;
        flat[3000..3064].iter_mut().for_each(|v| *v = 0.0);
        let peak = evidence(&flat).into_iter().fold((0, 0.0), |best, e| if e.1 > best.1 { e } else { best });
        assert!(peak.1 > 1.0 && (3000..3100).contains(&peak.0), "a dropout is smoother: {peak:?}");
    }

    #[test]
    fn a_floor_from_the_range_keeps_a_flat_start_from_blinding_the_channel() {
        // A counter at 0 before its traffic starts, then the usual wave, then
        // a stretch far rougher (steps of 10 where the wave steps at most 0.2).
        let mut values = vec![0.0; 64];
        values.extend((64..4000).map(wave));
        values[3000..3064].iter_mut().zip(1..).for_each(|(v, k)| *v += if k % 2 == 0 { 5.0 } else { -5.0 });
        let peak = |half: Option<f64>| {
            let mut channel = Roughness::new(4, 8, 0.0);
            let mut peak: f64 = 0.0;
            for (i, v) in values.iter().enumerate() {
                channel.take(*v);
                if (i + 1) % 8 == 0 {
                    if let Some(half) = half {
                        channel.set_half_range(half);
                    }
                    peak = peak.max(channel.block_ends().unwrap_or(0.0));
                }
            }
            peak
        };
        assert!(peak(Some(1.0)) > 1.0, "the rougher stretch alerts: {}", peak(Some(1.0)));
        assert!(peak(None) < 1.0, "without a floor the flat start widened the range beyond it");
    }

    #[test]
    fn a_new_extreme_is_news_once() {
        let mut values: Vec<f64> = (0..3000).map(wave).collect();
        values.extend((3000..6000).map(|i| 3.0 * wave(i)));
        let alerts: Vec<usize> = evidence(&values).into_iter().filter(|(_, e)| *e > 1.0).map(|(i, _)| i).collect();
        assert!(!alerts.is_empty() && alerts.iter().all(|i| (3000..3100).contains(i)), "{alerts:?}");
    }

    #[test]
    fn hostile_values_give_finite_evidence() {
        let mut values: Vec<f64> = (0..2000).map(wave).collect();
        values[1000] = f64::MAX;
        values[1500] = f64::NAN;
        values[1700] = f64::NEG_INFINITY;
        assert!(evidence(&values).iter().all(|(_, e)| e.is_finite() && *e >= 0.0));
    }
}
