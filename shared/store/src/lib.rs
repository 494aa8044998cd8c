//! Storage behind traits: the SQL model store (PostgreSQL, or an embedded
//! SQLite file), the shared model cache (Redis or in-process), the
//! invalidation bus (Redis pub/sub or in-process), the platform-wide
//! latency window, the prediction history, the stream's point log (Redis
//! Streams or the SQL log), states, positions, leases and anomalies, the
//! anomaly feed and live verdicts, webhooks and their deliveries, and the
//! Kafka client. [`Backends::connect`] picks them from configuration.

mod backends;
mod cache_repair;
mod clock;
mod error;
mod kafka;
mod memory;
mod model_json;
mod ports;
mod redact;
mod redis;
mod sql;
mod training_codec;

pub use backends::{Backends, PoolUsage, StorageConfig};
pub use cache_repair::Repair;
pub use clock::unix_millis;
pub use error::StoreError;
pub use kafka::client::KafkaClient;
pub use kafka::{KafkaProducer, ROWS_CONNECTIONS, decode_points_message, encode_points_message, kafka_partition_of};
pub use memory::{MemoryAnomalyFeed, MemoryBus, MemoryCache, MemoryLatencyLog, MemoryLeases, MemoryLiveVerdicts};
pub use ports::anomaly_feed::{AnomalyFeed, FeedAnomaly, FeedEntry, FeedPage};
pub use ports::anomaly_labels::{AnomalyId, AnomalyLabel, AnomalyLabels, Label, LabelFilter};
pub use ports::bus::{ACK_TIMEOUT, Ack, BusEvent, Change, InvalidationBus, bus_clock};
pub use ports::cache::ModelCache;
pub use ports::latency_log::{LatencyKind, LatencyLog, MINUTES_KEPT, MinuteLatency};
pub use ports::leases::PartitionLeases;
pub use ports::live_verdicts::{LiveVerdict, LiveVerdicts, VERDICT_BUFFER};
pub use ports::models::{ModelStore, OwedSeries, SeriesSort, SeriesSortKey, TrainingPoints};
pub use ports::mutes::{Mute, MuteStore, is_muted};
pub use ports::prediction_history::{
    MinuteActivity, PredictionBatch, PredictionHistory, PredictionQuery, PredictionRecord, SeriesActivity,
    count_in_minute,
};
pub use ports::stream::{
    AnomalyQuery, Checkpoint, LogEntry, LogPosition, POINT_LOG, PointLog, SeriesStream, StreamAnomaly, StreamMinute,
    StreamPoint, StreamStore, by_partition, decode_points, encode_points,
};
pub use ports::stream_points::{Buckets, JudgedPoint, PointBucket, PointHistory, PointQuery, unix_day};
pub use ports::webhooks::{
    AttemptOutcome, ClaimedDelivery, Delivery, DeliveryQuery, NewDelivery, OpenIncident, Webhook, WebhookStore,
};
pub use redact::redacted;
pub use redis::{
    RedisAnomalyFeed, RedisBus, RedisCache, RedisLatencyLog, RedisLeases, RedisLiveVerdicts, RedisPointLog, redis_pool,
};
pub use sql::SqlModelStore;
pub use sql::stream::SqlPointLog;
