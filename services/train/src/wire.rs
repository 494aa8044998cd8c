//! The JSON shapes of `POST /fit`, as the public contract names them.

use anomaly_core::DetectorConfig;
use serde::{Deserialize, Deserializer, de};
use serde_json::{Map, Value};
use utoipa::ToSchema;

/// A point's time: whole Unix seconds from 0 to 2^63-1.
// A documentation type only: the body keeps plain `i64`s.
#[derive(ToSchema)]
#[schema(value_type = i64, minimum = 0, maximum = 9_223_372_036_854_775_807_i64)]
pub struct UnixSeconds(#[allow(dead_code)] i64);

/// A training series and optional model settings.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"timestamps": [1609459200, 1609459260, 1609459320, 1609459380], "values": [20.1, 21.4, 19.8, 20.6]}))]
pub struct FitRequest {
    /// Unix seconds, >= 0, strictly ascending, as many as `values` (else
    /// 422 `length_mismatch`).
    #[schema(min_items = 1, value_type = Vec<UnixSeconds>)]
    pub timestamps: Vec<i64>,
    /// The observed values, finite numbers, not all equal; at least
    /// MIN_TRAINING_POINTS (default 3).
    #[schema(min_items = 1)]
    pub values: Vec<f64>,
    /// The multiplier k of the band `mean ± k·std`: > 0 and at most 1e6. Default 3.
    #[serde(default)]
    #[schema(exclusive_minimum = 0.0, maximum = 1e6)]
    pub threshold: Option<f64>,
    /// `two_sided` (default: spikes and drops), `upper` (the original
    /// reference model `x > mean + k·std`) or `lower`.
    #[serde(default)]
    pub direction: Option<String>,
    /// The detector; omitted means 3-sigma with the `threshold` and
    /// `direction` above. Its own `threshold` wins over the one above.
    #[serde(default)]
    #[schema(value_type = Option<DetectorRequest>)]
    pub detector: Option<DetectorChoice>,
}

/// The `detector` object as given: a `kind` and names that are parameters
/// of some kind (else 422 `missing_field` or `invalid_field`, as the body's
/// other fields). Whether they fit the kind is the registry's to check.
#[derive(Debug)]
pub struct DetectorChoice(Map<String, Value>);

impl<'de> Deserialize<'de> for DetectorChoice {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let given = Map::deserialize(deserializer)?;
        if !given.contains_key("kind") {
            return Err(de::Error::missing_field("kind"));
        }
        let names = DetectorConfig::parameter_names();
        if let Some(unknown) = given.keys().find(|name| *name != "kind" && !names.contains(name)) {
            let unknown: String = unknown.chars().take(40).collect();
            return Err(de::Error::custom(format!(
                "unknown field `{unknown}` in detector; the parameters are {}",
                names.join(", ")
            )));
        }
        Ok(Self(given))
    }
}

