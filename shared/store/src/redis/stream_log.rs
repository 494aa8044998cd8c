//! [`PointLog`] on Redis Streams: partition `p` is the stream
//! `{prefix}points:{p}`, each entry one field `points` holding the JSON rows
//! `[["cpu",1609459200,20.1],...]`, so any producer can `XADD` to it.
//!
//! The worker reads by position (`XRANGE` after its checkpointed entry id)
//! rather than through a consumer group: the checkpoint, written in the same
//! transaction as the verdicts, is the offset, so there is no pending list to
//! reclaim after a crash and nothing is judged twice. Entries are trimmed
//! (`XTRIM MINID`) once their effects are durable.

use crate::StoreError;
use crate::stream::{EntryId, LogEntry, PointLog, StreamPoint, decode_points, encode_points};
use async_trait::async_trait;
use deadpool_redis::Pool;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// The longest a blocking read waits.
const MAX_BLOCK: Duration = Duration::from_millis(400);

/// The point log in Redis Streams.
#[derive(Clone)]
pub struct RedisPointLog {
    pool: Pool,
    prefix: String,
    partitions: u32,
    appended: Arc<Notify>,
}

impl RedisPointLog {
    /// A log of `partitions` streams under `prefix`.
    pub fn new(pool: Pool, prefix: &str, partitions: u32) -> Self {
        Self { pool, prefix: prefix.to_owned(), partitions: partitions.max(1), appended: Arc::new(Notify::new()) }
    }

    fn key(&self, partition: u32) -> String {
        format!("{}points:{partition}", self.prefix)
    }
}

fn parse_id(text: &str) -> Result<EntryId, StoreError> {
    EntryId::parse(text).ok_or_else(|| StoreError::Corrupt(format!("stream entry id {text}")))
}

#[async_trait]
impl PointLog for RedisPointLog {
    fn partitions(&self) -> u32 {
        self.partitions
    }

    fn ids_are_times(&self) -> bool {
        true
    }

    async fn append(&self, partition: u32, points: &[StreamPoint]) -> Result<EntryId, StoreError> {
        let mut conn = self.pool.get().await?;
        let id: String = redis::cmd("XADD")
            .arg(self.key(partition))
            .arg("*")
            .arg("points")
            .arg(encode_points(points))
            .query_async(&mut conn)
            .await?;
        self.appended.notify_waiters();
        parse_id(&id)
    }

    async fn read_after(&self, partition: u32, after: EntryId, count: usize) -> Result<Vec<LogEntry>, StoreError> {
        let mut conn = self.pool.get().await?;
        let entries: Vec<(String, Vec<(String, String)>)> = redis::cmd("XRANGE")
            .arg(self.key(partition))
            .arg(format!("({after}"))
            .arg("+")
            .arg("COUNT")
            .arg(count.max(1))
            .query_async(&mut conn)
            .await?;
        entries
            .into_iter()
            .map(|(id, fields)| {
                let text = fields.iter().find(|(name, _)| name == "points").map(|(_, value)| value.as_str());
                let (points, malformed) = text.map_or((Vec::new(), 1), decode_points);
                Ok(LogEntry { id: parse_id(&id)?, points, malformed })
            })
            .collect()
    }

    /// `XREAD BLOCK` on every owned partition after its position: wakes on
    /// any producer's append, at once, without polling.
    async fn wait_for_appends(&self, positions: &[(u32, EntryId)], timeout: Duration) {
        if positions.is_empty() {
            let _ = tokio::time::timeout(timeout, self.appended.notified()).await;
            return;
        }
        // Below redis-rs's response timeout (500 ms by default), which would
        // otherwise end the call as an error.
        let block = timeout.min(MAX_BLOCK);
        let mut read = redis::cmd("XREAD");
        read.arg("COUNT").arg(1).arg("BLOCK").arg(block.as_millis().max(1) as u64).arg("STREAMS");
        for (partition, _) in positions {
            read.arg(self.key(*partition));
        }
        for (_, position) in positions {
            read.arg(position.to_string());
        }
        let waited = async {
            let mut conn = self.pool.get().await?;
            let _: redis::Value = read.query_async(&mut conn).await?;
            Ok::<(), StoreError>(())
        };
        if let Err(error) = waited.await {
            tracing::debug!(%error, "cannot wait on the point streams; pausing instead");
            tokio::time::sleep(block).await;
        }
    }

    async fn acknowledge(&self, partition: u32, upto: EntryId) -> Result<(), StoreError> {
        let mut conn = self.pool.get().await?;
        let first_kept = EntryId { ms: upto.ms, seq: upto.seq.saturating_add(1) };
        let _: i64 = redis::cmd("XTRIM")
            .arg(self.key(partition))
            .arg("MINID")
            .arg(first_kept.to_string())
            .query_async(&mut conn)
            .await?;
        Ok(())
    }

    async fn entries_after(&self, partition: u32, _after: EntryId) -> Result<u64, StoreError> {
        // Entries up to the position are trimmed once durable, so the
        // stream's length is what lies after it (plus a batch being trimmed).
        let mut conn = self.pool.get().await?;
        let length: u64 = redis::cmd("XLEN").arg(self.key(partition)).query_async(&mut conn).await?;
        Ok(length)
    }
}
