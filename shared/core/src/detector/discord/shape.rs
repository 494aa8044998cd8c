//! The shape channel: the [left matrix profile](super::profile) of a series
//! at the resolution of its period, as a z against the distances it
//! usually has. Used by the `discord` kind on its own and by `novelty`.
//!
//! - **Learning.** The first `learn` points are kept (the last
//!   [`LEARN_KEPT`] of them). At their end the channel takes the
//!   subsequence length, `length` points or, when 0, [`LENGTH_SHARE`] of
//!   the [period](super::period) found in them ([`WITHOUT_PERIOD`] points
//!   when there is none), and the value scale, their range. Replaying
//!   them, it measures how they repeat their own shapes
//!   ([`Shape::repetition`]).
//! - **Blocks.** Points are averaged in blocks so that a subsequence spans
//!   at most [`RESOLUTION`] blocks; the profile compares block values, one
//!   step per block, so a long period costs no more per point than a short
//!   one. The learnt points are replayed as blocks.
//! - **Score.** At each block's end: the distance of the newest
//!   subsequence to its nearest earlier one, as a z against the running
//!   mean and spread of those distances (EWMA, weight [`ALPHA`]; the
//!   spread at least [`SPREAD_SHARE`] of the mean and [`SPREAD_MIN`]). Points inside a block
//!   score nothing.
//! - **Roughness.** For novelty ([`Shape::update_scales`]), the first
//!   scale also measures the mean step size over each newest subsequence
//!   and whether it leaves its range ([`super::roughness`]): noise over
//!   the usual shape, or a smoothed or flat stretch, which block means
//!   hide.

use super::packed;
use super::period::period;
use super::profile::{LIMIT, LeftProfile};
use super::roughness::Roughness;
use crate::detector::state_float;
use serde::{Deserialize, Serialize};

/// Learnt points kept to find the period and scale (periods up to a third
/// of this are found).
pub const LEARN_KEPT: usize = 3072;
/// A subsequence spans at most this many blocks (chosen on ucr-dev among
/// 16, 32 and 64: top-1 6, 5 and 6 of 12; 16 is the cheapest).
pub const RESOLUTION: usize = 16;
/// The subsequence length as a share of the period (chosen on ucr-dev
/// among 0.5, 0.75, 1, 1.5 and 2).
pub const LENGTH_SHARE: f64 = 1.0;
/// The subsequence length when the learnt points have no period.
pub const WITHOUT_PERIOD: usize = 100;
/// EWMA weight of the distances' mean and variance, per block.
pub const ALPHA: f64 = 0.01;
/// The spread of the distances counts as at least this share of their mean,
/// and at least [`SPREAD_MIN`] (distances lie in [0, 2]: a series that
/// repeats exactly has no spread, and the least change would score without
/// bound).
pub const SPREAD_SHARE: f64 = 0.1;
/// The smallest spread of the distances.
pub const SPREAD_MIN: f64 = 0.02;
/// The highest z the channel can give: the largest distance (2) over the
/// smallest spread. A threshold above it can never be reached.
pub const MAX_Z: f64 = 2.0 / SPREAD_MIN;
/// Blocks judged before the channel scores.
pub const SETTLE: u64 = 32;
/// The learnt range's half maps to this many quantised units.
const UNIT: f64 = (1 << 18) as f64;

/// The channel's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shape {
    /// Points seen.
    seen: u64,
    phase: Phase,
    /// The second scale of [`Shape::update_scales`], started from the same
    /// learnt points and period as the first; none for [`Shape::update`]
    /// (and in a state from before the second scale existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    second: Option<Box<Judging>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Phase {
    /// Keeping the learnt points.
    Learning {
        #[serde(with = "packed")]
        kept: Vec<f32>,
        /// Once `kept` holds [`LEARN_KEPT`], where the next point goes
        /// (a ring: the oldest is overwritten).
        #[serde(default)]
        next: usize,
    },
    /// Comparing blocks.
    Judging(Box<Judging>),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Judging {
    /// Points per block.
    block: u32,
    /// The centre and half-width of the learnt range.
    #[serde(with = "state_float")]
    centre: f64,
    #[serde(with = "state_float")]
    half: f64,
    /// The sum and count of the block being filled.
    #[serde(with = "state_float")]
    sum: f64,
    count: u32,
    profile: LeftProfile,
    /// The distances' EWMA mean and variance, and blocks judged.
    #[serde(with = "state_float")]
    mean: f64,
    #[serde(with = "state_float")]
    variance: f64,
    judged: u64,
    /// The autocorrelation at the period found while learning (0 when none
    /// was found or a length was given).
    #[serde(default, with = "state_float")]
    regularity: f64,
    /// How the learnt points repeat themselves: the mean distance of each
    /// learnt subsequence to its nearest earlier one over the mean distance
    /// to the others (see [`Shape::repetition`]); 1 when not measured (a
    /// state from before it was).
    #[serde(default = "unmeasured", with = "state_float")]
    repetition: f64,
    /// The roughness of each subsequence (the first scale of
    /// [`Shape::update_scales`] only; none in a state from before it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    roughness: Option<Roughness>,
}

