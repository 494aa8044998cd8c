//! The seasonal channel of [`Novelty`](super::Novelty): finds the series'
//! period among a few candidate lags (hours to a week at common sampling
//! steps) and scores how far a value is from the value one period earlier,
//! through the [anomaly likelihood](super::likelihood) layer. A daily
//! pattern that breaks (a flat day, a missing peak) is then an event even
//! when every value stays inside the usual range.
//!
//! A lag is the period when its mean |x - x one lag ago| is the smallest
//! of the candidates and smaller than the mean step |x - previous|: on a
//! series without a period no lag qualifies and the channel stays silent.
//! A value within [`EXPECTED_WITHIN`] times that mean of the value one
//! period earlier is *expected*: the other channels of novelty do not alert
//! on it (a daily peak is not news, however far it is from the mean).
//! O(candidates) per point; the state holds the last [`LONGEST`] values.

use super::likelihood::AnomalyLikelihood;
use serde::{Deserialize, Serialize};

/// The candidate periods, in points.
pub const LAGS: [usize; 6] = [24, 48, 96, 144, 288, 336];
/// The longest candidate: values kept.
pub const LONGEST: usize = 336;
/// EWMA weight of the mean errors per lag and of the mean step (chosen on
/// NAB's DEV half).
pub const ERROR_ALPHA: f64 = 0.002;
/// A value this many mean lag errors from the value one period earlier, or
/// nearer, is expected (chosen on NAB's DEV half among 1, 2, 3, 5 and 10).
pub const EXPECTED_WITHIN: f64 = 3.0;

/// What the seasonal channel makes of a value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SeasonalScore {
    /// The likelihood z of its distance to one period earlier (0 without a
    /// period).
    pub z: f64,
    /// Whether it is about the value one period earlier (see the module).
    pub expected: bool,
}

/// How a value stands against the value one period earlier.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Observation {
    /// Its distance to that value and the period's mean error (`None`
    /// while the series has no period).
    deviation: Option<(f64, f64)>,
}

/// The seasonal channel's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Seasonal {
    /// The last values, a ring once `LONGEST` long.
    history: Vec<f64>,
    /// Where the next value goes once `history` is full.
    next: usize,
    /// Values learnt from.
    seen: u64,
    /// Per candidate lag: the mean |x - x one lag ago| (finite: only
    /// finite distances are learnt, and a mean of them stays between them).
    lag_errors: [f64; LAGS.len()],
    /// The mean |x - previous|.
    #[serde(with = "crate::detector::state_float")]
    step_error: f64,
    /// The likelihood of the distance to one period ago.
    deviations: AnomalyLikelihood,
}

impl Default for Seasonal {
    fn default() -> Self {
        Self {
            history: Vec::new(),
            next: 0,
            seen: 0,
            lag_errors: [0.0; LAGS.len()],
            step_error: 0.0,
            deviations: AnomalyLikelihood::default(),
        }
    }
}

impl Seasonal {
    /// The value `lag` points before the next one, once that far back is kept.
    fn ago(&self, lag: usize) -> Option<f64> {
        let len = self.history.len();
        if lag > len || lag == 0 {
            return None;
        }
        let newest = if len < LONGEST { len - 1 } else { (self.next % LONGEST + LONGEST - 1) % LONGEST };
        self.history.get((newest + len + 1 - lag) % len).copied()
    }

    /// The period in use, as its lag and its mean error, if the series has one.
    fn period(&self) -> Option<(usize, f64)> {
        let (index, lag) = LAGS
            .iter()
            .enumerate()
            .filter(|(_, lag)| self.seen > 3 * **lag as u64)
            .min_by(|a, b| self.lag_errors[a.0].total_cmp(&self.lag_errors[b.0]))?;
        let error = self.lag_errors[index];
        (error < self.step_error).then_some((*lag, error))
    }

