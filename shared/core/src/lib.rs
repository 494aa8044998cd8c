//! Pure domain of the platform: validated inputs, the statistics and the
//! detectors. No IO, no HTTP: every other crate builds on these types.

pub mod detector;
pub mod error;
pub mod latency;
pub mod latency_histogram;
pub mod model;
pub mod partition;
pub mod series_id;
pub mod stats;
pub mod threshold;
pub mod timestamp;
pub mod training;
pub mod version;

pub use detector::{
    DEFAULT_THRESHOLD, DEFAULT_WINDOW, Decision, DetectorConfig, DetectorParams, Direction, Discord, DiscordParams,
    EDGE, EwmaZScore, EwmaZScoreParams, MAX_WINDOW, Model, Novelty, NoveltyParams, OnlineDetector, RollingMad,
    RollingMadParams, RollingZScore, RollingZScoreParams, ThreeSigma, ThreeSigmaParams, Verdict, anomaly_score,
};
pub use error::ValidationError;
pub use latency::LatencySummary;
pub use latency_histogram::LatencyHistogram;
pub use model::{ModelParams, ModelRecord};
pub use partition::{Partitioner, partition_of};
pub use series_id::SeriesId;
pub use threshold::Threshold;
pub use timestamp::parse_timestamp;
pub use training::TrainingSeries;
pub use version::ModelVersion;
