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
}
