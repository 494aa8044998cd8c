//! `ModelVersion`: the per-series version number, written `v1`, `v2`, ...

use crate::ValidationError;
use std::fmt;

/// A model version, 1 or more. Displays as `v3`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ModelVersion(u32);

impl ModelVersion {
    /// Wraps a version number; `None` for 0.
    pub fn new(number: u32) -> Option<Self> {
        (number >= 1).then_some(Self(number))
    }

    /// Parses `v3`, `V3` or `3`.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let digits = raw.strip_prefix(['v', 'V']).unwrap_or(raw);
        let invalid = || ValidationError::InvalidVersion(raw.chars().take(40).collect());
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid());
        }
        digits.parse::<u32>().ok().and_then(Self::new).ok_or_else(invalid)
    }

    /// The number without the `v`.
    pub fn number(self) -> u32 {
        self.0
    }
}

impl fmt::Display for ModelVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_spellings() {
        for raw in ["v3", "V3", "3", "003"] {
            assert_eq!(ModelVersion::parse(raw).map(ModelVersion::number), Ok(3), "{raw}");
        }
        assert_eq!(ModelVersion::parse("v12").map(|v| v.to_string()), Ok("v12".into()));
    }

    #[test]
    fn rejects_everything_else() {
        for raw in ["", "v", "v0", "0", "-1", "v-1", "3.0", "latest", "vv3", "99999999999", " 3"] {
            assert!(ModelVersion::parse(raw).is_err(), "{raw}");
        }
    }
}
