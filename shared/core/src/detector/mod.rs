//! Detectors: one file per kind, each with a batch side (fit on a training
//! series) and an online side (judge one point, then learn from it), its
//! state a plain value that serialises for checkpoints, and its
//! [`DetectorParams`]. The [registry](registry) lists the kinds and makes
//! [`Model`] (any fitted detector) and [`DetectorConfig`] (the parameters a
//! user chooses) from them.

mod config;
mod discord;
mod ewma_zscore;
mod grade;
mod model;
mod novelty;
mod params;
mod registry;
mod rolling_mad;
mod rolling_zscore;
mod rule;
mod state_float;
mod three_sigma;
mod window;

pub use discord::{Discord, DiscordParams, LEARN_RANGE};
pub use ewma_zscore::{EwmaZScore, EwmaZScoreParams};
pub use grade::{EDGE, anomaly_score};
pub use novelty::{MAX_QUIET, Novelty, NoveltyParams};
pub use params::{DEFAULT_THRESHOLD, DEFAULT_WINDOW, DetectorParams, MAX_WINDOW};
pub use registry::{DetectorConfig, Model};
pub use rolling_mad::{RollingMad, RollingMadParams};
pub use rolling_zscore::{RollingZScore, RollingZScoreParams};
pub use rule::{Rule, RuleParams};
pub use three_sigma::{ThreeSigma, ThreeSigmaParams};

use crate::ValidationError;

/// What a detector says about one value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decision {
    /// True when the value is anomalous.
    pub anomaly: bool,
    /// The signed distance from normal in the detector's unit (a z value);
    /// not finite when the value is so far out that it overflows, or when
    /// normal has no spread at all and the value differs from it.
    pub score: f64,
    /// The graded score in [0, 1], the same scale for every detector (see
    /// [`anomaly_score`]): at least [`EDGE`] (0.5) exactly when `anomaly`.
    pub anomaly_score: f64,
}

impl Decision {
    /// The decision `anomaly` with the detector's `score` and its
    /// `evidence`: how far the value is from normal as a multiple of what
    /// the detector needs to flag it (1 at the edge).
    pub(crate) fn graded(anomaly: bool, score: f64, evidence: f64) -> Self {
        Self { anomaly, score, anomaly_score: anomaly_score(evidence, anomaly) }
    }

    /// The decision for a value `distance` away from the centre, with
    /// `spread` the unit of the score and `threshold` the largest normal
    /// |score|. A spread of 0 makes every distance but 0 anomalous.
    pub(crate) fn from_distance(distance: f64, spread: f64, threshold: f64) -> Self {
        let score = if distance == 0.0 { 0.0 } else { distance / spread };
        Self::graded(score.abs() > threshold, score, score.abs() / threshold)
    }

    /// The decision on a point judged while warming up: not anomalous, no
    /// score, no evidence.
    pub(crate) const WARMING_UP: Self = Self { anomaly: false, score: f64::NAN, anomaly_score: 0.0 };
}

/// The verdict on one point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Verdict {
    /// The detector has not seen enough points to judge: never an anomaly.
    WarmingUp {
        /// Points seen so far.
        seen: u64,
        /// Points needed before the first verdict.
        needed: u64,
    },
    /// Judged.
    Judged(Decision),
}

impl Verdict {
    /// True for an anomalous judged point.
    pub fn is_anomaly(&self) -> bool {
        matches!(self, Self::Judged(Decision { anomaly: true, .. }))
    }

    /// The graded score in [0, 1]; 0 while warming up.
    pub fn anomaly_score(&self) -> f64 {
        match self {
            Self::Judged(decision) => decision.anomaly_score,
            Self::WarmingUp { .. } => 0.0,
        }
    }
}

/// The online side every detector has.
pub trait OnlineDetector {
    /// Judges `value` against what has been learnt, learning nothing.
    fn judge(&self, value: f64) -> Verdict;

    /// Learns from `value` (after it was judged).
    fn learn(&mut self, value: f64);

    /// Judges `value`, then learns from it.
    fn update(&mut self, value: f64) -> Verdict {
        let verdict = self.judge(value);
        self.learn(value);
        verdict
    }

    /// Judges `value` seen at `timestamp` (Unix seconds). Only kinds that
    /// use time (a rule's rate) read it; the others judge the value alone.
    fn judge_at(&self, timestamp: i64, value: f64) -> Verdict {
        let _ = timestamp;
        self.judge(value)
    }

    /// Learns from `value` seen at `timestamp`.
    fn learn_at(&mut self, timestamp: i64, value: f64) {
        let _ = timestamp;
        self.learn(value);
    }

    /// Judges `value` seen at `timestamp`, then learns from it. A kind
    /// that reads time replaces this; the others update on the value (their
    /// own `update`, which may learn from its verdict).
    fn update_at(&mut self, timestamp: i64, value: f64) -> Verdict {
        let _ = timestamp;
        self.update(value)
    }
}

/// Checks for the detectors' tests: a state serialised at any point and
/// read back judges the rest exactly as the uninterrupted detector does.
#[cfg(test)]
pub(crate) fn assert_restores_exactly<D>(fresh: D, values: &[f64], cut: usize)
where
    D: OnlineDetector + Clone + serde::Serialize + serde::de::DeserializeOwned,
{
    let mut uninterrupted = fresh.clone();
    let mut first = fresh;
    for &x in &values[..cut] {
        uninterrupted.update(x);
        first.update(x);
    }
    let checkpoint = serde_json::to_string(&first).expect("serialises");
    let mut restored: D = serde_json::from_str(&checkpoint).expect("restores");
    for &x in &values[cut..] {
        assert_eq!(uninterrupted.update(x), restored.update(x), "after a restore at {cut}");
    }
}

/// The detectors' tests' random numbers: a PCG-style linear congruential
/// generator from `seed`, each call the next state (callers shift it).
#[cfg(test)]
pub(crate) fn lcg(seed: u64) -> impl FnMut() -> u64 {
    let mut state = seed;
    move || {
        state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        state
    }
}

/// Which side of the band counts as anomalous.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Both spikes and drops: `|x - mean| > k·std`.
    #[default]
    TwoSided,
    /// Spikes only: `x > mean + k·std` (the original reference model).
    Upper,
    /// Drops only: `x < mean - k·std`.
    Lower,
}

impl Direction {
    /// The wire and storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TwoSided => "two_sided",
            Self::Upper => "upper",
            Self::Lower => "lower",
        }
    }

    /// Parses the wire and storage name.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        [Self::TwoSided, Self::Upper, Self::Lower]
            .into_iter()
            .find(|d| d.as_str() == raw)
            .ok_or_else(|| ValidationError::InvalidDirection(raw.chars().take(40).collect()))
    }
}
