//! Parsing of the predict timestamp, which the contract sends as a string.

use crate::ValidationError;

/// Parses Unix seconds given as ASCII digits (`"1609459500"`).
pub fn parse_timestamp(raw: &str) -> Result<i64, ValidationError> {
    let invalid = || ValidationError::InvalidTimestamp(format!("{:?}", raw.chars().take(40).collect::<String>()));
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    raw.parse::<i64>().map_err(|_| invalid())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_only() {
        assert_eq!(parse_timestamp("1609459500"), Ok(1_609_459_500));
        for bad in ["", "-5", "12a", "1.5", " 1", "99999999999999999999"] {
            assert!(parse_timestamp(bad).is_err(), "{bad}");
        }
    }
}
