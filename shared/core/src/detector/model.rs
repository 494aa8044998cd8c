//! What every [`Model`] does whatever its kind: its decision without
//! learning, flags over training values, and the online side that never
//! learns a value too large to keep its state finite. The enum itself and
//! the dispatch over kinds come from the [registry](super::registry).

use super::{Decision, Direction, Model, OnlineDetector, Verdict};

impl Model {
    /// The kind's API name.
    pub fn kind(&self) -> &'static str {
        self.config().kind()
    }

    /// k: the largest normal |score|.
    pub fn threshold(&self) -> f64 {
        self.config().threshold()
    }

    /// Which side is anomalous (the online kinds judge both).
    pub fn direction(&self) -> Direction {
        self.config().direction()
    }

    /// The decision on `value` seen at `timestamp` without learning, for a
    /// detector past its warm-up; a detector still warming up calls
    /// nothing anomalous.
    pub fn decide(&self, timestamp: i64, value: f64) -> Decision {
        match self.judge_at(timestamp, value) {
            Verdict::Judged(decision) => decision,
            Verdict::WarmingUp { .. } => Decision::WARMING_UP,
        }
    }

    /// Which of the training points (`timestamps` with their `values`)
    /// this detector flags: 3-sigma judges each against the fit; an online
    /// kind replays them in order from an empty state, as a stream of them
    /// would be judged.
    pub fn flag_training(&self, timestamps: &[i64], values: &[f64]) -> Vec<bool> {
        let points = timestamps.iter().zip(values);
        match self.config().start() {
            None => points.map(|(&t, &v)| self.decide(t, v).anomaly).collect(),
            Some(mut fresh) => points.map(|(&t, &v)| fresh.update_at(t, v).is_anomaly()).collect(),
        }
    }
}

/// Values beyond ± this are judged but never learnt. Any value within it
/// keeps every detector's state finite (its square, and sums of a window
/// of squares, stay below `f64::MAX`); one beyond it (up to ±1.79e308)
/// would overflow a running mean or variance to infinity and leave the
/// detector blind for good.
pub const LEARN_LIMIT: f64 = 1e150;

impl OnlineDetector for Model {
    fn judge(&self, value: f64) -> Verdict {
        self.online().judge(value)
    }

    fn learn(&mut self, value: f64) {
        if value.abs() <= LEARN_LIMIT {
            self.online_mut().learn(value);
        }
    }

    fn update(&mut self, value: f64) -> Verdict {
        if value.abs() <= LEARN_LIMIT { self.online_mut().update(value) } else { self.online().judge(value) }
    }

    fn judge_at(&self, timestamp: i64, value: f64) -> Verdict {
        self.online().judge_at(timestamp, value)
    }

    fn learn_at(&mut self, timestamp: i64, value: f64) {
        if value.abs() <= LEARN_LIMIT {
            self.online_mut().learn_at(timestamp, value);
        }
    }

