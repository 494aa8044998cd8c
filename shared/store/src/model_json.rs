//! The cache's serialized form of a model record (JSON, readable with
//! `redis-cli GET`).

use crate::StoreError;
use anomaly_core::{Direction, ModelParams, ModelRecord, ModelVersion, SeriesId};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct CachedModel<'a> {
    series_id: &'a str,
    version: u32,
    mean: f64,
    std: f64,
    threshold: f64,
    direction: &'a str,
    points_used: u64,
    trained_at_ms: i64,
}

/// Serializes a record for the cache.
pub(crate) fn encode(record: &ModelRecord) -> String {
    let cached = CachedModel {
        series_id: record.series_id.as_str(),
        version: record.version.number(),
        mean: record.params.mean,
        std: record.params.std,
        threshold: record.params.threshold,
        direction: record.params.direction.as_str(),
        points_used: record.params.points_used,
        trained_at_ms: record.trained_at_ms,
    };
    serde_json::to_string(&cached).unwrap_or_default()
}

/// Reads a record written by [`encode`].
pub(crate) fn decode(text: &str) -> Result<ModelRecord, StoreError> {
    let corrupt = |why: String| StoreError::Corrupt(format!("cached model: {why}"));
    let cached: CachedModel<'_> = serde_json::from_str(text).map_err(|e| corrupt(e.to_string()))?;
    Ok(ModelRecord {
        series_id: SeriesId::parse(cached.series_id).map_err(|e| corrupt(e.to_string()))?,
        version: ModelVersion::new(cached.version).ok_or_else(|| corrupt("version 0".into()))?,
        params: ModelParams {
            mean: cached.mean,
            std: cached.std,
            threshold: cached.threshold,
            direction: Direction::parse(cached.direction).map_err(|e| corrupt(e.to_string()))?,
            points_used: cached.points_used,
        },
        trained_at_ms: cached.trained_at_ms,
    })
}
