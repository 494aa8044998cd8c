//! Finding a model: process-local cache, then the shared cache, then the
//! database, filling the layers above on the way back. A failing shared
//! cache is skipped (logged), so predictions go on from the database; while
//! invalidations are not heard, models come from the database alone.

use crate::LocalCache;
use anomaly_core::{ModelRecord, ModelVersion, SeriesId};
use anomaly_store::{Backends, StoreError};
use metrics::Counter;
use std::sync::Arc;

/// The model lookup of one infer process.
pub struct ModelLookup {
    local: Arc<LocalCache>,
    backends: Backends,
    counts: LayerCounts,
}

/// `anomaly_model_lookups_total{layer, result}`: hits and misses per layer.
struct LayerCounts {
    local: [Counter; 2],
    shared: [Counter; 2],
    database: [Counter; 2],
}

impl LayerCounts {
    fn new() -> Self {
        anomaly_http::metrics::install();
        let pair = |layer: &'static str| {
            [
                metrics::counter!("anomaly_model_lookups_total", "layer" => layer, "result" => "hit"),
                metrics::counter!("anomaly_model_lookups_total", "layer" => layer, "result" => "miss"),
            ]
        };
        Self { local: pair("local"), shared: pair("shared"), database: pair("database") }
    }
}

/// Counts a hit (`found`) or a miss on one layer.
fn count(layer: &[Counter; 2], found: bool) {
    layer[usize::from(!found)].increment(1);
}

impl ModelLookup {
    /// A lookup over `local` and the shared `backends`.
    pub fn new(local: Arc<LocalCache>, backends: Backends) -> Self {
        Self { local, backends, counts: LayerCounts::new() }
    }

    /// The model for `(series_id, version)`, `None` for latest; `Ok(None)`
    /// when the series or version does not exist.
    pub async fn find(
        &self,
        series_id: &SeriesId,
        version: Option<ModelVersion>,
    ) -> Result<Option<Arc<ModelRecord>>, StoreError> {
        if let Some(hit) = self.local.get(series_id, version) {
            count(&self.counts.local, true);
            return Ok(Some(hit));
        }
        count(&self.counts.local, false);
        let epoch = self.local.epoch();
        // The shared cache is trusted only while invalidations are heard: a
        // fit committed during an outage may be missing there, and a series
        // deleted during one may still be there.
        let shared_trusted = self.local.is_live();
        // Debug, not warn: during an outage this runs on every predict, and
        // the healthcheck and the bus already report the cache as down.
        let (cached, cache_up) = if shared_trusted {
            match self.backends.cache.get(series_id, version).await {
                Ok(found) => (found, true),
                Err(error) => {
                    tracing::debug!(%error, "shared cache unavailable; reading the database");
                    (None, false)
                }
            }
        } else {
            (None, false)
        };
        if cache_up {
            count(&self.counts.shared, cached.is_some());
        }
        let record = match cached {
            Some(record) => record,
            None => {
                let stored = self.backends.store.model(series_id, version).await?;
                count(&self.counts.database, stored.is_some());
                let Some(record) = stored else { return Ok(None) };
                if cache_up {
                    let filled = match version {
                        Some(_) => self.backends.cache.put_version(&record).await,
                        None => self.backends.cache.put_latest(&record).await,
                    };
                    if let Err(error) = filled {
                        tracing::debug!(%error, "could not fill the shared cache");
                    }
                }
                record
            }
        };
        let record = Arc::new(record);
        self.local.insert(series_id, version, record.clone(), epoch);
        Ok(Some(record))
    }

    /// Whether the series has any model (to tell a missing version from a
    /// missing series).
    pub async fn series_exists(&self, series_id: &SeriesId) -> Result<bool, StoreError> {
        Ok(self.find(series_id, None).await?.is_some())
    }
}
