//! Novelty: fires once when a series does something it has not done
//! before, then treats it as normal. Built for streams where every alert
//! wakes someone (NAB charges every firing; only the earliest detection of
//! an anomaly counts). O(1) per point; up to about 32 KB of state on NAB,
//! most of it the resonance channel's categories (39 KB seen in a
//! probation, with the early network, on a random walk; the bound is 48 KB).
//!
//! Five channels, each scored so that 1 is the edge of normal. Four are
//! fused by taking the highest:
//! - **spatial**: the value leaves the range seen so far (`[min, max]`) by
//!   more than `tolerance` times that range; the range then grows to hold it,
//!   so a new level fires once, not on every point;
//! - **level**: |z| of the value against exponentially weighted mean and
//!   variance (weight `alpha`), over `threshold`, and over [`PEAK_SHARE`] of
//!   the recent peak of that score (a spike lower than the spikes just seen
//!   is not news); only when the value before was already more than
//!   [`PRECEDED`] standard deviations from the mean (a lone spike inside the
//!   range seen is not news either; one past it is the spatial channel's);
//! - **change**: the [anomaly likelihood](likelihood) of the size of
//!   the step from the previous value, over `change`: the series starts
//!   moving in a way it has not moved before, inside its usual range;
//! - **seasonal**: when the series has a period, the likelihood of the
//!   distance to the value one period earlier, over `seasonal` (see
//!   [`seasonal`]). A value about the one a period earlier is
//!   expected: its level and change scores count as 0.
//!
//! A point whose score passes 1 is an alert, unless it falls in the quiet
//! period after an alert and its score is not at least [`STRONGER`] times
//! that alert's (alert suppression: a long excursion is one event, not
//! hundreds). The quiet period lasts `quiet` points, or [`QUIET_SHARE`] of
//! the points seen when that is fewer (early in a stream, events are
//! judged against a short history and come closer together); a value past
//! the range seen by [`FAR_PAST`] times the tolerance alerts even then.
//!
//! The fifth, **resonance** (see [`resonance`]: ARTime's adaptive
//! resonance categories over the shape of the last 8 downsampled values),
//! alerts on its own when its confidence reaches `resonance`, except in the
//! [`RESONANCE_AFTER`] points after an alert of the other four (the same
//! event, seen again). It learns for `probation` points first; meanwhile an
//! early network of its own, learnt over the first quarter of them, judges
//! the rest (then it is dropped: a stream is judged by resonance from 187
//! points on at the default, not 750). It only judges points that arrive
//! in order: judging a point without learning it (a predict against a
//! fitted version) leaves it out.
//!
//! The sixth, **shape** (the [discord](super::discord) kind's left matrix
//! profile), judges only a *regular* series: one whose probation has a
//! period with autocorrelation of at least [`REGULAR`] (a heartbeat, a
//! gait, a daily load), or whose probation repeats its own shapes at
//! [`REPEATING`] or closer without a fixed period (a machine's repeated
//! motions at uneven intervals). There a wrong shape inside the usual
//! range is what matters most: the shape channel alerts past `discord`
//! and past its own recent peak ([`SHAPE_PEAK_DECAY`]: a shape no stranger
//! than the strangest seen lately is not news, as for the level channel),
//! with a quiet period of its own, as the four have (its alert starts
//! theirs too, and resonance's rest: one event, one alert), and it ranks
//! the graded score: the alerts of the other channels (resonance included)
//! count as at the edge (score 0.5, ranked among themselves by the shape
//! they come with, [`SHAPE_RANKS_FLAGS`]), so the most anomalous moment of
//! a regular series is its strangest shape. It compares subsequences of one
//! period and of half a period ([`HALF_SHARE`]; the shorter one's z
//! weighted by [`HALF_WEIGHT`]), and takes the higher, or the evidence of
//! the period's [roughness](super::discord) when higher (a new extreme of
//! the mean step size over a period: noise over the usual shape, or a
//! smoothed or flat stretch). On other series it is not computed after the
//! probation; there the shape channel's evidence is the roughness of the
//! last [`ROUGHNESS_BLOCKS`] × [`ROUGHNESS_BLOCK_POINTS`] points against its
//! range from the first point on: a stuck sensor's flat line, a quieter or
//! a noisier stretch inside the usual range.

mod fuzzy_art;
mod likelihood;
mod resonance;
mod seasonal;

use super::discord::{MAX_Z, Roughness, Shape};
use super::params::{DetectorParams, check_positive, check_share, check_warmup, invalid};
use super::{Decision, OnlineDetector, Verdict};
use crate::{Threshold, ValidationError};
use likelihood::AnomalyLikelihood;
use resonance::{PROBATION_RANGE, Resonance, early_probation};
use seasonal::Seasonal;
use serde::{Deserialize, Serialize};

/// During the quiet period, a score must be this many times the last
/// alert's to alert again (chosen on NAB's DEV half among 1.5 to 6).
pub const STRONGER: f64 = 3.0;
/// The quiet period is at most this share of the points seen (chosen on
/// NAB's DEV half among 0.05 to 0.5).
pub const QUIET_SHARE: f64 = 0.1;
/// A spatial score above this alerts in the quiet period too (chosen on
/// NAB's DEV half among 1, 2, 5, 10 and 30).
pub const FAR_PAST: f64 = 10.0;
/// The level score must reach this share of its recent peak (chosen on
/// NAB's DEV half among 0.3 to 1).
pub const PEAK_SHARE: f64 = 0.7;
/// The recent peak of the level score decays by this factor per point
/// (half-life about 350 points; chosen on NAB's DEV half among 0.99 to
/// 0.9999).
pub const PEAK_DECAY: f64 = 0.998;
/// The level channel counts only after a value with |z| above this (chosen
/// on NAB's DEV half among 0.5, 1, 1.5 and 2).
pub const PRECEDED: f64 = 1.0;
/// The resonance channel is quiet for this many points after an alert of
/// the other four (chosen on NAB's DEV half among 0, 100, 200, 300, 400
/// and 800).
pub const RESONANCE_AFTER: u32 = 200;
/// A series is regular when the autocorrelation at the period the shape
/// channel found in its probation is at least this; only then does the
/// shape channel judge (chosen on ucr-dev and NAB's DEV half among 0.05 to
/// 0.8: 0.5 to 0.7 tied, 0.8 lost two ucr-dev files, below 0.5 cost DEV
/// points).
pub const REGULAR: f64 = 0.6;
/// A series is regular, too, when its probation repeats its own shapes:
/// the shape channel's [repetition](Shape::repetition) (nearest earlier
/// stretch over the typical one) is at most this. Chosen on ucr-dev and
/// NAB's DEV half among 0.1 to 0.3: DEV the same throughout, ucr-dev one
/// file more from 0.2 to 0.3; 0.2 lets in the fewest series.
pub const REPEATING: f64 = 0.2;

/// The shape channel's recent peak (its z over `discord`) decays by this
/// factor per point (half-life about 1,400 points); its evidence counts
/// only past that peak: a shape no stranger than the strangest seen lately
/// is not news. Chosen among 0.998, 0.9995 and 0.9999 (see
/// docs/evaluation.md: DEV and ucr-dev do not move, so all of NAB, TEST
/// included, chose it).
pub const SHAPE_PEAK_DECAY: f64 = 0.9995;

/// The shape channel also compares subsequences of this share of the
/// period: a distortion shorter than a period (a stumble in a gait, one
/// bent beat) stands out more in a shorter subsequence, where less of the
/// usual shape dilutes it. Half a period is the natural second scale; 0.4
/// and 0.6 solved no ucr-dev file more than one scale alone.
pub const HALF_SHARE: f64 = 0.5;
/// The half-period subsequence's z counts at this share of a full one's: a
/// shorter subsequence's distances vary more, so it needs a higher z to
/// alert (`discord` / 0.6, 10 at the default). Chosen on ucr-dev and NAB's
/// DEV half among 0.5 to 1: ucr-dev 6 of 12 at 0.5 and 1, 7 from 0.6 to
/// 0.8; DEV 81.24 at 0.6, 81.14 at 0.65 and 0.7, 80.95 at 0.75 and 0.8.
pub const HALF_WEIGHT: f64 = 0.6;

