//! Discord: fires when the newest stretch of a periodic series has a shape
//! unlike every earlier stretch of the look-back (a heartbeat with a wrong
//! shape, a gait cycle that stumbles), even when every value stays inside
//! the usual range. The [shape channel](shape) computes the left matrix
//! profile causally (Lu et al., "Matrix Profile XXIV: DAMP", KDD 2022,
//! without early abandoning: every candidate's dot product moves in O(1)),
//! at the resolution of the period found in the first `learn` points.
//!
//! State: at most [`shape::LEARN_KEPT`] values while learning (about 16 KB of
//! JSON), then at most 577 block values (about 3 KB). Cost: O(512) per
//! block, a block being 1/16 of the period (or of the length given).

mod packed;
mod period;
mod profile;
mod roughness;
mod shape;

pub(crate) use roughness::Roughness;
pub(crate) use shape::{MAX_Z, Shape};
#[cfg(test)]
pub(crate) use shape::{flat_with_bursts, heartbeats, uneven_bursts};

use super::params::{DetectorParams, check_positive, invalid};
use super::{Decision, OnlineDetector, Verdict};
use crate::{Threshold, ValidationError};
use serde::{Deserialize, Serialize};

/// The fewest and most points `learn` accepts.
pub const LEARN_RANGE: std::ops::RangeInclusive<u32> = 64..=1_000_000;
/// The longest subsequence a user may set, in points.
pub const MAX_LENGTH: u32 = 10_000;

/// The parameters of a discord detector.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DiscordParams {
    /// The largest normal z of a subsequence's nearest-neighbour distance
    /// against the usual distances.
    pub threshold: Threshold,
    /// Subsequence length in points; 0: the period found while learning
    /// (100 points when there is none).
    pub length: u32,
    /// Points seen before the first verdict; the period and the value
    /// scale are found in them.
    pub learn: u32,
}

impl DiscordParams {
    /// The defaults.
    pub const DEFAULT: Self = Self { threshold: Threshold::constant(6.0), length: 0, learn: 2000 };
}

impl Default for DiscordParams {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl DetectorParams for DiscordParams {
    type Detector = Discord;

    fn check(&self, kind: &str) -> Result<(), ValidationError> {
        check_positive(kind, "threshold", self.threshold.get())?;
        if self.length == 1 || self.length > MAX_LENGTH {
            return Err(invalid(format!(
                "length of {kind} must be 0 (the period) or from 2 to {MAX_LENGTH} points; got {}",
                self.length
            )));
        }
        if !LEARN_RANGE.contains(&self.learn) {
            return Err(invalid(format!(
                "learn of {kind} must be from {} to {} points; got {}",
                LEARN_RANGE.start(),
                LEARN_RANGE.end(),
                self.learn
            )));
        }
        Ok(())
    }

    fn of(detector: &Discord) -> Self {
        detector.params
    }

    fn start(self) -> Option<Discord> {
        Some(Discord { params: self, shape: Shape::default() })
    }

    fn points_needed(self) -> usize {
        self.learn as usize
    }

    fn threshold(self) -> f64 {
        self.threshold.get()
    }

    fn warms_on_every_point(self) -> bool {
        true
    }
}

/// The discord detector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Discord {
    /// Parameters.
    #[serde(flatten)]
    pub params: DiscordParams,
    shape: Shape,
}

impl Discord {
    /// The verdict on the next point when the detector is still learning.
    fn warming_up(&self) -> Option<Verdict> {
        let (seen, needed) = (self.shape.seen(), u64::from(self.params.learn));
        (seen < needed).then_some(Verdict::WarmingUp { seen, needed })
    }
}

impl OnlineDetector for Discord {
    /// A point judged without being learnt ends no subsequence: it scores
    /// 0 once the detector has learnt.
    fn judge(&self, _value: f64) -> Verdict {
        self.warming_up().unwrap_or(Verdict::Judged(Decision::graded(false, 0.0, 0.0)))
    }

    fn learn(&mut self, value: f64) {
        self.update(value);
    }

    fn update(&mut self, value: f64) -> Verdict {
        let warming_up = self.warming_up();
        let z = self.shape.update(value, self.params.learn, self.params.length).unwrap_or(0.0);
        if let Some(verdict) = warming_up {
            return verdict;
        }
        let k = self.params.threshold.get();
        Verdict::Judged(Decision::graded(z > k, z, z / k))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restores_exactly_from_a_checkpoint() {
        let values: Vec<f64> =
            (0..4000u32).map(|i| f64::from(i % 90) + if i == 3500 { 40.0 } else { 0.0 } + f64::from(i % 7)).collect();
        let fresh = DiscordParams { learn: 1000, ..DiscordParams::DEFAULT }.start().expect("online");
        for cut in [500, 1000, 2500] {
            super::super::assert_restores_exactly(fresh.clone(), &values, cut);
        }
    }

    #[test]
    fn checks_its_parameters() {
        assert!(DiscordParams::DEFAULT.check("discord").is_ok());
        for bad in [
            DiscordParams { length: 1, ..DiscordParams::DEFAULT },
            DiscordParams { length: MAX_LENGTH + 1, ..DiscordParams::DEFAULT },
            DiscordParams { learn: 10, ..DiscordParams::DEFAULT },
        ] {
            assert!(bad.check("discord").is_err(), "{bad:?}");
        }
    }
}