/// What [`Shape::update_scales`] found at a point: at the ends of their
/// blocks, the z of each scale and the roughness evidence (see
/// [`super::roughness`]).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Scales {
    /// The z of the period's subsequence.
    pub period: Option<f64>,
    /// The z of the shorter subsequence.
    pub half: Option<f64>,
    /// The evidence of the period's roughness (1 at the edge).
    pub roughness: Option<f64>,
}

/// The repetition of a state from before it was measured: none.
fn unmeasured() -> f64 {
    1.0
}

impl Default for Shape {
    fn default() -> Self {
        Self { seen: 0, phase: Phase::Learning { kept: Vec::new(), next: 0 }, second: None }
    }
}

impl Shape {
    /// Points seen.
    pub fn seen(&self) -> u64 {
        self.seen
    }

    /// The autocorrelation at the period found while learning: near 1 for
    /// a series that repeats itself closely, 0 before that or when none.
    pub fn regularity(&self) -> f64 {
        match &self.phase {
            Phase::Judging(judging) => judging.regularity,
            Phase::Learning { .. } => 0.0,
        }
    }

    /// How closely the learnt points repeat their own shapes, whether or
    /// not at a fixed period: near 0 when every stretch has a close earlier
    /// match (heartbeats of varying rate, a machine's repeated motions),
    /// near 1 for noise (the nearest stretch no closer than any other).
    /// Flat stretches are left out (one is near every other, a series that
    /// is mostly flat would repeat itself without a shape); 1 before that,
    /// when the learnt points have no spread, or when every stretch is flat.
    pub fn repetition(&self) -> f64 {
        match &self.phase {
            Phase::Judging(judging) => judging.repetition,
            Phase::Learning { .. } => unmeasured(),
        }
    }

    /// The subsequence length in points, once learnt.
    #[cfg(test)]
    pub fn length_in_points(&self) -> Option<usize> {
        match &self.phase {
            Phase::Judging(judging) => Some(judging.profile.length() * judging.block as usize),
            _ => None,
        }
    }

    /// Takes `value` in; at a block's end, the z of the newest
    /// subsequence's distance to its nearest earlier one. `learn` and
    /// `length` as the module says.
    pub fn update(&mut self, value: f64, learn: u32, length: u32) -> Option<f64> {
        self.take(value, learn, length, None).period
    }

    /// As [`Shape::update`] (the length from the period) at two scales: the
    /// z of the newest period's subsequence and of the newest `share` of a
    /// period's, and the period's roughness. Both start from the same learnt
    /// points and period; the second's [repetition](Shape::repetition) is
    /// not measured (that costs a square root per candidate as the learnt
    /// points are replayed).
    pub fn update_scales(&mut self, value: f64, learn: u32, share: f64) -> Scales {
        self.take(value, learn, 0, Some(share))
    }

    /// Takes `value` in at the first scale and, with `second_share`, the
    /// second (and the first scale's roughness).
    fn take(&mut self, value: f64, learn: u32, length: u32, second_share: Option<f64>) -> Scales {
        self.seen += 1;
        match &mut self.phase {
            Phase::Learning { kept, next } => {
                let value = value.clamp(f64::from(f32::MIN), f64::from(f32::MAX)) as f32;
                if kept.len() < LEARN_KEPT {
                    kept.push(value);
                } else {
                    *next %= LEARN_KEPT;
                    kept[*next] = value;
                    *next = (*next + 1) % LEARN_KEPT;
                }
                if self.seen >= u64::from(learn) {
                    let oldest = *next % kept.len();
                    kept.rotate_left(oldest);
                    let kept: Vec<f64> = kept.iter().map(|v| f64::from(*v)).collect();
                    let found = period(&kept);
                    let rough = second_share.is_some();
                    self.second =
                        second_share.map(|share| Box::new(Judging::start(&kept, found, 0, share, false, false)));
                    self.phase =
                        Phase::Judging(Box::new(Judging::start(&kept, found, length, LENGTH_SHARE, true, rough)));
                }
                Scales::default()
            }
            Phase::Judging(judging) => {
                let (period, roughness) = judging.take(value).unzip();
                Scales {
                    period: period.flatten(),
                    half: self.second.as_mut().and_then(|second| second.take(value)).and_then(|(z, _)| z),
                    roughness: roughness.flatten(),
                }
            }
        }
    }