/// On a series that is not regular, the roughness (mean step size) is
/// measured over this many blocks of [`ROUGHNESS_BLOCK_POINTS`] points (192
/// points), at each block's end, against its range since the first point.
/// Alerts past that range by the regular series' roughness tolerance (0.4 of
/// its width). Chosen on NAB's DEV half, on non-periodic synthetic series
/// with a flat, quieter, noisier or drifting stretch, and on ucr-dev's
/// synthetic anomalies, among blocks of 8 to 48 points (docs/evaluation.md).
pub const ROUGHNESS_BLOCKS: usize = 8;
/// Points per block of the roughness on a series that is not regular.
pub const ROUGHNESS_BLOCK_POINTS: u32 = 24;

/// The parameters of a novelty detector.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NoveltyParams {
    /// Level channel: the largest normal |z|.
    pub threshold: Threshold,
    /// Spatial channel: how far past the range seen, as a share of it.
    pub tolerance: f64,
    /// Level channel: EWMA weight of the newest point.
    pub alpha: f64,
    /// Points after an alert during which only a stronger score alerts.
    pub quiet: u32,
    /// Points seen before the first verdict.
    pub warmup: u32,
    /// Change channel: the largest normal z of the recent step sizes
    /// against their past.
    pub change: Threshold,
    /// Seasonal channel: the largest normal z of the recent distances to
    /// one period earlier against their past.
    pub seasonal: Threshold,
    /// Resonance channel: the confidence (0 to 1) from which it alerts;
    /// above 1 it never does.
    pub resonance: f64,
    /// Resonance and shape channels: the points they learn from before
    /// judging; their value range is theirs, and the shape channel's
    /// period.
    pub probation: u32,
    /// Shape channel: the largest normal z of the newest subsequence's
    /// distance to its nearest earlier one, on a regular series (see
    /// [`REGULAR`]). Above [`MAX_Z`] (100) the channel is off and not
    /// computed.
    pub discord: Threshold,
    /// How readily it alerts, between 0 and 1 (default 0.5): every
    /// channel's evidence is scaled by `sensitivity / (1 - sensitivity)`,
    /// so at 0.75 a point alerts on a third of the evidence the default
    /// needs (where the default's `anomaly_score` is 0.25 or more), at
    /// 0.25 on three times it (0.75 or more). The graded score is then
    /// that of the scaled evidence: flagged points still score 0.5 or more.
    pub sensitivity: f64,
}

impl NoveltyParams {
    /// The values chosen on NAB (docs/evaluation.md says how).
    pub const DEFAULT: Self = Self {
        threshold: Threshold::constant(6.0),
        tolerance: 0.007,
        alpha: 0.002,
        quiet: 1200,
        warmup: 150,
        change: Threshold::constant(4.5),
        seasonal: Threshold::constant(6.0),
        resonance: 0.48,
        probation: 750,
        discord: Threshold::constant(6.0),
        sensitivity: 0.5,
    };
}

/// The longest quiet period after a novelty alert.
pub const MAX_QUIET: u32 = 1_000_000;

