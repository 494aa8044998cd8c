//! Bringing the shared cache and the replicas up to what the database
//! holds. A fit commits its version together with a row in the
//! `cache_repairs` outbox; [`Backends::announce`] then writes the version
//! to the shared cache, publishes the invalidation and clears the row. When
//! that fails (Redis down, or the process dies in between), the row stays,
//! and [`Backends::repair`] finishes the work later: train runs it every
//! second, and each infer replica runs it (without announcing) before it
//! trusts the shared cache's "latest" again after an outage.

use crate::{Backends, StoreError};
use anomaly_core::ModelRecord;

/// Series repaired per round at most.
const REPAIR_BATCH: u32 = 1000;

/// What [`Backends::repair`] does for each owed series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repair {
    /// Write the latest version to the shared cache, announce it to every
    /// replica and clear the series' row (train).
    CacheAndAnnounce,
    /// Only write the latest version to the shared cache; the row stays for
    /// an announcing repair (an infer replica whose own local cache was
    /// just reset, and which must not wait for its own acknowledgement).
    CacheOnly,
}

impl Backends {
    /// Makes a just-stored version visible everywhere: the shared cache's
    /// "latest", an invalidation acknowledged by every live replica, then
    /// the outbox row cleared.
    pub async fn announce(&self, record: &ModelRecord) -> Result<(), StoreError> {
        self.cache.put_latest(record).await?;
        self.bus.publish(&record.series_id).await?;
        self.store.cache_repaired(&record.series_id, record.version).await
    }

    /// Brings every series owed to the shared cache up to its latest stored
    /// version; returns how many were repaired. Stops at the first failure
    /// (the rest stay owed).
    pub async fn repair(&self, how: Repair) -> Result<usize, StoreError> {
        let owed = self.store.cache_repairs(REPAIR_BATCH).await?;
        for series_id in &owed {
            let Some(latest) = self.store.model(series_id, None).await? else { continue };
            match how {
                Repair::CacheAndAnnounce => self.announce(&latest).await?,
                Repair::CacheOnly => self.cache.put_latest(&latest).await?,
            }
        }
        Ok(owed.len())
    }
}
