//! Bringing the shared cache and the replicas up to what the database
//! holds. A fit (or a delete) commits together with a row in the
//! `cache_repairs` outbox; [`Backends::announce`] (or
//! [`Backends::announce_deleted`]) then writes the shared cache, publishes
//! the invalidation and clears the row. When that fails (Redis down, or the
//! process dies in between), the row stays, and [`Backends::repair`]
//! finishes the work later: train runs it every second, and each infer
//! replica runs it (without announcing) before it trusts the shared cache's
//! "latest" again after an outage.

use crate::{Backends, Change, StoreError};
use anomaly_core::{ModelRecord, ModelVersion, SeriesId};

/// Series repaired per round at most.
const REPAIR_BATCH: u32 = 1000;

/// What [`Backends::repair`] does for each owed series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repair {
    /// Bring the shared cache up to the database (deleted versions
    /// forgotten, the latest version written), announce it to every replica
    /// and clear the series' row (train).
    CacheAndAnnounce,
    /// Only bring the shared cache up to the database; the row stays for an
    /// announcing repair (an infer replica whose own local cache was just
    /// reset, and which must not wait for its own acknowledgement).
    CacheOnly,
}

impl Backends {
    /// Makes a just-stored version visible everywhere: the shared cache's
    /// "latest", an invalidation acknowledged by every live replica, then
    /// the outbox row cleared.
    pub async fn announce(&self, record: &ModelRecord) -> Result<(), StoreError> {
        self.cache.put_latest(record).await?;
        self.bus.publish(&record.series_id, Change::NewVersion).await?;
        self.store.cache_repaired(&record.series_id, record.version).await
    }

    /// Makes a delete (of the versions up to `through`) visible everywhere:
    /// forgotten by the shared cache, then by every live replica, then the
    /// outbox row cleared.
    pub async fn announce_deleted(&self, series_id: &SeriesId, through: ModelVersion) -> Result<(), StoreError> {
        self.cache.forget(series_id, through).await?;
        self.bus.publish(series_id, Change::Deleted).await?;
        self.store.cache_forgotten(series_id, through).await?;
        self.store.cache_repaired(series_id, through).await
    }

    /// Brings every series owed to the shared cache up to the database;
    /// returns how many were repaired. Stops at the first failure (the rest
    /// stay owed).
    pub async fn repair(&self, how: Repair) -> Result<usize, StoreError> {
        let owed = self.store.cache_repairs(REPAIR_BATCH).await?;
        for series in &owed {
            let series_id = &series.series_id;
            if let Some(through) = series.deleted_through {
                match how {
                    Repair::CacheAndAnnounce => self.announce_deleted(series_id, through).await?,
                    Repair::CacheOnly => self.cache.forget(series_id, through).await?,
                }
            }
            let Some(latest) = self.store.model(series_id, None).await? else { continue };
            match how {
                Repair::CacheAndAnnounce => self.announce(&latest).await?,
                Repair::CacheOnly => self.cache.put_latest(&latest).await?,
            }
        }
        Ok(owed.len())
    }
}