/// A detector choice: `kind` plus the parameters of that kind. Parameters
/// that do not belong to the kind are refused (422 `invalid_detector`).
// A documentation type only: the body is read by the detector registry
// (`DetectorConfig::from_json`), which checks the kind's own parameters.
#[allow(dead_code)]
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"kind": "rolling_zscore", "window": 50, "threshold": 3.0}))]
pub struct DetectorRequest {
    /// `three_sigma` (fitted mean and std, frozen), `rolling_zscore` (z
    /// against the last `window` points), `rolling_mad` (robust z: median
    /// and MAD of the last `window` points), `ewma_zscore` (exponentially
    /// weighted mean and variance), `novelty` (fires once when the series
    /// leaves the range it has seen or its level; the stream's default),
    /// `discord` (a stretch of a periodic series unlike every earlier one)
    /// or `rule` (fixed bounds and a rate, as written by hand: at least one
    /// of `above`, `below` and `rate`).
    pub kind: String,
    /// Rolling kinds: points in the window, 2 to 10,000 (default 50). A fit
    /// needs at least this many points; they warm the window up.
    #[schema(minimum = 2, maximum = 10000)]
    pub window: Option<u32>,
    /// The largest normal |z|: > 0 and at most 1e6 (default 3; 6 for `novelty`).
    #[schema(exclusive_minimum = 0.0, maximum = 1e6)]
    pub threshold: Option<f64>,
    /// `ewma_zscore` and `novelty`: weight of the newest point, between 0
    /// and 1 (default 2/51; 0.002 for `novelty`).
    #[schema(exclusive_minimum = 0.0, exclusive_maximum = 1.0)]
    pub alpha: Option<f64>,
    /// `ewma_zscore` and `novelty`: points seen before the first verdict,
    /// 1 to 10,000 (default 50; 150 for `novelty`); a fit needs at least this many.
    #[schema(minimum = 1, maximum = 10000)]
    pub warmup: Option<u32>,
    /// `three_sigma`: `two_sided` (default), `upper` or `lower`.
    pub direction: Option<String>,
    /// `novelty`: how far past the range seen so far a value must go to
    /// alert, as a share of that range; > 0 and at most 1e6 (default 0.007).
    #[schema(exclusive_minimum = 0.0, maximum = 1e6)]
    pub tolerance: Option<f64>,
    /// `novelty`: points after an alert during which only a score three
    /// times as strong (or a value far past the range seen) alerts again,
    /// shortened to a tenth of the points seen early in a stream; at most
    /// 1,000,000 (default 1200).
    #[schema(maximum = 1000000)]
    pub quiet: Option<u32>,
    /// `novelty`: the largest normal z of the recent step sizes (the mean
    /// of the last 8) against their past; > 0 and at most 1e6 (default 4.5).
    #[schema(exclusive_minimum = 0.0, maximum = 1e6)]
    pub change: Option<f64>,
    /// `novelty`: when the series has a period (found among 24 to 336
    /// points), the largest normal z of the recent distances to the value
    /// one period earlier against their past; > 0 and at most 1e6 (default 6).
    #[schema(exclusive_minimum = 0.0, maximum = 1e6)]
    pub seasonal: Option<f64>,
    /// `novelty`: the resonance channel (ARTime's adaptive resonance
    /// categories over 8-point shapes) alerts on a shape unlike any learnt
    /// whose confidence reaches this; confidence is at most 1, so above 1
    /// the channel never alerts; > 0 and at most 1e6 (default 0.48).
    #[schema(exclusive_minimum = 0.0, maximum = 1e6)]
    pub resonance: Option<f64>,
    /// `novelty`: points the resonance channel learns from before it
    /// judges; its value range is theirs, and it reads one value per
    /// probation/104 points (meanwhile an early network, learnt over the
    /// first quarter of them, judges the rest); 32 to 5000 (default 750).
    #[schema(minimum = 32, maximum = 5000)]
    pub probation: Option<u32>,
    /// `novelty`: its shape channel (the `discord` detector inside it)
    /// judges regular series (autocorrelation at the period found in the
    /// probation at least 0.6, or a probation that repeats its own shapes)
    /// and alerts when the z of the newest
    /// period's distance to its nearest earlier one exceeds this (or the
    /// newest half period's, 0.6 times its z) and the highest it reached
    /// lately, or when the mean step size over a period leaves its range
    /// so far; > 0 and at most 1e6; above 100 (the highest z it gives) the
    /// channel is off and not computed (default 6).
    #[schema(exclusive_minimum = 0.0, maximum = 1e6)]
    pub discord: Option<f64>,
    /// `novelty`: how readily it alerts, between 0 and 1 (both excluded;
    /// default 0.5). Every channel's evidence is scaled by
    /// sensitivity / (1 - sensitivity): at 0.75 a point alerts where the
    /// default's `anomaly_score` is 0.25 or more, at 0.25 where it is 0.75
    /// or more. Flagged points still score 0.5 or more.
    #[schema(exclusive_minimum = 0.0, exclusive_maximum = 1.0)]
    pub sensitivity: Option<f64>,
    /// `discord`: subsequence length in points; 0 (default) for the period
    /// found while learning (100 points when there is none), else 2 to 10,000.
    #[schema(maximum = 10000)]
    pub length: Option<u32>,
    /// `discord`: points seen before the first verdict, in which the period
    /// and the value scale are found; 64 to 1,000,000 (default 2000). A fit
    /// needs at least this many.
    #[schema(minimum = 64, maximum = 1000000)]
    pub learn: Option<u32>,
    /// `rule`: values above this breach (finite).
    pub above: Option<f64>,
    /// `rule`: values below this breach (finite, less than `above`).
    pub below: Option<f64>,
    /// `rule`: consecutive breaching points that make an anomaly, 1 to
    /// 10,000 (default 1: every breach).
    #[serde(rename = "for")]
    #[schema(minimum = 1, maximum = 10000)]
    pub run: Option<u32>,
    /// `rule`: a change faster than this many units per second since the
    /// previous point (up or down) breaches; > 0.
    #[schema(exclusive_minimum = 0.0)]
    pub rate: Option<f64>,
}

impl FitRequest {
    /// The detector this request names (`{"kind": ..., params...}`), the
    /// top-level `threshold` and `direction` filling in what the `detector`
    /// object leaves out; without a `detector`, 3-sigma.
    pub fn detector_choice(&mut self) -> Map<String, Value> {
        let mut choice = self.detector.take().map(|DetectorChoice(given)| given).unwrap_or_default();
        if let Some(threshold) = self.threshold {
            choice.entry("threshold").or_insert(threshold.into());
        }
        if let Some(direction) = &self.direction {
            choice.entry("direction").or_insert_with(|| direction.clone().into());
        }
        choice
    }
}

/// The stored model version (shared with monitor's `/models`).
pub type FitResponse = anomaly_http::ModelDescription;
