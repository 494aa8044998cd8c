//! Storage behind traits: the SQL model store (PostgreSQL, or an embedded
//! SQLite file), the shared model cache (Redis or in-process), the
//! invalidation bus (Redis pub/sub or in-process), the platform-wide
//! latency window, the prediction history, the stream's point log (Redis
//! Streams or the SQL log), states, positions, leases and anomalies, the
//! anomaly feed and live verdicts, webhooks and their deliveries, and the
//! Kafka client. [`Backends::connect`] picks them from configuration.

mod anomaly_feed;
mod backends;
mod bus;
mod cache;
mod cache_repair;
mod clock;
mod error;
mod kafka;
mod latency_log;
mod leases;
mod live_verdicts;
mod memory;
mod model_json;
mod prediction_history;
mod redact;
mod redis;
mod sql;
mod stream;
mod training_codec;
mod webhooks;

pub use anomaly_feed::{AnomalyFeed, FeedAnomaly, FeedEntry, FeedPage, MemoryAnomalyFeed};
pub use backends::{Backends, PoolUsage, StorageConfig};
pub use bus::{ACK_TIMEOUT, Ack, BusEvent, Change, InvalidationBus, bus_clock};
pub use cache::ModelCache;
pub use cache_repair::Repair;
pub use clock::unix_millis;
pub use error::StoreError;
pub use kafka::client::KafkaClient;
pub use kafka::{KafkaProducer, decode_points_message, encode_points_message};
pub use latency_log::{LatencyKind, LatencyLog, MINUTES_KEPT, MinuteLatency};
pub use leases::{MemoryLeases, PartitionLeases};
pub use live_verdicts::{LiveVerdict, LiveVerdicts, MemoryLiveVerdicts, VERDICT_BUFFER};
pub use memory::{MemoryBus, MemoryCache, MemoryLatencyLog};
pub use prediction_history::{
    MinuteActivity, PredictionBatch, PredictionHistory, PredictionQuery, PredictionRecord, SeriesActivity,
};
pub use redact::redacted;
pub use redis::{
    RedisAnomalyFeed, RedisBus, RedisCache, RedisLatencyLog, RedisLeases, RedisLiveVerdicts, RedisPointLog, redis_pool,
};
pub use sql::stream::SqlPointLog;
pub use sql::{ModelStore, OwedSeries, SeriesSort, SeriesSortKey, SqlModelStore, TrainingPoints};
pub use stream::{
    AnomalyQuery, Checkpoint, EntryId, LogEntry, POINT_LOG, PointLog, SeriesStream, StreamAnomaly, StreamMinute,
    StreamPoint, StreamStore, decode_points, encode_points,
};
pub use webhooks::{AttemptOutcome, ClaimedDelivery, Delivery, DeliveryQuery, NewDelivery, Webhook, WebhookStore};
