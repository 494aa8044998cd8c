//! Settings of the infer service (besides the shared storage and HTTP ones).

/// Infer settings, from flags or the environment.
#[derive(Debug, Clone, clap::Args)]
pub struct InferSettings {
    /// Port of the infer service.
    #[arg(long, env = "INFER_PORT", default_value_t = 8001)]
    pub infer_port: u16,
    /// Most models kept in the process-local cache.
    #[arg(long, env = "LOCAL_CACHE_CAPACITY", default_value_t = 100_000)]
    pub local_cache_capacity: u64,
    /// Most predictions kept in the history (oldest pruned); 0 records none.
    #[arg(long, env = "PREDICTION_HISTORY_MAX_ROWS", default_value_t = 1_000_000)]
    pub prediction_history_max_rows: u64,
    /// Rows written to the history per second at most (anomalies first); every
    /// verdict is still counted per series and per minute.
    #[arg(long, env = "PREDICTION_HISTORY_MAX_RATE", default_value_t = 2000)]
    pub prediction_history_max_rate: u32,
    /// Verdicts queued between two history writes (200 ms); beyond it they are
    /// neither counted nor kept (counted in /metrics instead).
    #[arg(long, env = "PREDICTION_HISTORY_QUEUE", default_value_t = 65_536)]
    pub prediction_history_queue: usize,
    /// The stream's detector for series without a fitted model: `novelty`
    /// (default; see docs/evaluation.md), `rolling_zscore`, `rolling_mad` or
    /// `ewma_zscore`, each with its defaults but for the two settings below.
    #[arg(long, env = "STREAM_DETECTOR", default_value = "novelty")]
    pub stream_detector: String,
    /// Window of the stream's default detector when it is `rolling_zscore`
    /// or `rolling_mad`.
    #[arg(long, env = "DETECTOR_WINDOW_SIZE", default_value_t = 50, value_parser = clap::value_parser!(u32).range(2..=10_000))]
    pub detector_window_size: u32,
    /// Threshold k of the stream's default detector when it is
    /// `rolling_zscore` or `rolling_mad`.
    #[arg(long, env = "Z_SCORE_THRESHOLD", default_value_t = 3.0)]
    pub z_score_threshold: f64,
    /// Most log entries a partition may be behind for `/ready` to answer 200.
    #[arg(long, env = "READY_MAX_LAG", default_value_t = 1000)]
    pub ready_max_lag: u64,
}
