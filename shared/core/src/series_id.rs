//! `SeriesId`: the name of one time series, validated once at the edge.

use crate::ValidationError;
use std::fmt;
use std::sync::Arc;

/// A series id: 1 to 128 bytes of `[A-Za-z0-9._:-]`, other than `.` and
/// `..` (which clients resolve as path segments, so such a series could
/// never be reached in a URL). Shared, not copied, when cloned: the stream
/// carries it with each of its points.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeriesId(Arc<str>);

impl SeriesId {
    /// The longest accepted id, in bytes.
    pub const MAX_LEN: usize = 128;

    /// Checks `raw` and wraps a copy of it.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        Self::check(raw)?;
        Ok(Self(Arc::from(raw)))
    }

    fn check(raw: &str) -> Result<(), ValidationError> {
        let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-');
        let path_segment = raw == "." || raw == "..";
        if raw.is_empty() || raw.len() > Self::MAX_LEN || !raw.bytes().all(allowed) || path_segment {
            return Err(ValidationError::InvalidSeriesId {
                max: Self::MAX_LEN,
                got: raw.chars().take(Self::MAX_LEN + 8).collect(),
            });
        }
        Ok(())
    }

    /// The id as an owned string.
    pub fn into_string(self) -> String {
        self.0.as_ref().to_owned()
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for SeriesId {
    type Error = ValidationError;

    /// Checks `raw` and keeps it.
    fn try_from(raw: String) -> Result<Self, ValidationError> {
        Self::check(&raw)?;
        Ok(Self(Arc::from(raw)))
    }
}

/// Looked up by its text in maps keyed by series (its order and hash are the text's).
impl std::borrow::Borrow<str> for SeriesId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SeriesId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_allowed_alphabet() {
        assert!(SeriesId::parse("cpu.host-1_a:b").is_ok());
        assert!(SeriesId::parse(&"a".repeat(128)).is_ok());
        assert!(SeriesId::parse("...").is_ok() && SeriesId::parse(".a").is_ok());
    }

    #[test]
    fn rejects_empty_long_and_foreign_characters() {
        for bad in ["", "a b", "a/b", "ü", "a%20", &"a".repeat(129), ".", ".."] {
            let err = SeriesId::parse(bad).expect_err(bad);
            assert_eq!(err.code(), "invalid_series_id");
        }
    }
}
