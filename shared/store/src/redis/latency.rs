//! [`LatencyLog`] on Redis: one capped list per kind,
//! `{prefix}latency:<kind>`, newest first.

use crate::{LatencyKind, LatencyLog, StoreError};
use anomaly_core::LatencySummary;
use async_trait::async_trait;
use deadpool_redis::Pool;

/// Latency window shared by all services through Redis.
#[derive(Clone)]
pub struct RedisLatencyLog {
    pool: Pool,
    prefix: String,
    window: usize,
}

impl RedisLatencyLog {
    /// Keeps the `window` most recent samples per kind.
    pub fn new(pool: Pool, prefix: &str, window: usize) -> Self {
        Self { pool, prefix: prefix.to_owned(), window: window.max(1) }
    }

    fn key(&self, kind: LatencyKind) -> String {
        format!("{}latency:{}", self.prefix, kind.as_str())
    }
}

#[async_trait]
impl LatencyLog for RedisLatencyLog {
    async fn append(&self, kind: LatencyKind, samples_ms: &[f64]) -> Result<(), StoreError> {
        if samples_ms.is_empty() {
            return Ok(());
        }
        let key = self.key(kind);
        let mut conn = self.pool.get().await?;
        let _: () = redis::pipe()
            .atomic()
            .cmd("LPUSH")
            .arg(&key)
            .arg(samples_ms)
            .ignore()
            .cmd("LTRIM")
            .arg(&key)
            .arg(0)
            .arg(self.window - 1)
            .ignore()
            .query_async(&mut conn)
            .await?;
        Ok(())
    }

    async fn summary(&self, kind: LatencyKind) -> Result<LatencySummary, StoreError> {
        let mut conn = self.pool.get().await?;
        let samples: Vec<f64> = redis::cmd("LRANGE").arg(self.key(kind)).arg(0).arg(-1).query_async(&mut conn).await?;
        Ok(LatencySummary::of(&samples))
    }
}
