//! `Threshold`: the multiplier k of the band `mean ± k·std`.

use crate::ValidationError;

/// A finite, positive multiplier of the standard deviation. Serialised as
/// the bare number.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct Threshold(f64);

impl TryFrom<f64> for Threshold {
    type Error = ValidationError;

    fn try_from(k: f64) -> Result<Self, ValidationError> {
        Self::stored(k)
    }
}

impl From<Threshold> for f64 {
    fn from(threshold: Threshold) -> f64 {
        threshold.0
    }
}

impl Threshold {
    /// The contract's default, k = 3.
    pub const DEFAULT: Threshold = Threshold(3.0);

    /// The largest k a fit accepts. A band a million standard deviations
    /// wide flags nothing a person could want flagged, and far larger ones
    /// overflow every chart and aggregate that reads them.
    pub const MAX: f64 = 1e6;

    /// A threshold known when compiling (a default); an invalid `k` fails the build.
    pub const fn constant(k: f64) -> Self {
        assert!(k > 0.0 && k <= Self::MAX, "a threshold is > 0 and at most Threshold::MAX");
        Self(k)
    }

    /// Checks that `k` is finite, > 0 and at most [`Threshold::MAX`].
    pub fn new(k: f64) -> Result<Self, ValidationError> {
        if k <= Self::MAX { Self::stored(k) } else { Err(ValidationError::InvalidThreshold(k)) }
    }

    /// A threshold read back from storage: finite and > 0. Versions stored
    /// before [`Threshold::MAX`] existed may exceed it and stay usable.
    pub fn stored(k: f64) -> Result<Self, ValidationError> {
        if k.is_finite() && k > 0.0 { Ok(Self(k)) } else { Err(ValidationError::InvalidThreshold(k)) }
    }

    /// The multiplier.
    pub fn get(self) -> f64 {
        self.0
    }
}

impl Default for Threshold {
    fn default() -> Self {
        Self::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_positive_finite_only() {
        assert_eq!(Threshold::new(2.5).map(Threshold::get), Ok(2.5));
        assert_eq!(Threshold::new(Threshold::MAX).map(Threshold::get), Ok(1e6));
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, 1e6 + 1.0, 1e308] {
            assert!(Threshold::new(bad).is_err(), "{bad}");
        }
        assert_eq!(Threshold::stored(1e308).map(Threshold::get), Ok(1e308), "old versions stay readable");
    }
}
