//! [`LatencyLog`] on Redis: one capped list per kind,
//! `{prefix}latency:<kind>`, newest first, and one hash per kind and minute,
//! `{prefix}minute:<kind>:<minute>` (bucket index to count), expiring after
//! [`MINUTES_KEPT`] minutes.

use crate::ports::latency_log::{MINUTES_KEPT, MinuteLatency, current_minute, histogram_of};
use crate::{LatencyKind, LatencyLog, StoreError};
use anomaly_core::{LatencyHistogram, LatencySummary};
use async_trait::async_trait;
use deadpool_redis::Pool;
use std::collections::HashMap;

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

    fn minute_key(&self, kind: LatencyKind, minute: i64) -> String {
        format!("{}minute:{}:{minute}", self.prefix, kind.as_str())
    }
}

#[async_trait]
impl LatencyLog for RedisLatencyLog {
    async fn append(&self, kind: LatencyKind, samples_ms: &[f64]) -> Result<(), StoreError> {
        if samples_ms.is_empty() {
            return Ok(());
        }
        let key = self.key(kind);
        let minute_key = self.minute_key(kind, current_minute());
        let mut pipe = redis::pipe();
        pipe.atomic().cmd("LPUSH").arg(&key).arg(samples_ms).ignore();
        pipe.cmd("LTRIM").arg(&key).arg(0).arg(self.window - 1).ignore();
        for (index, count) in histogram_of(samples_ms).buckets() {
            pipe.cmd("HINCRBY").arg(&minute_key).arg(index).arg(count).ignore();
        }
        pipe.cmd("EXPIRE").arg(&minute_key).arg(MINUTES_KEPT * 60).ignore();
        let mut conn = self.pool.get().await?;
        let _: () = pipe.query_async(&mut conn).await?;
        Ok(())
    }

    async fn summary(&self, kind: LatencyKind) -> Result<LatencySummary, StoreError> {
        let mut conn = self.pool.get().await?;
        let samples: Vec<f64> = redis::cmd("LRANGE").arg(self.key(kind)).arg(0).arg(-1).query_async(&mut conn).await?;
        Ok(LatencySummary::of(&samples))
    }

    async fn minutes(&self, kind: LatencyKind, since_minute: i64) -> Result<Vec<MinuteLatency>, StoreError> {
        let first = since_minute.max(current_minute() - MINUTES_KEPT);
        let wanted: Vec<i64> = (first..=current_minute()).collect();
        let mut pipe = redis::pipe();
        for minute in &wanted {
            pipe.cmd("HGETALL").arg(self.minute_key(kind, *minute));
        }
        let mut conn = self.pool.get().await?;
        let hashes: Vec<HashMap<usize, u64>> = pipe.query_async(&mut conn).await?;
        Ok(wanted
            .into_iter()
            .zip(hashes)
            .filter(|(_, buckets)| !buckets.is_empty())
            .map(|(minute, buckets)| {
                let mut histogram = LatencyHistogram::default();
                for (index, count) in buckets {
                    histogram.add(index, count);
                }
                MinuteLatency { minute, histogram }
            })
            .collect())
    }
}
