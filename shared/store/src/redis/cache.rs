//! [`ModelCache`] on Redis. Per series: `{prefix}model:{<id>}:<n>` holds a
//! version, the hash `{prefix}latest:{<id>}` the newest one (`version`,
//! `body`) and, once the series was deleted, `deleted`: the last version
//! removed, below which nothing is cached again. The braces make all keys of
//! a series land on one Redis Cluster slot.

use crate::{ModelCache, StoreError, model_json};
use anomaly_core::{ModelRecord, ModelVersion, SeriesId};
use async_trait::async_trait;
use deadpool_redis::Pool;
use redis::Script;

/// Writes a version, unless it was deleted, and with `ARGV[4]` = `latest`
/// moves "latest" forward, never back, in one step.
const PUT_SCRIPT: &str = r"
local version = tonumber(ARGV[1])
if version <= tonumber(redis.call('HGET', KEYS[2], 'deleted') or '0') then
  return 0
end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
if ARGV[4] == 'latest' and version > tonumber(redis.call('HGET', KEYS[2], 'version') or '0') then
  redis.call('HSET', KEYS[2], 'version', ARGV[1], 'body', ARGV[2])
  redis.call('EXPIRE', KEYS[2], ARGV[3])
end
return 1
";

/// Marks versions up to `ARGV[1]` deleted (dropping "latest" unless it is
/// newer), so that no put brings them back.
const TOMBSTONE_SCRIPT: &str = r"
local through = tonumber(ARGV[1])
if through > tonumber(redis.call('HGET', KEYS[1], 'deleted') or '0') then
  redis.call('HSET', KEYS[1], 'deleted', ARGV[1])
end
if tonumber(redis.call('HGET', KEYS[1], 'version') or '0') <= through then
  redis.call('HSET', KEYS[1], 'version', ARGV[1])
  redis.call('HDEL', KEYS[1], 'body')
end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
";

/// Version keys removed per round trip when a series is deleted.
const UNLINK_BATCH: usize = 1000;

/// Model cache in Redis.
#[derive(Clone)]
pub struct RedisCache {
    pool: Pool,
    prefix: String,
    ttl_seconds: u64,
    put_script: Script,
    tombstone_script: Script,
}

impl RedisCache {
    /// A cache on `pool`; entries expire after `ttl_seconds` (a cache, not the truth).
    pub fn new(pool: Pool, prefix: &str, ttl_seconds: u64) -> Self {
        Self {
            pool,
            prefix: prefix.to_owned(),
            ttl_seconds: ttl_seconds.max(1),
            put_script: Script::new(PUT_SCRIPT),
            tombstone_script: Script::new(TOMBSTONE_SCRIPT),
        }
    }

    /// Caches `record` under its version and, with `as_latest`, as latest.
    async fn put(&self, record: &ModelRecord, as_latest: bool) -> Result<(), StoreError> {
        let mut conn = self.pool.get().await?;
        let _: i64 = self
            .put_script
            .key(self.version_key(&record.series_id, record.version))
            .key(self.latest_key(&record.series_id))
            .arg(record.version.number())
            .arg(model_json::encode(record))
            .arg(self.ttl_seconds)
            .arg(if as_latest { "latest" } else { "version" })
            .invoke_async(&mut conn)
            .await?;
        Ok(())
    }

    fn version_key(&self, series_id: &SeriesId, version: ModelVersion) -> String {
        format!("{}model:{{{}}}:{}", self.prefix, series_id, version.number())
    }

    fn latest_key(&self, series_id: &SeriesId) -> String {
        format!("{}latest:{{{}}}", self.prefix, series_id)
    }
}

#[async_trait]
impl ModelCache for RedisCache {
    async fn get(
        &self,
        series_id: &SeriesId,
        version: Option<ModelVersion>,
    ) -> Result<Option<ModelRecord>, StoreError> {
        let mut conn = self.pool.get().await?;
        let body: Option<String> = match version {
            Some(v) => redis::cmd("GET").arg(self.version_key(series_id, v)).query_async(&mut conn).await?,
            None => redis::cmd("HGET").arg(self.latest_key(series_id)).arg("body").query_async(&mut conn).await?,
        };
        body.map(|text| model_json::decode(&text)).transpose()
    }

    async fn put_version(&self, record: &ModelRecord) -> Result<(), StoreError> {
        self.put(record, false).await
    }

    async fn put_latest(&self, record: &ModelRecord) -> Result<(), StoreError> {
        self.put(record, true).await
    }

    async fn forget(&self, series_id: &SeriesId, through: ModelVersion) -> Result<(), StoreError> {
        let mut conn = self.pool.get().await?;
        // The tombstone first: from then on no put brings a version back.
        let _: i64 = self
            .tombstone_script
            .key(self.latest_key(series_id))
            .arg(through.number())
            .arg(self.ttl_seconds)
            .invoke_async(&mut conn)
            .await?;
        for start in (1..=through.number()).step_by(UNLINK_BATCH) {
            let end = start.saturating_add(UNLINK_BATCH as u32 - 1).min(through.number());
            let mut unlink = redis::cmd("UNLINK");
            for version in (start..=end).filter_map(ModelVersion::new) {
                unlink.arg(self.version_key(series_id, version));
            }
            let _: i64 = unlink.query_async(&mut conn).await?;
        }
        Ok(())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.pool.get().await?;
        let _: String = redis::cmd("PING").query_async(&mut conn).await?;
        Ok(())
    }

    fn backend(&self) -> &'static str {
        "redis"
    }
}
