//! [`DetectorConfig`] read from what a user gives: a JSON object with a
//! `kind` and that kind's parameters (a fit's `detector`, the CLI's
//! `key=value` pairs, the stream's default), checked in one place; and the
//! way from a config to a fitted [`Model`].

use super::params::{DetectorParams, invalid};
use super::{DetectorConfig, Direction, Model};
use crate::{Threshold, TrainingSeries, ValidationError};
use serde_json::{Map, Value};

impl DetectorConfig {
    /// Reads a detector choice: `{"kind": ..., params...}`. An omitted
    /// kind is `three_sigma`; a parameter the kind does not take is refused.
    pub fn from_json(mut given: Map<String, Value>) -> Result<Self, ValidationError> {
        let kind = match given.remove("kind") {
            None => "three_sigma".to_owned(),
            Some(Value::String(kind)) => kind,
            Some(other) => return Err(invalid(format!("detector kind must be a string; got {other}"))),
        };
        Self::parse(&kind, given).unwrap_or_else(|| {
            Err(invalid(format!(
                "detector kind must be one of {}; got {:?}",
                Self::KINDS.join(", "),
                kind.chars().take(40).collect::<String>()
            )))
        })
    }

    /// The kind `kind` with its defaults.
    pub fn of_kind(kind: &str) -> Result<Self, ValidationError> {
        Self::from_json(Map::from_iter([("kind".to_owned(), Value::String(kind.to_owned()))]))
    }

    /// The kinds whose every parameter has a default: all but `rule`, which
    /// needs its bounds.
    pub fn kinds_with_defaults() -> impl Iterator<Item = &'static str> {
        Self::KINDS.iter().copied().filter(|kind| Self::of_kind(kind).is_ok())
    }

    /// Every parameter name some kind takes, sorted.
    pub fn parameter_names() -> Vec<String> {
        let mut names: Vec<String> = Self::KINDS
            .iter()
            .filter_map(|kind| Self::parameters_of(kind))
            .filter_map(|described| described.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>()))
            .flatten()
            .filter(|name| name != "kind")
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// The batch side: fits 3-sigma on the series, or warms an online
    /// detector up on it (the last `window` points for the rolling kinds,
    /// every point for EWMA and novelty).
    pub fn fit(&self, series: &TrainingSeries) -> Result<Model, ValidationError> {
        let needed = self.points_needed();
        if series.len() < needed {
            return Err(ValidationError::TooFewPoints { min: needed, got: series.len() });
        }
        self.fit_checked(series)
    }
}

