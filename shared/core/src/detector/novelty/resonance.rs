//! The resonance channel: ARTime's algorithm (Mark Hampton's adaptive
//! resonance detector, the best published NAB entry) re-implemented as an
//! online channel of [`super::Novelty`], with one change that makes it
//! causal: the value range comes from the probation period (widened by
//! [`MARGIN`] on each side), not from the whole file.
//!
//! Every `step` rows (the probation length / 104) the series is
//! downsampled to one value: the extreme of those rows farthest from a
//! moving average, unless it is within 10% of their mean. That value is
//! scaled to the range, rounded to one of 80 levels, and snapped to the
//! running median level when near it. The last 8 such values, with their
//! Haar wavelet coefficients (both min-max scaled), form a pattern for a
//! [fuzzy ART network](super::fuzzy_art). The probation period's patterns
//! are replayed once the range is known, and set the first vigilance; after
//! it, a pattern that matches no category is an anomaly, scored by how far
//! its similarity falls below the vigilances. Alerts are masked for a
//! while after an alert and after new categories, and the vigilances follow
//! the recent similarities.

use super::fuzzy_art::{FEATURES, FuzzyArt};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// Downsampled values in one pattern.
const WINDOW: usize = 8;
/// Levels of the scaled range.
const LEVELS: usize = 80;
/// Patterns per probation period (ARTime's 13 windows of 8).
const PATTERNS_PER_PROBATION: u32 = 104;
/// A level this close to the running median (as a share of the range) is the median.
const CHOMP: f64 = 0.075;
/// A downsampled extreme closer to the mean than this share of it is the mean.
const SPIKE_SHARE: f64 = 0.1;
/// Patterns after an alert (and after new categories) that are masked.
const MASK: u32 = 12;
/// Vigilance of the network that sets the first vigilance.
const INITIAL_RHO: f64 = 0.8;
/// The upper vigilance never exceeds this.
const MAX_UPPER: f64 = 0.97;
/// The probation range is widened by this share of itself on each side
/// (chosen on NAB's DEV half among 0, 0.1, 0.15, 0.25, 0.35, 0.5 and 1).
pub const MARGIN: f64 = 0.25;

/// The smallest and largest probation lengths accepted.
pub const PROBATION_RANGE: std::ops::RangeInclusive<u32> = 32..=5000;

/// While the channel learns its probation, an early network, learnt over
/// the first 1 / `EARLY_DIVISOR` of it, judges the rest (chosen on NAB's
/// DEV half with a probation of 750 among 2 to 8; see docs/evaluation.md).
pub const EARLY_DIVISOR: u32 = 4;

/// The early network's probation for a channel's `probation`.
pub fn early_probation(probation: u32) -> u32 {
    let probation = probation.clamp(*PROBATION_RANGE.start(), *PROBATION_RANGE.end());
    (probation / EARLY_DIVISOR).max(*PROBATION_RANGE.start())
}

/// Similarities of the alerts so far: their sum, count and the last one
/// (lowered to the lowest similarity of the patterns masked after it).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct AlertSimilarities {
    sum: f64,
    count: u32,
    last: f64,
}

/// The running median of the levels, from a histogram (ARTime's
/// approximation: it moves one occupied level at a time).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct LevelMedian {
    bins: Vec<u32>,
    level: usize,
    below: i64,
    above: i64,
}

impl LevelMedian {
    /// Adds `level` as the `count`-th value and returns the median level.
    fn add(&mut self, level: usize, count: u32) -> usize {
        if self.bins.len() != LEVELS + 1 || self.level > LEVELS {
            // Empty, or a damaged checkpoint: start the histogram afresh.
            *self = Self { bins: vec![0; LEVELS + 1], ..Self::default() };
        }
        self.bins[level] += 1;
        if count == 1 {
            self.level = level;
        }
        if self.level > level {
            self.below += 1;
        } else if self.level < level {
            self.above += 1;
        }
        let middle = i64::from(count / 2);
        if middle < self.above {
            self.below += i64::from(self.bins[self.level]);
            self.level = (self.level + 1..=LEVELS).find(|l| self.bins[*l] > 0).unwrap_or(LEVELS);
            self.above -= i64::from(self.bins[self.level]);
        } else if middle < self.below {
            self.above += i64::from(self.bins[self.level]);
            self.level = (0..self.level).rev().find(|l| self.bins[*l] > 0).unwrap_or(0);
            self.below -= i64::from(self.bins[self.level]);
        }
        self.level
    }
}

