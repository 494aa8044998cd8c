//! Settings of the monitor service (besides the shared storage and HTTP ones).

/// Monitor settings, from flags or the environment.
#[derive(Debug, Clone, clap::Args)]
pub struct MonitorSettings {
    /// Port of the monitor service.
    #[arg(long, env = "MONITOR_PORT", default_value_t = 8002)]
    pub monitor_port: u16,
}
