//! What a fit produces and what is stored: model parameters and the record
//! that ties them to a series and a version.

use crate::{Direction, ModelVersion, SeriesId, ThreeSigma, Threshold, ValidationError};

/// Fitted parameters of one model, independent of where they are stored.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModelParams {
    /// Training mean.
    pub mean: f64,
    /// Training population standard deviation.
    pub std: f64,
    /// The multiplier k of the band.
    pub threshold: f64,
    /// Which side of the band is anomalous.
    pub direction: Direction,
    /// Number of training points.
    pub points_used: u64,
}

impl ModelParams {
    /// Parameters of a fitted 3-sigma detector.
    pub fn from_three_sigma(model: &ThreeSigma, points_used: usize) -> Self {
        Self {
            mean: model.mean,
            std: model.std,
            threshold: model.threshold.get(),
            direction: model.direction,
            points_used: points_used as u64,
        }
    }

    /// The detector these parameters describe. Fails only on parameters that
    /// were never produced by a fit (a corrupted store).
    pub fn detector(&self) -> Result<ThreeSigma, ValidationError> {
        Ok(ThreeSigma {
            mean: self.mean,
            std: self.std,
            threshold: Threshold::stored(self.threshold)?,
            direction: self.direction,
        })
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