    /// The second scale's subsequence length in points, once learnt.
    #[cfg(test)]
    pub fn second_length_in_points(&self) -> Option<usize> {
        self.second.as_ref().map(|second| second.profile.length() * second.block as usize)
    }
}

impl Judging {
    /// Starts judging after the learnt values `kept`, whose period is
    /// `found`, with subsequences of `length` points, or when 0, of `share`
    /// of the period; measures their repetition when `measure`, and their
    /// roughness from then on when `rough`.
    fn start(kept: &[f64], found: Option<(usize, f64)>, length: u32, share: f64, measure: bool, rough: bool) -> Self {
        let points = match (length, found) {
            (0, Some((period, _))) => (period as f64 * share).round() as usize,
            (0, None) => WITHOUT_PERIOD,
            (given, _) => given as usize,
        };
        let block = points.div_ceil(RESOLUTION).max(1);
        let (low, high) = kept.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| (l.min(*v), h.max(*v)));
        let half = (high - low) / 2.0;
        let blocks = (points / block).max(1);
        let mut judging = Self {
            block: u32::try_from(block).unwrap_or(u32::MAX),
            centre: if low.is_finite() && high.is_finite() { low + half } else { 0.0 },
            half: if half > 0.0 && half.is_finite() { half } else { 1.0 },
            sum: 0.0,
            count: 0,
            profile: LeftProfile::new(blocks),
            mean: 0.0,
            variance: 0.0,
            judged: 0,
            regularity: found.map_or(0.0, |(_, r)| r),
            repetition: unmeasured(),
            roughness: None,
        };
        judging.roughness = rough.then(|| Roughness::new(blocks, judging.block, judging.half));
        let replayed = kept.len() / block * block;
        let (mut nearest, mut typical) = (0.0, 0.0);
        for chunk in kept[kept.len() - replayed..].chunks(block) {
            if let Some(roughness) = &mut judging.roughness {
                chunk.iter().for_each(|v| roughness.take(*v));
                roughness.block_ends();
            }
            let mean = chunk.iter().sum::<f64>() / block as f64;
            let quantised = judging.quantise(mean);
            let measured = if measure {
                judging.profile.push_measured(quantised)
            } else {
                judging.profile.push(quantised).map(|distance| (distance, None))
            };
            if let Some((distance, others)) = measured {
                if let Some(others) = others {
                    (nearest, typical) = (nearest + distance, typical + others);
                }
                judging.score(distance);
            }
        }
        if typical > 0.0 {
            judging.repetition = nearest / typical;
        }
        judging
    }

    /// Takes a point; at a block's end, the score and the roughness
    /// evidence (each `None` until it has settled).
    fn take(&mut self, value: f64) -> Option<(Option<f64>, Option<f64>)> {
        self.sum += value;
        self.count += 1;
        if let Some(roughness) = &mut self.roughness {
            roughness.take(value);
        }
        if self.count < self.block {
            return None;
        }
        let mean = self.sum / f64::from(self.count);
        (self.sum, self.count) = (0.0, 0);
        let roughness = self.roughness.as_mut().and_then(Roughness::block_ends);
        Some((self.block_ends(mean), roughness))
    }

    /// Compares a block's value, learns its distance, and scores it.
    fn block_ends(&mut self, value: f64) -> Option<f64> {
        let distance = self.profile.push(self.quantise(value))?;
        self.score(distance)
    }

    /// A block's value in the profile's integer units.
    fn quantise(&self, value: f64) -> i32 {
        let scaled = ((value - self.centre) / self.half * UNIT).round();
        if scaled.is_nan() { 0 } else { scaled.clamp(-f64::from(LIMIT), f64::from(LIMIT)) as i32 }
    }

    /// Learns a block's nearest-neighbour `distance` and scores it.
    fn score(&mut self, distance: f64) -> Option<f64> {
        let spread = self.variance.sqrt().max(SPREAD_SHARE * self.mean).max(SPREAD_MIN);
        let z = ((distance - self.mean) / spread).max(0.0);
        let alpha = ALPHA.max(1.0 / (self.judged as f64 + 1.0));
        let delta = distance - self.mean;
        self.mean += alpha * delta;
        self.variance = (1.0 - alpha) * (self.variance + alpha * delta * delta);
        self.judged += 1;
        (self.judged > SETTLE).then_some(z)
    }
}