/// Reads the parameters of `kind` from `given` (without `kind`): refuses a
/// name the kind does not take, checks `threshold` and `direction` with
/// their own error codes, fills in defaults, then checks the ranges.
pub(super) fn parse_params<P: DetectorParams>(kind: &str, given: Map<String, Value>) -> Result<P, ValidationError> {
    let accepted = serde_json::to_value(P::default()).unwrap_or_default();
    if let Some(name) = given.keys().find(|name| accepted.get(name.as_str()).is_none()) {
        let name: String = name.chars().take(40).collect();
        return Err(invalid(format!("{name} does not apply to the {kind} detector; leave it out")));
    }
    match given.get("threshold") {
        Some(Value::Number(k)) => {
            Threshold::new(k.as_f64().unwrap_or(f64::NAN))?;
        }
        Some(other) => return Err(invalid(format!("threshold of {kind} must be a number; got {other}"))),
        None => {}
    }
    match given.get("direction") {
        Some(Value::String(direction)) => {
            Direction::parse(direction)?;
        }
        Some(other) => return Err(invalid(format!("direction of {kind} must be a string; got {other}"))),
        None => {}
    }
    let params: P = serde_json::from_value(Value::Object(given)).map_err(|e| invalid(format!("{kind}: {e}")))?;
    params.check(kind)?;
    Ok(params)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detector::{OnlineDetector, RollingZScoreParams, ThreeSigmaParams, Verdict};
    use serde_json::json;

    fn config(given: Value) -> Result<DetectorConfig, ValidationError> {
        let Value::Object(given) = given else { panic!("an object") };
        DetectorConfig::from_json(given)
    }

    #[test]
    fn defaults_are_the_seed_values() {
        assert_eq!(
            config(json!({})),
            Ok(DetectorConfig::ThreeSigma(ThreeSigmaParams {
                threshold: Threshold::DEFAULT,
                direction: Direction::TwoSided
            }))
        );
        assert_eq!(
            DetectorConfig::of_kind("rolling_zscore"),
            Ok(DetectorConfig::RollingZscore(RollingZScoreParams { window: 50, threshold: Threshold::DEFAULT }))
        );
    }

    #[test]
    fn every_kind_takes_exactly_its_parameters() {
        for kind in DetectorConfig::KINDS {
            let mut described = DetectorConfig::parameters_of(kind).expect("a kind");
            described["kind"] = json!(kind);
            if *kind == "rule" {
                assert!(config(described.clone()).is_err(), "a rule has no default bound");
                described["above"] = json!(1.0);
            } else {
                assert!(described.get("threshold").is_some(), "{kind}: every kind but the rule has a threshold");
                assert_eq!(
                    serde_json::to_value(DetectorConfig::of_kind(kind).expect("defaults")).ok(),
                    Some(described.clone())
                );
            }
            assert_eq!(config(described.clone()).map(|c| c.kind()), Ok(*kind), "{described}");
        }
    }

    #[test]
    fn names_every_parameter_once() {
        let names = DetectorConfig::parameter_names();
        for name in ["threshold", "direction", "window", "alpha", "warmup", "probation"] {
            assert_eq!(names.iter().filter(|n| *n == name).count(), 1, "{name} in {names:?}");
        }
        assert!(!names.contains(&"kind".to_owned()));
    }

    #[test]
    fn refuses_what_does_not_fit_the_kind() {
        let code = |given: Value| config(given).expect_err("refused").code();
        assert_eq!(code(json!({"kind": "isolation_forest"})), "invalid_detector");
        assert_eq!(code(json!({"kind": 3})), "invalid_detector");
        assert_eq!(code(json!({"kind": "rolling_mad", "window": 1})), "invalid_detector");
        assert_eq!(code(json!({"kind": "rolling_mad", "window": "wide"})), "invalid_detector");
        assert_eq!(code(json!({"kind": "ewma_zscore", "alpha": 1.0})), "invalid_detector");
        assert_eq!(code(json!({"kind": "rolling_zscore", "alpha": 0.5})), "invalid_detector");
        assert_eq!(code(json!({"kind": "ewma_zscore", "direction": "upper"})), "invalid_detector");
        assert_eq!(code(json!({"kind": "novelty", "probation": 5})), "invalid_detector");
        assert_eq!(code(json!({"kind": "novelty", "change": 0.0})), "invalid_detector");
        assert_eq!(code(json!({"kind": "rolling_zscore", "threshold": 0.0})), "invalid_threshold");
        assert_eq!(code(json!({"kind": "novelty", "threshold": 2e6})), "invalid_threshold");
        assert_eq!(code(json!({"kind": "three_sigma", "direction": "up"})), "invalid_direction");
        let message = config(json!({"kind": "rolling_zscore", "alpha": 0.5})).expect_err("refused").to_string();
        assert!(message.contains("alpha does not apply to the rolling_zscore detector"), "{message}");
    }

    #[test]
    fn a_fit_warms_the_window_up() {
        let series =
            TrainingSeries::new((0..60).collect(), (0..60).map(|i| f64::from(i % 5)).collect(), 1).expect("valid");
        let config = DetectorConfig::RollingZscore(RollingZScoreParams { window: 50, threshold: Threshold::DEFAULT });
        let model = config.fit(&series).expect("fits");
        assert!(matches!(model.judge(2.0), Verdict::Judged(_)), "no warm-up gap after a fit");
        let short = TrainingSeries::new((0..10).collect(), vec![1.0; 10], 1).expect("valid");
        assert_eq!(config.fit(&short).expect_err("too short").code(), "too_few_points");
    }

    #[test]
    fn describes_itself_as_kind_and_params() {
        let config = config(json!({"kind": "ewma_zscore", "alpha": 0.5, "warmup": 10})).expect("valid");
        assert_eq!(
            serde_json::to_value(config).expect("serialises"),
            json!({"kind": "ewma_zscore", "alpha": 0.5, "threshold": 3.0, "warmup": 10})
        );
    }
}
