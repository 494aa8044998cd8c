//! The platform-wide window of recent latencies, so every service's
//! healthcheck reports the same figures, and per-minute latency histograms
//! for the dashboard's charts (kept [`MINUTES_KEPT`] minutes).

use crate::StoreError;
use anomaly_core::{LatencyHistogram, LatencySummary};
use async_trait::async_trait;

/// Which call a latency sample belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LatencyKind {
    /// `POST /predict`.
    Inference,
    /// `POST /fit`.
    Training,
}

impl LatencyKind {
    /// Both kinds.
    pub const ALL: [LatencyKind; 2] = [LatencyKind::Inference, LatencyKind::Training];

    /// Storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Inference => "inference",
            Self::Training => "training",
        }
    }
}

/// Per-minute histograms are kept this many minutes.
pub const MINUTES_KEPT: i64 = 120;

/// The latencies of one kind recorded in one minute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MinuteLatency {
    /// Unix minute (seconds / 60).
    pub minute: i64,
    /// Their histogram.
    pub histogram: LatencyHistogram,
}

/// A bounded window of the most recent successful-call latencies per kind,
/// and their per-minute histograms.
#[async_trait]
pub trait LatencyLog: Send + Sync {
    /// Appends samples (milliseconds), dropping the oldest beyond the window,
    /// and adds them to the histogram of the current minute.
    async fn append(&self, kind: LatencyKind, samples_ms: &[f64]) -> Result<(), StoreError>;

    /// Mean and p95 of the window.
    async fn summary(&self, kind: LatencyKind) -> Result<LatencySummary, StoreError>;

    /// The histograms of the minutes from `since_minute` on, oldest first;
    /// minutes without calls are absent.
    async fn minutes(&self, kind: LatencyKind, since_minute: i64) -> Result<Vec<MinuteLatency>, StoreError>;
}

/// The histogram of `samples_ms`.
pub(crate) fn histogram_of(samples_ms: &[f64]) -> LatencyHistogram {
    let mut histogram = LatencyHistogram::default();
    for sample in samples_ms {
        histogram.record(*sample);
    }
    histogram
}

/// The current Unix minute.
pub(crate) fn current_minute() -> i64 {
    crate::clock::unix_millis().div_euclid(60_000)
}