/// The channel's state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Resonance {
    /// Rows per downsampled value (0 until the first row).
    step: u32,
    /// Downsampled values in the probation period.
    probation_points: u32,
    /// Rows seen.
    rows: u64,
    /// Downsampled values made.
    points: u32,
    /// The last `step` rows.
    recent_rows: VecDeque<f64>,
    /// Moving average of the downsampled blocks' means (half weight each).
    #[serde(with = "crate::detector::state_float")]
    moving_average: f64,
    /// The range of the probation rows.
    #[serde(with = "crate::detector::state_float")]
    min: f64,
    #[serde(with = "crate::detector::state_float")]
    max: f64,
    /// The scaled range's origin and width, set when probation ends.
    #[serde(with = "crate::detector::state_float")]
    origin: f64,
    #[serde(with = "crate::detector::state_float")]
    width: f64,
    /// The probation's downsampled values, kept until the range is known.
    pending: Vec<f64>,
    /// The running median of the levels.
    median: LevelMedian,
    /// The last [`WINDOW`] scaled values.
    window: [f64; WINDOW],
    /// The categories of patterns learnt.
    art: FuzzyArt,
    /// The pattern count of the last alert, and its similarity.
    last_alert: u32,
    last_alert_similarity: f64,
    /// Every alert's similarity, for the lower vigilance's floor.
    alerts: AlertSimilarities,
    /// The pattern count when the vigilances last moved.
    last_vigilance_update: u32,
    /// Alerts are masked after new categories until [`MASK`] patterns pass without one.
    masked_after_new: bool,
    /// Patterns since the last new category.
    since_new: u32,
    /// Every pattern's similarity, summed and counted (the upper vigilance is their mean).
    similarity_sum: f64,
    similarity_count: u64,
    /// The latest similarities (half a probation period).
    similarities: VecDeque<f64>,
    /// The upper vigilance minus each similarity, over a probation period.
    shortfalls: VecDeque<f64>,
}

impl Resonance {
    /// Judges `value` and learns it; returns the anomaly confidence (0 for
    /// none, at most 1). `probation` is the learning period in rows.
    pub fn update(&mut self, value: f64, probation: u32) -> f64 {
        if self.step == 0 {
            self.start(probation);
        }
        self.rows += 1;
        self.recent_rows.pop_front();
        self.recent_rows.push_back(value);
        if self.points < self.probation_points {
            self.min = self.min.min(value);
            self.max = self.max.max(value);
        }
        if !self.rows.is_multiple_of(u64::from(self.step)) {
            return 0.0;
        }
        let downsampled = self.downsample();
        self.points += 1;
        if self.points < self.probation_points {
            self.pending.push(downsampled);
            return 0.0;
        }
        if self.points == self.probation_points {
            self.pending.push(downsampled);
            self.end_probation();
            return 0.0;
        }
        let pattern = self.pattern(downsampled, self.points);
        self.detect(&pattern, self.points)
    }

    /// Whether it has seen a row.
    pub fn started(&self) -> bool {
        self.step != 0
    }

    /// Whether it is still learning its probation (and judges nothing).
    pub fn learning(&self) -> bool {
        self.step == 0 || self.points < self.probation_points
    }

