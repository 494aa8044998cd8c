//! Running a platform detector over a labelled series exactly as the stream
//! worker would: one point at a time, judged then learnt. The anomaly score
//! of a row is 1 when the detector flags it, else 0, so what is scored is
//! what the platform serves. 3-sigma, which only exists fitted, is fitted on
//! the probation period (the rows NAB does not score) and then frozen.

use super::corpus::LabelledSeries;
use super::scorer::probation_length;
use anomaly_core::{DetectorConfig, OnlineDetector, TrainingSeries};
use std::time::{Duration, Instant};

/// A detector's anomaly scores for one file and the time it took.
#[derive(Debug, Clone, PartialEq)]
pub struct Scores {
    /// One per row: 1 for a flagged row, else 0.
    pub scores: Vec<f64>,
    /// Time spent judging and learning (fitting included for 3-sigma).
    pub elapsed: Duration,
    /// Size of the detector's checkpoint (its JSON, as the stream stores it) after the file.
    pub state_bytes: usize,
}

/// Runs `config` over `series`.
pub fn run_detector(config: &DetectorConfig, series: &LabelledSeries) -> Scores {
    let started = Instant::now();
    let model = match config.start() {
        Some(model) => Some(model),
        None => {
            let rows = probation_length(series.values.len()).max(config.points_needed()).min(series.values.len());
            TrainingSeries::new(series.timestamps[..rows].to_vec(), series.values[..rows].to_vec(), 1)
                .and_then(|training| config.fit(&training))
                .ok()
        }
    };
    let Some(mut model) = model else {
        return Scores { scores: vec![0.0; series.values.len()], elapsed: started.elapsed(), state_bytes: 0 };
    };
    let scores = series.values.iter().map(|v| f64::from(u8::from(model.update(*v).is_anomaly()))).collect();
    let elapsed = started.elapsed();
    let state_bytes = serde_json::to_string(&model).map_or(0, |json| json.len());
    Scores { scores, elapsed, state_bytes }
}
