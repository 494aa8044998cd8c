//! The shared model cache between the services and the database: Redis in
//! production, an in-process map in the embedded default.

use crate::StoreError;
use anomaly_core::{ModelRecord, ModelVersion, SeriesId};
use async_trait::async_trait;

/// Hot model parameters, shared by every replica.
#[async_trait]
pub trait ModelCache: Send + Sync {
    /// One cached version, or the cached latest when `version` is `None`.
    async fn get(&self, series_id: &SeriesId, version: Option<ModelVersion>)
    -> Result<Option<ModelRecord>, StoreError>;

    /// Caches `record` under its version only.
    async fn put_version(&self, record: &ModelRecord) -> Result<(), StoreError>;

    /// Caches `record` under its version, and as the latest of its series
    /// unless a newer version is cached already (the latest never goes back).
    /// Only for a record known to be the latest: just fitted, or read as the
    /// latest from the database.
    async fn put_latest(&self, record: &ModelRecord) -> Result<(), StoreError>;

    /// Forgets the versions of `series_id` up to `through` (deleted), and
    /// refuses them from now on, so that a lookup that read one before the
    /// delete cannot put it back. A newer latest stays.
    async fn forget(&self, series_id: &SeriesId, through: ModelVersion) -> Result<(), StoreError>;

    /// Checks that the cache answers.
    async fn ping(&self) -> Result<(), StoreError>;

    /// `redis` or `memory`.
    fn backend(&self) -> &'static str;
}
