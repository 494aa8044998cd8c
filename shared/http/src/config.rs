//! Settings every service reads from the environment (or flags): where to
//! store, and how to serve HTTP. Each service flattens these into its own
//! typed config; every variable is listed in `env.example`.

use anomaly_store::StorageConfig;
use std::path::PathBuf;

/// Storage settings. `Debug` shows the configuration they make, without
/// the URLs.
#[derive(Clone, clap::Args)]
pub struct StorageArgs {
    /// PostgreSQL URL (`postgres://user@host:5432/db`). Unset: the embedded SQLite file.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// The embedded SQLite file, used when DATABASE_URL is unset.
    #[arg(long, env = "SQLITE_PATH", default_value = "data/anomaly.db")]
    pub sqlite_path: PathBuf,
    /// Most connections in the SQL pool.
    #[arg(long, env = "DATABASE_MAX_CONNECTIONS", default_value_t = 16)]
    pub database_max_connections: u32,
    /// Redis URL (`redis://host:6379`). Unset: in-process cache and bus (one process only).
    #[arg(long, env = "REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,
    /// Prefix of every Redis key and channel, so deployments can share a Redis.
    #[arg(long, env = "REDIS_KEY_PREFIX", default_value = "anomaly:")]
    pub redis_key_prefix: String,
    /// Most connections in the Redis pool.
    #[arg(long, env = "REDIS_POOL_SIZE", default_value_t = 32)]
    pub redis_pool_size: usize,
    /// Lifetime of cached models in Redis, seconds (PostgreSQL stays the truth).
    #[arg(long, env = "CACHE_TTL_SECONDS", default_value_t = 86_400)]
    pub cache_ttl_seconds: u64,
    /// Latency samples kept per call kind for /healthcheck.
    #[arg(long, env = "LATENCY_WINDOW", default_value_t = 1000)]
    pub latency_window: usize,
    /// Partitions of the point stream (series hashed to them, FNV-1a); every
    /// process of a deployment must use the same number.
    #[arg(long, env = "STREAM_PARTITIONS", default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub stream_partitions: u32,
    /// How long a stream worker's lease on a partition lasts without renewal,
    /// milliseconds (renewed every fifth of it): a dead worker's partitions
    /// are taken over after about this long.
    #[arg(long, env = "STREAM_LEASE_MS", default_value_t = 5000, value_parser = clap::value_parser!(u64).range(500..=600_000))]
    pub stream_lease_ms: u64,
}

impl std::fmt::Debug for StorageArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("StorageArgs").field(&self.storage_config()).finish()
    }
}

impl StorageArgs {
    /// The storage configuration these settings describe.
    pub fn storage_config(&self) -> StorageConfig {
        StorageConfig {
            database_url: self.database_url.clone().filter(|url| !url.is_empty()),
            sqlite_path: self.sqlite_path.clone(),
            database_max_connections: self.database_max_connections,
            redis_url: self.redis_url.clone().filter(|url| !url.is_empty()),
            redis_key_prefix: self.redis_key_prefix.clone(),
            redis_pool_size: self.redis_pool_size,
            cache_ttl_seconds: self.cache_ttl_seconds,
            latency_window: self.latency_window,
            stream_partitions: self.stream_partitions,
            stream_lease: std::time::Duration::from_millis(self.stream_lease_ms),
        }
    }
}

/// HTTP settings. `Debug` leaves the API keys out.
#[derive(Clone, clap::Args)]
pub struct HttpArgs {
    /// Address to listen on.
    #[arg(long, env = "HOST", default_value = "0.0.0.0")]
    pub host: String,
    /// Largest request body accepted, bytes (a 1M-point fit is about 30 MB of JSON).
    #[arg(long, env = "MAX_BODY_BYTES", default_value_t = 64 * 1024 * 1024)]
    pub max_body_bytes: usize,
    /// Log format: `text` or `json`.
    #[arg(long, env = "LOG_FORMAT", default_value = "text")]
    pub log_format: String,
    /// Seconds a request body may take to arrive, as a whole, from the
    /// handler's first read of it; past it the request is answered 408 and
    /// its connection closed (a body declared longer than it is, or sent a
    /// byte at a time, cannot hold a connection for ever).
    #[arg(long, env = "REQUEST_BODY_TIMEOUT", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    pub request_body_timeout: u64,
    /// Seconds a connection may go without a request whose headers have
    /// arrived, while none is open: silent, idle keep-alive and half-sent
    /// (or trickled) headers alike are closed after it (checked a quarter
    /// of it apart; an open request, a live feed included, is never cut).
    #[arg(long, env = "HEADER_READ_TIMEOUT", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    pub header_read_timeout: u64,
    /// Most open connections per process; further clients wait in the
    /// listen queue until one closes (so file descriptors never run out).
    #[arg(long, env = "MAX_CONNECTIONS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_connections: u64,
    /// Seconds a stopping service waits for requests in flight before it
    /// drops the connections still open and exits.
    #[arg(long, env = "SHUTDOWN_TIMEOUT", default_value_t = 10)]
    pub shutdown_timeout: u64,
    /// API keys, `key:scope` separated by commas; scopes `read`, `write`
    /// (fit, ingest), `admin` (webhooks, deletions), each including the
    /// ones before it. Unset (and no file): every endpoint is open.
    #[arg(long, env = "API_KEYS", hide_env_values = true)]
    pub api_keys: Option<String>,
    /// A file of more API keys, one `key:scope` a line (`#` comments), e.g.
    /// a mounted Kubernetes Secret.
    #[arg(long, env = "API_KEYS_FILE")]
    pub api_keys_file: Option<PathBuf>,
    /// Whether reads (predict, listings, plots, dashboard, feed) also need
    /// a key (any scope); health, readiness, metrics and docs stay open.
    #[arg(long, env = "READ_REQUIRES_KEY", default_value_t = false, action = clap::ArgAction::Set)]
    pub read_requires_key: bool,
}

impl std::fmt::Debug for HttpArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpArgs")
            .field("host", &self.host)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("log_format", &self.log_format)
            .field("request_body_timeout", &self.request_body_timeout)
            .field("header_read_timeout", &self.header_read_timeout)
            .field("max_connections", &self.max_connections)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .field("api_keys", &anomaly_store::redacted(self.api_keys.is_some()))
            .field("api_keys_file", &self.api_keys_file)
            .field("read_requires_key", &self.read_requires_key)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Both {
        #[command(flatten)]
        storage: StorageArgs,
        #[command(flatten)]
        http: HttpArgs,
    }

    #[test]
    fn debug_output_shows_no_secret() {
        let both = Both::parse_from([
            "test",
            "--database-url",
            "postgres://app:db-password-1@db/anomaly",
            "--redis-url",
            "redis://:redis-password-2@cache:6379",
            "--api-keys",
            "key-0123456789abcdef:admin",
        ]);
        let printed = format!("{both:?}");
        for secret in ["db-password-1", "redis-password-2", "key-0123456789abcdef"] {
            assert!(!printed.contains(secret), "{secret} in {printed}");
        }
        assert!(printed.contains("database_url: \"<redacted>\"") && printed.contains("api_keys: \"<redacted>\""));
    }
}
