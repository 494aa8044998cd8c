//! `rule`: the threshold rules operators write by hand. A point *breaches*
//! when it is above `above`, below `below`, or moved faster than `rate` per
//! second (either way) since the point before it; it is anomalous when it
//! and the `for - 1` points before it all breach. No warm-up, no learning
//! beyond the run of breaches and the last point (for the rate).
//!
//! Its evidence (see [`super::grade`]) is how far past its edge a point
//! is: for a bound, 1 plus the distance past it over the bound's scale
//! (the distance between the two bounds when both are set, else the
//! bound's magnitude, at least 1), for the rate, the rate over `rate`; a
//! breach in a run still short of `for` counts the share of the run done.

use super::params::{DetectorParams, MAX_WINDOW, invalid};
use super::{Decision, OnlineDetector, Verdict};
use crate::ValidationError;
use serde::{Deserialize, Serialize};

/// The parameters of a rule. At least one of `above`, `below` and `rate`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RuleParams {
    /// Values above this breach.
    pub above: Option<f64>,
    /// Values below this breach.
    pub below: Option<f64>,
    /// Consecutive breaching points that make an anomaly, 1 to
    /// [`MAX_WINDOW`] (default 1: every breach).
    #[serde(rename = "for")]
    pub run: u32,
    /// Changes faster than this many units per second since the previous
    /// point (up or down) breach; > 0.
    pub rate: Option<f64>,
}

impl Default for RuleParams {
    fn default() -> Self {
        Self { above: None, below: None, run: 1, rate: None }
    }
}

impl DetectorParams for RuleParams {
    type Detector = Rule;

    fn check(&self, kind: &str) -> Result<(), ValidationError> {
        if self.above.is_none() && self.below.is_none() && self.rate.is_none() {
            return Err(invalid(format!("a {kind} needs at least one of above, below and rate")));
        }
        for (name, bound) in [("above", self.above), ("below", self.below)] {
            if bound.is_some_and(|b| !b.is_finite()) {
                return Err(invalid(format!("{name} of {kind} must be a finite number")));
            }
        }
        if let (Some(above), Some(below)) = (self.above, self.below)
            && below >= above
        {
            return Err(invalid(format!(
                "below of {kind} must be less than above (normal lies between them); got below {below}, above {above}"
            )));
        }
        if self.rate.is_some_and(|rate| !(rate > 0.0 && rate.is_finite())) {
            return Err(invalid(format!("rate of {kind} must be a finite number > 0 (units per second)")));
        }
        if !(1..=MAX_WINDOW).contains(&self.run) {
            return Err(invalid(format!("for of {kind} must be from 1 to {MAX_WINDOW} points; got {}", self.run)));
        }
        Ok(())
    }

    fn of(detector: &Rule) -> Self {
        detector.params
    }

    fn start(self) -> Option<Rule> {
        Some(Rule { params: self, breaches: 0, last: None })
    }

    fn points_needed(self) -> usize {
        1
    }

    fn threshold(self) -> f64 {
        1.0
    }

    fn warms_on_every_point(self) -> bool {
        true
    }
}

/// A rule with the run of breaches so far and the last point seen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    #[serde(flatten)]
    params: RuleParams,
    /// Consecutive breaching points up to the last one, at most `for`.
    breaches: u32,
    /// The last point learnt, `(time, value)`, when its time is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last: Option<(i64, f64)>,
}

impl Rule {
    /// How far past its edge `value` seen at `timestamp` is, signed (+
    /// above or rising, - below or falling; 1 at the edge).
    fn excess(&self, timestamp: Option<i64>, value: f64) -> f64 {
        let RuleParams { above, below, rate, .. } = self.params;
        let scale = match (above, below) {
            (Some(a), Some(b)) => a - b,
            _ => above.or(below).unwrap_or(0.0).abs(),
        }
        // Bounds near ±f64::MAX are as far apart as a double can say.
        .clamp(1.0, f64::MAX);
        let mut excess: f64 = 0.0;
        let mut keep = |candidate: f64| {
            if candidate.abs() > excess.abs() || candidate.is_nan() {
                excess = candidate;
            }
        };
        if let Some(above) = above {
            keep((1.0 + (value - above) / scale).max(0.0));
        }
        if let Some(below) = below {
            keep(-(1.0 + (below - value) / scale).max(0.0));
        }
        if let (Some(rate), Some(now), Some((then, before))) = (rate, timestamp, self.last)
            && now > then
        {
            keep((value - before) / (now - then) as f64 / rate);
        }
        excess
    }