    /// How `value` stands against the value one period earlier, found once
    /// per point for both [`score`](Self::score) and [`learn`](Self::learn).
    pub fn observe(&self, value: f64) -> Observation {
        let deviation =
            self.period().and_then(|(lag, error)| self.ago(lag).map(|earlier| ((value - earlier).abs(), error)));
        Observation { deviation }
    }

    /// What the channel makes of the value `seen` observed: its likelihood
    /// z (0 while the series has no period yet) and whether it is expected.
    pub fn score(&self, seen: Observation) -> SeasonalScore {
        match seen.deviation {
            Some((distance, error)) => SeasonalScore {
                z: self.deviations.z(distance),
                expected: distance == 0.0 || distance < EXPECTED_WITHIN * error,
            },
            None => SeasonalScore { z: 0.0, expected: false },
        }
    }

    /// Learns from `value`, which was observed as `seen` (after
    /// [`score`](Self::score) judged it).
    pub fn learn(&mut self, value: f64, seen: Observation) {
        if let Some((distance, _)) = seen.deviation {
            self.deviations.learn(distance);
        }
        let alpha = ERROR_ALPHA.max(1.0 / (self.seen as f64 + 1.0));
        for (index, lag) in LAGS.iter().enumerate() {
            if let Some(earlier) = self.ago(*lag) {
                let distance = (value - earlier).abs();
                if distance.is_finite() {
                    self.lag_errors[index] += alpha * (distance - self.lag_errors[index]);
                }
            }
        }
        if let Some(previous) = self.ago(1) {
            let step = (value - previous).abs();
            if step.is_finite() {
                self.step_error += ERROR_ALPHA * (step - self.step_error);
            }
        }
        if self.history.len() < LONGEST {
            self.history.push(value);
        } else {
            self.next %= LONGEST;
            self.history[self.next] = value;
            self.next = (self.next + 1) % LONGEST;
        }
        self.seen += 1;
    }
}

