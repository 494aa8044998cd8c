//! The platform-wide window of recent latencies, so every service's
//! healthcheck reports the same figures.

use crate::StoreError;
use anomaly_core::LatencySummary;
use async_trait::async_trait;

/// Which call a latency sample belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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

/// A bounded window of the most recent successful-call latencies per kind.
#[async_trait]
pub trait LatencyLog: Send + Sync {
    /// Appends samples (milliseconds), dropping the oldest beyond the window.
    async fn append(&self, kind: LatencyKind, samples_ms: &[f64]) -> Result<(), StoreError>;

    /// Mean and p95 of the window.
    async fn summary(&self, kind: LatencyKind) -> Result<LatencySummary, StoreError>;
}