    /// Whether a point this far past its edge breaches.
    fn breaches(excess: f64) -> bool {
        excess.abs() > 1.0 || excess.is_nan()
    }

    fn judge_with(&self, timestamp: Option<i64>, value: f64) -> Verdict {
        let excess = self.excess(timestamp, value);
        if !Self::breaches(excess) {
            return Verdict::Judged(Decision::graded(false, excess, excess.abs().min(1.0)));
        }
        let run = self.breaches.saturating_add(1).min(self.params.run);
        let anomaly = run >= self.params.run;
        let evidence = if anomaly { excess.abs() } else { f64::from(run) / f64::from(self.params.run) };
        Verdict::Judged(Decision::graded(anomaly, excess, evidence))
    }

    fn learn_with(&mut self, timestamp: Option<i64>, value: f64) {
        let excess = self.excess(timestamp, value);
        self.breaches = if Self::breaches(excess) { self.breaches.saturating_add(1).min(self.params.run) } else { 0 };
        self.last = timestamp.map(|t| (t, value));
    }
}

impl OnlineDetector for Rule {
    fn judge(&self, value: f64) -> Verdict {
        self.judge_with(None, value)
    }

    fn learn(&mut self, value: f64) {
        self.learn_with(None, value);
    }

    fn judge_at(&self, timestamp: i64, value: f64) -> Verdict {
        self.judge_with(Some(timestamp), value)
    }

    fn learn_at(&mut self, timestamp: i64, value: f64) {
        self.learn_with(Some(timestamp), value);
    }

