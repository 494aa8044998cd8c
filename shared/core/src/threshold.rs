//! `Threshold`: the multiplier k of the band `mean ± k·std`.

use crate::ValidationError;

/// A finite, positive multiplier of the standard deviation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Threshold(f64);

impl Threshold {
    /// The contract's default, k = 3.
    pub const DEFAULT: Threshold = Threshold(3.0);

    /// Checks that `k` is finite and > 0.
    pub fn new(k: f64) -> Result<Self, ValidationError> {
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
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(Threshold::new(bad).is_err());
        }
    }
}
