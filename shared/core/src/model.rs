//! What a fit produces and what is stored: model parameters and the record
//! that ties them to a series and a version.

use crate::stats::RunningStats;
use crate::{
    DetectorConfig, Direction, Model, ModelVersion, SeriesId, ThreeSigma, Threshold, TrainingSeries, ValidationError,
};

/// One fitted model: the detector with what it learnt, and the summary of
/// its training data that every kind has.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelParams {
    /// The detector, fitted or warmed up on the training points.
    pub model: Model,
    /// Training mean.
    pub mean: f64,
    /// Training population standard deviation.
    pub std: f64,
    /// Number of training points.
    pub points_used: u64,
}

impl ModelParams {
    /// Fits `config` on `series`. The training mean and std must be finite
    /// (every chart and listing reads them).
    pub fn fit(config: &DetectorConfig, series: &TrainingSeries) -> Result<Self, ValidationError> {
        let model = config.fit(series)?;
        let (mean, std) = match &model {
            Model::ThreeSigma(fitted) => (fitted.mean, fitted.std),
            _ => {
                let stats = RunningStats::of(series.values());
                (stats.mean(), stats.std_dev())
            }
        };
        if !mean.is_finite() || !std.is_finite() {
            return Err(ValidationError::ValuesOutOfRange);
        }
        Ok(Self { model, mean, std, points_used: series.len() as u64 })
    }

    /// A 3-sigma model from its stored columns (versions stored before
    /// models had kinds). Fails only on values no fit produces.
    pub fn three_sigma(
        mean: f64,
        std: f64,
        threshold: f64,
        direction: Direction,
        points_used: u64,
    ) -> Result<Self, ValidationError> {
        let threshold = Threshold::stored(threshold)?;
        Ok(Self { model: Model::ThreeSigma(ThreeSigma { mean, std, threshold, direction }), mean, std, points_used })
    }

    /// k: the largest normal |score|.
    pub fn threshold(&self) -> f64 {
        self.model.threshold()
    }

    /// Which side is anomalous.
    pub fn direction(&self) -> Direction {
        self.model.direction()
    }
}

/// One stored model version of one series.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelRecord {
    /// The series.
    pub series_id: SeriesId,
    /// Its version, assigned by the store.
    pub version: ModelVersion,
    /// The fitted parameters.
    pub params: ModelParams,
    /// When the version was stored, Unix milliseconds.
    pub trained_at_ms: i64,
}