    fn update_at(&mut self, timestamp: i64, value: f64) -> Verdict {
        let verdict = self.judge_at(timestamp, value);
        self.learn_at(timestamp, value);
        verdict
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DetectorConfig;
    use proptest::prelude::*;
    use serde_json::json;

    fn rule(given: serde_json::Value) -> Rule {
        let serde_json::Value::Object(mut given) = given else { panic!("an object") };
        given.insert("kind".into(), json!("rule"));
        match DetectorConfig::from_json(given).expect("valid").start() {
            Some(crate::Model::Rule(rule)) => rule,
            other => panic!("a rule: {other:?}"),
        }
    }

    /// The anomaly flags of `values`, one second apart.
    fn flags(rule: &mut Rule, values: &[f64]) -> Vec<bool> {
        values.iter().enumerate().map(|(i, &v)| rule.update_at(i as i64, v).is_anomaly()).collect()
    }

    #[test]
    fn above_and_below_flag_each_breach() {
        let mut bounds = rule(json!({"above": 90.0, "below": 10.0}));
        assert_eq!(
            flags(&mut bounds, &[50.0, 90.0, 90.5, 50.0, 10.0, 9.0, 95.0]),
            [false, false, true, false, false, true, true]
        );
        let mut above = rule(json!({"above": -5.0}));
        assert_eq!(flags(&mut above, &[-6.0, -5.0, -4.9, -100.0]), [false, false, true, false]);
    }

    #[test]
    fn bounds_at_the_ends_of_the_doubles_still_flag_past_them() {
        let mut wide = rule(json!({"above": 1e308, "below": -1e308}));
        assert_eq!(flags(&mut wide, &[0.0, 1e308, 1.5e308, -1.5e308, f64::MAX]), [false, false, true, true, true]);
        let low = rule(json!({"above": -1.7e308}));
        assert!(
            low.judge(1.7e308).is_anomaly() && low.judge(1.7e308).anomaly_score() == 1.0,
            "an overflowing distance"
        );
    }

    #[test]
    fn for_needs_that_many_breaches_in_a_row() {
        let mut held = rule(json!({"above": 90.0, "for": 3}));
        let values = [95.0, 95.0, 50.0, 95.0, 96.0, 97.0, 98.0, 50.0, 99.0];
        assert_eq!(flags(&mut held, &values), [false, false, false, false, false, true, true, false, false]);
    }

    #[test]
    fn rate_flags_a_fast_change_either_way_per_second() {
        let mut rate = rule(json!({"rate": 2.0}));
        let times = [0, 1, 2, 12, 13, 14];
        let values = [0.0, 1.0, 4.0, 14.0, 11.5, 11.5];
        let got: Vec<bool> = times.iter().zip(values).map(|(&t, v)| rate.update_at(t, v).is_anomaly()).collect();
        // +1/s, +3/s, +10 over 10 s (1/s), -2.5/s, 0.
        assert_eq!(got, [false, false, true, false, true, false]);
        // A point without a later time than the one before it has no rate.
        assert!(!rate.update_at(14, 1000.0).is_anomaly());
        assert!(!rule(json!({"rate": 2.0})).judge(1e9).is_anomaly(), "no time, no rate");
    }

    #[test]
    fn the_graded_score_is_half_at_the_edge_and_rises_past_it() {
        let bounds = rule(json!({"above": 100.0, "below": 0.0}));
        let score = |v: f64| bounds.judge(v).anomaly_score();
        assert_eq!(score(100.0), 0.5f64.next_down());
        assert!(score(50.0) < score(90.0) && score(90.0) < score(100.0));
        assert!(score(100.1) >= 0.5 && score(100.1) < score(150.0) && score(150.0) < score(1e9));
        assert!(score(-0.1) >= 0.5);
        let Verdict::Judged(decision) = bounds.judge(-50.0) else { panic!("judged") };
        assert!(decision.score < -1.0, "below is negative: {decision:?}");
        let mut held = rule(json!({"above": 100.0, "for": 4}));
        held.update_at(0, 500.0);
        let building = held.judge_at(1, 500.0).anomaly_score();
        assert!(building > 0.0 && building < 0.5, "a run short of `for` scores below the edge: {building}");
    }

    #[test]
    fn a_rule_needs_a_bound_and_sane_values() {
        let refused = |given: serde_json::Value| {
            let serde_json::Value::Object(mut given) = given else { panic!("an object") };
            given.insert("kind".into(), json!("rule"));
            DetectorConfig::from_json(given).expect_err("refused").to_string()
        };
        assert!(refused(json!({})).contains("at least one of above, below and rate"));
        assert!(refused(json!({"for": 3})).contains("at least one"));
        assert!(refused(json!({"above": 1.0, "below": 2.0})).contains("below of rule must be less than above"));
        assert!(refused(json!({"rate": 0.0})).contains("rate of rule"));
        assert!(refused(json!({"rate": -1.0})).contains("rate of rule"));
        assert!(refused(json!({"above": 1.0, "for": 0})).contains("for of rule"));
        assert!(refused(json!({"above": 1.0, "for": 10001})).contains("for of rule"));
        assert!(refused(json!({"above": "high"})).contains("rule"));
        assert!(refused(json!({"above": 1.0, "window": 5})).contains("window does not apply to the rule"));
    }

    #[test]
    fn describes_itself_with_for() {
        let config = DetectorConfig::from_json(
            json!({"kind": "rule", "above": 90.0, "for": 3}).as_object().cloned().expect("object"),
        )
        .expect("valid");
        assert_eq!(
            serde_json::to_value(config).expect("json"),
            json!({"kind": "rule", "above": 90.0, "below": null, "for": 3, "rate": null})
        );
    }

    proptest! {
        #[test]
        fn a_restored_state_gives_the_same_verdicts(values in prop::collection::vec(-1e3f64..1e3, 10..100), cut in 0usize..10) {
            let fresh = rule(json!({"above": 500.0, "below": -500.0, "for": 2, "rate": 300.0}));
            let mut uninterrupted = fresh.clone();
            let mut first = fresh;
            for (i, &x) in values[..cut].iter().enumerate() {
                uninterrupted.update_at(i as i64, x);
                first.update_at(i as i64, x);
            }
            let mut restored: Rule = serde_json::from_str(&serde_json::to_string(&first).expect("json")).expect("back");
            for (i, &x) in values.iter().enumerate().skip(cut) {
                prop_assert_eq!(uninterrupted.update_at(i as i64, x), restored.update_at(i as i64, x));
            }
        }

        #[test]
        fn hostile_values_never_panic(values in prop::collection::vec(prop::num::f64::ANY, 1..50)) {
            let mut rule = rule(json!({"above": 1.0, "below": -1.0, "rate": 1.0, "for": 2}));
            for (i, &x) in values.iter().enumerate() {
                let score = rule.update_at(i as i64, x).anomaly_score();
                prop_assert!((0.0..=1.0).contains(&score));
            }
        }
    }
}
