//! What people say about an anomaly: its stable id, and the label
//! (`true_positive` or `false_positive`, with a note) stored on its row.
//!
//! An anomaly's id spells out what makes it unique, so that every
//! publication of it (the feed is at least once), its stored row, the
//! listings and its webhook deliveries share one id without a lookup:
//! `s.<point time>.<version, 0 for the stream default>.<detector>.<series>`
//! for the stream's, `p.<judged at, ms>.<point time>.<version>.<series>`
//! for a predict's. Clients treat it as opaque.

use crate::StoreError;
use anomaly_core::{ModelVersion, SeriesId};
use async_trait::async_trait;
use std::fmt;

/// The stable id of a stored anomaly.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AnomalyId {
    /// Found by the stream worker: unique by series, point time, detector and version.
    Stream {
        /// The series.
        series_id: SeriesId,
        /// The point's time, Unix seconds.
        timestamp: i64,
        /// The fitted version; `None`: the stream's default detector.
        version: Option<ModelVersion>,
        /// The detector kind.
        detector: String,
    },
    /// Answered by `POST /predict`: unique by series, version, point time and judging time.
    Predict {
        /// The series.
        series_id: SeriesId,
        /// The point's time, Unix seconds.
        timestamp: i64,
        /// The version that judged it.
        version: ModelVersion,
        /// When it was judged, Unix milliseconds.
        recorded_at_ms: i64,
    },
}

impl fmt::Display for AnomalyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Stream { series_id, timestamp, version, detector } => {
                write!(f, "s.{timestamp}.{}.{detector}.{series_id}", version.map_or(0, ModelVersion::number))
            }
            Self::Predict { series_id, timestamp, version, recorded_at_ms } => {
                write!(f, "p.{recorded_at_ms}.{timestamp}.{}.{series_id}", version.number())
            }
        }
    }
}

impl AnomalyId {
    /// Reads an id written by [`Display`](fmt::Display); `None` when it is not one.
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.splitn(5, '.');
        let (source, first, second, third, series) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        let series_id = SeriesId::parse(series).ok()?;
        let number = |part: &str| part.parse::<i64>().ok();
        let version = |part: &str| {
            part.bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| part.parse::<u32>().ok())
                .flatten()
                .and_then(ModelVersion::new)
        };
        match source {
            "s" => {
                let detector = third;
                if detector.is_empty() || !detector.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
                    return None;
                }
                let version = if second == "0" { None } else { Some(version(second)?) };
                Some(Self::Stream { series_id, timestamp: number(first)?, version, detector: detector.into() })
            }
            "p" => Some(Self::Predict {
                series_id,
                recorded_at_ms: number(first)?,
                timestamp: number(second)?,
                version: version(third)?,
            }),
            _ => None,
        }
    }

    /// The series.
    pub fn series_id(&self) -> &SeriesId {
        match self {
            Self::Stream { series_id, .. } | Self::Predict { series_id, .. } => series_id,
        }
    }
}

/// What a person said about an anomaly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Label {
    /// It was a real problem.
    TruePositive,
    /// It was not.
    FalsePositive,
}

impl Label {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TruePositive => "true_positive",
            Self::FalsePositive => "false_positive",
        }
    }

    /// Reads a stored or wire name.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::TruePositive, Self::FalsePositive].into_iter().find(|label| label.as_str() == text)
    }
}

/// A label with its note and time.
#[derive(Debug, Clone, PartialEq)]
pub struct AnomalyLabel {
    /// The label.
    pub label: Label,
    /// What the person noted, if anything.
    pub note: Option<String>,
    /// When it was set, Unix milliseconds.
    pub labelled_at_ms: i64,
}

/// Which anomalies a listing keeps, by label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelFilter {
    /// Those with this label.
    Is(Label),
    /// Those nobody labelled yet.
    Unlabelled,
}

/// Sets labels on stored anomalies.
#[async_trait]
pub trait AnomalyLabels: Send + Sync {
    /// Sets (or with `None` clears) the label of the anomaly `id`; false
    /// when no such anomaly is stored.
    async fn set_label(&self, id: &AnomalyId, label: Option<&AnomalyLabel>) -> Result<bool, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_read_back_as_written() {
        let series_id = SeriesId::parse("host-1.cpu:total").expect("valid");
        let version = ModelVersion::parse("v3").ok();
        for id in [
            AnomalyId::Stream {
                series_id: series_id.clone(),
                timestamp: 1_700_000_000,
                version: None,
                detector: "novelty".into(),
            },
            AnomalyId::Stream {
                series_id: series_id.clone(),
                timestamp: -5,
                version,
                detector: "rolling_zscore".into(),
            },
            AnomalyId::Predict {
                series_id: series_id.clone(),
                timestamp: 60,
                version: version.expect("v3"),
                recorded_at_ms: 1_764_000_000_123,
            },
        ] {
            let text = id.to_string();
            assert_eq!(AnomalyId::parse(&text), Some(id), "{text}");
        }
        assert_eq!(
            AnomalyId::Stream { series_id, timestamp: 60, version: None, detector: "novelty".into() }.to_string(),
            "s.60.0.novelty.host-1.cpu:total"
        );
    }

    #[test]
    fn anything_else_is_not_an_id() {
        for text in [
            "",
            "s",
            "x.1.0.novelty.cpu",
            "s.one.0.novelty.cpu",
            "s.1.0..cpu",
            "s.1.0.Nov elty.cpu",
            "s.1.0.novelty.",
            "p.1.2.0.cpu",
            "p.1.2.v.cpu",
            "s.1.-1.novelty.cpu",
            "s.1.0.novelty.bad id",
        ] {
            assert_eq!(AnomalyId::parse(text), None, "{text}");
        }
    }
}
