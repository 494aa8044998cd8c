//! `POST /fit/{series_id}`: validate, fit, store, then cache and announce.

use crate::{FitRequest, FitReservation, FitResponse, TrainState};
use anomaly_core::{DetectorConfig, ModelParams, SeriesId, TrainingSeries, ValidationError};
use anomaly_http::extract::parse_json;
use anomaly_http::{ApiError, ErrorBody, JsonBytes, SeriesIdPath};
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use std::sync::Arc;

/// Bodies at least this large (about 20,000 points) are parsed, validated
/// and fitted off the async workers, so a big fit never stalls predictions.
const BLOCKING_BODY_BYTES: usize = 512 * 1024;

/// Fits a model and stores it as the next version of the series.
#[utoipa::path(
    post,
    path = "/fit/{series_id}",
    tag = "train",
    params(anomaly_http::SeriesIdParam),
    request_body = FitRequest,
    responses(
        (status = 200, description = "Stored as the next version: durable, and announced to every replica (if the shared cache is down, as soon as it returns)", body = FitResponse),
        (status = 408, description = "The body did not arrive whole within REQUEST_BODY_TIMEOUT; connection closed", body = ErrorBody),
        (status = 413, description = "Body larger than MAX_BODY_BYTES", body = ErrorBody),
        (status = 422, description = "Invalid series id, body or series; nothing stored", body = ErrorBody),
        (status = 503, description = "A storage dependency is down, or other fits hold FIT_MAX_BYTES_IN_FLIGHT (`fits_busy`, with Retry-After)", body = ErrorBody),
    )
)]
#[tracing::instrument(skip(state, body), fields(body_bytes = body.len()))]
pub async fn fit(
    State(state): State<Arc<TrainState>>,
    SeriesIdPath(series_id): SeriesIdPath,
    _room: FitReservation,
    JsonBytes(body): JsonBytes,
) -> Result<Json<FitResponse>, ApiError> {
    state.recorder.time(fit_and_store(&state, series_id, body)).await.map(Json)
}

async fn fit_and_store(state: &TrainState, series_id: SeriesId, body: Bytes) -> Result<FitResponse, ApiError> {
    let min_points = state.min_training_points;
    let (series, params) = if body.len() >= BLOCKING_BODY_BYTES {
        tokio::task::spawn_blocking(move || parse_and_fit(&body, min_points))
            .await
            .map_err(|e| ApiError::Internal(format!("fit task failed: {e}")))??
    } else {
        parse_and_fit(&body, min_points)?
    };
    let backends = &state.backends;
    let record = backends.store.insert_next_version(&series_id, &params, series).await?;
    // The version is durable: the fit has succeeded whatever follows. If the
    // shared cache cannot be told now, the repairer tells it within a second
    // of its return, and until then no replica trusts its cached "latest".
    if let Err(error) = backends.announce(&record).await {
        tracing::warn!(%error, version = %record.version, "stored; the shared cache will be repaired");
    }
    tracing::debug!(version = %record.version, "model stored");
    state.fits.increment(1);
    state.fit_points.increment(record.params.points_used);
    Ok(FitResponse::from(&record))
}

fn parse_and_fit(body: &[u8], min_points: usize) -> Result<(TrainingSeries, ModelParams), ApiError> {
    let request: FitRequest = parse_json(body)?;
    Ok(validate_and_fit(request, min_points)?)
}

fn validate_and_fit(
    mut request: FitRequest,
    min_points: usize,
) -> Result<(TrainingSeries, ModelParams), ValidationError> {
    let config = DetectorConfig::from_json(request.detector_choice())?;
    let series = TrainingSeries::new(request.timestamps, request.values, min_points)?;
    let params = ModelParams::fit(&config, &series)?;
    Ok((series, params))
}
