//! The detectors `anomaly eval` and `anomaly tune` are asked for: kinds
//! and `key=value` parameters, validated as a fit would, and their names.

use anomaly_core::DetectorConfig;
use anyhow::Context;
use serde_json::{Map, Value};

/// The detector configurations asked for (every kind with defaults when
/// none is named), validated as a fit would: each
/// `key=value` is the JSON a fit's `detector` object holds (a value that is
/// not JSON is a string, so `direction=upper` works unquoted).
pub fn detector_configs(kinds: &[String], params: &[String]) -> anyhow::Result<Vec<DetectorConfig>> {
    let given = params.iter().map(|param| parse_param(param)).collect::<anyhow::Result<Map<String, Value>>>()?;
    let kinds: Vec<String> = if kinds.is_empty() {
        DetectorConfig::kinds_with_defaults().map(|k| k.to_owned()).collect()
    } else {
        kinds.to_vec()
    };
    kinds
        .iter()
        .map(|kind| {
            let mut choice = given.clone();
            choice.insert("kind".to_owned(), Value::String(kind.clone()));
            DetectorConfig::from_json(choice).map_err(|e| anyhow::anyhow!("{kind}: {e}"))
        })
        .collect()
}

fn parse_param(param: &str) -> anyhow::Result<(String, Value)> {
    let (key, value) = param.split_once('=').with_context(|| format!("parameter {param:?} is not key=value"))?;
    let value = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_owned()));
    Ok((key.to_owned(), value))
}

/// A detector's name with its parameters, e.g. `rolling_zscore(window=50,threshold=3)`.
pub fn describe(config: &DetectorConfig) -> String {
    let value = serde_json::to_value(config).unwrap_or_default();
    let params: Vec<String> = value
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(key, _)| *key != "kind")
        .map(|(key, value)| format!("{key}={}", value.as_str().map_or_else(|| value.to_string(), str::to_owned)))
        .collect();
    format!("{}({})", config.kind(), params.join(","))
}
