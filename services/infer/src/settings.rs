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
}