    fn start(&mut self, probation: u32) {
        let probation = probation.clamp(*PROBATION_RANGE.start(), *PROBATION_RANGE.end());
        let probation = probation - probation % 2;
        self.step = step_of(probation);
        self.probation_points = probation / self.step;
        self.recent_rows = std::iter::repeat_n(0.0, self.step as usize).collect();
        self.min = f64::INFINITY;
        self.max = f64::NEG_INFINITY;
        self.similarities = std::iter::repeat_n(1.0, self.probation_points as usize / 2 + 1).collect();
        self.shortfalls = std::iter::repeat_n(0.0, self.probation_points as usize + 1).collect();
    }

    /// One value for the last `step` rows: their extreme farthest from the
    /// moving average, or their mean when the extreme is within
    /// [`SPIKE_SHARE`] of it.
    fn downsample(&mut self) -> f64 {
        let n = self.recent_rows.len() as f64;
        let mean = self.recent_rows.iter().map(|v| v / n).sum::<f64>();
        let max = self.recent_rows.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let min = self.recent_rows.iter().copied().fold(f64::INFINITY, f64::min);
        if self.points == 0 {
            self.moving_average = mean;
        }
        self.moving_average = self.moving_average / 2.0 + mean / 2.0;
        let extreme = if (max - self.moving_average).abs() < (min - self.moving_average).abs() { min } else { max };
        if (extreme - mean).abs() < SPIKE_SHARE * mean { mean } else { extreme }
    }

    /// Fixes the range from the probation rows and replays the probation's
    /// downsampled values: their patterns set the first vigilance, then the
    /// network learns them as ARTime does.
    fn end_probation(&mut self) {
        let range = self.max - self.min;
        self.origin = self.min - MARGIN * range;
        self.width = range * (1.0 + 2.0 * MARGIN);
        let pending = std::mem::take(&mut self.pending);
        let patterns: Vec<[f64; FEATURES]> =
            pending.iter().zip(1..).map(|(value, count)| self.pattern(*value, count)).collect();
        let rho = first_vigilance(patterns.get(WINDOW - 1..).unwrap_or_default(), self.probation_points);
        self.art.rho_lb = rho;
        self.art.rho_ub = rho;
        for (pattern, count) in patterns.iter().zip(1..) {
            self.detect(pattern, count);
        }
    }

    /// The pattern after the `count`-th downsampled value, `value`: zeros
    /// until [`WINDOW`] values have been made.
    fn pattern(&mut self, value: f64, count: u32) -> [f64; FEATURES] {
        let scaled = if self.width != 0.0 { (value - self.origin) / self.width } else { value - self.origin };
        let level = (scaled * LEVELS as f64).round_ties_even();
        let level = if level.is_nan() { 0 } else { level.clamp(0.0, LEVELS as f64) as usize };
        let median = self.median.add(level, count) as f64 / LEVELS as f64;
        let mut scaled = level as f64 / LEVELS as f64;
        if (scaled - median).abs() < CHOMP {
            scaled = median;
        }
        self.window.rotate_left(1);
        self.window[WINDOW - 1] = scaled;
        let mut pattern = [0.0; FEATURES];
        if count as usize >= WINDOW {
            let mut shape = self.window;
            min_max_scale(&mut shape);
            let mut coefficients = haar(&shape);
            min_max_scale(&mut coefficients);
            pattern[..WINDOW].copy_from_slice(&coefficients);
            pattern[WINDOW..].copy_from_slice(&self.window);
        }
        pattern
    }

