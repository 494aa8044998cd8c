//! [`PartitionLeases`] in Redis: `{prefix}lease:{p}` holds the owner's id
//! with an expiry (`SET PX` when free or already its own), `{prefix}lease_epoch:{p}` the last epoch
//! handed out (`INCR`, raised to the stored one when behind), and the sorted
//! set `{prefix}workers` each worker's last heartbeat.

use crate::StoreError;
use crate::ports::leases::PartitionLeases;
use async_trait::async_trait;
use deadpool_redis::Pool;
use redis::Script;
use std::time::Duration;

/// Takes a lease that is free, or held under this worker's own name (its
/// earlier run, restarted with the same `STREAM_WORKER_ID`), and hands out
/// the next epoch (at least ARGV[3]), which fences off that earlier run.
const ACQUIRE: &str = r"
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  local epoch = redis.call('INCR', KEYS[2])
  if epoch < tonumber(ARGV[3]) then
    epoch = tonumber(ARGV[3])
    redis.call('SET', KEYS[2], epoch)
  end
  return epoch
end
return false
";

/// Extends a lease its owner still holds.
const RENEW: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
";

/// Deletes a lease its owner still holds.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
";

/// Leases in Redis.
pub struct RedisLeases {
    pool: Pool,
    prefix: String,
    ttl: Duration,
    acquire: Script,
    renew: Script,
    release: Script,
}

impl RedisLeases {
    /// Leases under `prefix` that expire `ttl` after their last renewal.
    pub fn new(pool: Pool, prefix: &str, ttl: Duration) -> Self {
        Self {
            pool,
            prefix: prefix.to_owned(),
            ttl,
            acquire: Script::new(ACQUIRE),
            renew: Script::new(RENEW),
            release: Script::new(RELEASE),
        }
    }

    fn lease_key(&self, partition: u32) -> String {
        format!("{}lease:{partition}", self.prefix)
    }

    fn ttl_ms(&self) -> u64 {
        self.ttl.as_millis() as u64
    }
}

fn now_ms() -> u64 {
    crate::unix_millis().max(0) as u64
}

#[async_trait]
impl PartitionLeases for RedisLeases {
    async fn heartbeat(&self, worker: &str) -> Result<u32, StoreError> {
        let key = format!("{}workers", self.prefix);
        let now = now_ms();
        let mut conn = self.pool.get().await?;
        let (_, _, live): ((), (), u32) = redis::pipe()
            .cmd("ZADD")
            .arg(&key)
            .arg(now)
            .arg(worker)
            .cmd("ZREMRANGEBYSCORE")
            .arg(&key)
            .arg("-inf")
            .arg(format!("({}", now.saturating_sub(self.ttl_ms())))
            .cmd("ZCARD")
            .arg(&key)
            .query_async(&mut conn)
            .await?;
        Ok(live.max(1))
    }

    async fn acquire(&self, worker: &str, partition: u32, min_epoch: u64) -> Result<Option<u64>, StoreError> {
        let mut conn = self.pool.get().await?;
        let epoch: Option<u64> = self
            .acquire
            .key(self.lease_key(partition))
            .key(format!("{}lease_epoch:{partition}", self.prefix))
            .arg(worker)
            .arg(self.ttl_ms())
            .arg(min_epoch)
            .invoke_async(&mut conn)
            .await?;
        Ok(epoch)
    }

    async fn renew(&self, worker: &str, partition: u32) -> Result<bool, StoreError> {
        let mut conn = self.pool.get().await?;
        let renewed: i64 =
            self.renew.key(self.lease_key(partition)).arg(worker).arg(self.ttl_ms()).invoke_async(&mut conn).await?;
        Ok(renewed == 1)
    }

    async fn release(&self, worker: &str, partition: u32) -> Result<(), StoreError> {
        let mut conn = self.pool.get().await?;
        let _: i64 = self.release.key(self.lease_key(partition)).arg(worker).invoke_async(&mut conn).await?;
        Ok(())
    }

    fn lease(&self) -> Duration {
        self.ttl
    }

    async fn leave(&self, worker: &str) -> Result<(), StoreError> {
        let mut conn = self.pool.get().await?;
        let _: i64 =
            redis::cmd("ZREM").arg(format!("{}workers", self.prefix)).arg(worker).query_async(&mut conn).await?;
        Ok(())
    }
}
