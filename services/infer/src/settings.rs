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
    /// The stream's detector for series without a fitted model: `novelty`
    /// (default; see docs/evaluation.md), `rolling_zscore`, `rolling_mad`,
    /// `ewma_zscore` or `discord`, each with its defaults but for the two
    /// settings below; or a JSON object as a fit's `detector`
    /// (`{"kind": "rule", "above": 90, "for": 3}`).
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
    /// Most series one `POST /ingest` may hold points of; past it the
    /// request is refused (422 `too_many_series`), nothing appended.
    #[arg(long, env = "INGEST_MAX_SERIES_PER_REQUEST", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub ingest_max_series_per_request: u64,
    /// Most series' detector states a stream worker keeps in memory between
    /// batches; beyond it, the least recently judged are dropped (they are
    /// checkpointed, and read again when their series streams again).
    #[arg(long, env = "STREAM_STATES_IN_MEMORY", default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub stream_states_in_memory: u64,
    /// This process's name among the stream workers. Empty: a new random
    /// one per start, so a restarted process waits for its old leases to
    /// expire. A name that stays the same across restarts (the pod or
    /// container name) lets a restart take its partitions back at once;
    /// it must differ between live processes.
    #[arg(long, env = "STREAM_WORKER_ID", default_value = "")]
    pub stream_worker_id: String,
    /// Days the points the stream judged are kept, with their verdicts
    /// (`GET /series/{id}/points` on monitor); older days are dropped whole.
    /// 0 keeps none (the stream's history is off).
    #[arg(long, env = "POINTS_RETENTION_DAYS", default_value_t = 7, value_parser = clap::value_parser!(u32).range(0..=3650))]
    pub points_retention_days: u32,
    /// Most log entries a partition may be behind for `/ready` to answer 200.
    #[arg(long, env = "READY_MAX_LAG", default_value_t = 1000)]
    pub ready_max_lag: u64,
    /// Kafka as the stream's source and sink (off unless `KAFKA_BROKERS` is set).
    #[command(flatten)]
    pub kafka: KafkaSettings,
}

/// Kafka settings: with `KAFKA_BROKERS` set, the stream reads points from a
/// topic in a consumer group instead of the platform's own log, `POST
/// /ingest` writes to that topic, and anomalies also go to a topic.
#[derive(Clone, Default, clap::Args)]
pub struct KafkaSettings {
    /// Brokers (`host:port,...`); empty: Kafka is not used.
    #[arg(long, env = "KAFKA_BROKERS", default_value = "")]
    pub kafka_brokers: String,
    /// Extra librdkafka client properties, `key=value,...` (TLS, SASL,
    /// client id...); those the platform sets itself are refused.
    #[arg(long, env = "KAFKA_CLIENT_CONFIG", default_value = "", hide_env_values = true, hide_default_value = true)]
    pub kafka_client_config: String,
    /// The topic points are read from (and `POST /ingest` writes to).
    #[arg(long, env = "KAFKA_POINTS_TOPIC", default_value = "telemetry.raw")]
    pub kafka_points_topic: String,
    /// The consumer group the infer processes share the partitions in.
    #[arg(long, env = "KAFKA_GROUP_ID", default_value = "anomaly-detectors")]
    pub kafka_group_id: String,
    /// The topic anomalies are written to.
    #[arg(long, env = "KAFKA_ANOMALIES_TOPIC", default_value = "telemetry.anomalies")]
    pub kafka_anomalies_topic: String,
    /// Where malformed messages are copied (with their error in a header);
    /// empty: they are only counted and logged.
    #[arg(long, env = "KAFKA_DLQ_TOPIC", default_value = "")]
    pub kafka_dlq_topic: String,
    /// How long the group waits for a silent member before it gives its
    /// partitions to the others, in milliseconds.
    #[arg(long, env = "KAFKA_SESSION_TIMEOUT_MS", default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1000..=300_000))]
    pub kafka_session_timeout_ms: u32,
}

impl std::fmt::Debug for KafkaSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaSettings")
            .field("kafka_brokers", &self.kafka_brokers)
            .field("kafka_client_config", &anomaly_store::redacted(!self.kafka_client_config.is_empty()))
            .field("kafka_points_topic", &self.kafka_points_topic)
            .field("kafka_group_id", &self.kafka_group_id)
            .field("kafka_anomalies_topic", &self.kafka_anomalies_topic)
            .field("kafka_dlq_topic", &self.kafka_dlq_topic)
            .field("kafka_session_timeout_ms", &self.kafka_session_timeout_ms)
            .finish()
    }
}

impl KafkaSettings {
    /// The brokers with the extra client properties, as every consumer and
    /// producer of the process connects.
    pub fn client(&self) -> Result<anomaly_store::KafkaClient, anomaly_store::StoreError> {
        anomaly_store::KafkaClient::new(&self.kafka_brokers, &self.kafka_client_config)
            .map_err(anomaly_store::StoreError::KafkaConfig)
    }

    /// Whether Kafka is configured.
    pub fn enabled(&self) -> bool {
        !self.kafka_brokers.trim().is_empty()
    }
}
