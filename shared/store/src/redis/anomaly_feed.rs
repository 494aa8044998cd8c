//! [`AnomalyFeed`] on the Redis stream `{prefix}anomalies`: one entry per
//! anomaly, its field `anomaly` the JSON of [`FeedAnomaly`], the stream
//! capped near `MAX_ENTRIES` (`XADD MAXLEN ~`). Readers use `XREAD` after
//! the last id they saw, so every monitor replica follows the same feed.

use crate::anomaly_feed::{AnomalyFeed, FeedAnomaly, FeedEntry};
use crate::{EntryId, StoreError};
use async_trait::async_trait;
use deadpool_redis::Pool;
use std::time::Duration;

/// About this many anomalies are kept in the stream.
const MAX_ENTRIES: u64 = 100_000;
/// Longest `XREAD BLOCK`: below redis-rs's response timeout (500 ms by
/// default), which would otherwise end the call as an error.
const MAX_BLOCK: Duration = Duration::from_millis(400);

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

type RawEntry = (String, Vec<(String, String)>);

fn parse_entries(entries: Vec<RawEntry>) -> Vec<FeedEntry> {
    entries
        .into_iter()
        .filter_map(|(id, fields)| {
            let json = fields.into_iter().find(|(name, _)| name == "anomaly")?.1;
            let parsed = EntryId::parse(&id).zip(serde_json::from_str(&json).ok());
            if parsed.is_none() {
                tracing::warn!(id, "anomaly feed entry that does not parse skipped");
            }
            parsed.map(|(id, anomaly)| FeedEntry { id, anomaly })
        })
        .collect()
}

#[async_trait]
impl AnomalyFeed for RedisAnomalyFeed {
    async fn publish(&self, anomalies: &[FeedAnomaly]) -> Result<(), StoreError> {
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
                .arg(serde_json::to_string(anomaly).map_err(|e| StoreError::Corrupt(e.to_string()))?)
                .ignore();
        }
        let mut conn = self.pool.get().await?;
        let () = pipe.query_async(&mut conn).await?;
        Ok(())
    }

    async fn read_after(&self, after: EntryId, count: usize, wait: Duration) -> Result<Vec<FeedEntry>, StoreError> {
        let mut conn = self.pool.get().await?;
        let mut read = redis::cmd("XREAD");
        read.arg("COUNT").arg(count.max(1));
        if !wait.is_zero() {
            read.arg("BLOCK").arg(wait.min(MAX_BLOCK).as_millis().max(1) as u64);
        }
        read.arg("STREAMS").arg(&self.key).arg(after.to_string());
        // Nil when BLOCK timed out; otherwise one stream with its entries.
        let streams: Option<Vec<(String, Vec<RawEntry>)>> = read.query_async(&mut conn).await?;
        Ok(streams.into_iter().flatten().flat_map(|(_, entries)| parse_entries(entries)).collect())
    }

    async fn last_id(&self) -> Result<EntryId, StoreError> {
        let mut conn = self.pool.get().await?;
        let newest: Vec<RawEntry> =
            redis::cmd("XREVRANGE").arg(&self.key).arg("+").arg("-").arg("COUNT").arg(1).query_async(&mut conn).await?;
        Ok(newest.first().and_then(|(id, _)| EntryId::parse(id)).unwrap_or(EntryId::START))
    }
}
