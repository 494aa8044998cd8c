//! [`PointLog`] on Redis Streams: partition `p` is the stream
//! `{prefix}points:{p}`, each entry one field `points` holding the JSON rows
//! `[["cpu",1609459200,20.1],...]`, so any producer can `XADD` to it.
//!
//! The worker reads by position (`XRANGE` after its checkpointed entry id)
//! rather than through a consumer group: the checkpoint, written in the same
//! transaction as the verdicts, is the offset, so there is no pending list to
//! reclaim after a crash and nothing is judged twice. Entries are trimmed
//! (`XTRIM MINID`) once their effects are durable. Entries are read as
//! bytes: what another producer wrote that does not parse is dead-lettered
//! and skipped, and ids ahead of the clock are moved back to now
//! ([`super::poison_entries`]), so no entry stops a partition.

use super::poison_entries::{PoisonEntries, RawEntry, cut_before_ids_ahead, decode_entry, moved_entries_ahead};
use crate::StoreError;
use crate::ports::stream::{LogEntry, LogPosition, PointLog, StreamPoint, encode_points};
use async_trait::async_trait;
use deadpool_redis::Pool;
use redis::aio::MultiplexedConnection;
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
    poison: PoisonEntries,
}

impl RedisPointLog {
    /// A log of `partitions` streams under `prefix`.
    pub fn new(pool: Pool, prefix: &str, partitions: u32) -> Self {
        let poison = PoisonEntries::new(pool.clone(), prefix);
        Self {
            pool,
            prefix: prefix.to_owned(),
            partitions: partitions.max(1),
            appended: Arc::new(Notify::new()),
            poison,
        }
    }

    fn key(&self, partition: u32) -> String {
        format!("{}points:{partition}", self.prefix)
    }

    /// `XADD` of `points` to `partition`'s stream on `conn`.
    async fn append_on(
        &self,
        conn: &mut MultiplexedConnection,
        partition: u32,
        points: &[StreamPoint],
    ) -> Result<LogPosition, StoreError> {
        let key = self.key(partition);
        let entry = encode_points(points);
        let add = redis::cmd("XADD").arg(&key).arg("*").arg("points").arg(&entry).to_owned();
        let id: String = match add.query_async(conn).await {
            Ok(id) => id,
            Err(error) if moved_entries_ahead(&self.pool, &key).await? => {
                tracing::debug!(%error, "append refused until entries ahead of the clock were moved");
                add.query_async(conn).await?
            }
            Err(error) => return Err(error.into()),
        };
        parse_id(&id)
    }
}

fn parse_id(text: &str) -> Result<LogPosition, StoreError> {
    LogPosition::parse(text).ok_or_else(|| StoreError::Corrupt(format!("stream entry id {text}")))
}

#[async_trait]
impl PointLog for RedisPointLog {
    fn partitions(&self) -> u32 {
        self.partitions
    }

    fn ids_are_times(&self) -> bool {
        true
    }

    /// An append the stream refuses (its last id was pushed to the largest
    /// possible by another producer) moves the entries ahead of the clock
    /// back to now and is tried once more.
    async fn append(&self, partition: u32, points: &[StreamPoint]) -> Result<LogPosition, StoreError> {
        let mut conn = self.pool.get().await?;
        let id = self.append_on(&mut conn, partition, points).await?;
        self.appended.notify_waiters();
        Ok(id)
    }

    /// The entries' `XADD`s go out together on one connection (pipelined
    /// by it), not one round trip after the other.
    async fn append_all(&self, entries: &[(u32, Vec<StreamPoint>)]) -> Result<(), StoreError> {
        let conn = self.pool.get().await?;
        let appends = entries.iter().map(|(partition, points)| {
            let mut conn: MultiplexedConnection = (*conn).clone();
            async move { self.append_on(&mut conn, *partition, points).await }
        });
        let appended = futures::future::join_all(appends).await;
        self.appended.notify_waiters();
        appended.into_iter().try_for_each(|id| id.map(|_| ()))
    }

    async fn read_after(&self, partition: u32, after: LogPosition, count: usize) -> Result<Vec<LogEntry>, StoreError> {
        let key = self.key(partition);
        let mut conn = self.pool.get().await?;
        let mut entries: Vec<RawEntry> = redis::cmd("XRANGE")
            .arg(&key)
            .arg(format!("({after}"))
            .arg("+")
            .arg("COUNT")
            .arg(count.max(1))
            .query_async(&mut conn)
            .await?;
        drop(conn);
        cut_before_ids_ahead(&self.pool, &key, &mut entries).await?;
        let mut read = Vec::with_capacity(entries.len());
        for (id, fields) in entries {
            let id = parse_id(&id)?;
            let (points, malformed, reason) = decode_entry(&fields, partition, self.partitions);
            if let Some(reason) = reason
                && let Err(error) = self.poison.dead_letter(&key, partition, id, &fields, &reason).await
            {
                // Skipped and counted all the same: a dead-letter stream that
                // cannot be written must not stop the partition.
                tracing::warn!(%error, stream = key, entry = %id, "could not copy an entry to the dead letters");
            }
            read.push(LogEntry { id, points, malformed });
        }
        Ok(read)
    }

    /// `XREAD BLOCK` on every owned partition after its position: wakes on
    /// any producer's append, at once, without polling.
    async fn wait_for_appends(&self, positions: &[(u32, LogPosition)], timeout: Duration) {
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

    async fn acknowledge(&self, partition: u32, upto: LogPosition) -> Result<(), StoreError> {
        let mut conn = self.pool.get().await?;
        let first_kept = LogPosition { major: upto.major, minor: upto.minor.saturating_add(1) };
        let _: i64 = redis::cmd("XTRIM")
            .arg(self.key(partition))
            .arg("MINID")
            .arg(first_kept.to_string())
            .query_async(&mut conn)
            .await?;
        Ok(())
    }

    async fn entries_after(&self, partition: u32, _after: LogPosition) -> Result<u64, StoreError> {
        // Entries up to the position are trimmed once durable, so the
        // stream's length is what lies after it (plus a batch being trimmed).
        let mut conn = self.pool.get().await?;
        let length: u64 = redis::cmd("XLEN").arg(self.key(partition)).query_async(&mut conn).await?;
        Ok(length)
    }
}
