//! [`DetectorParams`]: what each detector kind declares about itself (its
//! parameters, how they are checked, how its detector starts and warms
//! up), and the range checks several kinds share. The
//! [registry](super::registry) turns these into [`super::DetectorConfig`]
//! and [`super::Model`].

use super::{Direction, OnlineDetector};
use crate::{TrainingSeries, ValidationError};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt::Debug;

/// Points in a rolling window unless the config says otherwise.
pub const DEFAULT_WINDOW: u32 = 50;
/// The largest window (and EWMA warm-up) accepted.
pub const MAX_WINDOW: u32 = 10_000;
/// The largest normal |z| unless the config says otherwise.
pub const DEFAULT_THRESHOLD: f64 = 3.0;

/// The parameters of one detector kind, as the API names them. Their
/// serialised fields are the parameters a request may give for the kind
/// (any other is refused); a field left out takes its value from
/// `Default`, which is the kind's defaults. A `threshold` and a `direction`
/// are checked before deserialising, for every kind alike.
pub trait DetectorParams:
    Copy + Default + PartialEq + Debug + Serialize + DeserializeOwned + Send + Sync + 'static
{
    /// The detector with what it learnt.
    type Detector: OnlineDetector + Clone + PartialEq + Debug + Serialize + DeserializeOwned;

    /// Checks the ranges of the parameters of the `kind` (its API name,
    /// for the message).
    fn check(&self, kind: &str) -> Result<(), ValidationError>;

    /// The parameters of a detector.
    fn of(detector: &Self::Detector) -> Self;

    /// An online detector that has seen nothing yet; `None` for a kind
    /// that only exists fitted.
    fn start(self) -> Option<Self::Detector>;

    /// Fewest training points a fit needs: an online detector's warm-up, so
    /// that a fitted series judges from its first streamed point.
    fn points_needed(self) -> usize;

    /// k: the largest normal |score|.
    fn threshold(self) -> f64;

    /// Which side is anomalous (the online kinds judge both).
    fn direction(self) -> Direction {
        Direction::TwoSided
    }

    /// Whether a fit warms the detector up on every training point rather
    /// than on the last [`points_needed`](Self::points_needed) (a window).
    fn warms_on_every_point(self) -> bool {
        false
    }

    /// The batch side: warms an online detector up on the training series
    /// (`series` holds at least `points_needed` points). A kind that only
    /// exists fitted replaces this.
    fn fit(self, series: &TrainingSeries) -> Result<Self::Detector, ValidationError> {
        let Some(mut detector) = self.start() else {
            return Err(invalid("this detector kind has no fit".to_owned()));
        };
        let values = series.values();
        let skip = if self.warms_on_every_point() { 0 } else { values.len() - self.points_needed() };
        for (&timestamp, &value) in series.timestamps()[skip..].iter().zip(&values[skip..]) {
            detector.update_at(timestamp, value);
        }
        Ok(detector)
    }
}

/// The error of a detector choice that cannot be used.
pub(crate) fn invalid(message: String) -> ValidationError {
    ValidationError::InvalidDetector(message)
}

/// Checks a window length of `kind`.
pub(crate) fn check_window(kind: &str, window: u32) -> Result<(), ValidationError> {
    if (2..=MAX_WINDOW).contains(&window) {
        Ok(())
    } else {
        Err(invalid(format!("window of {kind} must be from 2 to {MAX_WINDOW} points; got {window}")))
    }
}

/// Checks a share strictly between 0 and 1 named `name` of `kind` (an
/// EWMA weight, a sensitivity).
pub(crate) fn check_share(kind: &str, name: &str, value: f64) -> Result<(), ValidationError> {
    if value > 0.0 && value < 1.0 {
        Ok(())
    } else {
        Err(invalid(format!("{name} of {kind} must be between 0 and 1 (exclusive); got {value}")))
    }
}

/// Checks the points `kind` sees before its first verdict.
pub(crate) fn check_warmup(kind: &str, warmup: u32) -> Result<(), ValidationError> {
    if (1..=MAX_WINDOW).contains(&warmup) {
        Ok(())
    } else {
        Err(invalid(format!("warmup of {kind} must be from 1 to {MAX_WINDOW}; got {warmup}")))
    }
}

/// Checks a positive number of at most 1e6 named `name` of `kind`.
pub(crate) fn check_positive(kind: &str, name: &str, value: f64) -> Result<(), ValidationError> {
    if value > 0.0 && value <= 1e6 {
        Ok(())
    } else {
        Err(invalid(format!("{name} of {kind} must be > 0 and at most 1e6; got {value}")))
    }
}
