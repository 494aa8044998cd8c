//! [`AnomalyLabels`] on the database: the label columns of the `anomalies`
//! (stream) and `predictions` (predict) rows, set by the anomaly's id (its
//! natural key, so the update uses the tables' own indexes), read with the
//! rows and filtered on in the listings.

use super::SqlModelStore;
use crate::StoreError;
use crate::ports::anomaly_labels::{AnomalyId, AnomalyLabel, AnomalyLabels, Label, LabelFilter};
use async_trait::async_trait;
use sqlx::Row;
use sqlx::any::AnyRow;

/// The condition of `filter` (its values are constants, no bind needed).
pub(super) fn label_condition(filter: Option<LabelFilter>) -> &'static str {
    match filter {
        None => "",
        Some(LabelFilter::Unlabelled) => " AND label IS NULL",
        Some(LabelFilter::Is(Label::TruePositive)) => " AND label = 'true_positive'",
        Some(LabelFilter::Is(Label::FalsePositive)) => " AND label = 'false_positive'",
    }
}

/// The label of a row that selected `label, label_note, labelled_at_ms`.
pub(super) fn label_from_row(row: &AnyRow) -> Result<Option<AnomalyLabel>, StoreError> {
    let Some(label) = row.try_get::<Option<String>, _>("label")? else { return Ok(None) };
    let label = Label::parse(&label).ok_or_else(|| StoreError::Corrupt(format!("anomaly label {label:?}")))?;
    Ok(Some(AnomalyLabel {
        label,
        note: row.try_get("label_note")?,
        labelled_at_ms: row.try_get::<Option<i64>, _>("labelled_at_ms")?.unwrap_or_default(),
    }))
}

#[async_trait]
impl AnomalyLabels for SqlModelStore {
    async fn set_label(&self, id: &AnomalyId, label: Option<&AnomalyLabel>) -> Result<bool, StoreError> {
        let sql = match id {
            AnomalyId::Stream { .. } => {
                "UPDATE anomalies SET label = $1, label_note = $2, labelled_at_ms = $3 \
                 WHERE series_id = $4 AND ts = $5 AND version = $6 AND detector = $7"
            }
            AnomalyId::Predict { .. } => {
                "UPDATE predictions SET label = $1, label_note = $2, labelled_at_ms = $3 \
                 WHERE series_id = $4 AND ts = $5 AND version = $6 AND recorded_at_ms = $7 AND anomaly"
            }
        };
        let update = sqlx::query(sql)
            .bind(label.map(|l| l.label.as_str()))
            .bind(label.and_then(|l| l.note.clone()))
            .bind(label.map(|l| l.labelled_at_ms))
            .bind(id.series_id().as_str());
        let update = match id {
            AnomalyId::Stream { timestamp, version, detector, .. } => {
                update.bind(*timestamp).bind(version.map_or(0, |v| i64::from(v.number()))).bind(detector.as_str())
            }
            AnomalyId::Predict { timestamp, version, recorded_at_ms, .. } => {
                update.bind(*timestamp).bind(i64::from(version.number())).bind(*recorded_at_ms)
            }
        };
        Ok(update.execute(&self.pool).await?.rows_affected() > 0)
    }
}
