//! Settings of the train service (besides the shared storage and HTTP ones).

/// Train settings, from flags or the environment.
#[derive(Debug, Clone, clap::Args)]
pub struct TrainSettings {
    /// Port of the train service.
    #[arg(long, env = "TRAIN_PORT", default_value_t = 8000)]
    pub train_port: u16,
    /// Fewest points a fit accepts.
    #[arg(long, env = "MIN_TRAINING_POINTS", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    pub min_training_points: u32,
    /// Most bytes of fit bodies being fitted at once (a fit needs about
    /// twice its body in memory); further fits are answered 503 with
    /// Retry-After until one finishes.
    #[arg(long, env = "FIT_MAX_BYTES_IN_FLIGHT", default_value_t = 256 * 1024 * 1024, value_parser = clap::value_parser!(u64).range(1024..))]
    pub fit_max_bytes_in_flight: u64,
}
