//! The graded anomaly score: one scale in [0, 1] for every detector, so
//! that scores of different detectors compare, a threshold can be tuned on
//! them, and "the most anomalous moment" is a maximum.
//!
//! Each detector states its *evidence*: how far the value is from normal,
//! as a multiple of what the detector needs to flag it (1 at the edge; for
//! a z detector |z| / k). The score is `evidence / (1 + evidence)`: 0 for
//! a value at normal, 0.5 at the edge, 0.75 at twice the edge, 0.9 at ten
//! times, approaching 1. It rises with the evidence and never saturates
//! early, so the largest of two scores is the stronger evidence.
//!
//! The decision stays the detector's own: a flagged value scores at least
//! [`EDGE`] and an unflagged one less, whatever the evidence says (a
//! detector may hold back an alert, as novelty does after one).

/// The score at the edge of normal; flagged values score at least this.
pub const EDGE: f64 = 0.5;

/// The largest score of an unflagged value: the number just below [`EDGE`].
const BELOW_EDGE: f64 = f64::from_bits(EDGE.to_bits() - 1);

/// The graded score of a value with `evidence` (≥ 0; 1 at the edge) that
/// the detector flagged or not (`anomaly`). Evidence that is not a number
/// (a value too far out to measure) counts as infinite when flagged and as
/// none when not.
pub fn anomaly_score(evidence: f64, anomaly: bool) -> f64 {
    let evidence = if evidence.is_nan() { if anomaly { f64::INFINITY } else { 0.0 } } else { evidence.max(0.0) };
    let score = if evidence.is_infinite() { 1.0 } else { evidence / (1.0 + evidence) };
    if anomaly { score.max(EDGE) } else { score.min(BELOW_EDGE) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_edge_is_one_half_and_the_scale_is_plain() {
        assert_eq!(anomaly_score(0.0, false), 0.0);
        assert_eq!(anomaly_score(1.0, true), 0.5);
        assert_eq!(anomaly_score(3.0, true), 0.75);
        assert_eq!(anomaly_score(f64::INFINITY, true), 1.0);
        assert_eq!(anomaly_score(f64::NAN, true), 1.0);
        assert_eq!(anomaly_score(f64::NAN, false), 0.0);
        assert_eq!(anomaly_score(1.0, false), 0.499_999_999_999_999_94, "the edge unflagged: just below");
    }

    #[test]
    fn the_decision_stays_the_detector_s() {
        assert!(anomaly_score(5.0, false) < EDGE, "held back: below the edge");
        assert_eq!(anomaly_score(0.2, true), EDGE, "flagged: at least the edge");
    }

    proptest! {
        #[test]
        fn in_the_unit_interval_and_monotone(a in 0.0f64..1e300, b in 0.0f64..1e300, flagged: bool) {
            let (low, high) = if a <= b { (a, b) } else { (b, a) };
            let (s_low, s_high) = (anomaly_score(low, flagged), anomaly_score(high, flagged));
            prop_assert!((0.0..=1.0).contains(&s_low) && (0.0..=1.0).contains(&s_high));
            prop_assert!(s_low <= s_high);
            prop_assert_eq!(s_high >= EDGE, flagged);
        }
    }
}
