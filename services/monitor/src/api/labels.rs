//! Feedback on anomalies: `PUT /anomalies/{id}/label` says whether one was
//! real (`true_positive`) or not (`false_positive`), with a note; `DELETE`
//! takes the label back. Stored on the anomaly's row, shown in the
//! listings, filtered with `GET /anomalies?label=` and scored by
//! `anomaly eval --platform`.

use crate::MonitorState;
use anomaly_http::model_description::rfc3339_millis;
use anomaly_http::{ApiError, ApiJson, ErrorBody};
use anomaly_store::{AnomalyId, AnomalyLabel, Label};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Longest note kept with a label, in characters.
const MAX_NOTE: usize = 1000;

/// A label to set.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"label": "false_positive", "note": "planned failover"}))]
pub struct LabelRequest {
    /// `true_positive` (it was real) or `false_positive` (it was not).
    #[schema(example = "true_positive")]
    pub label: String,
    /// What to remember about it, up to 1,000 characters.
    pub note: Option<String>,
}

/// The label an anomaly now has.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LabelView {
    /// The anomaly.
    #[schema(example = "s.1700015000.0.novelty.temp")]
    pub id: String,
    /// `true_positive` or `false_positive`.
    pub label: String,
    /// The note, if any.
    pub note: Option<String>,
    /// When it was set (RFC 3339, UTC).
    pub labelled_at: String,
}

fn anomaly_not_found(id: &str) -> ApiError {
    ApiError::NotFound {
        code: "anomaly_not_found",
        message: format!(
            "no stored anomaly {:?}; take the id from GET /anomalies, the feed or a webhook",
            id.chars().take(200).collect::<String>()
        ),
    }
}

/// Labels the anomaly `id` (replacing an earlier label).
#[utoipa::path(
    put,
    path = "/anomalies/{id}/label",
    tag = "monitor",
    params(("id" = String, Path, description = "The anomaly's id, as `GET /anomalies` lists it")),
    request_body = LabelRequest,
    responses(
        (status = 200, description = "Labelled", body = LabelView),
        (status = 404, description = "No such anomaly (`anomaly_not_found`)", body = ErrorBody),
        (status = 422, description = "A label other than true_positive or false_positive, or a note over 1,000 characters", body = ErrorBody),
        (status = 503, description = "The database is down", body = ErrorBody),
    )
)]
pub async fn set_label(
    State(state): State<MonitorState>,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<LabelRequest>,
) -> Result<Json<LabelView>, ApiError> {
    let Some(label) = Label::parse(&request.label) else {
        return Err(ApiError::BadRequest {
            code: "invalid_label",
            message: format!(
                "label must be \"true_positive\" or \"false_positive\"; got {:?}",
                request.label.chars().take(40).collect::<String>()
            ),
        });
    };
    let note = request.note.filter(|note| !note.trim().is_empty());
    if note.as_ref().is_some_and(|note| note.chars().count() > MAX_NOTE) {
        return Err(ApiError::BadRequest {
            code: "invalid_label",
            message: format!("note must be at most {MAX_NOTE} characters"),
        });
    }
    let anomaly = AnomalyId::parse(&id).ok_or_else(|| anomaly_not_found(&id))?;
    let label = AnomalyLabel { label, note, labelled_at_ms: chrono::Utc::now().timestamp_millis() };
    if !state.backends.labels.set_label(&anomaly, Some(&label)).await? {
        return Err(anomaly_not_found(&id));
    }
    Ok(Json(LabelView {
        id: anomaly.to_string(),
        label: label.label.as_str().to_owned(),
        note: label.note,
        labelled_at: rfc3339_millis(label.labelled_at_ms),
    }))
}

/// Takes the label of the anomaly `id` back (it is unlabelled again).
#[utoipa::path(
    delete,
    path = "/anomalies/{id}/label",
    tag = "monitor",
    params(("id" = String, Path, description = "The anomaly's id")),
    responses(
        (status = 204, description = "Unlabelled"),
        (status = 404, description = "No such anomaly (`anomaly_not_found`)", body = ErrorBody),
        (status = 503, description = "The database is down", body = ErrorBody),
    )
)]
pub async fn clear_label(State(state): State<MonitorState>, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    let anomaly = AnomalyId::parse(&id).ok_or_else(|| anomaly_not_found(&id))?;
    if !state.backends.labels.set_label(&anomaly, None).await? {
        return Err(anomaly_not_found(&id));
    }
    Ok(StatusCode::NO_CONTENT)
}
