//! Mute windows: "we are deploying, be quiet for an hour". While a mute
//! holds, anomalies of its series (or of every series) are still judged,
//! stored and shown, marked `muted`, but no webhook fires for them. Stored
//! durably, so mutes survive restarts.

use crate::StoreError;
use async_trait::async_trait;

/// One mute window.
#[derive(Debug, Clone, PartialEq)]
pub struct Mute {
    /// `mu_` and 16 hex digits.
    pub id: String,
    /// Only this series; `None`: every series.
    pub series_id: Option<String>,
    /// From this Unix second (the time anomalies are judged), inclusive.
    pub from: i64,
    /// To this Unix second, inclusive.
    pub to: i64,
    /// Why, as given.
    pub reason: String,
    /// When it was created, Unix milliseconds.
    pub created_at_ms: i64,
}

impl Mute {
    /// Whether an anomaly of `series_id` judged at `judged_at_ms` (Unix
    /// milliseconds) falls in this mute.
    pub fn covers(&self, series_id: &str, judged_at_ms: i64) -> bool {
        let second = judged_at_ms.div_euclid(1000);
        self.series_id.as_deref().is_none_or(|only| only == series_id) && (self.from..=self.to).contains(&second)
    }
}

/// Whether any of `mutes` covers an anomaly of `series_id` judged at `judged_at_ms`.
pub fn is_muted(mutes: &[Mute], series_id: &str, judged_at_ms: i64) -> bool {
    mutes.iter().any(|mute| mute.covers(series_id, judged_at_ms))
}

/// Stores mutes.
#[async_trait]
pub trait MuteStore: Send + Sync {
    /// Stores a new mute.
    async fn create_mute(&self, mute: &Mute) -> Result<(), StoreError>;

    /// Every mute, the latest to end first.
    async fn mutes(&self) -> Result<Vec<Mute>, StoreError>;

    /// Ends the mute `id` at `now` (Unix seconds): one that has begun is
    /// kept, ending at `now` at the latest (what it muted stays marked so);
    /// one that has not is removed. `false` when there is no such mute.
    async fn end_mute(&self, id: &str, now: i64) -> Result<bool, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn covers_its_series_and_seconds_inclusive() {
        let mute = |series: Option<&str>| Mute {
            id: "mu_1".into(),
            series_id: series.map(str::to_owned),
            from: 100,
            to: 200,
            reason: String::new(),
            created_at_ms: 0,
        };
        let cpu = mute(Some("cpu"));
        assert!(cpu.covers("cpu", 100_000) && cpu.covers("cpu", 200_999));
        assert!(!cpu.covers("cpu", 99_999) && !cpu.covers("cpu", 201_000) && !cpu.covers("mem", 150_000));
        assert!(is_muted(&[cpu, mute(None)], "mem", 150_000), "a mute without a series covers all");
        assert!(!is_muted(&[], "mem", 150_000));
    }
}
