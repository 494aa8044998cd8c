//! [`ModelCache`] on Redis. Per series: `{prefix}model:{<id>}:<n>` holds a
//! version, the hash `{prefix}latest:{<id>}` the newest one. The braces make
//! both keys of a series land on one Redis Cluster slot.

use crate::{ModelCache, StoreError, model_json};
use anomaly_core::{ModelRecord, ModelVersion, SeriesId};
use async_trait::async_trait;
use deadpool_redis::Pool;
use redis::Script;

/// Writes a version and moves "latest" forward, never back, in one step.
const PUT_SCRIPT: &str = r"
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
local current = tonumber(redis.call('HGET', KEYS[2], 'version') or '0')
if tonumber(ARGV[1]) > current then
  redis.call('HSET', KEYS[2], 'version', ARGV[1], 'body', ARGV[2])
  redis.call('EXPIRE', KEYS[2], ARGV[3])
end
return current
";

/// Model cache in Redis.
#[derive(Clone)]
pub struct RedisCache {
    pool: Pool,
    prefix: String,
    ttl_seconds: u64,
    put_script: Script,
}

impl RedisCache {
    /// A cache on `pool`; entries expire after `ttl_seconds` (a cache, not the truth).
    pub fn new(pool: Pool, prefix: &str, ttl_seconds: u64) -> Self {
        Self { pool, prefix: prefix.to_owned(), ttl_seconds: ttl_seconds.max(1), put_script: Script::new(PUT_SCRIPT) }
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
        let mut conn = self.pool.get().await?;
        let _: () = redis::cmd("SET")
            .arg(self.version_key(&record.series_id, record.version))
            .arg(model_json::encode(record))
            .arg("EX")
            .arg(self.ttl_seconds)
            .query_async(&mut conn)
            .await?;
        Ok(())
    }

    async fn put_latest(&self, record: &ModelRecord) -> Result<(), StoreError> {
        let mut conn = self.pool.get().await?;
        let _: i64 = self
            .put_script
            .key(self.version_key(&record.series_id, record.version))
            .key(self.latest_key(&record.series_id))
            .arg(record.version.number())
            .arg(model_json::encode(record))
            .arg(self.ttl_seconds)
            .invoke_async(&mut conn)
            .await?;
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
