//! The detectors `anomaly eval` and `anomaly tune` are asked for: kinds
//! and `key=value` parameters, validated as a fit would, and their names.

use anomaly_core::{DetectorConfig, DetectorOptions};
use anyhow::{Context, bail};

/// The detector configurations asked for, validated as a fit would.
pub fn detector_configs(kinds: &[String], params: &[String]) -> anyhow::Result<Vec<DetectorConfig>> {
    let kinds: Vec<String> =
        if kinds.is_empty() { DetectorConfig::KINDS.iter().map(|k| (*k).to_owned()).collect() } else { kinds.to_vec() };
    kinds
        .iter()
        .map(|kind| {
            let mut options = DetectorOptions { kind: Some(kind.clone()), ..Default::default() };
            for param in params {
                set_param(&mut options, param)?;
            }
            DetectorConfig::from_options(&options).map_err(|e| anyhow::anyhow!("{kind}: {e}"))
        })
        .collect()
}

fn set_param(options: &mut DetectorOptions, param: &str) -> anyhow::Result<()> {
    let (key, value) = param.split_once('=').with_context(|| format!("parameter {param:?} is not key=value"))?;
    let number = || value.parse::<f64>().with_context(|| format!("parameter {key}: {value:?} is not a number"));
    let count = || value.parse::<u32>().with_context(|| format!("parameter {key}: {value:?} is not a count"));
    match key {
        "window" => options.window = Some(count()?),
        "warmup" => options.warmup = Some(count()?),
        "threshold" => options.threshold = Some(number()?),
        "alpha" => options.alpha = Some(number()?),
        "tolerance" => options.tolerance = Some(number()?),
        "quiet" => options.quiet = Some(count()?),
        "change" => options.change = Some(number()?),
        "seasonal" => options.seasonal = Some(number()?),
        "resonance" => options.resonance = Some(number()?),
        "probation" => options.probation = Some(count()?),
        "direction" => options.direction = Some(value.to_owned()),
        other => {
            bail!(
                "parameter {other} is unknown; known: window, warmup, threshold, alpha, direction, tolerance, quiet, change, seasonal, resonance, probation"
            )
        }
    }
    Ok(())
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
