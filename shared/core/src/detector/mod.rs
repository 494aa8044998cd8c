//! Detectors: one trait, one file per detector. A detector turns a value into
//! a score and a decision; its parameters come from a fit.

mod three_sigma;

pub use three_sigma::ThreeSigma;

use crate::ValidationError;

/// What a detector says about one value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decision {
    /// True when the value falls outside the fitted band.
    pub anomaly: bool,
    /// The signed distance from normal in the detector's unit (z for 3-sigma);
    /// not finite when the value is so far out that it overflows.
    pub score: f64,
}

/// Judges single values against fitted parameters.
pub trait Detector {
    /// Scores `value` and decides whether it is anomalous.
    fn evaluate(&self, value: f64) -> Decision;
}

/// Which side of the band counts as anomalous.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
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
