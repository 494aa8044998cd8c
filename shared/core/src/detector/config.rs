//! [`DetectorConfig`]: the detector a user chooses for a series, validated
//! from the loose options of a request, and the way from a config to a
//! fitted [`Model`] (batch side) or an empty online one.

use super::resonance::PROBATION_RANGE;
use super::{
    Direction, EwmaZScore, Model, Novelty, NoveltyParams, OnlineDetector, RollingMad, RollingZScore, ThreeSigma,
};
use crate::{Threshold, TrainingSeries, ValidationError};
use serde::Serialize;

/// Points in a rolling window unless the config says otherwise.
pub const DEFAULT_WINDOW: u32 = 50;
/// The largest window (and EWMA warm-up) accepted.
pub const MAX_WINDOW: u32 = 10_000;
/// The longest quiet period after a novelty alert.
pub const MAX_QUIET: u32 = 1_000_000;
/// The largest normal |z| unless the config says otherwise.
pub const DEFAULT_THRESHOLD: f64 = 3.0;

/// A detector's options as a request names them; every field optional.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DetectorOptions {
    /// `three_sigma` (default), `rolling_zscore`, `rolling_mad` or `ewma_zscore`.
    pub kind: Option<String>,
    /// Window length of the rolling kinds.
    pub window: Option<u32>,
    /// The largest normal |z| (k).
    pub threshold: Option<f64>,
    /// EWMA weight of the newest point.
    pub alpha: Option<f64>,
    /// EWMA points before the first verdict.
    pub warmup: Option<u32>,
    /// Side of the band, three_sigma only.
    pub direction: Option<String>,
    /// Novelty: how far past the range seen a value must go, as a share of it.
    pub tolerance: Option<f64>,
    /// Novelty: points after an alert during which only a stronger score alerts.
    pub quiet: Option<u32>,
    /// Novelty: the largest normal z of the recent step sizes against their past.
    pub change: Option<f64>,
    /// Novelty: the largest normal z of the recent distances to one period earlier.
    pub seasonal: Option<f64>,
    /// Novelty: the resonance channel's confidence (0 to 1) from which it alerts.
    pub resonance: Option<f64>,
    /// Novelty: points the resonance channel learns from before judging.
    pub probation: Option<u32>,
}

/// A validated detector choice, without any learnt state. Serialises as
/// `{"kind": ..., ...params}`, the API's description of a detector.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DetectorConfig {
    /// Fitted mean and std, frozen: `|x - mean| > k·std`.
    ThreeSigma {
        /// k.
        threshold: Threshold,
        /// Which side is anomalous.
        direction: Direction,
    },
    /// z against the last `window` points.
    RollingZscore {
        /// Points in the window.
        window: u32,
        /// k.
        threshold: Threshold,
    },
    /// Robust z (median, MAD) against the last `window` points.
    RollingMad {
        /// Points in the window.
        window: u32,
        /// k.
        threshold: Threshold,
    },
    /// z against exponentially weighted mean and variance.
    EwmaZscore {
        /// Weight of the newest point, in (0, 1).
        alpha: f64,
        /// k.
        threshold: Threshold,
        /// Points before the first verdict.
        warmup: u32,
    },
    /// Fires once when the series leaves the range it has seen or its
    /// level, then quiet (see [`Novelty`]).
    Novelty(NoveltyParams),
}

fn invalid(message: String) -> ValidationError {
    ValidationError::InvalidDetector(message)
}

