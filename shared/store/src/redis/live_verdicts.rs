//! [`LiveVerdicts`] on Redis: the watched series are the sorted set
//! `{prefix}watched_series` (member: the series, score: until when, Unix
//! ms), which every stream worker reads; verdicts go out on the pub/sub
//! channel `{prefix}verdicts`, one message per batch (a JSON array), which
//! each monitor process subscribes to once and hands to its clients.

use super::{Subscription, subscribe_forever};
use crate::clock::unix_millis;
use crate::ports::live_verdicts::VERDICT_BUFFER;
use crate::{LiveVerdict, LiveVerdicts, StoreError};
use anomaly_core::SeriesId;
use async_trait::async_trait;
use deadpool_redis::Pool;
use std::collections::HashSet;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::broadcast;

/// Watched series and verdicts through Redis.
pub struct RedisLiveVerdicts {
    client: redis::Client,
    pool: Pool,
    watched_key: String,
    channel: String,
    /// Started by the first subscriber; lives as long as this.
    sender: OnceLock<broadcast::Sender<Arc<LiveVerdict>>>,
}

impl RedisLiveVerdicts {
    /// On the Redis at `url`, writing through `pool`.
    pub fn new(url: &str, pool: Pool, prefix: &str) -> Result<Self, StoreError> {
        Ok(Self {
            client: redis::Client::open(url)?,
            pool,
            watched_key: format!("{prefix}watched_series"),
            channel: format!("{prefix}verdicts"),
            sender: OnceLock::new(),
        })
    }
}

#[async_trait]
impl LiveVerdicts for RedisLiveVerdicts {
    async fn watch(&self, series_id: &SeriesId, ttl: Duration) -> Result<(), StoreError> {
        let now = unix_millis();
        let until = now + ttl.as_millis() as i64;
        let mut conn = self.pool.get().await?;
        let () = redis::pipe()
            .cmd("ZREMRANGEBYSCORE")
            .arg(&self.watched_key)
            .arg("-inf")
            .arg(now)
            .ignore()
            // GT: a shorter watch never cuts a longer one short.
            .cmd("ZADD")
            .arg(&self.watched_key)
            .arg("GT")
            .arg(until)
            .arg(series_id.as_str())
            .ignore()
            .query_async(&mut conn)
            .await?;
        Ok(())
    }

    async fn watched(&self) -> Result<HashSet<SeriesId>, StoreError> {
        let mut conn = self.pool.get().await?;
        let ids: Vec<String> = redis::cmd("ZRANGEBYSCORE")
            .arg(&self.watched_key)
            .arg(format!("({}", unix_millis()))
            .arg("+inf")
            .query_async(&mut conn)
            .await?;
        Ok(ids.iter().filter_map(|id| SeriesId::parse(id).ok()).collect())
    }

    async fn publish(&self, verdicts: &[LiveVerdict]) -> Result<(), StoreError> {
        if verdicts.is_empty() {
            return Ok(());
        }
        let message = serde_json::to_string(verdicts).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut conn = self.pool.get().await?;
        let _: i64 = redis::cmd("PUBLISH").arg(&self.channel).arg(message).query_async(&mut conn).await?;
        Ok(())
    }

    fn subscribe(&self) -> broadcast::Receiver<Arc<LiveVerdict>> {
        self.sender
            .get_or_init(|| {
                let (sender, _) = broadcast::channel(VERDICT_BUFFER);
                tokio::spawn(relay(self.client.clone(), self.channel.clone(), sender.downgrade()));
                sender
            })
            .subscribe()
    }
}

/// Hands the channel's verdicts to this process's subscribers until the
/// [`RedisLiveVerdicts`] is dropped.
async fn relay(client: redis::Client, channel: String, sender: broadcast::WeakSender<Arc<LiveVerdict>>) {
    let mut subscription = subscribe_forever(client, channel);
    while let Some(report) = subscription.recv().await {
        let Some(sender) = sender.upgrade() else { return };
        let Subscription::Message(message) = report else { continue };
        let Ok(payload) = message.get_payload::<String>() else { continue };
        match serde_json::from_str::<Vec<LiveVerdict>>(&payload) {
            Ok(verdicts) => {
                for verdict in verdicts {
                    let _ = sender.send(Arc::new(verdict));
                }
            }
            Err(error) => tracing::debug!(%error, "skipped a verdict message that does not parse"),
        }
    }
}
