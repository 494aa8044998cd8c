//! Failures of a storage dependency. All of them mean "a dependency is
//! unavailable or misbehaving", never "the client sent something wrong".

use thiserror::Error;

/// A storage operation that could not be completed.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The SQL database failed or is unreachable.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// Applying migrations failed.
    #[error("database migration: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// Redis failed or is unreachable.
    #[error("redis: {0}")]
    Redis(#[from] ::redis::RedisError),
    /// No Redis connection could be taken from the pool.
    #[error("redis pool: {0}")]
    RedisPool(#[from] deadpool_redis::PoolError),
    /// The Redis pool could not be created from the configuration.
    #[error("redis configuration: {0}")]
    RedisConfig(#[from] deadpool_redis::CreatePoolError),
    /// A background task of the store failed.
    #[error("background task: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// Kafka failed or is unreachable.
    #[error("kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    /// The Kafka client properties are not usable (`KAFKA_CLIENT_CONFIG`).
    #[error("kafka configuration: {0}")]
    KafkaConfig(String),
    /// A stored value could not be decoded (a corrupted or foreign entry).
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
}
