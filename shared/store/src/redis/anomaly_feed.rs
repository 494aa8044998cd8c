//! [`AnomalyFeed`] on the Redis stream `{prefix}anomalies`: one entry per
//! anomaly, its field `anomaly` the JSON of [`anomaly_json`], the stream
//! capped near `MAX_ENTRIES` (`XADD MAXLEN ~`).

use crate::anomaly_feed::{AnomalyFeed, anomaly_json};
use crate::{StoreError, StreamAnomaly};
use async_trait::async_trait;
use deadpool_redis::Pool;

/// About this many anomalies are kept in the stream.
const MAX_ENTRIES: u64 = 100_000;

/// The anomalies stream in Redis.
#[derive(Clone)]
pub struct RedisAnomalyFeed {
    pool: Pool,
    key: String,
}

impl RedisAnomalyFeed {
    /// The feed `{prefix}anomalies`.
    pub fn new(pool: Pool, prefix: &str) -> Self {
        Self { pool, key: format!("{prefix}anomalies") }
    }
}

#[async_trait]
impl AnomalyFeed for RedisAnomalyFeed {
    async fn publish(&self, anomalies: &[StreamAnomaly]) -> Result<(), StoreError> {
        if anomalies.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        for anomaly in anomalies {
            pipe.cmd("XADD")
                .arg(&self.key)
                .arg("MAXLEN")
                .arg("~")
                .arg(MAX_ENTRIES)
                .arg("*")
                .arg("anomaly")
                .arg(anomaly_json(anomaly))
                .ignore();
        }
        let mut conn = self.pool.get().await?;
        let () = pipe.query_async(&mut conn).await?;
        Ok(())
    }
}
