//! [`AnomalyFeed`] on the Redis stream `{prefix}anomalies`: one entry per
//! anomaly, its field `anomaly` the JSON of [`FeedAnomaly`], the stream
//! capped near `MAX_ENTRIES` (`XADD MAXLEN ~`). Readers use `XREAD` after
//! the last id they saw, so every monitor replica follows the same feed.
//! Entries are read as bytes: one that does not parse is skipped and
//! counted, and one whose id lies ahead of the clock is moved back to now
//! (as in the point log), so no entry stops a reader or the publishers.

use super::poison_entries::{RawEntry, cut_before_ids_ahead, is_ahead, moved_entries_ahead};
use crate::ports::anomaly_feed::{AnomalyFeed, FeedAnomaly, FeedEntry, FeedPage};
use crate::{LogPosition, StoreError};
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

fn parse_entries(entries: Vec<RawEntry>) -> FeedPage {
    let mut page = FeedPage::default();
    for (id, fields) in entries {
        let Some(entry_id) = LogPosition::parse(&id) else { continue };
        page.end = Some(entry_id);
        let anomaly = fields
            .iter()
            .find(|(name, _)| name == b"anomaly")
            .and_then(|(_, json)| serde_json::from_slice::<FeedAnomaly>(json).ok());
        match anomaly {
            Some(anomaly) => page.entries.push(FeedEntry { id: entry_id, anomaly }),
            None => {
                tracing::warn!(id, "anomaly feed entry that does not parse skipped");
                page.skipped += 1;
            }
        }
    }
    page
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
        let published: Result<(), _> = pipe.query_async(&mut conn).await;
        // A feed whose last id another producer pushed to the largest
        // possible refuses appends until its entries ahead are moved back.
        match published {
            Ok(()) => Ok(()),
            Err(error) if moved_entries_ahead(&self.pool, &self.key).await? => {
                tracing::debug!(%error, "publish refused until entries ahead of the clock were moved");
                Ok(pipe.query_async(&mut conn).await?)
            }
            Err(error) => Err(error.into()),
        }
    }

    async fn read_after(&self, after: LogPosition, count: usize, wait: Duration) -> Result<FeedPage, StoreError> {
        let mut conn = self.pool.get().await?;
        let mut read = redis::cmd("XREAD");
        read.arg("COUNT").arg(count.max(1));
        if !wait.is_zero() {
            read.arg("BLOCK").arg(wait.min(MAX_BLOCK).as_millis().max(1) as u64);
        }
        read.arg("STREAMS").arg(&self.key).arg(after.to_string());
        // Nil when BLOCK timed out; otherwise one stream with its entries.
        let streams: Option<Vec<(String, Vec<RawEntry>)>> = read.query_async(&mut conn).await?;
        drop(conn);
        let mut entries: Vec<RawEntry> = streams.into_iter().flatten().flat_map(|(_, entries)| entries).collect();
        cut_before_ids_ahead(&self.pool, &self.key, &mut entries).await?;
        Ok(parse_entries(entries))
    }

    async fn last_id(&self) -> Result<LogPosition, StoreError> {
        let mut conn = self.pool.get().await?;
        let mut newest = LogPosition::START;
        // At most twice: after entries ahead of the clock were moved to now.
        for _ in 0..2 {
            let last: Vec<RawEntry> = redis::cmd("XREVRANGE")
                .arg(&self.key)
                .arg("+")
                .arg("-")
                .arg("COUNT")
                .arg(1)
                .query_async(&mut conn)
                .await?;
            newest = last.first().and_then(|(id, _)| LogPosition::parse(id)).unwrap_or(LogPosition::START);
            if !is_ahead(newest) || !moved_entries_ahead(&self.pool, &self.key).await? {
                break;
            }
        }
        Ok(newest)
    }
}