impl Default for NoveltyParams {
    /// [`NoveltyParams::DEFAULT`]; also what a model stored before a
    /// parameter existed gets for it.
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl DetectorParams for NoveltyParams {
    type Detector = Novelty;

    fn check(&self, kind: &str) -> Result<(), ValidationError> {
        check_positive(kind, "tolerance", self.tolerance)?;
        if self.quiet > MAX_QUIET {
            return Err(invalid(format!("quiet of {kind} must be at most {MAX_QUIET} points; got {}", self.quiet)));
        }
        check_positive(kind, "resonance", self.resonance).map_err(|_| {
            invalid(format!(
                "resonance of {kind} must be > 0 and at most 1e6 (above 1 the channel never alerts); got {}",
                self.resonance
            ))
        })?;
        if !PROBATION_RANGE.contains(&self.probation) {
            return Err(invalid(format!(
                "probation of {kind} must be from {} to {} points; got {}",
                PROBATION_RANGE.start(),
                PROBATION_RANGE.end(),
                self.probation
            )));
        }
        check_share(kind, "alpha", self.alpha)?;
        check_warmup(kind, self.warmup)?;
        check_positive(kind, "change", self.change.get())?;
        check_positive(kind, "seasonal", self.seasonal.get())?;
        check_positive(kind, "discord", self.discord.get())?;
        check_share(kind, "sensitivity", self.sensitivity)
    }

    fn of(detector: &Novelty) -> Self {
        detector.params
    }

    fn start(self) -> Option<Novelty> {
        Some(Novelty::new(self))
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

/// On a regular series, a point another channel flags scores at the edge
/// plus this share of the shape channel's latest evidence (at most 1): its
/// flags still score 0.5, and among them the one that comes with the
/// strangest shape ranks highest. Its evidence stays within 0.1% of the
/// edge, under that of nearly every shape alert.
pub const SHAPE_RANKS_FLAGS: f64 = 0.001;

/// The novelty detector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Novelty {
    /// Parameters.
    #[serde(flatten)]
    pub params: NoveltyParams,
    seen: u64,
    #[serde(with = "crate::detector::state_float")]
    min: f64,
    #[serde(with = "crate::detector::state_float")]
    max: f64,
    #[serde(with = "crate::detector::state_float")]
    mean: f64,
    #[serde(with = "crate::detector::state_float")]
    variance: f64,
    /// Points since the last alert of the four channels or the shape
    /// channel (saturating); `u32::MAX` before any.
    since_alert: u32,
    /// The score of the last alert.
    #[serde(with = "crate::detector::state_float")]
    alert_score: f64,
    /// The previous value (NaN before the first).
    #[serde(default = "not_a_number", with = "crate::detector::state_float")]
    previous: f64,
    /// The change channel over the step sizes (boxed: novelty is the
    /// largest of the kinds a model holds).
    #[serde(default)]
    steps: Box<AnomalyLikelihood>,
    /// The seasonal channel (boxed: it is most of the state).
    #[serde(default)]
    season: Box<Seasonal>,
    /// The recent peak of the level score (decaying by [`PEAK_DECAY`]).
    #[serde(default, with = "crate::detector::state_float")]
    level_peak: f64,
    /// The |z| of the previous value, as it was judged (0 before any).
    #[serde(default, with = "crate::detector::state_float")]
    previous_z: f64,
    /// The resonance channel (boxed: it is most of the state).
    #[serde(default)]
    resonance_channel: Box<Resonance>,
    /// The resonance channel's early network, while the channel learns its
    /// probation (none after it, and in states from before it existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    early_resonance: Option<Box<Resonance>>,
    /// The shape channel.
    #[serde(default)]
    shape: Box<Shape>,
    /// Points since the shape channel's last alert (saturating);
    /// `u32::MAX` before any.
    #[serde(default = "never")]
    since_shape_alert: u32,
    /// The z over threshold of the shape channel's last alert.
    #[serde(default, with = "crate::detector::state_float")]
    shape_alert_score: f64,
    /// The shape channel's latest z at the period's length and at half of
    /// it, each held between the ends of its blocks; 0 until it judges.
    #[serde(default, with = "crate::detector::state_float")]
    latest_period_z: f64,
    #[serde(default, with = "crate::detector::state_float")]
    latest_half_z: f64,
    /// The recent peak of the shape channel's z over `discord` (decaying
    /// by [`SHAPE_PEAK_DECAY`]; 0 before it judges).
    #[serde(default, with = "crate::detector::state_float")]
    shape_peak: f64,
    /// The roughness of a series that is not regular (see
    /// [`ROUGHNESS_BLOCKS`]): measured from the first point, dropped once
    /// the probation finds the series regular (and absent in states from
    /// before it existed, which measure it from their next point on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    roughness: Option<Box<Roughness>>,
}

/// The evidence of the channels that judge the sequence a point ends
/// (1 at the edge of normal).
#[derive(Debug, Clone, Copy, Default)]
struct Shapes {
    /// The resonance channel's confidence over its threshold.
    resonance: f64,
    /// The shape channel's z over its threshold and over its recent peak,
    /// or its roughness evidence when higher (0 unless the series is
    /// regular).
    discord: f64,
    /// Whether the series is regular (see [`REGULAR`]).
    regular: bool,
    /// The shape channel's latest z over its threshold, held between the
    /// ends of its blocks (see [`SHAPE_RANKS_FLAGS`]).
    latest_shape: f64,
}

/// The alerts a point raised, with their scores: of the four channels
/// (`novel`) and of the shape channel.
#[derive(Debug, Clone, Copy, Default)]
struct Alerts {
    novel: Option<f64>,
    shape: Option<f64>,
}

/// What judging and learning both need to know of a value.
struct Observation {
    /// Its |z| against the EWMA mean and variance.
    z: f64,
    /// The size of the step from the previous value.
    step: f64,
    /// How it stands against the value one period earlier.
    season: seasonal::Observation,
}

fn not_a_number() -> f64 {
    f64::NAN
}

fn never() -> u32 {
    u32::MAX
}

/// The score a channel must pass: 1, or in the quiet period after its
/// last alert (`since` points ago, with `score`), that score times
/// [`STRONGER`] (a long excursion is one event, not hundreds).
fn quiet_bar(since: u32, score: f64, quiet_period: f64) -> f64 {
    if f64::from(since) < quiet_period { (score * STRONGER).max(1.0) } else { 1.0 }
}

/// Moves a channel's last-alert bookkeeping on by one point: `alert` is
/// its score when the point alerted.
fn note_alert(alert: Option<f64>, since: &mut u32, score: &mut f64) {
    match alert {
        Some(alerted) => {
            *since = 0;
            *score = alerted;
        }
        None => *since = since.saturating_add(1),
    }
}

impl Novelty {
    /// An empty detector.
    pub fn new(params: NoveltyParams) -> Self {
        Self {
            params,
            seen: 0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            mean: 0.0,
            variance: 0.0,
            since_alert: u32::MAX,
            alert_score: 0.0,
            previous: f64::NAN,
            steps: Box::default(),
            season: Box::default(),
            level_peak: 0.0,
            previous_z: 0.0,
            resonance_channel: Box::default(),
            early_resonance: None,
            shape: Box::default(),
            since_shape_alert: u32::MAX,
            shape_alert_score: 0.0,
            latest_period_z: 0.0,
            latest_half_z: 0.0,
            shape_peak: 0.0,
            roughness: None,
        }
    }

    /// The resonance channel's confidence in `value`, which it learns:
    /// while the channel learns its probation, its early network's (which
    /// starts with it and learns a quarter of it,
    /// [`resonance::EARLY_DIVISOR`]); then its own, and the early network
    /// is dropped.
    fn resonance_confidence(&mut self, value: f64) -> f64 {
        if !self.resonance_channel.started() {
            self.early_resonance = Some(Box::default());
        }
        let confidence = self.resonance_channel.update(value, self.params.probation);
        match self.early_resonance.as_mut() {
            Some(early) if self.resonance_channel.learning() => {
                early.update(value, early_probation(self.params.probation))
            }
            _ => {
                self.early_resonance = None;
                confidence
            }
        }
    }

    /// Whether the series is regular: the shape channel found a period
    /// whose autocorrelation is at least [`REGULAR`], or its probation
    /// repeats its shapes (see [`REPEATING`]).
    fn regular(&self) -> bool {
        self.shape.regularity() >= REGULAR || self.shape.repetition() <= REPEATING
    }

    /// Takes `value` into the shape channel at both of its scales; the
    /// higher z (the half period's weighted by [`HALF_WEIGHT`]) and the
    /// roughness evidence, or 0 while it learns, inside a block, or when
    /// the series is not regular or the channel is off (then it is not
    /// computed).
    fn shape_update(&mut self, value: f64) -> (f64, f64) {
        let learning = self.shape.seen() < u64::from(self.params.probation);
        if self.params.discord.get() > MAX_Z || !(learning || self.regular()) {
            return (0.0, 0.0);
        }
        let scales = self.shape.update_scales(value, self.params.probation, HALF_SHARE);
        if !self.regular() {
            return (0.0, 0.0);
        }
        self.latest_period_z = scales.period.unwrap_or(self.latest_period_z);
        self.latest_half_z = scales.half.unwrap_or(self.latest_half_z);
        let z = scales.period.unwrap_or(0.0).max(HALF_WEIGHT * scales.half.unwrap_or(0.0));
        (z, scales.roughness.unwrap_or(0.0))
    }

    /// The shape channel's evidence on `value`: its z over `discord`, over
    /// the channel's recent peak when that is higher than 1 (then learnt),
    /// or its roughness evidence when higher.
    fn shape_news(&mut self, value: f64) -> f64 {
        let (z, roughness) = self.shape_update(value);
        let evidence = z / self.params.discord.get();
        let news = evidence / self.shape_peak.max(1.0);
        if evidence.is_finite() {
            self.shape_peak = (self.shape_peak * SHAPE_PEAK_DECAY).max(evidence);
        }
        news.max(roughness)
    }

    /// The evidence of the roughness of a series that is not regular, at
    /// the end of each of its blocks once the probation is over (0
    /// otherwise, and when the shape channel is off). Measured from the
    /// first point, so that its range holds the probation's; a flat stretch
    /// counts as smooth as 1e-4 of the half-range seen so far.
    fn roughness_news(&mut self, value: f64) -> f64 {
        let judging = self.seen >= u64::from(self.params.probation);
        if self.params.discord.get() > MAX_Z || (judging && self.regular()) {
            self.roughness = None;
            return 0.0;
        }
        let channel = self
            .roughness
            .get_or_insert_with(|| Box::new(Roughness::new(ROUGHNESS_BLOCKS, ROUGHNESS_BLOCK_POINTS, 0.0)));
        channel.take(value);
        if !(self.seen + 1).is_multiple_of(u64::from(ROUGHNESS_BLOCK_POINTS)) {
            return 0.0;
        }
        channel.set_half_range((self.max - self.min) / 2.0);
        let evidence = channel.block_ends().unwrap_or(0.0);
        if judging { evidence } else { 0.0 }
    }

    /// The shape channel's latest evidence, held between the ends of its
    /// blocks: the higher z of its two scales, weighted as they alert.
    fn latest_shape(&self) -> f64 {
        self.latest_period_z.max(HALF_WEIGHT * self.latest_half_z)
    }

    /// What judging and learning both need to know of `value`, found once.
    fn observe(&self, value: f64) -> Observation {
        let distance = (value - self.mean).abs();
        Observation {
            z: if distance == 0.0 { 0.0 } else { distance / self.variance.sqrt() },
            step: (value - self.previous).abs(),
            season: self.season.observe(value),
        }
    }

    /// The score of `value`, observed as `seen` with the sequence channels'
    /// evidence `shapes`, whether it alerts, and the score when the other
    /// four channels alert.
    fn decide(&self, value: f64, seen: &Observation, shapes: Shapes) -> (Decision, Alerts) {
        let range = self.max - self.min;
        let outside = (value - self.max).max(self.min - value);
        let spatial = if outside <= 0.0 {
            0.0
        } else if range > 0.0 {
            outside / (range * self.params.tolerance)
        } else {
            f64::INFINITY
        };
        let season = self.season.score(seen.season);
        let level = if season.expected || self.previous_z <= PRECEDED {
            0.0
        } else {
            seen.z / self.params.threshold.get() / (PEAK_SHARE * self.level_peak).max(1.0)
        };
        let change = if season.expected { 0.0 } else { self.steps.z(seen.step) / self.params.change.get() };
        let raw = spatial.max(level).max(change).max(season.z / self.params.seasonal.get());
        // Every channel's evidence scaled by the sensitivity (exactly 1 at
        // the default, 0.5).
        let gain = self.params.sensitivity / (1.0 - self.params.sensitivity);
        let score = gain * raw;
        let quiet_period = f64::from(self.params.quiet).min(self.seen as f64 * QUIET_SHARE);
        // A value far past the range alerts even in the quiet period.
        let bar = if spatial <= FAR_PAST { quiet_bar(self.since_alert, self.alert_score, quiet_period) } else { 1.0 };
        let novel = score > bar;
        // Resonance right after an alert of the others sees the same event
        // again: no new evidence.
        let awake = self.since_alert.saturating_add(1) >= RESONANCE_AFTER;
        let raw_resonance = if awake { shapes.resonance } else { 0.0 };
        let resonance = gain * raw_resonance;
        let discord = gain * shapes.discord;
        // The shape channel has a quiet period of its own, so that a shape
        // seen right after a level alert still counts.
        let shape_alert = discord > quiet_bar(self.since_shape_alert, self.shape_alert_score, quiet_period);
        // On a regular series the shape is the evidence that ranks: the
        // others' alerts, resonance's too, count as at the edge.
        let (others, resonance_evidence) =
            if shapes.regular { ((score / bar).min(1.0), resonance.min(1.0)) } else { (score / bar, resonance) };
        let flagged_by_others = novel || resonance >= 1.0;
        // Among those edge scores, the strangest shape ranks first.
        let shape_rank = if shapes.regular && flagged_by_others {
            SHAPE_RANKS_FLAGS * (gain * shapes.latest_shape).min(1.0)
        } else {
            0.0
        };
        let evidence = (others.max(resonance_evidence) + shape_rank).max(discord);
        let decision =
            Decision::graded(flagged_by_others || shape_alert, raw.max(raw_resonance).max(shapes.discord), evidence);
        (decision, Alerts { novel: novel.then_some(score), shape: shape_alert.then_some(discord) })
    }

    /// The verdict on `value`, observed as `seen` with the sequence
    /// channels' evidence `shapes`, and the score when the other four alert.
    fn judge_observed(&self, value: f64, seen: &Observation, shapes: Shapes) -> (Verdict, Alerts) {
        let needed = u64::from(self.params.warmup.max(1));
        if self.seen < needed {
            return (Verdict::WarmingUp { seen: self.seen, needed }, Alerts::default());
        }
        let (decision, alerts) = self.decide(value, seen, shapes);
        (Verdict::Judged(decision), alerts)
    }

    /// Learns from `value`, observed as `seen`; `novel` is the score when
    /// the four channels (not resonance) alerted.
    fn learn_observed(&mut self, value: f64, seen: &Observation, alerts: Alerts) {
        // One event, one alert: a wrong shape is usually the start of what
        // the four see next, so a shape alert starts their quiet period too
        // (they then need three times its score).
        note_alert(alerts.novel.or(alerts.shape), &mut self.since_alert, &mut self.alert_score);
        note_alert(alerts.shape, &mut self.since_shape_alert, &mut self.shape_alert_score);
        // Warm-up values, judged against a short history, would set a peak
        // that mutes the channel for thousands of points.
        let level = seen.z / self.params.threshold.get();
        if level.is_finite() && self.seen >= u64::from(self.params.warmup) {
            self.level_peak = (self.level_peak * PEAK_DECAY).max(level);
        }
        self.previous_z = seen.z;
        self.steps.learn(seen.step);
        self.previous = value;
        self.season.learn(value, seen.season);
        self.min = self.min.min(value);
        self.max = self.max.max(value);
        if self.seen == 0 {
            self.mean = value;
        } else {
            let alpha = self.params.alpha.max(1.0 / (self.seen as f64 + 1.0));
            let delta = value - self.mean;
            self.mean += alpha * delta;
            self.variance = (1.0 - alpha) * (self.variance + alpha * delta * delta);
        }
        self.seen += 1;
    }
}

impl OnlineDetector for Novelty {
    /// Leaves the resonance and shape channels out: they judge the
    /// sequence a point ends, which a point judged on its own (a predict
    /// against a fitted version) does not bring.
    fn judge(&self, value: f64) -> Verdict {
        self.judge_observed(value, &self.observe(value), Shapes::default()).0
    }

    fn learn(&mut self, value: f64) {
        self.update(value);
    }

    fn update(&mut self, value: f64) -> Verdict {
        let confidence = self.resonance_confidence(value);
        let shapes = Shapes {
            resonance: confidence / self.params.resonance,
            discord: self.shape_news(value).max(self.roughness_news(value)),
            regular: self.regular(),
            latest_shape: self.latest_shape() / self.params.discord.get(),
        };
        let seen = self.observe(value);
        let (verdict, alerts) = self.judge_observed(value, &seen, shapes);
        self.learn_observed(value, &seen, alerts);
        verdict
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detector::discord::{flat_with_bursts, heartbeats, uneven_bursts};
    use crate::detector::grade;
    use proptest::prelude::*;

    fn params(quiet: u32) -> NoveltyParams {
        NoveltyParams {
            threshold: Threshold::DEFAULT,
            tolerance: 0.05,
            alpha: 0.01,
            quiet,
            warmup: 20,
            change: Threshold::DEFAULT,
            seasonal: Threshold::DEFAULT,
            resonance: RESONANCE_OFF,
            probation: 750,
            discord: DISCORD_OFF,
            sensitivity: 0.5,
        }
    }

    /// A shape threshold the tests' series do not reach.
    const DISCORD_OFF: Threshold = Threshold::constant(1e6);

    /// A resonance threshold no confidence reaches (they are at most 1).
    const RESONANCE_OFF: f64 = 2.0;

    fn warmed(quiet: u32) -> Novelty {
        let mut detector = Novelty::new(params(quiet));
        for i in 0..200 {
            assert!(!detector.update(10.0 + f64::from(i % 5)).is_anomaly(), "normal noise at {i}");
        }
        detector
    }

    #[test]
    fn sensitivity_moves_the_bar_along_the_default_graded_score() {
        let warmed_at = |sensitivity: f64| {
            let mut detector = Novelty::new(NoveltyParams { sensitivity, ..params(100) });
            for i in 0..200 {
                detector.update(10.0 + f64::from(i % 5));
            }
            detector
        };
        let default = warmed_at(0.5);
        let scored = |detector: &Novelty, value: f64| match detector.judge(value) {
            Verdict::Judged(decision) => decision,
            Verdict::WarmingUp { .. } => panic!("warmed up"),
        };
        let value = (0..2000)
            .map(|i| 14.0 + f64::from(i) * 0.0005)
            .find(|v| (0.38..0.42).contains(&scored(&default, *v).anomaly_score))
            .expect("a value the default scores about 0.4");
        assert!(!scored(&default, value).anomaly);
        let eager = scored(&warmed_at(0.65), value);
        assert!(eager.anomaly && eager.anomaly_score >= 0.5, "0.4 is past 1 - 0.65: {eager:?}");
        assert!(!scored(&warmed_at(0.55), value).anomaly, "0.4 is short of 1 - 0.55");
        assert_eq!(scored(&warmed_at(0.65), value).score, scored(&default, value).score, "the raw score stays");
        for bad in [0.0, 1.0, -0.5, f64::NAN] {
            let params = NoveltyParams { sensitivity: bad, ..NoveltyParams::DEFAULT };
            assert!(params.check("novelty").is_err(), "{bad} refused");
        }
    }

    #[test]
    fn a_new_level_alerts_once_not_on_every_point() {
        let mut detector = warmed(100);
        assert!(detector.update(40.0).is_anomaly(), "the jump alerts");
        let later: Vec<bool> = (0..300).map(|i| detector.update(40.0 + f64::from(i % 5)).is_anomaly()).collect();
        assert_eq!(later.iter().filter(|a| **a).count(), 0, "the new level is one event: {later:?}");
    }

    #[test]
    fn during_the_quiet_period_only_a_much_stronger_score_alerts() {
        let mut detector = warmed(100);
        assert!(detector.update(20.0).is_anomaly());
        assert!(!detector.update(20.5).is_anomaly(), "a little farther, inside the quiet period");
        assert!(detector.update(200.0).is_anomaly(), "far stronger");
    }

    #[test]
    fn a_value_far_past_the_range_alerts_even_in_the_quiet_period() {
        let mut detector = warmed(1000);
        assert!(detector.update(20.0).is_anomaly(), "past the range [10, 14] by 30 tolerances");
        assert!(!detector.update(20.6).is_anomaly(), "past [10, 20] by about 1 tolerance: quiet");
        assert!(
            detector.update(26.0).is_anomaly(),
            "past it by about 11 tolerances, far less than 3 times the alert's score"
        );
    }

    #[test]
    fn early_in_a_stream_the_quiet_period_is_a_share_of_the_points_seen() {
        let alerts_again = |history: usize| {
            let mut detector = Novelty::new(params(1000));
            for i in 0..history {
                detector.update(10.0 + (i % 5) as f64);
            }
            assert!(detector.update(20.0).is_anomaly());
            for i in 0..10 {
                detector.update(10.0 + f64::from(i % 5));
            }
            detector.update(21.0).is_anomaly()
        };
        assert!(alerts_again(50), "after 61 points the quiet period is 6 points long");
        assert!(!alerts_again(2000), "after 2011 points it is 201 points long");
    }

    /// A detector whose range is [0, 100] and whose last 1,000 values are
    /// noise in [10, 14], with only its level channel able to alert.
    fn level_only() -> Novelty {
        let isolated =
            NoveltyParams { change: Threshold::constant(1000.0), seasonal: Threshold::constant(1000.0), ..params(10) };
        let mut detector = Novelty::new(isolated);
        detector.update(0.0);
        detector.update(100.0);
        calm(&mut detector, 1000);
        detector
    }

    /// `points` values of noise ending at the mean of the noise (12).
    fn calm(detector: &mut Novelty, points: u32) {
        for i in (0..points).rev() {
            assert!(!detector.update(10.0 + f64::from((i + 2) % 5)).is_anomaly(), "noise");
        }
    }

    /// Whether `value` alerts right after a value two standard deviations
    /// from the mean (which does not alert itself).
    fn after_a_lead(detector: &mut Novelty, value: f64) -> bool {
        let lead = detector.mean + 2.0 * detector.variance.sqrt();
        assert!(!detector.update(lead).is_anomaly(), "the lead");
        detector.update(value).is_anomaly()
    }

    #[test]
    fn a_lone_spike_inside_the_range_seen_does_not_alert_on_level() {
        let mut detector = level_only();
        assert!(!detector.update(40.0).is_anomaly(), "right after a calm value");
        let mut detector = level_only();
        assert!(after_a_lead(&mut detector, 40.0), "right after a value already 2 sigma out");
    }

    #[test]
    fn a_spike_lower_than_the_recent_peak_does_not_alert() {
        let mut detector = level_only();
        assert!(after_a_lead(&mut detector, 40.0));
        calm(&mut detector, 50);
        assert!(!after_a_lead(&mut detector, 30.0), "lower than the spike just seen");
        calm(&mut detector, 3000);
        assert!(after_a_lead(&mut detector, 30.0), "the same spike once the peak has decayed");
    }

    #[test]
    fn the_usual_daily_peak_is_expected_and_a_peak_out_of_time_is_not() {
        let day = |i: usize| if i % 48 == 10 { 50.0 } else { 10.0 + (i % 48) as f64 * 0.01 };
        let mut detector = Novelty::new(params(10));
        let alerts: Vec<usize> = (0..20 * 48).filter(|i| detector.update(day(*i)).is_anomaly()).collect();
        assert!(alerts.iter().all(|i| *i < 4 * 48), "no alert once the period is known: {alerts:?}");
        assert!(detector.update(50.0).is_anomaly(), "the peak at phase 0 instead of 10");
    }

    #[test]
    fn a_series_that_starts_moving_inside_its_range_alerts_once() {
        let mut detector = Novelty::new(params(100));
        let calm = (0..1000).map(|i| 50.0 + f64::from(i % 3));
        assert!(calm.map(|x| detector.update(x).is_anomaly()).all(|a| !a), "calm steps of 1");
        let jumpy: Vec<bool> =
            (0..200).map(|i| detector.update(if i % 2 == 0 { 49.0 } else { 53.0 }).is_anomaly()).collect();
        assert_eq!(jumpy.iter().filter(|a| **a).count(), 1, "steps of 4 inside the range seen: {jumpy:?}");
    }

    #[test]
    fn a_model_stored_before_the_change_channel_reads_back_with_it() {
        let mut detector = Novelty::new(NoveltyParams::DEFAULT);
        for i in 0..400 {
            detector.update(f64::from(i % 7) + if i == 300 { 20.0 } else { 0.0 });
        }
        assert!(detector.level_peak > 0.0 && detector.previous_z > 0.0, "learnt: {detector:?}");
        let mut stored = serde_json::to_value(&detector).expect("serialises");
        let fields = stored.as_object_mut().expect("an object");
        for new in [
            "change",
            "seasonal",
            "resonance",
            "probation",
            "previous",
            "steps",
            "season",
            "level_peak",
            "previous_z",
            "resonance_channel",
        ] {
            fields.remove(new).expect("written today");
        }
        let old: Novelty = serde_json::from_value(stored).expect("an older state reads back");
        assert_eq!(old.params, NoveltyParams::DEFAULT);
        assert!(old.previous.is_nan() && *old.steps == AnomalyLikelihood::default(), "the channels start afresh");
        assert_eq!(*old.season, Seasonal::default());
        assert_eq!((old.level_peak, old.previous_z), (0.0, 0.0), "no peak, no elevated predecessor");
        assert_eq!(*old.resonance_channel, Resonance::default(), "the resonance channel starts its probation afresh");
    }

    /// A wave of period 40 with small noise whose swing shrinks from 20 to
    /// 6 at point 1500 (after a probation of 400 points): smaller steps,
    /// inside the range seen, no period the seasonal channel knows.
    fn reshaped() -> Vec<f64> {
        (0..2400u32)
            .map(|i| {
                let swing = if i < 1500 { 20.0 } else { 6.0 };
                50.0 + swing * (f64::from(i) * std::f64::consts::TAU / 40.0).sin() + f64::from(i * 7 % 5) * 0.1
            })
            .collect()
    }

    fn with_resonance() -> NoveltyParams {
        NoveltyParams { resonance: NoveltyParams::DEFAULT.resonance, probation: 400, ..params(30) }
    }

    fn noise(points: usize) -> Vec<f64> {
        let mut next = crate::detector::lcg(11);
        (0..points).map(|_| (next() >> 40) as f64 / 1e4).collect()
    }

    #[test]
    fn the_shape_channel_runs_only_on_a_regular_series() {
        let probation = NoveltyParams { probation: 2000, ..NoveltyParams::DEFAULT };
        let run = |params: NoveltyParams, values: &[f64]| {
            let mut detector = Novelty::new(params);
            for v in values {
                detector.update(*v);
            }
            detector
        };
        let beats = run(probation, &heartbeats());
        assert!(beats.regular(), "a heartbeat repeats itself");
        assert_eq!(beats.shape.seen(), 6000, "judged throughout");
        let (full, half) = (beats.shape.length_in_points(), beats.shape.second_length_in_points());
        assert!(full.zip(half).is_some_and(|(f, h)| f.abs_diff(2 * h) <= 2), "half a period: {full:?} and {half:?}");
        let bursts = run(probation, &uneven_bursts());
        assert!(bursts.shape.regularity() < REGULAR, "no period: {}", bursts.shape.regularity());
        assert!(bursts.regular(), "a shape repeated at uneven intervals repeats itself");
        assert_eq!(bursts.shape.seen(), 6000, "judged throughout");
        let flat = run(probation, &flat_with_bursts());
        assert!(!flat.regular(), "flat stretches are alike, but not a repeated shape: {}", flat.shape.repetition());
        let noisy = run(probation, &noise(6000));
        assert!(!noisy.regular(), "noise does not");
        assert_eq!(noisy.shape.seen(), 2000, "learnt in the probation, then not computed");
        let off = run(NoveltyParams { discord: Threshold::constant(1000.0), ..probation }, &heartbeats());
        assert_eq!(*off.shape, Shape::default(), "off: nothing learnt, nothing kept");
    }

    #[test]
    fn on_a_regular_series_the_strangest_shape_scores_highest() {
        let mut detector = Novelty::new(NoveltyParams { probation: 2000, ..NoveltyParams::DEFAULT });
        let scores: Vec<(usize, f64, bool)> = heartbeats()
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let verdict = detector.update(*v);
                (i, verdict.anomaly_score(), verdict.is_anomaly())
            })
            .collect();
        let (at, top, flagged) =
            scores[2000..].iter().copied().fold((0, 0.0, false), |best, s| if s.1 > best.1 { s } else { best });
        assert!((5040..5300).contains(&at), "highest at {at} ({top})");
        assert!(flagged && top > grade::EDGE, "and flagged: {top}");
        let others: Vec<f64> =
            scores[2000..].iter().filter(|s| s.2 && !(5040..5300).contains(&s.0)).map(|s| s.1).collect();
        assert!(!others.is_empty(), "the other channels alert too (on the noise)");
        let edge = grade::EDGE..grade::anomaly_score(1.0 + SHAPE_RANKS_FLAGS, true);
        assert!(others.iter().all(|s| edge.contains(s)), "their alerts count as at the edge: {others:?}");
    }

    /// Beats of period 120 as in [`heartbeats`], 10,000 points, the beats
    /// starting at each `wrong` start with their peak at its phase
    /// instead of 20.
    fn beats_with_wrong(wrong: &[(u32, u32)]) -> Vec<f64> {
        (0..10_000u32)
            .map(|i| {
                let phase = i % 120;
                let peak_at = wrong.iter().find(|(start, _)| (*start..start + 120).contains(&i)).map_or(20, |w| w.1);
                let peak = if phase.abs_diff(peak_at) < 4 { 10.0 } else { 0.0 };
                peak + (f64::from(phase) / 120.0 * std::f64::consts::TAU).sin() + f64::from(i * 7 % 11) * 0.01
            })
            .collect()
    }

    /// Where `detector` raises a shape alert over `values`.
    fn shape_alerts(detector: &mut Novelty, values: &[f64]) -> Vec<usize> {
        let mut alerted = |value: &f64| detector.update(*value).is_anomaly() && detector.since_shape_alert == 0;
        values.iter().enumerate().filter(|(_, value)| alerted(value)).map(|(i, _)| i).collect()
    }

    #[test]
    fn a_shape_no_stranger_than_one_seen_lately_is_not_news() {
        // A wrong beat, a second 1,600 points later (past the quiet period
        // and the usual distances' memory, not past the peak's half-life),
        // and a third 2,600 points after that, when the peak has decayed.
        let values = beats_with_wrong(&[(4800, 70), (6400, 45), (9000, 100)]);
        let mut detector = Novelty::new(NoveltyParams { probation: 2000, quiet: 60, ..NoveltyParams::DEFAULT });
        let shape_alerts = shape_alerts(&mut detector, &values);
        let within = |range: std::ops::Range<usize>| shape_alerts.iter().filter(|at| range.contains(at)).count();
        assert!(within(4800..5060) >= 1, "the first wrong beat is news: {shape_alerts:?}");
        assert_eq!(within(6400..6660), 0, "one as strange soon after is not: {shape_alerts:?}");
        assert!(within(9000..9260) >= 1, "long after, it is again: {shape_alerts:?}");
        assert!(detector.shape_peak > 0.0, "the peak is kept: {}", detector.shape_peak);
    }

    #[test]
    fn noise_over_the_usual_shape_alerts_through_its_roughness() {
        // The usual beats, with noise added to a stretch of one beat: the
        // block means the shape channel compares average it away.
        let mut values = beats_with_wrong(&[]);
        let mut next = crate::detector::lcg(17);
        values[6000..6120].iter_mut().for_each(|v| *v += ((next() >> 40) as f64 / (1u64 << 24) as f64 - 0.5) * 1.2);
        let shape_alerts =
            shape_alerts(&mut Novelty::new(NoveltyParams { probation: 2000, ..NoveltyParams::DEFAULT }), &values);
        assert!(shape_alerts.iter().any(|at| (6000..6250).contains(at)), "the noisy beat: {shape_alerts:?}");
        assert!(shape_alerts.iter().all(|at| (6000..6250).contains(at)), "and nothing else: {shape_alerts:?}");
    }

    #[test]
    fn among_the_other_channels_flags_the_one_with_the_strangest_shape_ranks_first() {
        let detector = warmed(0);
        let value = 100.0;
        let seen = detector.observe(value);
        let decide = |shapes: Shapes| detector.decide(value, &seen, shapes).0;
        let on_regular = |latest_shape: f64| decide(Shapes { regular: true, latest_shape, ..Shapes::default() });
        let (usual, strange) = (on_regular(0.1), on_regular(0.8));
        assert!(usual.anomaly && strange.anomaly, "far past the range seen: flagged");
        assert!(grade::EDGE < usual.anomaly_score, "{usual:?}");
        assert!(usual.anomaly_score < strange.anomaly_score, "the stranger shape ranks higher: {usual:?} {strange:?}");
        assert_eq!(on_regular(1.0), on_regular(50.0), "the shape's share is bounded");
        let shape_alert = decide(Shapes { regular: true, latest_shape: 1.01, discord: 1.01, ..Shapes::default() });
        assert!(shape_alert.anomaly_score > on_regular(50.0).anomaly_score, "a shape alert outranks the others' flags");
        let not_regular = |latest_shape: f64| decide(Shapes { latest_shape, ..Shapes::default() });
        assert_eq!(not_regular(0.8), not_regular(0.0), "on a series that is not regular the shape does not rank");
        let calm = detector.observe(11.0);
        let unflagged =
            detector.decide(11.0, &calm, Shapes { regular: true, latest_shape: 0.8, ..Shapes::default() }).0;
        assert!(!unflagged.anomaly && unflagged.anomaly_score < grade::EDGE, "{unflagged:?}");
    }

    #[test]
    fn a_shape_alert_starts_the_quiet_period_of_the_other_channels() {
        let mut detector = Novelty::new(NoveltyParams { probation: 2000, ..NoveltyParams::DEFAULT });
        let mut before = detector.clone();
        let shape_only = heartbeats().into_iter().position(|value| {
            before = detector.clone();
            detector.update(value).is_anomaly()
                && detector.since_shape_alert == 0
                && detector.alert_score == detector.shape_alert_score
        });
        assert!(
            shape_only.is_some_and(|at| (5040..5300).contains(&at)),
            "the wrong beat alerts by shape: {shape_only:?}"
        );
        assert_eq!(detector.since_alert, 0, "the four's quiet period starts");
        // Past the range by 6 tolerances: a spatial score of 6, past the
        // bar of the four's own last alert, short of three times the shape
        // alert's score, and not far enough past to alert anyway.
        assert!(before.alert_score * STRONGER < 6.0 && detector.alert_score * STRONGER > 6.0 && FAR_PAST > 6.0);
        let past = detector.max + 6.0 * detector.params.tolerance * (detector.max - detector.min);
        let mut unaware = detector.clone();
        (unaware.since_alert, unaware.alert_score) = (before.since_alert.saturating_add(1), before.alert_score);
        assert!(unaware.update(past).is_anomaly(), "alone it alerts");
        assert!(!detector.update(past).is_anomaly(), "after the shape alert it is the same event");
    }

    /// Through the `Model` every caller uses (values beyond its learning
    /// limit are judged, not learnt).
    #[test]
    fn extreme_values_on_a_regular_series_neither_panic_nor_break_the_scores() {
        let mut values = heartbeats();
        for (at, extreme) in [(3000, f64::MAX), (3001, -f64::MAX), (4000, 1e308), (4500, 5e-324), (4600, 1e150)] {
            values[at] = extreme;
        }
        let mut model =
            crate::Model::Novelty(Novelty::new(NoveltyParams { probation: 2000, ..NoveltyParams::DEFAULT }));
        for (i, value) in values.iter().enumerate() {
            let verdict = model.update(*value);
            let score = verdict.anomaly_score();
            assert!((0.0..=1.0).contains(&score), "score {score} at {i}");
            if [3000, 3001, 4000].contains(&i) {
                assert!(verdict.is_anomaly(), "{value:e} at {i} is flagged");
            }
        }
        let crate::Model::Novelty(detector) = &model else { unreachable!("a novelty model") };
        assert!(detector.regular(), "still judged as regular");
        let text = serde_json::to_string(&model).expect("serialises");
        let restored: crate::Model = serde_json::from_str(&text).expect("reads back");
        assert_eq!(restored, model, "every number of the state is finite and reads back");
    }

    /// The flags of a novelty detector with `params` over `values`.
    fn flags(params: NoveltyParams, values: &[f64]) -> Vec<bool> {
        let mut detector = Novelty::new(params);
        values.iter().map(|v| detector.update(*v).is_anomaly()).collect()
    }

    #[test]
    fn on_a_series_that_is_not_regular_the_shape_channel_judges_only_its_roughness() {
        // Resonance off: it sees a stuck value in noise as a new shape too.
        let with = NoveltyParams { probation: 1000, resonance: RESONANCE_OFF, ..NoveltyParams::DEFAULT };
        let without = NoveltyParams { discord: Threshold::constant(1000.0), ..with };
        let values = noise(4000);
        assert_eq!(flags(with, &values), flags(without, &values), "steady noise: the same flags");
        let middle =
            (values.iter().copied().fold(f64::MIN, f64::max) + values.iter().copied().fold(f64::MAX, f64::min)) / 2.0;
        let mut stuck = values.clone();
        stuck[3000..3200].fill(middle);
        let mut quieter = values;
        quieter[3000..3200].iter_mut().for_each(|v| *v = middle + (*v - middle) * 0.02);
        for (what, values) in [("a stuck value", stuck), ("a stretch a fiftieth as rough", quieter)] {
            let (flagged, plain) = (flags(with, &values), flags(without, &values));
            assert_eq!(flagged[..3000], plain[..3000], "{what}: the same flags before it");
            assert!(flagged[3000..3250].contains(&true), "{what} alerts through the roughness");
            assert!(!plain[3000..3250].contains(&true), "{what}: no other channel sees it");
        }
    }

    #[test]
    fn the_roughness_of_an_irregular_series_is_kept_only_there() {
        let state = |values: &[f64]| {
            let mut detector = Novelty::new(NoveltyParams { probation: 2000, ..NoveltyParams::DEFAULT });
            values.iter().for_each(|v| {
                detector.update(*v);
            });
            serde_json::to_value(&detector).expect("state")
        };
        assert!(state(&noise(2500)).get("roughness").is_some(), "kept on noise");
        assert!(state(&heartbeats()[..1999]).get("roughness").is_some(), "measured through the probation");
        assert!(state(&heartbeats()[..2500]).get("roughness").is_none(), "dropped once the series is regular");
        // A state from before the roughness measures it from its next point.
        let mut old = state(&noise(2500));
        old.as_object_mut().expect("an object").remove("roughness");
        let mut old: Novelty = serde_json::from_value(old).expect("reads back");
        old.update(1.0);
        assert!(old.roughness.is_some());
    }

    #[test]
    fn restores_exactly_from_a_checkpoint() {
        let values: Vec<f64> = (0..500).map(|i| f64::from(i % 13) + if i % 97 == 0 { 50.0 } else { 0.0 }).collect();
        super::super::assert_restores_exactly(Novelty::new(params(30)), &values, 250);
        for cut in [200, 1000, 1600] {
            super::super::assert_restores_exactly(Novelty::new(with_resonance()), &reshaped(), cut);
        }
        let irregular = Novelty::new(NoveltyParams { probation: 1000, ..NoveltyParams::DEFAULT });
        for cut in [500, 1000, 2501] {
            super::super::assert_restores_exactly(irregular.clone(), &noise(4000), cut);
        }
        let regular = Novelty::new(NoveltyParams { probation: 2000, ..NoveltyParams::DEFAULT });
        for cut in [600, 1999, 2000, 4500, 5100] {
            super::super::assert_restores_exactly(regular.clone(), &heartbeats(), cut);
        }
    }

    #[test]
    fn judging_without_learning_is_an_update_without_resonance() {
        let mut with = Novelty::new(with_resonance());
        let mut without = Novelty::new(params(30));
        let mut resonant = 0;
        for value in reshaped() {
            let judged = with.judge(value);
            let four = without.update(value);
            assert_eq!(judged.is_anomaly(), four.is_anomaly(), "at {value}");
            resonant += usize::from(with.update(value).is_anomaly() && !four.is_anomaly());
        }
        assert!(resonant > 0, "the update's resonance alerts are the difference");
    }

    #[test]
    fn a_new_shape_inside_the_range_alerts_through_resonance_only() {
        let flags = |p: NoveltyParams| -> Vec<usize> {
            let mut detector = Novelty::new(p);
            reshaped().iter().enumerate().filter(|(_, v)| detector.update(**v).is_anomaly()).map(|(i, _)| i).collect()
        };
        let without = flags(params(30));
        let with = flags(with_resonance());
        assert!(without.iter().all(|i| *i < 400), "the other channels see nothing after their warm-up: {without:?}");
        assert!(with.iter().any(|i| (1500..1700).contains(i)), "resonance finds the new shape: {with:?}");
        let added: Vec<&usize> = with.iter().filter(|i| !without.contains(i)).collect();
        assert!(added.iter().all(|i| **i >= 1500), "resonance adds nothing before the change: {added:?}");
    }

    /// Novelty with `params` over `values`, its early network dropped
    /// after the first value unless `early`: the verdicts, and the first
    /// point after the channel's probation.
    fn with_early_network(params: NoveltyParams, values: &[f64], early: bool) -> (Vec<Verdict>, usize) {
        let mut detector = Novelty::new(params);
        let mut verdicts = Vec::new();
        let mut learnt = values.len();
        for (i, value) in values.iter().enumerate() {
            verdicts.push(detector.update(*value));
            if i == 0 && !early {
                detector.early_resonance = None;
            }
            let learning = detector.resonance_channel.learning();
            assert_eq!(detector.early_resonance.is_some(), early && learning, "kept while the channel learns, at {i}");
            if !learning {
                learnt = learnt.min(i + 1);
            }
        }
        (verdicts, learnt)
    }

    #[test]
    fn in_its_probation_resonance_judges_by_an_early_network() {
        // The new shape at 1500 falls in a probation of 2000 points; the
        // early network has learnt its first 500.
        let long = NoveltyParams { probation: 2000, ..with_resonance() };
        let flags = |params: NoveltyParams, early: bool| -> Vec<usize> {
            let (verdicts, _) = with_early_network(params, &reshaped(), early);
            verdicts.iter().enumerate().filter(|(_, v)| v.is_anomaly()).map(|(i, _)| i).collect()
        };
        let early = flags(long, true);
        assert!(early.iter().any(|i| (1500..1700).contains(i)), "the early network finds it: {early:?}");
        let others = flags(params(30), true);
        let added: Vec<&usize> = early.iter().filter(|i| !others.contains(i)).collect();
        assert!(added.iter().all(|i| **i >= 1500), "and adds nothing before it: {added:?}");
        let without = flags(long, false);
        assert_eq!(without, others, "without it, resonance judges nothing in its probation");
    }

    #[test]
    fn with_the_early_network_the_state_stays_within_its_bound() {
        let mut next = crate::detector::lcg(5);
        let mut walk = 0.0;
        let mut largest = (0, 0);
        for probation in [750, 5000] {
            let mut detector = Novelty::new(NoveltyParams { probation, ..NoveltyParams::DEFAULT });
            for i in 0..2 * probation {
                walk += (next() >> 40) as f64 / 1e6 - 8.4;
                detector.update(walk);
                if i % 25 == 0 {
                    let bytes = serde_json::to_string(&detector).expect("serialises").len();
                    largest = largest.max((bytes, i));
                }
            }
        }
        println!("largest state {largest:?}");
        assert!(largest.0 <= 48 * 1024, "{largest:?}");
    }

    #[test]
    fn extreme_values_while_the_early_network_judges_neither_panic_nor_break_the_state() {
        let extremes = [(300, f64::MAX), (301, -f64::MAX), (400, 1e308), (450, 5e-324), (600, -1.79e308)];
        let mut model = crate::Model::Novelty(Novelty::new(NoveltyParams::DEFAULT));
        for i in 0..1500 {
            let value = extremes.iter().find(|(at, _)| *at == i).map_or((i as f64 * 0.3).sin(), |(_, v)| *v);
            let score = model.update(value).anomaly_score();
            assert!((0.0..=1.0).contains(&score), "score {score} at {i}");
            if i % 97 == 0 {
                let text = serde_json::to_string(&model).expect("serialises");
                let restored: crate::Model = serde_json::from_str(&text).expect("reads back");
                assert_eq!(restored, model, "every number of the state reads back, at {i}");
            }
        }
    }

    #[test]
    fn after_the_probation_the_verdicts_are_the_channels_own() {
        let (with, learnt) = with_early_network(with_resonance(), &reshaped(), true);
        let (without, _) = with_early_network(with_resonance(), &reshaped(), false);
        assert!((390..=400).contains(&learnt), "a probation of 400 points: {learnt}");
        assert_eq!(with[learnt..], without[learnt..]);
    }

    /// The same rules written plainly, over the whole history each time.
    fn naive(values: &[f64], p: NoveltyParams) -> Vec<bool> {
        use super::likelihood::{LONG_ALPHA, SHORT, WARMUP};
        let mut flags = Vec::new();
        let (mut mean, mut variance) = (0.0, 0.0);
        let (mut step_mean, mut step_variance) = (0.0, 0.0);
        let steps: Vec<f64> = values.windows(2).map(|w| (w[1] - w[0]).abs()).collect();
        let seasonal = super::seasonal::plain_scores(values);
        let mut last_alert: Option<(usize, f64)> = None;
        let (mut peak, mut previous_z): (f64, f64) = (0.0, 0.0);
        let z_of = |x: f64, mean: f64, variance: f64| {
            let distance: f64 = (x - mean).abs();
            if distance == 0.0 { 0.0 } else { distance / f64::sqrt(variance) }
        };
        for (i, &x) in values.iter().enumerate() {
            let mut flag = false;
            if i >= p.warmup as usize {
                let seen = &values[..i];
                let min = seen.iter().copied().fold(f64::INFINITY, f64::min);
                let max = seen.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let outside = (x - max).max(min - x);
                let spatial = if outside <= 0.0 {
                    0.0
                } else if max > min {
                    outside / ((max - min) * p.tolerance)
                } else {
                    f64::INFINITY
                };
                let level = if seasonal[i].expected || previous_z <= PRECEDED {
                    0.0
                } else {
                    z_of(x, mean, variance) / p.threshold.get() / (PEAK_SHARE * peak).max(1.0)
                };
                let change = match i.checked_sub(1) {
                    _ if seasonal[i].expected => 0.0,
                    Some(j) if j as u64 >= WARMUP => {
                        let recent = &steps[(j + 1).saturating_sub(SHORT)..=j];
                        let above = recent.iter().sum::<f64>() / recent.len() as f64 - step_mean;
                        let z = if above <= 0.0 {
                            0.0
                        } else if step_variance > 0.0 {
                            above / f64::sqrt(step_variance)
                        } else {
                            f64::INFINITY
                        };
                        z / p.change.get()
                    }
                    _ => 0.0,
                };
                let score = spatial.max(level).max(change).max(seasonal[i].z / p.seasonal.get());
                let quiet_period = f64::from(p.quiet).min(i as f64 * QUIET_SHARE);
                let quiet = last_alert.is_some_and(|(at, s)| {
                    ((i - at - 1) as f64) < quiet_period && score <= s * STRONGER && spatial <= FAR_PAST
                });
                flag = score > 1.0 && !quiet;
                if flag {
                    last_alert = Some((i, score));
                }
            }
            if let Some(j) = i.checked_sub(1) {
                let recent = &steps[(j + 1).saturating_sub(SHORT)..=j];
                let short = recent.iter().sum::<f64>() / recent.len() as f64;
                let alpha = LONG_ALPHA.max(1.0 / (j as f64 + 1.0));
                let delta = short - step_mean;
                step_mean += alpha * delta;
                step_variance = (1.0 - alpha) * (step_variance + alpha * delta * delta);
            }
            previous_z = z_of(x, mean, variance);
            let level = previous_z / p.threshold.get();
            if level.is_finite() && i >= p.warmup as usize {
                peak = (peak * PEAK_DECAY).max(level);
            }
            if i == 0 {
                mean = x;
            } else {
                let alpha = p.alpha.max(1.0 / (i as f64 + 1.0));
                let delta = x - mean;
                mean += alpha * delta;
                variance = (1.0 - alpha) * (variance + alpha * delta * delta);
            }
            flags.push(flag);
        }
        flags
    }

    proptest! {
        #[test]
        fn matches_the_plain_rules(values in prop::collection::vec(-1e3f64..1e3, 1..800), quiet in 0u32..50) {
            let p = params(quiet);
            let mut detector = Novelty::new(p);
            let online: Vec<bool> = values.iter().map(|v| detector.update(*v).is_anomaly()).collect();
            prop_assert_eq!(online, naive(&values, p));
        }

        #[test]
        fn matches_the_plain_rules_on_spiky_series(
            values in prop::collection::vec(prop_oneof![20 => -10.0f64..10.0, 2 => -100.0f64..100.0, 1 => -1e4f64..1e4], 1..1500),
            quiet in 0u32..300,
        ) {
            let p = params(quiet);
            let mut detector = Novelty::new(p);
            let online: Vec<bool> = values.iter().map(|v| detector.update(*v).is_anomaly()).collect();
            prop_assert_eq!(online, naive(&values, p));
        }

        #[test]
        fn matches_the_plain_rules_on_periodic_series(
            pattern in prop::collection::vec(0.0f64..100.0, 24..50),
            noise in prop::collection::vec(-1.0f64..1.0, 600..1500),
            quiet in 0u32..50,
        ) {
            let values: Vec<f64> = noise.iter().enumerate().map(|(i, n)| pattern[i % pattern.len()] + n).collect();
            let p = params(quiet);
            let mut detector = Novelty::new(p);
            let online: Vec<bool> = values.iter().map(|v| detector.update(*v).is_anomaly()).collect();
            prop_assert_eq!(online, naive(&values, p));
        }

        #[test]
        fn never_panics_on_finite_input(values in prop::collection::vec(prop::num::f64::NORMAL | prop::num::f64::ZERO, 1..300)) {
            let mut detector = Novelty::new(NoveltyParams { warmup: 1, probation: 32, ..NoveltyParams::DEFAULT });
            for x in values {
                let _ = detector.judge(x);
                let _ = detector.update(x);
            }
        }
    }

    proptest! {
        // Each case replays up to 2,500 points through the plain rules twice.
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// The fusion written plainly: the four channels' alerts, or a
        /// resonance confidence (its early network's in its probation) of at
        /// least the threshold at least [`RESONANCE_AFTER`] points after the
        /// four channels' last alert.
        #[test]
        fn resonance_adds_its_alerts_outside_the_others_wake(
            pattern in prop::collection::vec(0.0f64..100.0, 5..60),
            noise in prop::collection::vec(prop_oneof![30 => -1.0f64..1.0, 1 => -300.0f64..300.0], 600..2500),
            resonance in 0.2f64..0.8,
        ) {
            let values: Vec<f64> = noise.iter().enumerate().map(|(i, n)| pattern[i % pattern.len()] + n).collect();
            let four = naive(&values, params(30));
            // Over its probation of 100 rows the channel learns; the early
            // network (probation 32, the least) judges them, but the 100th,
            // on which the channel's range is set.
            let (mut channel, mut early) = (Resonance::default(), Resonance::default());
            let mut last_four: Option<usize> = None;
            let mut expected = Vec::new();
            for (i, value) in values.iter().enumerate() {
                let (own, early) = (channel.update(*value, 100), early.update(*value, 32));
                let confidence = if i + 1 < 100 { early } else { own };
                let awake = last_four.is_none_or(|last| i - last >= RESONANCE_AFTER as usize);
                expected.push(four[i] || (i >= 20 && confidence >= resonance && awake));
                if four[i] {
                    last_four = Some(i);
                }
            }
            let mut detector = Novelty::new(NoveltyParams { resonance, probation: 100, ..params(30) });
            let online: Vec<bool> = values.iter().map(|v| detector.update(*v).is_anomaly()).collect();
            prop_assert_eq!(online, expected);
        }
    }
}
