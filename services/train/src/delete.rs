//! `DELETE /models/{series_id}`: remove a series, its versions and its
//! history, then make every cache and replica forget it.

use crate::TrainState;
use anomaly_http::{ApiError, ErrorBody, SeriesIdPath};
use axum::extract::State;
use axum::http::StatusCode;
use std::sync::Arc;

/// Deletes a series: every version with its training points, its prediction
/// history, its stream state and stream anomalies.
#[utoipa::path(
    delete,
    path = "/models/{series_id}",
    tag = "train",
    params(anomaly_http::SeriesIdParam),
    responses(
        (status = 204, description = "Deleted: predicts answer 404 on every replica from now on (if the shared cache is down, every replica reads the database until it returns). A later fit of the series continues after its last version"),
        (status = 404, description = "The series has no model", body = ErrorBody),
        (status = 422, description = "Invalid series id", body = ErrorBody),
        (status = 503, description = "The database is down; nothing deleted", body = ErrorBody),
    )
)]
#[tracing::instrument(skip(state))]
pub async fn delete_series(
    State(state): State<Arc<TrainState>>,
    SeriesIdPath(series_id): SeriesIdPath,
) -> Result<StatusCode, ApiError> {
    let backends = &state.backends;
    let Some(last) = backends.store.delete_series(&series_id).await? else {
        return Err(ApiError::model_not_found(&series_id, None, false));
    };
    // The delete is durable: it has succeeded whatever follows. If the
    // shared cache cannot be told now, the repairer tells it within a second
    // of its return, and until then no replica trusts its caches.
    if let Err(error) = backends.announce_deleted(&series_id, last).await {
        tracing::warn!(%error, through = %last, "deleted; the shared cache will be repaired");
    }
    tracing::info!(through = %last, "series deleted");
    Ok(StatusCode::NO_CONTENT)
}