    /// ARTime's decision on the `count`-th pattern; the confidence of an
    /// alert, else 0. Before the probation ends it only learns.
    fn detect(&mut self, pattern: &[f64; FEATURES], count: u32) -> f64 {
        let since_alert = count.saturating_sub(self.last_alert);
        let after_alert = since_alert == MASK;
        let for_trend = count.saturating_sub(self.last_vigilance_update) >= self.probation_points / 2;
        let masked_after_alert = since_alert <= MASK;
        if count > self.probation_points + MASK && self.masked_after_new && self.since_new >= MASK {
            self.masked_after_new = false;
        }
        let learning = count as usize >= WINDOW;
        let matched = self.art.present(pattern, learning);
        let new_category = !learning || matched.mismatch;
        let similarity = matched.similarity;
        self.since_new = if new_category { 0 } else { self.since_new + 1 };
        self.similarity_sum += similarity;
        self.similarity_count += 1;
        self.similarities.pop_front();
        self.similarities.push_back(similarity);
        self.shortfalls.pop_front();
        self.shortfalls.push_back(self.art.rho_ub - similarity);
        if since_alert < MASK && self.alerts.count > 0 && similarity < self.alerts.last {
            self.alerts.sum += similarity - self.alerts.last;
            self.alerts.last = similarity;
        }
        let masked = self.masked_after_new || masked_after_alert;
        let below_last = similarity < self.last_alert_similarity * if masked_after_alert { 0.9 } else { 0.7 };
        let past_probation = count > self.probation_points;
        let confidence = if past_probation && new_category && (!masked || below_last) {
            self.alerts.sum += similarity;
            self.alerts.count += 1;
            self.alerts.last = similarity;
            self.last_alert_similarity = similarity;
            self.last_alert = count;
            self.confidence(similarity, matched.energy)
        } else {
            0.0
        };
        self.masked_after_new |= new_category;
        if past_probation && (after_alert || for_trend) {
            self.adapt_vigilance(count);
        }
        confidence
    }

    /// Moves the vigilances with the recent similarities: the upper one to
    /// their mean; the lower one up towards their minimum, or down by the
    /// mean shortfall (never below the alerts' mean similarity).
    fn adapt_vigilance(&mut self, count: u32) {
        let lowest = self.similarities.iter().copied().fold(f64::INFINITY, f64::min);
        let upper = (self.similarity_sum / self.similarity_count as f64).min(MAX_UPPER);
        let previous = self.art.rho_lb;
        let lower = if previous <= lowest {
            previous + (lowest - previous) * 0.19
        } else {
            let mut drop = 0.0;
            if count > self.probation_points * 2 {
                let (sum, n) = self
                    .shortfalls
                    .iter()
                    .filter(|s| **s > 0.05)
                    .fold((0.0, 0u32), |(sum, n), s| (sum + s.min(0.37), n + 1));
                if n > 0 {
                    drop = sum / f64::from(n);
                }
            }
            let lowered = previous - drop.max(0.01) / 2.0;
            if self.alerts.count > 0 { lowered.max(self.alerts.sum / f64::from(self.alerts.count)) } else { lowered }
        };
        self.art.rho_lb = lower.min(upper);
        self.art.rho_ub = upper;
        self.last_vigilance_update = count;
        self.masked_after_new = true;
    }

    /// How far `similarity` falls below the vigilances, plus how far the
    /// pattern's last value is from the category's; at most 1.
    fn confidence(&self, similarity: f64, energy: f64) -> f64 {
        let similarity = similarity.min(0.999);
        let miss = 1.0 - similarity;
        let upper = (miss - (1.0 - self.art.rho_ub)) / miss;
        let lower = (miss - (1.0 - self.art.rho_lb)) / miss;
        (upper * 0.35 + lower * 0.65 + (1.0 - energy) * 1.5).min(1.0)
    }
}

fn step_of(probation: u32) -> u32 {
    (probation / PATTERNS_PER_PROBATION).max(1)
}

