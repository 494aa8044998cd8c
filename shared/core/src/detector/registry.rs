//! The detector kinds, one line each: the API name, the variant, and the
//! [`DetectorParams`] type its file declares. From this list come
//! [`DetectorConfig`] (a kind with its parameters), [`Model`] (a kind with
//! what it learnt) and every dispatch over kinds. Adding a detector is its
//! own file plus one line here (docs/architecture.md shows it).

use super::discord::DiscordParams;
use super::ewma_zscore::EwmaZScoreParams;
use super::novelty::NoveltyParams;
use super::params::DetectorParams;
use super::rolling_mad::RollingMadParams;
use super::rolling_zscore::RollingZScoreParams;
use super::rule::RuleParams;
use super::three_sigma::ThreeSigmaParams;
use super::{Direction, OnlineDetector};
use crate::{TrainingSeries, ValidationError};
use serde::{Deserialize, Serialize};

macro_rules! registry {
    ($($name:literal => $variant:ident($params:ty),)+) => {
        /// A validated detector choice, without any learnt state. Serialises
        /// as `{"kind": ..., ...params}`, the API's description of a detector.
        #[derive(Debug, Clone, Copy, PartialEq, Serialize)]
        #[serde(tag = "kind")]
        pub enum DetectorConfig {
            $(
                #[doc = concat!("`", $name, "`.")]
                #[serde(rename = $name)]
                $variant($params),
            )+
        }

        /// A fitted or warmed-up detector of one kind, the value a fit
        /// stores and a stream checkpoints. Serialised as
        /// `{"kind": ..., params and state}`.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "kind")]
        pub enum Model {
            $(
                #[doc = concat!("`", $name, "`.")]
                #[serde(rename = $name)]
                $variant(<$params as DetectorParams>::Detector),
            )+
        }

        impl DetectorConfig {
            /// The names of the kinds, as the API spells them.
            pub const KINDS: &[&str] = &[$($name),+];

            /// The kind's API name.
            pub fn kind(&self) -> &'static str {
                match self {
                    $(Self::$variant(_) => $name,)+
                }
            }

            /// The parameters `kind` takes, with their defaults (`null` for
            /// an optional one), as the API describes them.
            pub(super) fn parameters_of(kind: &str) -> Option<serde_json::Value> {
                match kind {
                    $($name => serde_json::to_value(<$params>::default()).ok(),)+
                    _ => None,
                }
            }

            /// Reads the parameters of `kind` (a name of [`Self::KINDS`]).
            pub(super) fn parse(
                kind: &str,
                given: serde_json::Map<String, serde_json::Value>,
            ) -> Option<Result<Self, ValidationError>> {
                match kind {
                    $($name => Some(super::config::parse_params::<$params>($name, given).map(Self::$variant)),)+
                    _ => None,
                }
            }

            /// An online detector that has seen nothing yet; `None` for
            /// 3-sigma, which only exists fitted.
            pub fn start(&self) -> Option<Model> {
                match *self {
                    $(Self::$variant(params) => params.start().map(Model::$variant),)+
                }
            }

            /// Fewest training points a fit needs: an online detector's
            /// warm-up, so that a fitted series judges from its first
            /// streamed point.
            pub fn points_needed(&self) -> usize {
                match *self {
                    $(Self::$variant(params) => params.points_needed(),)+
                }
            }

            /// k: the largest normal |score|.
            pub fn threshold(&self) -> f64 {
                match *self {
                    $(Self::$variant(params) => params.threshold(),)+
                }
            }

            /// Which side is anomalous (the online kinds judge both).
            pub fn direction(&self) -> Direction {
                match *self {
                    $(Self::$variant(params) => params.direction(),)+
                }
            }

            pub(super) fn fit_checked(&self, series: &TrainingSeries) -> Result<Model, ValidationError> {
                match *self {
                    $(Self::$variant(params) => params.fit(series).map(Model::$variant),)+
                }
            }
        }

        impl Model {
            /// The configuration, without the learnt state.
            pub fn config(&self) -> DetectorConfig {
                match self {
                    $(Self::$variant(detector) => DetectorConfig::$variant(<$params>::of(detector)),)+
                }
            }

            pub(super) fn online(&self) -> &dyn OnlineDetector {
                match self {
                    $(Self::$variant(detector) => detector,)+
                }
            }

            pub(super) fn online_mut(&mut self) -> &mut dyn OnlineDetector {
                match self {
                    $(Self::$variant(detector) => detector,)+
                }
            }
        }
    };
}

registry! {
    "three_sigma" => ThreeSigma(ThreeSigmaParams),
    "rolling_zscore" => RollingZscore(RollingZScoreParams),
    "rolling_mad" => RollingMad(RollingMadParams),
    "ewma_zscore" => EwmaZscore(EwmaZScoreParams),
    "novelty" => Novelty(NoveltyParams),
    "discord" => Discord(DiscordParams),
    "rule" => Rule(RuleParams),
}
