//! Picks the storage adapters from configuration: PostgreSQL when a
//! `DATABASE_URL` is given, else the embedded SQLite file; Redis when a
//! `REDIS_URL` is given, else the in-process cache, bus and latency window;
//! the point log in Redis Streams with Redis, else in the database.

use crate::{
    AnomalyFeed, AnomalyLabels, InvalidationBus, LatencyLog, LiveVerdicts, MemoryAnomalyFeed, MemoryBus, MemoryCache,
    MemoryLatencyLog, MemoryLeases, MemoryLiveVerdicts, ModelCache, ModelStore, MuteStore, PartitionLeases,
    PointHistory, PointLog, PredictionHistory, RedisAnomalyFeed, RedisBus, RedisCache, RedisLatencyLog, RedisLeases,
    RedisLiveVerdicts, RedisPointLog, SqlModelStore, SqlPointLog, StoreError, StreamStore, WebhookStore, redis_pool,
};
use std::path::PathBuf;
use std::sync::Arc;

/// Where and how to store. Filled from the environment by each service.
/// Its `Debug` leaves the URLs out (they may hold passwords).
#[derive(Clone)]
pub struct StorageConfig {
    /// `postgres://…` (or `sqlite://…`); `None` means the embedded SQLite file.
    pub database_url: Option<String>,
    /// The embedded SQLite file, used when `database_url` is `None`.
    pub sqlite_path: PathBuf,
    /// Most connections the SQL pool opens.
    pub database_max_connections: u32,
    /// `redis://…`; `None` means the in-process cache and bus.
    pub redis_url: Option<String>,
    /// Prefix of every Redis key and channel.
    pub redis_key_prefix: String,
    /// Most connections the Redis pool opens.
    pub redis_pool_size: usize,
    /// Lifetime of cached models in Redis, seconds.
    pub cache_ttl_seconds: u64,
    /// Latency samples kept per kind for the healthcheck.
    pub latency_window: usize,
    /// Partitions of the point stream; a series always lands in the same one.
    pub stream_partitions: u32,
    /// How long a stream worker's partition lease lasts without renewal.
    pub stream_lease: std::time::Duration,
}

impl std::fmt::Debug for StorageConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StorageConfig")
            .field("database_url", &crate::redacted(self.database_url.is_some()))
            .field("sqlite_path", &self.sqlite_path)
            .field("database_max_connections", &self.database_max_connections)
            .field("redis_url", &crate::redacted(self.redis_url.is_some()))
            .field("redis_key_prefix", &self.redis_key_prefix)
            .field("redis_pool_size", &self.redis_pool_size)
            .field("cache_ttl_seconds", &self.cache_ttl_seconds)
            .field("latency_window", &self.latency_window)
            .field("stream_partitions", &self.stream_partitions)
            .field("stream_lease", &self.stream_lease)
            .finish()
    }
}

impl StorageConfig {
    /// The embedded default on the SQLite file `sqlite_path`, with default
    /// pool sizes and windows.
    pub fn embedded(sqlite_path: PathBuf) -> Self {
        Self {
            database_url: None,
            sqlite_path,
            database_max_connections: 8,
            redis_url: None,
            redis_key_prefix: "anomaly:".into(),
            redis_pool_size: 8,
            cache_ttl_seconds: 86_400,
            latency_window: 1000,
            stream_partitions: 16,
            stream_lease: std::time::Duration::from_secs(5),
        }
    }
}

/// The storage adapters one service (or the embedded platform) works with.
#[derive(Clone)]
pub struct Backends {
    /// The source of truth.
    pub store: Arc<dyn ModelStore>,
    /// The shared cache in front of it.
    pub cache: Arc<dyn ModelCache>,
    /// Invalidations from train to every infer replica.
    pub bus: Arc<dyn InvalidationBus>,
    /// Platform-wide recent latencies.
    pub latency: Arc<dyn LatencyLog>,
    /// The partitioned log of streamed points.
    pub points: Arc<dyn PointLog>,
    /// Stream state, positions and anomalies.
    pub streams: Arc<dyn StreamStore>,
    /// Every point the stream judged, with its verdict.
    pub stream_points: Arc<dyn PointHistory>,
    /// Where stream anomalies are published.
    pub anomaly_feed: Arc<dyn AnomalyFeed>,
    /// Verdicts of the series someone watches live.
    pub live_verdicts: Arc<dyn LiveVerdicts>,
    /// Which worker judges which stream partition.
    pub leases: Arc<dyn PartitionLeases>,
    /// Recent predictions and their counters.
    pub predictions: Arc<dyn PredictionHistory>,
    /// Webhooks and their deliveries.
    pub webhooks: Arc<dyn WebhookStore>,
    /// Labels on stored anomalies.
    pub labels: Arc<dyn AnomalyLabels>,
    /// Mute windows.
    pub mutes: Arc<dyn MuteStore>,
    pools: Pools,
}