/// A beat of period 120 (a sharp peak and a slow wave) with small noise,
/// 6,000 points; the beat from point 5040 has its peak in the wrong place,
/// inside the usual range.
#[cfg(test)]
pub(crate) fn heartbeats() -> Vec<f64> {
    (0..6000u32)
        .map(|i| {
            let phase = i % 120;
            let peak_at = if (5040..5160).contains(&i) { 70 } else { 20 };
            let peak = if phase.abs_diff(peak_at) < 4 { 10.0 } else { 0.0 };
            peak + (f64::from(phase) / 120.0 * std::f64::consts::TAU).sin() + f64::from(i * 7 % 11) * 0.01
        })
        .collect()
}

/// One shape (a rise and a slower fall, 48 points) at uneven intervals
/// (gaps of 130, 200 or 330 points, in an order from a fixed generator)
/// over small noise, 6,000 points: it repeats, but at no period.
#[cfg(test)]
pub(crate) fn uneven_bursts() -> Vec<f64> {
    let mut random = crate::detector::lcg(11);
    let mut next = move || random() >> 33;
    let mut values = Vec::with_capacity(6000);
    while values.len() < 6000 {
        let gap = [130, 200, 330][(next() % 3) as usize];
        values.extend((0..gap).map(|_| (next() % 100) as f64 * 0.0001));
        values.extend((0..48u32).map(|i| if i < 16 { f64::from(i) } else { f64::from(48 - i) / 2.0 }));
    }
    values.truncate(6000);
    values
}