impl DetectorOptions {
    /// Each kind-specific option by name, and whether it was given
    /// (`threshold` applies to every kind).
    fn given(&self) -> [(&'static str, bool); 10] {
        [
            ("window", self.window.is_some()),
            ("alpha", self.alpha.is_some()),
            ("warmup", self.warmup.is_some()),
            ("direction", self.direction.is_some()),
            ("tolerance", self.tolerance.is_some()),
            ("quiet", self.quiet.is_some()),
            ("change", self.change.is_some()),
            ("seasonal", self.seasonal.is_some()),
            ("resonance", self.resonance.is_some()),
            ("probation", self.probation.is_some()),
        ]
    }

    /// Refuses the options given that `kind` does not take (all but `accepted`).
    fn only(&self, kind: &str, accepted: &[&str]) -> Result<(), ValidationError> {
        match self.given().iter().find(|(name, present)| *present && !accepted.contains(name)) {
            Some((name, _)) => Err(invalid(format!("{name} does not apply to the {kind} detector; leave it out"))),
            None => Ok(()),
        }
    }
}

fn window_of(kind: &str, window: Option<u32>) -> Result<u32, ValidationError> {
    let window = window.unwrap_or(DEFAULT_WINDOW);
    if (2..=MAX_WINDOW).contains(&window) {
        Ok(window)
    } else {
        Err(invalid(format!("window of {kind} must be from 2 to {MAX_WINDOW} points; got {window}")))
    }
}

fn alpha_of(kind: &str, alpha: f64) -> Result<f64, ValidationError> {
    if alpha > 0.0 && alpha < 1.0 {
        Ok(alpha)
    } else {
        Err(invalid(format!("alpha of {kind} must be between 0 and 1 (exclusive); got {alpha}")))
    }
}

fn warmup_of(kind: &str, warmup: u32) -> Result<u32, ValidationError> {
    if (1..=MAX_WINDOW).contains(&warmup) {
        Ok(warmup)
    } else {
        Err(invalid(format!("warmup of {kind} must be from 1 to {MAX_WINDOW}; got {warmup}")))
    }
}

fn z_threshold_of(name: &str, z: f64) -> Result<Threshold, ValidationError> {
    Threshold::new(z).map_err(|_| invalid(format!("{name} of novelty must be > 0 and at most 1e6; got {z}")))
}

impl DetectorConfig {
    /// The names of the kinds, as the API spells them.
    pub const KINDS: [&'static str; 5] = ["three_sigma", "rolling_zscore", "rolling_mad", "ewma_zscore", "novelty"];

    /// Validates `options`; an omitted kind is `three_sigma`.
    pub fn from_options(options: &DetectorOptions) -> Result<Self, ValidationError> {
        let threshold = Threshold::new(options.threshold.unwrap_or(DEFAULT_THRESHOLD))?;
        let kind = options.kind.as_deref().unwrap_or("three_sigma");
        let o = options;
        match kind {
            "three_sigma" => {
                o.only(kind, &["direction"])?;
                let direction = o.direction.as_deref().map(Direction::parse).transpose()?.unwrap_or_default();
                Ok(Self::ThreeSigma { threshold, direction })
            }
            "rolling_zscore" | "rolling_mad" => {
                o.only(kind, &["window"])?;
                let window = window_of(kind, o.window)?;
                Ok(if kind == "rolling_mad" {
                    Self::RollingMad { window, threshold }
                } else {
                    Self::RollingZscore { window, threshold }
                })
            }
            "ewma_zscore" => {
                o.only(kind, &["alpha", "warmup"])?;
                let alpha = alpha_of(kind, o.alpha.unwrap_or(2.0 / (f64::from(DEFAULT_WINDOW) + 1.0)))?;
                let warmup = warmup_of(kind, o.warmup.unwrap_or(DEFAULT_WINDOW))?;
                Ok(Self::EwmaZscore { alpha, threshold, warmup })
            }
            "novelty" => {
                o.only(
                    kind,
                    &["alpha", "warmup", "tolerance", "quiet", "change", "seasonal", "resonance", "probation"],
                )?;
                let defaults = NoveltyParams::DEFAULT;
                let tolerance = o.tolerance.unwrap_or(defaults.tolerance);
                if !(tolerance > 0.0 && tolerance <= 1e6) {
                    return Err(invalid(format!("tolerance of novelty must be > 0 and at most 1e6; got {tolerance}")));
                }
                let quiet = o.quiet.unwrap_or(defaults.quiet);
                if quiet > MAX_QUIET {
                    return Err(invalid(format!("quiet of novelty must be at most {MAX_QUIET} points; got {quiet}")));
                }
                let resonance = o.resonance.unwrap_or(defaults.resonance);
                if !(resonance > 0.0 && resonance <= 1e6) {
                    return Err(invalid(format!(
                        "resonance of novelty must be > 0 and at most 1e6 (above 1 the channel never alerts); got {resonance}"
                    )));
                }
                let probation = o.probation.unwrap_or(defaults.probation);
                if !PROBATION_RANGE.contains(&probation) {
                    return Err(invalid(format!(
                        "probation of novelty must be from {} to {} points; got {probation}",
                        PROBATION_RANGE.start(),
                        PROBATION_RANGE.end()
                    )));
                }
                Ok(Self::Novelty(NoveltyParams {
                    threshold: Threshold::new(o.threshold.unwrap_or(defaults.threshold.get()))?,
                    tolerance,
                    alpha: alpha_of(kind, o.alpha.unwrap_or(defaults.alpha))?,
                    quiet,
                    warmup: warmup_of(kind, o.warmup.unwrap_or(defaults.warmup))?,
                    change: z_threshold_of("change", o.change.unwrap_or(defaults.change.get()))?,
                    seasonal: z_threshold_of("seasonal", o.seasonal.unwrap_or(defaults.seasonal.get()))?,
                    resonance,
                    probation,
                }))
            }
            other => Err(invalid(format!(
                "detector kind must be one of {}; got {:?}",
                Self::KINDS.join(", "),
                other.chars().take(40).collect::<String>()
            ))),
        }
    }

    /// The kind's API name.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::ThreeSigma { .. } => "three_sigma",
            Self::RollingZscore { .. } => "rolling_zscore",
            Self::RollingMad { .. } => "rolling_mad",
            Self::EwmaZscore { .. } => "ewma_zscore",
            Self::Novelty(_) => "novelty",
        }
    }