/// The first vigilance: the mean similarity of the second half of the
/// probation's patterns when a network of vigilance [`INITIAL_RHO`] learns
/// them, the least typical first (by summed cosine similarity to the rest).
fn first_vigilance(patterns: &[[f64; FEATURES]], probation_points: u32) -> f64 {
    let n = patterns.len();
    let norms: Vec<f64> = patterns.iter().map(norm).collect();
    let mut typical = vec![0.0; n];
    for a in 0..n {
        for b in 0..a {
            let similarity = cosine((&patterns[a], norms[a]), (&patterns[b], norms[b]));
            typical[a] += similarity;
            typical[b] += similarity;
        }
        typical[a] += 1.0;
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|a, b| typical[*a].total_cmp(&typical[*b]));
    let mut network = FuzzyArt::new(INITIAL_RHO);
    let similarities: Vec<f64> = order.iter().map(|i| network.present(&patterns[*i], true).similarity).collect();
    let from = (probation_points as usize / 2).saturating_sub(1).min(n.saturating_sub(1));
    let tail = &similarities[from..];
    if tail.is_empty() { INITIAL_RHO } else { tail.iter().sum::<f64>() / tail.len() as f64 }
}

/// The Euclidean norm of a pattern.
fn norm(pattern: &[f64; FEATURES]) -> f64 {
    pattern.iter().map(|x| x * x).sum::<f64>().sqrt()
}

/// Cosine similarity of two patterns given with their norms, with
/// ARTime's rule for a zero vector (1 minus the other's norm).
fn cosine((a, na): (&[f64; FEATURES], f64), (b, nb): (&[f64; FEATURES], f64)) -> f64 {
    if na == 0.0 {
        1.0 - nb
    } else if nb == 0.0 {
        1.0 - na
    } else {
        a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>() / (na * nb)
    }
}

/// Scales `values` to [0, 1] by their own minimum and maximum (left at 0
/// when they are all equal).
fn min_max_scale(values: &mut [f64]) {
    let low = values.iter().copied().fold(f64::INFINITY, f64::min);
    values.iter_mut().for_each(|v| *v -= low);
    let high = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if high != 0.0 {
        values.iter_mut().for_each(|v| *v /= high);
    }
}

