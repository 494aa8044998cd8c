//! Redis adapters: the shared model cache, the pub/sub invalidation bus,
//! the platform-wide latency window and the point log (Redis Streams). Keys carry a configurable prefix so
//! that several deployments (or tests) share one Redis without clashing.

mod anomaly_feed;
mod bus;
mod cache;
mod latency;
mod leases;
mod live_verdicts;
mod poison_entries;
mod stream_log;
mod subscription;

pub use anomaly_feed::RedisAnomalyFeed;
pub use bus::RedisBus;
pub use cache::RedisCache;
pub use latency::RedisLatencyLog;
pub use leases::RedisLeases;
pub use live_verdicts::RedisLiveVerdicts;
pub use stream_log::RedisPointLog;

use crate::StoreError;
use deadpool_redis::{Config, Pool, PoolConfig, Runtime, Timeouts};
use std::time::Duration;
use subscription::{Subscription, subscribe_forever};

/// A connection pool that fails fast when Redis is down, so a request gets
/// a clear 503 instead of hanging.
pub fn redis_pool(url: &str, max_size: usize) -> Result<Pool, StoreError> {
    let mut config = Config::from_url(url);
    let timeout = Some(Duration::from_secs(2));
    config.pool = Some(PoolConfig {
        max_size: max_size.max(1),
        timeouts: Timeouts { wait: timeout, create: timeout, recycle: timeout },
        ..PoolConfig::default()
    });
    Ok(config.create_pool(Some(Runtime::Tokio1))?)
}