    fn update_at(&mut self, timestamp: i64, value: f64) -> Verdict {
        if value.abs() <= LEARN_LIMIT {
            self.online_mut().update_at(timestamp, value)
        } else {
            self.online().judge_at(timestamp, value)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DetectorConfig, ThreeSigma, Threshold, TrainingSeries};
    use proptest::prelude::*;

    #[test]
    fn every_kind_round_trips_through_json() {
        let series =
            TrainingSeries::new((0..2500).collect(), (0..2500).map(|i| f64::from(i % 7)).collect(), 1).expect("valid");
        for kind in DetectorConfig::KINDS {
            let model = sample(kind).fit(&series).expect("fits");
            let text = serde_json::to_string(&model).expect("serialises");
            assert!(text.starts_with(&format!("{{\"kind\":\"{kind}\"")), "{text}");
            let back: Model = serde_json::from_str(&text).expect("deserialises");
            assert_eq!(back, model);
            assert_eq!(back.judge(100.0), model.judge(100.0));
        }
        let three_sigma = Model::ThreeSigma(ThreeSigma {
            mean: 1.0,
            std: 2.0,
            threshold: Threshold::DEFAULT,
            direction: Direction::Upper,
        });
        assert_eq!(
            serde_json::to_value(&three_sigma).expect("serialises"),
            serde_json::json!({"kind": "three_sigma", "mean": 1.0, "std": 2.0, "threshold": 3.0, "direction": "upper"})
        );
    }

    /// `kind` with its defaults; a rule with bounds around the calm values.
    fn sample(kind: &str) -> DetectorConfig {
        let rule = serde_json::json!({"kind": "rule", "above": 50.0, "below": -50.0, "rate": 1000.0});
        match kind {
            "rule" => DetectorConfig::from_json(rule.as_object().cloned().unwrap_or_default()),
            _ => DetectorConfig::of_kind(kind),
        }
        .expect("valid")
    }

    /// A fresh online detector of `kind` (see [`sample`]).
    fn online(kind: &str) -> Model {
        sample(kind).start().expect("online")
    }

    /// Whether every number of the state is finite (non-finite ones are
    /// written as names, see `state_float`).
    fn finite_state(model: &Model) -> bool {
        let text = serde_json::to_string(model).expect("serialises");
        !["\"inf\"", "\"-inf\"", "\"NaN\"", "null"].iter().any(|name| text.contains(name))
    }

    /// Calm points around 10.
    fn calm(i: usize) -> f64 {
        10.0 + [-0.5, 0.0, 0.5, 0.25][i % 4]
    }

    /// Any finite value, the extremes more often than chance would pick them.
    fn hostile() -> impl Strategy<Value = f64> {
        prop_oneof![
            Just(f64::MAX),
            Just(-f64::MAX),
            Just(3.4e38),
            Just(1e160),
            Just(-LEARN_LIMIT),
            Just(LEARN_LIMIT),
            Just(5e-324),
            -1e6f64..1e6,
            any::<f64>().prop_filter("finite", |v| v.is_finite()),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// After any finite values, every online detector's state is
        /// finite, and once calm comes back (long enough for the slowest
        /// kind, an EWMA, to forget a learnt 1e150) a spike beyond
        /// anything it learnt is flagged (by every kind that judges values;
        /// discord judges the shape a block ends).
        #[test]
        fn no_finite_value_blinds_a_detector(values in prop::collection::vec(hostile(), 1..60)) {
            for kind in DetectorConfig::KINDS.iter().filter(|k| **k != "three_sigma") {
                let mut model = online(kind);
                for i in 0..300 {
                    model.update(calm(i));
                }
                for &value in &values {
                    model.update(value);
                    prop_assert!(finite_state(&model), "{kind} after {value:e}");
                }
                for i in 0..10_000 {
                    model.update(calm(i));
                }
                prop_assert!(finite_state(&model), "{kind}");
                let learnt = values.iter().map(|v| v.abs()).filter(|v| *v <= LEARN_LIMIT).fold(10.0, f64::max);
                let spike = 10.0 * learnt;
                let flagged = model.update(spike).is_anomaly();
                prop_assert!(flagged || *kind == "discord", "{kind}: a spike of {spike:e} after {values:?}");
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(8))]

        /// Causality: a verdict (its decision and both scores) depends only
        /// on the points up to it. On a regular wave (so novelty's shape
        /// channel judges too), replacing every point after `cut` by noise
        /// changes no verdict up to `cut`, for every online kind.
        #[test]
        fn a_verdict_does_not_change_with_the_points_after_it(cut in 800usize..2400, seed: u64) {
            let values: Vec<f64> = (0..2500u32)
                .map(|i| 10.0 * (f64::from(i) * std::f64::consts::TAU / 60.0).sin() + f64::from(i * 7919 % 13) * 0.1)
                .collect();
            let mut changed = values.clone();
            let mut next = crate::detector::lcg(seed);
            for value in &mut changed[cut + 1..] {
                *value = (next() >> 40) as f64 / 1e5 - 50.0;
            }
            for kind in DetectorConfig::KINDS.iter().filter(|k| **k != "three_sigma") {
                let (mut original, mut altered) = (online(kind), online(kind));
                for (i, (a, b)) in values.iter().zip(&changed).enumerate() {
                    let t = 1_700_000_000 + 60 * i as i64;
                    let (first, second) = (original.update_at(t, *a), altered.update_at(t, *b));
                    if i <= cut {
                        prop_assert_eq!(first, second, "{} at {} (cut {})", kind, i, cut);
                    }
                }
            }
        }
    }

    #[test]
    fn a_state_overflowed_by_hostile_values_reads_back() {
        let hostile = [f64::MAX, -f64::MAX, 5e-324, 1.0, 1e308, -1e308];
        for kind in DetectorConfig::KINDS.iter().filter(|k| **k != "three_sigma") {
            let mut model = online(kind);
            for value in std::iter::repeat_n(1.0, 200).chain(hostile) {
                let _ = model.update(value);
            }
            let text = serde_json::to_string(&model).expect("serialises");
            assert!(!text.contains("null"), "{kind}: every number is written: {text}");
            let back: Model = serde_json::from_str(&text).expect("reads back");
            assert_eq!(serde_json::to_string(&back).expect("serialises"), text, "{kind}");
            for value in [1.0, f64::MAX, 2.0] {
                assert_eq!(back.judge(value).is_anomaly(), model.judge(value).is_anomaly(), "{kind}");
            }
        }
    }
}