/// The full orthonormal Haar transform of 8 values: the overall
/// approximation, then the details from coarsest to finest (each detail
/// is the first of a pair minus the second, over √2).
fn haar(values: &[f64; WINDOW]) -> [f64; WINDOW] {
    let scale = std::f64::consts::FRAC_1_SQRT_2;
    let mut out = [0.0; WINDOW];
    let mut approximation = *values;
    let mut n = WINDOW;
    while n > 1 {
        let half = n / 2;
        for k in 0..half {
            let (a, b) = (approximation[2 * k], approximation[2 * k + 1]);
            out[half + k] = (a - b) * scale;
            approximation[k] = (a + b) * scale;
        }
        n = half;
    }
    out[0] = approximation[0];
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(values: &[f64], probation: u32) -> (Resonance, Vec<f64>) {
        let mut channel = Resonance::default();
        let confidences = values.iter().map(|v| channel.update(*v, probation)).collect();
        (channel, confidences)
    }

    fn wave(period: f64, from: u32, to: u32) -> impl Iterator<Item = f64> {
        (from..to).map(move |i| 50.0 + 20.0 * (f64::from(i) * std::f64::consts::TAU / period).sin())
    }

    #[test]
    fn the_haar_transform_is_wavelets_jl_s() {
        let coefficients = haar(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]);
        let h = std::f64::consts::FRAC_1_SQRT_2;
        let expected = [36.0 * h / 2.0, -8.0 * h, -2.0, -2.0, -h, -h, -h, -h];
        for (got, want) in coefficients.iter().zip(expected) {
            assert!((got - want).abs() < 1e-12, "{coefficients:?}");
        }
    }

    #[test]
    fn the_level_median_moves_one_occupied_level_at_a_time() {
        let mut median = LevelMedian::default();
        assert_eq!(median.add(10, 1), 10);
        assert_eq!(median.add(20, 2), 10);
        assert_eq!(median.add(30, 3), 20);
        assert_eq!(median.add(30, 4), 20);
        assert_eq!(median.add(30, 5), 30);
        assert_eq!(median.add(0, 6), 30);
        assert_eq!(median.add(0, 7), 20);
    }

    #[test]
    fn the_probation_only_learns_and_a_steady_shape_stays_quiet() {
        let values: Vec<f64> = wave(40.0, 0, 4000).collect();
        let (channel, confidences) = run(&values, 400);
        assert!(confidences[..400].iter().all(|c| *c == 0.0), "silent while learning");
        let alerts = confidences.iter().filter(|c| **c > 0.0).count();
        assert!(alerts <= 2, "a wave it has learnt is not news: {alerts} alerts");
        assert!(channel.pending.is_empty(), "the probation's values are let go");
        assert!(channel.art.len() > 1 && channel.art.rho_lb > 0.0);
    }

    #[test]
    fn a_new_shape_inside_the_range_alerts_soon_after_it_starts() {
        let values: Vec<f64> = wave(40.0, 0, 2000).chain(wave(9.0, 2000, 2600)).collect();
        let (_, confidences) = run(&values, 400);
        let first = confidences.iter().position(|c| *c > 0.3).expect("the new shape alerts");
        assert!((2000..2100).contains(&first), "first strong alert at {first}");
        assert!(confidences.iter().all(|c| (0.0..=1.0).contains(c)));
    }

    #[test]
    fn values_past_the_probation_range_are_the_edge_levels() {
        let values: Vec<f64> = wave(40.0, 0, 1000).chain(std::iter::repeat_n(1e9, 200)).collect();
        let (channel, _) = run(&values, 400);
        assert_eq!(channel.window, [1.0; WINDOW], "clamped to the top level");
    }

    #[test]
    fn hostile_values_neither_panic_nor_break_the_checkpoint() {
        let values: Vec<f64> = (0..1500)
            .map(|i| match i % 7 {
                0 => f64::MAX,
                1 => -f64::MAX,
                2 => 0.0,
                _ => f64::from(i),
            })
            .collect();
        let (channel, confidences) = run(&values, 100);
        assert!(confidences.iter().all(|c| c.is_finite()));
        let json = serde_json::to_string(&channel).expect("serialises");
        let back: Resonance = serde_json::from_str(&json).expect("reads back");
        assert_eq!(serde_json::to_string(&back).expect("serialises"), json);
    }

    #[test]
    fn a_damaged_checkpoint_does_not_make_it_panic() {
        let values: Vec<f64> = wave(40.0, 0, 1200).collect();
        let (channel, _) = run(&values, 200);
        let mut state = serde_json::to_value(&channel).expect("serialises");
        state["art"]["weights"] = serde_json::Value::from("f0f0f0");
        state["art"]["last_used"] = serde_json::json!([]);
        state["median"]["bins"] = serde_json::json!([1, 2]);
        state["median"]["level"] = serde_json::json!(500);
        state["last_alert"] = serde_json::json!(u32::MAX);
        state["last_vigilance_update"] = serde_json::json!(u32::MAX);
        let mut damaged: Resonance = serde_json::from_value(state).expect("reads back");
        for value in wave(9.0, 1200, 2000) {
            assert!((0.0..=1.0).contains(&damaged.update(value, 200)));
        }
        let mut early = serde_json::to_value(Resonance::default()).expect("serialises");
        early["step"] = serde_json::json!(5);
        early["probation_points"] = serde_json::json!(3);
        let mut early: Resonance = serde_json::from_value(early).expect("reads back");
        for value in wave(9.0, 0, 100) {
            early.update(value, 200);
        }
    }

    #[test]
    fn probations_outside_the_range_are_clamped() {
        let (short, _) = run(&[1.0; 10], 2);
        assert_eq!((short.step, short.probation_points), (1, 32));
        let (long, _) = run(&[1.0; 10], 100_000);
        assert_eq!((long.step, long.probation_points), (48, 104));
    }

    #[test]
    fn the_early_network_learns_a_quarter_of_the_clamped_probation() {
        assert_eq!(early_probation(750), 187);
        assert_eq!(early_probation(100), 32, "never under the shortest probation");
        assert_eq!(early_probation(100_000), 1250, "a quarter of the longest");
    }
}