/// Zero, with a burst of random height and length (1 to 5 points) one
/// point in about 200, 6,000 points: mostly flat, like a disk's writes or a
/// load balancer's errors. Its flat stretches match each other; its bursts
/// only as spikes do.
#[cfg(test)]
pub(crate) fn flat_with_bursts() -> Vec<f64> {
    let mut next = crate::detector::lcg(3);
    let mut next = move |below: u64| (next() >> 33) % below;
    let mut values = vec![0.0; 6000];
    let mut i = next(400) as usize;
    while i < values.len() {
        let (length, height) = (1 + next(5) as usize, next(1000) as f64);
        values.iter_mut().skip(i).take(length).for_each(|v| *v = height);
        i += length + next(400) as usize;
    }
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scores(values: &[f64], learn: u32, length: u32) -> (Shape, Vec<(usize, f64)>) {
        let mut shape = Shape::default();
        let scores =
            values.iter().enumerate().filter_map(|(i, v)| shape.update(*v, learn, length).map(|z| (i, z))).collect();
        (shape, scores)
    }

    #[test]
    fn the_misshapen_beat_scores_highest() {
        let (shape, scores) = scores(&heartbeats(), 2000, 0);
        assert_eq!(shape.length_in_points(), Some(120), "the period, in blocks of 8");
        let (at, top) = scores.iter().copied().fold((0, 0.0), |best, s| if s.1 > best.1 { s } else { best });
        assert!((5040..5300).contains(&at), "highest at {at} ({top})");
        let elsewhere = scores.iter().filter(|(i, _)| *i < 5000).fold(0.0f64, |a, (_, z)| a.max(*z));
        assert!(top > 2.0 * elsewhere, "{top} against {elsewhere} before it");
    }

    #[test]
    fn a_series_without_a_period_takes_the_fixed_length_unless_one_is_given() {
        let trend: Vec<f64> = (0..3000).map(f64::from).collect();
        let block = WITHOUT_PERIOD.div_ceil(RESOLUTION);
        assert_eq!(scores(&trend, 1000, 0).0.length_in_points(), Some(WITHOUT_PERIOD / block * block), "whole blocks");
        assert_eq!(scores(&trend, 1000, 48).0.length_in_points(), Some(48));
    }

    #[test]
    fn a_shape_repeated_at_uneven_intervals_repeats_without_a_period() {
        let (bursts, _) = scores(&uneven_bursts(), 2000, 0);
        assert!(bursts.regularity() < 0.6, "no strong period: {}", bursts.regularity());
        assert!(bursts.repetition() < 0.2, "its shapes repeat: {}", bursts.repetition());
        let (beats, _) = scores(&heartbeats(), 2000, 0);
        assert!(beats.repetition() < 0.2, "a heartbeat repeats: {}", beats.repetition());
        let mut next = crate::detector::lcg(5);
        let noise: Vec<f64> = (0..3000).map(|_| (next() >> 40) as f64).collect();
        let (noisy, _) = scores(&noise, 2000, 0);
        assert!(noisy.repetition() > 0.5, "noise does not: {}", noisy.repetition());
        let (flat, _) = scores(&[3.0; 3000], 2000, 0);
        assert_eq!(flat.repetition(), 1.0, "no spread, nothing measured");
        assert_eq!(Shape::default().repetition(), 1.0, "not measured while learning");
    }

    #[test]
    fn a_state_from_before_repetition_reads_back_as_not_repeating() {
        let (shape, _) = scores(&uneven_bursts(), 2000, 0);
        let mut json = serde_json::to_value(&shape).expect("serialises");
        let judging = json.pointer_mut("/phase/judging").and_then(|j| j.as_object_mut()).expect("judging");
        assert!(judging.remove("repetition").is_some(), "written: {judging:?}");
        let old: Shape = serde_json::from_value(json).expect("reads back");
        assert_eq!(old.repetition(), 1.0);
    }

    #[test]
    fn a_state_from_before_roughness_reads_back_without_it() {
        let mut shape = Shape::default();
        let beats = heartbeats();
        let roughness = |shape: &mut Shape, values: &[f64]| {
            values.iter().filter_map(|v| shape.update_scales(*v, 2000, 0.5).roughness).count()
        };
        roughness(&mut shape, &beats[..3000]);
        let mut json = serde_json::to_value(&shape).expect("serialises");
        let judging = json.pointer_mut("/phase/judging").and_then(|j| j.as_object_mut()).expect("judging");
        assert!(judging.remove("roughness").is_some(), "written: {judging:?}");
        let mut old: Shape = serde_json::from_value(json).expect("reads back");
        assert_eq!(roughness(&mut old, &beats[3000..]), 0, "off in an old state");
        assert!(roughness(&mut shape, &beats[3000..]) > 0, "measured in a new one");
    }

    #[test]
    fn restores_exactly_and_stays_small() {
        let values = heartbeats();
        for cut in [500, 2000, 2001, 4000] {
            let (first, _) = scores(&values[..cut], 2000, 0);
            let json = serde_json::to_string(&first).expect("serialises");
            assert!(json.len() < 24 * 1024, "{} bytes at {cut}", json.len());
            let mut restored: Shape = serde_json::from_str(&json).expect("reads back");
            let mut uninterrupted = first.clone();
            for v in &values[cut..] {
                let (a, b) = (restored.update(*v, 2000, 0), uninterrupted.update(*v, 2000, 0));
                assert_eq!(a.map(f64::to_bits), b.map(f64::to_bits), "after a restore at {cut}");
            }
        }
    }

    #[test]
    fn a_long_learning_keeps_its_last_points_in_order() {
        let values = heartbeats();
        let (long, short) = (5000usize, LEARN_KEPT);
        let mut all = Shape::default();
        let mut last = Shape::default();
        for v in &values[..long - 1] {
            all.update(*v, long as u32, 0);
        }
        // Still learning, its ring wrapped.
        let json = serde_json::to_string(&all).expect("serialises");
        let mut restored: Shape = serde_json::from_str(&json).expect("reads back");
        all.update(values[long - 1], long as u32, 0);
        restored.update(values[long - 1], long as u32, 0);
        for v in &values[long - short..long] {
            last.update(*v, short as u32, 0);
        }
        for v in &values[long..] {
            let expected = last.update(*v, short as u32, 0).map(f64::to_bits);
            assert_eq!(all.update(*v, long as u32, 0).map(f64::to_bits), expected);
            assert_eq!(restored.update(*v, long as u32, 0).map(f64::to_bits), expected);
        }
    }

    #[test]
    fn hostile_values_neither_panic_nor_poison_the_scale() {
        let mut values = heartbeats();
        values[100] = 1e300;
        values[3000] = -1e300;
        values[3500] = f64::MAX;
        let (_, scores) = scores(&values, 2000, 0);
        assert!(scores.iter().all(|(_, z)| !z.is_nan()), "no NaN score");
    }
}
