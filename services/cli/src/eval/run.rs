//! Running a platform detector over a labelled series exactly as the stream
//! worker would: one point at a time, judged then learnt. The anomaly score
//! of a row is the platform's graded `anomaly_score` (in [0, 1], at least
//! 0.5 exactly on the rows the platform flags), so what is scored is what
//! the platform serves. 3-sigma, which only exists fitted, is fitted on the
//! probation period (the rows not scored) and then frozen.
//!
//! NAB hands every detector the file's probation length (15% of its rows,
//! at most 750; UCR's training part); unless a run names `probation`
//! itself, novelty's resonance channel gets that length, as it would from
//! NAB's own runner.

use super::corpus::LabelledSeries;
use anomaly_core::detector::LEARN_RANGE;
use anomaly_core::{DetectorConfig, DiscordParams, NoveltyParams, OnlineDetector, TrainingSeries};
use std::time::{Duration, Instant};

/// A detector's anomaly scores for one file and the time it took.
#[derive(Debug, Clone, PartialEq)]
pub struct Scores {
    /// One per row: the graded anomaly score.
    pub scores: Vec<f64>,
    /// Time spent judging and learning (fitting included for 3-sigma).
    pub elapsed: Duration,
    /// Size of the detector's checkpoint (its JSON, as the stream stores it) after the file.
    pub state_bytes: usize,
}

/// The parameter through which `config`'s kind takes a file's probation
/// length (novelty's `probation`, discord's `learn`), and its value.
pub fn probation_param(config: &DetectorConfig) -> Option<(&'static str, u32)> {
    match config {
        DetectorConfig::Novelty(params) => Some(("probation", params.probation)),
        DetectorConfig::Discord(params) => Some(("learn", params.learn)),
        _ => None,
    }
}

/// Whether `config`, read from `params` (`key=value`), takes each file's
/// probation length: its kind has a [`probation_param`] and `params` do
/// not set it.
pub fn takes_corpus_probation(config: &DetectorConfig, params: &[String]) -> bool {
    probation_param(config)
        .is_some_and(|(name, _)| !params.iter().any(|param| param.split_once('=').is_some_and(|(key, _)| key == name)))
}

/// `config` with the probation length of `series` through its
/// [`probation_param`] (the resonance channel clamps a length outside the
/// range it accepts; discord's `learn` is clamped to its range here).
fn with_corpus_probation(config: &DetectorConfig, series: &LabelledSeries) -> DetectorConfig {
    let rows = u32::try_from(series.probation).unwrap_or(u32::MAX);
    match *config {
        DetectorConfig::Novelty(params) => DetectorConfig::Novelty(NoveltyParams { probation: rows, ..params }),
        DetectorConfig::Discord(params) => {
            let learn = rows.clamp(*LEARN_RANGE.start(), *LEARN_RANGE.end());
            DetectorConfig::Discord(DiscordParams { learn, ..params })
        }
        other => other,
    }
}

/// Runs `config` over `series`; with `corpus_probation`, the detector gets
/// the file's probation length.
pub fn run_detector(config: &DetectorConfig, series: &LabelledSeries, corpus_probation: bool) -> Scores {
    let started = Instant::now();
    let config = &if corpus_probation { with_corpus_probation(config, series) } else { *config };
    let model = match config.start() {
        Some(model) => Some(model),
        None => {
            let rows = series.probation.max(config.points_needed()).min(series.values.len());
            TrainingSeries::new(series.timestamps[..rows].to_vec(), series.values[..rows].to_vec(), 1)
                .and_then(|training| config.fit(&training))
                .ok()
        }
    };
    let Some(mut model) = model else {
        return Scores { scores: vec![0.0; series.values.len()], elapsed: started.elapsed(), state_bytes: 0 };
    };
    let scores =
        series.timestamps.iter().zip(&series.values).map(|(&t, &v)| model.update_at(t, v).anomaly_score()).collect();
    let elapsed = started.elapsed();
    let state_bytes = serde_json::to_string(&model).map_or(0, |json| json.len());
    Scores { scores, elapsed, state_bytes }
}
