//! The bare baseline: an axum router with the same routes and JSON shapes as
//! train and infer, answering from an in-process map and nothing else (no
//! validation, cache layers, latency recording, tracing or storage). It is
//! what "close to a bare HTTP handler" is measured against.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

#[derive(Clone, Copy)]
struct Model {
    mean: f64,
    std: f64,
}

type Models = Arc<RwLock<HashMap<String, Vec<Model>>>>;

#[derive(Deserialize)]
struct FitBody {
    values: Vec<f64>,
}

#[derive(Deserialize)]
struct PredictBody {
    timestamp: serde_json::Value,
    value: f64,
}

#[derive(Deserialize)]
struct VersionQuery {
    version: Option<String>,
}

#[derive(Serialize)]
struct Verdict {
    anomaly: bool,
    model_version: String,
    series_id: String,
    timestamp: String,
    value: f64,
    score: f64,
    threshold: f64,
    direction: &'static str,
}

async fn fit(
    Path(id): Path<String>,
    State(models): State<Models>,
    Json(body): Json<FitBody>,
) -> Json<serde_json::Value> {
    let n = body.values.len().max(1) as f64;
    let mean = body.values.iter().sum::<f64>() / n;
    let std = (body.values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
    let mut all = models.write().unwrap_or_else(std::sync::PoisonError::into_inner);
    let versions = all.entry(id.clone()).or_default();
    versions.push(Model { mean, std });
    Json(serde_json::json!({ "series_id": id, "version": format!("v{}", versions.len()) }))
}

async fn predict(
    Path(id): Path<String>,
    Query(query): Query<VersionQuery>,
    State(models): State<Models>,
    Json(body): Json<PredictBody>,
) -> Result<Json<Verdict>, StatusCode> {
    let all = models.read().unwrap_or_else(std::sync::PoisonError::into_inner);
    let versions = all.get(&id).ok_or(StatusCode::NOT_FOUND)?;
    let number = match query.version {
        Some(v) => v.trim_start_matches(['v', 'V']).parse::<usize>().map_err(|_| StatusCode::UNPROCESSABLE_ENTITY)?,
        None => versions.len(),
    };
    let model = *versions.get(number.wrapping_sub(1)).ok_or(StatusCode::NOT_FOUND)?;
    drop(all);
    let score = (body.value - model.mean) / model.std;
    Ok(Json(Verdict {
        anomaly: score.abs() > 3.0,
        model_version: format!("v{number}"),
        series_id: id,
        timestamp: body.timestamp.to_string(),
        value: body.value,
        score,
        threshold: 3.0,
        direction: "two_sided",
    }))
}

/// The baseline's routes: `POST /fit/{series_id}` and `POST /predict/{series_id}`.
pub fn router() -> Router {
    Router::new()
        .route("/fit/{series_id}", post(fit))
        .route("/predict/{series_id}", post(predict))
        .with_state(Models::default())
}
