//! Mute windows as an API: `POST /mutes`, `GET /mutes` and `DELETE
//! /mutes/{id}`. While a mute holds, anomalies are judged, stored and shown
//! (marked `muted`) but fire no webhook.

use crate::MonitorState;
use crate::webhooks::random_id;
use anomaly_core::SeriesId;
use anomaly_http::model_description::rfc3339_millis;
use anomaly_http::{ApiError, ApiJson, ErrorBody};
use anomaly_store::Mute;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Longest reason kept, in characters.
const MAX_REASON: usize = 500;
/// The latest second a mute may end at (about the year 2286).
const MAX_SECOND: i64 = 9_999_999_999;

/// A mute to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"series_id": "temp", "from": 1764860400, "to": 1764864000, "reason": "deploy 2.4"}))]
pub struct MuteRequest {
    /// Only this series; omitted: every series.
    pub series_id: Option<String>,
    /// From this Unix second (when anomalies are judged), inclusive.
    pub from: i64,
    /// To this Unix second, inclusive: after `from`, and not already past.
    pub to: i64,
    /// Why, up to 500 characters.
    pub reason: Option<String>,
}

/// A stored mute.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MuteView {
    /// Its id.
    #[schema(example = "mu_3f9a0c1d2e4b5a69")]
    pub id: String,
    /// Only this series; `null`: every series.
    pub series_id: Option<String>,
    /// From this Unix second, inclusive.
    pub from: i64,
    /// To this Unix second, inclusive.
    pub to: i64,
    /// Why.
    pub reason: String,
    /// Whether it holds now.
    pub active: bool,
    /// When it was created (RFC 3339, UTC).
    pub created_at: String,
}

impl MuteView {
    fn of(mute: &Mute, now: i64) -> Self {
        Self {
            id: mute.id.clone(),
            series_id: mute.series_id.clone(),
            from: mute.from,
            to: mute.to,
            reason: mute.reason.clone(),
            active: (mute.from..=mute.to).contains(&now),
            created_at: rfc3339_millis(mute.created_at_ms),
        }
    }
}

/// Every mute.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MutesPage {
    /// The latest to end first.
    pub mutes: Vec<MuteView>,
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn invalid(message: String) -> ApiError {
    ApiError::BadRequest { code: "invalid_mute", message }
}

/// Creates a mute window.
#[utoipa::path(
    post,
    path = "/mutes",
    tag = "webhooks",
    request_body = MuteRequest,
    responses(
        (status = 201, description = "Created", body = MuteView),
        (status = 422, description = "`to` not after `from` or already past, a time out of range, an invalid series id or a reason over 500 characters", body = ErrorBody),
        (status = 503, description = "The database is down", body = ErrorBody),
    )
)]
pub async fn create(
    State(state): State<MonitorState>,
    ApiJson(request): ApiJson<MuteRequest>,
) -> Result<(StatusCode, Json<MuteView>), ApiError> {
    let series_id = request.series_id.as_deref().map(SeriesId::parse).transpose()?.map(|id| id.to_string());
    let now = now();
    if !(0..=MAX_SECOND).contains(&request.from) || !(0..=MAX_SECOND).contains(&request.to) {
        return Err(invalid(format!("from and to must be Unix seconds from 0 to {MAX_SECOND}")));
    }
    if request.to <= request.from {
        return Err(invalid(format!("to ({}) must be after from ({})", request.to, request.from)));
    }
    if request.to < now {
        return Err(invalid(format!("to ({}) is already past (now is {now}); a mute holds from now on", request.to)));
    }
    let reason = request.reason.unwrap_or_default();
    if reason.chars().count() > MAX_REASON {
        return Err(invalid(format!("reason must be at most {MAX_REASON} characters")));
    }
    let mute = Mute {
        id: random_id("mu"),
        series_id,
        from: request.from,
        to: request.to,
        reason,
        created_at_ms: chrono::Utc::now().timestamp_millis(),
    };
    state.backends.mutes.create_mute(&mute).await?;
    Ok((StatusCode::CREATED, Json(MuteView::of(&mute, now))))
}

/// Every mute, the latest to end first.
#[utoipa::path(
    get,
    path = "/mutes",
    tag = "webhooks",
    responses(
        (status = 200, description = "The mutes", body = MutesPage),
        (status = 503, description = "The database is down", body = ErrorBody),
    )
)]
pub async fn list(State(state): State<MonitorState>) -> Result<Json<MutesPage>, ApiError> {
    let now = now();
    let mutes = state.backends.mutes.mutes().await?;
    Ok(Json(MutesPage { mutes: mutes.iter().map(|mute| MuteView::of(mute, now)).collect() }))
}

/// Ends a mute now: one that has begun is kept, ending now (what it muted
/// stays marked so); one that has not begun is removed.
#[utoipa::path(
    delete,
    path = "/mutes/{id}",
    tag = "webhooks",
    params(("id" = String, Path, description = "The mute's id")),
    responses(
        (status = 204, description = "Ended or removed"),
        (status = 404, description = "No such mute (`mute_not_found`)", body = ErrorBody),
        (status = 503, description = "The database is down", body = ErrorBody),
    )
)]
pub async fn end(State(state): State<MonitorState>, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    if state.backends.mutes.end_mute(&id, now()).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound {
            code: "mute_not_found",
            message: format!("no mute {:?}", id.chars().take(64).collect::<String>()),
        })
    }
}