/// The channel's score of every value of `values`, written plainly: the
/// values indexed directly instead of a ring, the likelihood recomputed
/// from the list of distances (a reference for tests).
#[cfg(test)]
pub(crate) fn plain_scores(values: &[f64]) -> Vec<SeasonalScore> {
    use super::likelihood::{LONG_ALPHA, SHORT, WARMUP};
    let mut lag_errors = [0.0; LAGS.len()];
    let mut step_error = 0.0;
    let (mut raws, mut mean, mut variance) = (Vec::new(), 0.0, 0.0);
    let mut out = Vec::new();
    for (i, &x) in values.iter().enumerate() {
        let mut best: Option<usize> = None;
        for (k, lag) in LAGS.iter().enumerate() {
            if i > 3 * lag && best.is_none_or(|b| lag_errors[k] < lag_errors[b]) {
                best = Some(k);
            }
        }
        let period = best.filter(|b| lag_errors[*b] < step_error);
        let raw = period.map(|b| (x - values[i - LAGS[b]]).abs());
        let expected =
            period.zip(raw).is_some_and(|(b, distance)| distance == 0.0 || distance < EXPECTED_WITHIN * lag_errors[b]);
        let mut z = 0.0;
        if let Some(raw) = raw.filter(|r| r.is_finite()) {
            raws.push(raw);
            let recent = &raws[raws.len().saturating_sub(SHORT)..];
            let short = recent.iter().sum::<f64>() / recent.len() as f64;
            let seen = raws.len() as u64 - 1;
            if seen >= WARMUP && short > mean {
                z = if variance > 0.0 { (short - mean) / f64::sqrt(variance) } else { f64::INFINITY };
            }
            let alpha = LONG_ALPHA.max(1.0 / (seen as f64 + 1.0));
            let delta = short - mean;
            mean += alpha * delta;
            variance = (1.0 - alpha) * (variance + alpha * delta * delta);
        }
        out.push(SeasonalScore { z, expected });
        let alpha = ERROR_ALPHA.max(1.0 / (i as f64 + 1.0));
        for (k, lag) in LAGS.iter().enumerate() {
            if *lag <= i {
                lag_errors[k] += alpha * ((x - values[i - lag]).abs() - lag_errors[k]);
            }
        }
        if i > 0 {
            step_error += ERROR_ALPHA * ((x - values[i - 1]).abs() - step_error);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn matches_the_plain_rule(
            pattern in prop::collection::vec(0.0f64..100.0, 24..60),
            noise in prop::collection::vec(-1.0f64..1.0, 1200..1600),
        ) {
            // A repeating pattern with noise, so that some lag qualifies.
            let values: Vec<f64> = noise.iter().enumerate().map(|(i, n)| pattern[i % pattern.len()] + n).collect();
            let mut channel = Seasonal::default();
            let online: Vec<SeasonalScore> = values.iter().map(|&x| { let score = score(&channel, x); learn(&mut channel, x); score }).collect();
            prop_assert_eq!(online, plain_scores(&values));
        }
    }

    fn score(channel: &Seasonal, value: f64) -> SeasonalScore {
        channel.score(channel.observe(value))
    }

    fn learn(channel: &mut Seasonal, value: f64) {
        channel.learn(value, channel.observe(value));
    }

    fn daily(days: usize, period: usize) -> Vec<f64> {
        (0..days * period).map(|i| if i % period < period / 4 { 10.0 } else { 0.0 } + (i % 7) as f64 * 0.01).collect()
    }

    fn learnt(values: &[f64]) -> Seasonal {
        let mut channel = Seasonal::default();
        for &value in values {
            learn(&mut channel, value);
        }
        channel
    }

    #[test]
    fn a_missing_peak_of_a_daily_pattern_scores_high_and_the_usual_day_does_not() {
        let values = daily(12, 48);
        let channel = learnt(&values);
        assert!(score(&channel, 10.0).z < 3.0, "the peak comes as every day: {:?}", score(&channel, 10.0));
        assert!(
            score(&channel, 10.0).expected && !score(&channel, 0.0).expected,
            "the peak is expected, its absence is not"
        );
        let mut flat = channel.clone();
        for _ in 0..7 {
            learn(&mut flat, 0.0);
        }
        assert!(score(&flat, 0.0).z > 6.0, "the peak is missing: {:?}", score(&flat, 0.0));
    }

    #[test]
    fn a_series_without_a_period_leaves_the_channel_silent() {
        // A random walk (xorshift steps): each value is nearest its predecessor.
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let values: Vec<f64> = (0..3000)
            .scan(0.0, |level, _| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                *level += (state % 1000) as f64 / 500.0 - 1.0;
                Some(*level)
            })
            .collect();
        let channel = learnt(&values);
        assert_eq!(channel.observe(50.0), Observation { deviation: None });
        assert_eq!(score(&channel, 1e6), SeasonalScore { z: 0.0, expected: false });
    }

    #[test]
    fn the_value_one_lag_ago_is_found_before_and_after_the_ring_wraps() {
        for n in [10, LONGEST, LONGEST + 7, 3 * LONGEST + 1] {
            let values: Vec<f64> = (0..n).map(|i| i as f64).collect();
            let channel = learnt(&values);
            for lag in [1, 2, 24, LONGEST] {
                let expected = (lag <= n).then(|| (n - lag) as f64);
                assert_eq!(channel.ago(lag), expected, "n {n}, lag {lag}");
            }
        }
    }

    #[test]
    fn hostile_values_neither_panic_nor_blind_the_error_means() {
        let mut values = daily(10, 24);
        values.extend([f64::MAX, -f64::MAX, f64::MAX]);
        let channel = learnt(&values);
        assert!(channel.lag_errors.iter().all(|e| e.is_finite()) && channel.step_error.is_finite());
        let text = serde_json::to_string(&channel).expect("serialises");
        let back: Seasonal = serde_json::from_str(&text).expect("reads back");
        assert_eq!(back, channel);
    }
}