/// The connection pools behind the adapters, for their usage figures.
#[derive(Clone)]
struct Pools {
    sql: sqlx::AnyPool,
    redis: Option<deadpool_redis::Pool>,
}

/// How busy one connection pool is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUsage {
    /// `database` or `redis`.
    pub pool: &'static str,
    /// Connections open.
    pub open: u64,
    /// Of which idle.
    pub idle: u64,
    /// Most connections the pool opens.
    pub max: u64,
}

impl Backends {
    /// Connects what the configuration names and applies migrations.
    pub async fn connect(config: &StorageConfig) -> Result<Self, StoreError> {
        let store = match &config.database_url {
            Some(url) => SqlModelStore::connect(url, config.database_max_connections).await?,
            None => SqlModelStore::open_sqlite_file(&config.sqlite_path, config.database_max_connections).await?,
        };
        let sql_pool = store.pool.clone();
        let sql_log = SqlPointLog::new(store.clone(), config.stream_partitions);
        let store = Arc::new(store);
        Ok(match &config.redis_url {
            Some(url) => {
                let pool = redis_pool(url, config.redis_pool_size)?;
                let prefix = &config.redis_key_prefix;
                Self {
                    store: store.clone(),
                    cache: Arc::new(RedisCache::new(pool.clone(), prefix, config.cache_ttl_seconds)),
                    bus: Arc::new(RedisBus::new(url, pool.clone(), prefix)?),
                    latency: Arc::new(RedisLatencyLog::new(pool.clone(), prefix, config.latency_window)),
                    predictions: store.clone(),
                    webhooks: store.clone(),
                    labels: store.clone(),
                    mutes: store.clone(),
                    stream_points: store.clone(),
                    points: Arc::new(RedisPointLog::new(pool.clone(), prefix, config.stream_partitions)),
                    anomaly_feed: Arc::new(RedisAnomalyFeed::new(pool.clone(), prefix)),
                    live_verdicts: Arc::new(RedisLiveVerdicts::new(url, pool.clone(), prefix)?),
                    leases: Arc::new(RedisLeases::new(pool.clone(), prefix, config.stream_lease)),
                    streams: store,
                    pools: Pools { sql: sql_pool, redis: Some(pool) },
                }
            }
            None => Self {
                store: store.clone(),
                cache: Arc::new(MemoryCache::default()),
                bus: Arc::new(MemoryBus::default()),
                latency: Arc::new(MemoryLatencyLog::new(config.latency_window)),
                predictions: store.clone(),
                webhooks: store.clone(),
                labels: store.clone(),
                mutes: store.clone(),
                stream_points: store.clone(),
                points: Arc::new(sql_log),
                anomaly_feed: Arc::new(MemoryAnomalyFeed::default()),
                live_verdicts: Arc::new(MemoryLiveVerdicts::default()),
                leases: Arc::new(MemoryLeases),
                streams: store,
                pools: Pools { sql: sql_pool, redis: None },
            },
        })
    }

    /// Usage of the SQL pool and, when Redis is configured, the Redis pool.
    pub fn pool_usage(&self) -> Vec<PoolUsage> {
        let sql = &self.pools.sql;
        let mut usage = vec![PoolUsage {
            pool: "database",
            open: u64::from(sql.size()),
            idle: sql.num_idle() as u64,
            max: u64::from(sql.options().get_max_connections()),
        }];
        if let Some(redis) = &self.pools.redis {
            let status = redis.status();
            usage.push(PoolUsage {
                pool: "redis",
                open: status.size as u64,
                idle: status.available as u64,
                max: status.max_size as u64,
            });
        }
        usage
    }
}
