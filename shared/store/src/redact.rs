//! Secrets (database and Redis URLs with their passwords, API keys,
//! webhook secrets, Kafka client properties) never reach a log or a panic
//! message: the structs that hold them print this in their place.

/// What a `Debug` of a struct shows for a secret: whether it is set.
pub fn redacted(set: bool) -> &'static str {
    if set { "<redacted>" } else { "<unset>" }
}
