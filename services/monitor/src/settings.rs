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
    /// Attempts of a webhook delivery before it is marked failed.
    #[arg(long, env = "WEBHOOK_MAX_ATTEMPTS", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub webhook_max_attempts: u32,
    /// Wait before the first retry, milliseconds; each retry doubles it
    /// (up to 10 minutes), with jitter.
    #[arg(long, env = "WEBHOOK_RETRY_BASE_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=600_000))]
    pub webhook_retry_base_ms: u64,
    /// How long one delivery attempt may take, seconds.
    #[arg(long, env = "WEBHOOK_TIMEOUT_SECONDS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub webhook_timeout_seconds: u64,
    /// Deliveries of one webhook in flight at once, across replicas: what
    /// one endpoint is asked to take concurrently.
    #[arg(long, env = "WEBHOOK_MAX_IN_FLIGHT", default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub webhook_max_in_flight: u32,
    /// Live-feed clients (`GET /events`) connected at once; past it a new
    /// one is answered 503 with `Retry-After`, so pages and the API always
    /// have connections left (keep it well below `MAX_CONNECTIONS`).
    #[arg(long, env = "SSE_MAX_CLIENTS", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub sse_max_clients: u32,
    /// Allow webhooks to point at loopback, private, link-local and other
    /// internal addresses (refused by default, at registration and again
    /// at each delivery's connect).
    #[arg(long, env = "WEBHOOK_ALLOW_PRIVATE", default_value_t = false, action = clap::ArgAction::Set)]
    pub webhook_allow_private: bool,
    /// Webhooks in `incident` mode: anomalies of one series judged within
    /// this many seconds of the one before are one incident (one delivery
    /// when it opens, one this long after its last anomaly, when it closes).
    #[arg(long, env = "ALERT_GROUP_SECONDS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub alert_group_seconds: u64,
    /// The dashboard's address as people reach it: the base of links in
    /// chat messages (`"format": "slack"` webhooks).
    #[arg(long, env = "PUBLIC_URL", default_value = "http://localhost:8002")]
    pub public_url: String,
}

impl From<&MonitorSettings> for crate::webhooks::AlertSettings {
    fn from(settings: &MonitorSettings) -> Self {
        Self {
            group_ms: i64::try_from(settings.alert_group_seconds.saturating_mul(1000)).unwrap_or(i64::MAX),
            public_url: settings.public_url.clone(),
        }
    }
}
