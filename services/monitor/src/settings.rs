//! Settings of the monitor service (besides the shared storage and HTTP ones).

/// Monitor settings, from flags or the environment.
#[derive(Debug, Clone, clap::Args)]
pub struct MonitorSettings {
    /// Port of the monitor service.
    #[arg(long, env = "MONITOR_PORT", default_value_t = 8002)]
    pub monitor_port: u16,
    /// Where the dashboard checks the train service's health.
    #[arg(long, env = "TRAIN_URL", default_value = "http://127.0.0.1:8000")]
    pub train_url: String,
    /// Where the dashboard checks the infer service's health.
    #[arg(long, env = "INFER_URL", default_value = "http://127.0.0.1:8001")]
    pub infer_url: String,
}
