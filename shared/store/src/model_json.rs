//! The serialized forms of a model: the cache's JSON of a whole record
//! (readable with `redis-cli GET`), and the `params` column, the JSON of
//! the detector with its learnt state. Both read entries written before
//! models had kinds (no detector: 3-sigma from the plain fields).

use crate::StoreError;
use anomaly_core::{Direction, Model, ModelParams, ModelRecord, ModelVersion, SeriesId};
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
    /// The detector and its state; absent in entries of 3-sigma-only times.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    model: Option<Model>,
}

/// The fields of a stored model, as a row or a cache entry holds them.
pub(crate) struct StoredParts<'a> {
    pub mean: f64,
    pub std: f64,
    pub threshold: f64,
    pub direction: &'a str,
    pub points_used: u64,
    /// The `params` JSON; empty for versions stored before kinds.
    pub params: &'a str,
}

/// The JSON of `model` for the `params` column.
pub(crate) fn encode_model(model: &Model) -> String {
    serde_json::to_string(model).unwrap_or_default()
}

/// Builds the parameters from stored fields.
pub(crate) fn params_from_parts(parts: StoredParts<'_>) -> Result<ModelParams, StoreError> {
    let corrupt = |why: String| StoreError::Corrupt(format!("stored model: {why}"));
    if parts.params.is_empty() {
        let direction = Direction::parse(parts.direction).map_err(|e| corrupt(e.to_string()))?;
        return ModelParams::three_sigma(parts.mean, parts.std, parts.threshold, direction, parts.points_used)
            .map_err(|e| corrupt(e.to_string()));
    }
    let model: Model = serde_json::from_str(parts.params).map_err(|e| corrupt(e.to_string()))?;
    Ok(ModelParams { model, mean: parts.mean, std: parts.std, points_used: parts.points_used })
}

/// Serializes a record for the cache.
pub(crate) fn encode(record: &ModelRecord) -> String {
    let params = &record.params;
    let cached = CachedModel {
        series_id: record.series_id.as_str(),
        version: record.version.number(),
        mean: params.mean,
        std: params.std,
        threshold: params.threshold(),
        direction: params.direction().as_str(),
        points_used: params.points_used,
        trained_at_ms: record.trained_at_ms,
        model: Some(params.model.clone()),
    };
    serde_json::to_string(&cached).unwrap_or_default()
}

/// Reads a record written by [`encode`] (or by a version before kinds).
pub(crate) fn decode(text: &str) -> Result<ModelRecord, StoreError> {
    let corrupt = |why: String| StoreError::Corrupt(format!("cached model: {why}"));
    let cached: CachedModel<'_> = serde_json::from_str(text).map_err(|e| corrupt(e.to_string()))?;
    let params = match cached.model {
        Some(model) => ModelParams { model, mean: cached.mean, std: cached.std, points_used: cached.points_used },
        None => params_from_parts(StoredParts {
            mean: cached.mean,
            std: cached.std,
            threshold: cached.threshold,
            direction: cached.direction,
            points_used: cached.points_used,
            params: "",
        })?,
    };
    Ok(ModelRecord {
        series_id: SeriesId::parse(cached.series_id).map_err(|e| corrupt(e.to_string()))?,
        version: ModelVersion::new(cached.version).ok_or_else(|| corrupt("version 0".into()))?,
        params,
        trained_at_ms: cached.trained_at_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_an_entry_from_before_kinds() {
        let old = r#"{"series_id":"cpu","version":2,"mean":10.0,"std":2.0,"threshold":3.0,"direction":"upper","points_used":5,"trained_at_ms":7}"#;
        let record = decode(old).expect("decodes");
        assert_eq!(record.params.model.kind(), "three_sigma");
        assert_eq!((record.params.threshold(), record.params.direction()), (3.0, Direction::Upper));
        let again = decode(&encode(&record)).expect("round trip");
        assert_eq!(again, record);
    }
}