    /// An online detector that has seen nothing yet; `None` for 3-sigma,
    /// which only exists fitted.
    pub fn start(&self) -> Option<Model> {
        Some(match *self {
            Self::ThreeSigma { .. } => return None,
            Self::RollingZscore { window, threshold } => Model::RollingZscore(RollingZScore::new(window, threshold)),
            Self::RollingMad { window, threshold } => Model::RollingMad(RollingMad::new(window, threshold)),
            Self::EwmaZscore { alpha, threshold, warmup } => {
                Model::EwmaZscore(EwmaZScore::new(alpha, threshold, warmup))
            }
            Self::Novelty(params) => Model::Novelty(Novelty::new(params)),
        })
    }

    /// Fewest training points a fit needs: an online detector's warm-up, so
    /// that a fitted series judges from its first streamed point.
    pub fn points_needed(&self) -> usize {
        match *self {
            Self::ThreeSigma { .. } => 1,
            Self::RollingZscore { window, .. } | Self::RollingMad { window, .. } => window as usize,
            Self::EwmaZscore { warmup, .. } | Self::Novelty(NoveltyParams { warmup, .. }) => warmup as usize,
        }
    }

    /// The batch side: fits 3-sigma on the series, or warms an online
    /// detector up on it (the last `window` points for the rolling kinds,
    /// every point for EWMA).
    pub fn fit(&self, series: &TrainingSeries) -> Result<Model, ValidationError> {
        let needed = self.points_needed();
        if series.len() < needed {
            return Err(ValidationError::TooFewPoints { min: needed, got: series.len() });
        }
        let Some(mut model) = self.start() else {
            let Self::ThreeSigma { threshold, direction } = *self else { unreachable!("only 3-sigma has no start") };
            return ThreeSigma::fit(series, threshold, direction).map(Model::ThreeSigma);
        };
        let values = series.values();
        let warm_on = match self {
            Self::EwmaZscore { .. } | Self::Novelty(_) => values,
            _ => &values[values.len() - needed..],
        };
        for &value in warm_on {
            model.update(value);
        }
        Ok(model)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(kind: &str) -> DetectorOptions {
        DetectorOptions { kind: Some(kind.into()), ..Default::default() }
    }

    #[test]
    fn defaults_are_the_seed_values() {
        assert_eq!(
            DetectorConfig::from_options(&DetectorOptions::default()),
            Ok(DetectorConfig::ThreeSigma { threshold: Threshold::DEFAULT, direction: Direction::TwoSided })
        );
        assert_eq!(
            DetectorConfig::from_options(&options("rolling_zscore")),
            Ok(DetectorConfig::RollingZscore { window: 50, threshold: Threshold::DEFAULT })
        );
    }

    #[test]
    fn refuses_what_does_not_fit_the_kind() {
        let code = |o: DetectorOptions| DetectorConfig::from_options(&o).expect_err("refused").code();
        assert_eq!(code(options("isolation_forest")), "invalid_detector");
        assert_eq!(code(DetectorOptions { window: Some(1), ..options("rolling_mad") }), "invalid_detector");
        assert_eq!(code(DetectorOptions { alpha: Some(1.0), ..options("ewma_zscore") }), "invalid_detector");
        assert_eq!(code(DetectorOptions { alpha: Some(0.5), ..options("rolling_zscore") }), "invalid_detector");
        assert_eq!(
            code(DetectorOptions { direction: Some("upper".into()), ..options("ewma_zscore") }),
            "invalid_detector"
        );
        assert_eq!(code(DetectorOptions { threshold: Some(0.0), ..options("rolling_zscore") }), "invalid_threshold");
    }

    #[test]
    fn a_fit_warms_the_window_up() {
        let series =
            TrainingSeries::new((0..60).collect(), (0..60).map(|i| f64::from(i % 5)).collect(), 1).expect("valid");
        let config = DetectorConfig::RollingZscore { window: 50, threshold: Threshold::DEFAULT };
        let model = config.fit(&series).expect("fits");
        assert!(matches!(model.judge(2.0), super::super::Verdict::Judged(_)), "no warm-up gap after a fit");
        let short = TrainingSeries::new((0..10).collect(), vec![1.0; 10], 1).expect("valid");
        assert_eq!(config.fit(&short).expect_err("too short").code(), "too_few_points");
    }

    #[test]
    fn describes_itself_as_kind_and_params() {
        let config = DetectorConfig::EwmaZscore { alpha: 0.5, threshold: Threshold::DEFAULT, warmup: 10 };
        assert_eq!(
            serde_json::to_value(config).expect("serialises"),
            serde_json::json!({"kind": "ewma_zscore", "alpha": 0.5, "threshold": 3.0, "warmup": 10})
        );
    }
}
