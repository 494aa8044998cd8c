//! The webhooks API: `POST /webhooks`, `GET /webhooks`, `DELETE
//! /webhooks/{id}`, `POST /webhooks/{id}/test` and `GET
//! /webhooks/{id}/deliveries`. Delivery itself is [`crate::webhooks`].

use crate::MonitorState;
use crate::queries::PredictionView;
use crate::query_params::page_limit;
use crate::webhooks::{Message, Targets, body, random_id};
use anomaly_core::SeriesId;
use anomaly_http::model_description::rfc3339_millis;
use anomaly_http::{ApiError, ApiJson, ApiQuery, ErrorBody};
use anomaly_store::{Delivery, DeliveryQuery, NewDelivery, Webhook};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

/// Longest webhook URL accepted.
const MAX_URL: usize = 2048;
/// Longest secret accepted.
const MAX_SECRET: usize = 256;
/// Largest page of deliveries.
const MAX_DELIVERIES: u32 = 1000;

/// A webhook to register.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookRequest {
    /// Where to POST anomalies: an http or https URL.
    #[schema(example = "https://alerts.example.com/anomaly")]
    pub url: String,
    /// The HMAC-SHA256 key of `X-Anomaly-Signature` (1 to 256 characters);
    /// omitted: one is generated and returned once.
    pub secret: Option<String>,
    /// Only this series' anomalies.
    pub series_id: Option<String>,
    /// Only anomalies whose |score| is at least this.
    pub min_score: Option<f64>,
    /// `incident` (default: one delivery when a burst of a series'
    /// anomalies opens, one when it closes, `ALERT_GROUP_SECONDS` after its
    /// last) or `anomaly` (one delivery per anomaly).
    #[schema(example = "incident")]
    pub mode: Option<String>,
    /// `json` (default: our signed JSON) or `slack` (Slack's
    /// incoming-webhook message: `text` and blocks with the series, value,
    /// score and a link to the series page under `PUBLIC_URL`).
    #[schema(example = "json")]
    pub format: Option<String>,
}

/// A registered webhook.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WebhookView {
    /// Its id.
    #[schema(example = "wh_3f9a0c1d2e4b5a69")]
    pub id: String,
    /// Where anomalies are POSTed.
    pub url: String,
    /// Only this series, when set.
    pub series_id: Option<String>,
    /// Only scores at least this, when set.
    pub min_score: Option<f64>,
    /// `incident` or `anomaly`.
    pub mode: String,
    /// `json` or `slack`.
    pub format: String,
    /// When it was registered (RFC 3339, UTC).
    pub created_at: String,
    /// The signing secret: only in the answer to the registration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

impl From<&Webhook> for WebhookView {
    fn from(hook: &Webhook) -> Self {
        Self {
            id: hook.id.clone(),
            url: hook.url.clone(),
            series_id: hook.series_id.clone(),
            min_score: hook.min_score,
            mode: hook.mode.clone(),
            format: hook.format.clone(),
            created_at: rfc3339_millis(hook.created_at_ms),
            secret: None,
        }
    }
}

/// Every webhook.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WebhooksPage {
    /// Oldest first.
    pub webhooks: Vec<WebhookView>,
}

/// A delivery as listed.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DeliveryView {
    /// Its id (the `X-Anomaly-Delivery` header).
    pub id: String,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    /// Attempts made.
    pub attempts: u32,
    /// What went wrong last, if anything.
    pub last_error: Option<String>,
    /// The status code the endpoint answered last.
    pub last_status_code: Option<u16>,
    /// When it was created (RFC 3339, UTC).
    pub created_at: String,
    /// When the next attempt is due (pending only).
    pub next_attempt_at: Option<String>,
    /// When it was delivered or given up.
    pub finished_at: Option<String>,
    /// The body sent.
    pub payload: serde_json::Value,
}

impl From<&Delivery> for DeliveryView {
    fn from(delivery: &Delivery) -> Self {
        Self {
            id: delivery.id.clone(),
            status: delivery.status.clone(),
            attempts: delivery.attempts,
            last_error: delivery.last_error.clone(),
            last_status_code: delivery.last_status_code,
            created_at: rfc3339_millis(delivery.created_at_ms),
            next_attempt_at: (delivery.status == "pending").then(|| rfc3339_millis(delivery.next_attempt_ms)),
            finished_at: delivery.finished_at_ms.map(rfc3339_millis),
            payload: serde_json::from_str(&delivery.payload).unwrap_or(serde_json::Value::Null),
        }
    }
}

/// A webhook's deliveries.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DeliveriesPage {
    /// Newest first.
    pub deliveries: Vec<DeliveryView>,
}

/// Which deliveries to list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveriesQuery {
    /// `pending`, `delivered` or `failed`; omitted: all.
    #[param(pattern = r"^(pending|delivered|failed)$")]
    pub status: Option<String>,
    /// At most this many, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

fn invalid(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::BadRequest { code, message: message.into() }
}

fn not_found(id: &str) -> ApiError {
    ApiError::NotFound {
        code: "webhook_not_found",
        message: format!("no webhook {:?}", id.chars().take(64).collect::<String>()),
    }
}

/// `given`, one of `choices` (the first when omitted).
fn one_of(name: &str, given: Option<String>, choices: &[&str]) -> Result<String, ApiError> {
    match given {
        None => Ok(choices[0].to_owned()),
        Some(given) if choices.contains(&given.as_str()) => Ok(given),
        Some(given) => Err(invalid(
            "invalid_webhook",
            format!(
                "{name} must be one of {}; got {:?}",
                choices.join(", "),
                given.chars().take(40).collect::<String>()
            ),
        )),
    }
}

/// The webhook `request` describes, checked (its URL against `targets`).
async fn validated(request: WebhookRequest, targets: Targets) -> Result<Webhook, ApiError> {
    let url = reqwest::Url::parse(&request.url).map_err(|e| invalid("invalid_url", format!("url: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("invalid_url", "url must be an http:// or https:// URL with a host"));
    }
    if let Some(refusal) = targets.refusal(&url).await {
        return Err(invalid("invalid_url", refusal));
    }
    if request.url.len() > MAX_URL {
        return Err(invalid("invalid_url", format!("url is longer than {MAX_URL} bytes")));
    }
    let secret = match request.secret {
        Some(secret) if secret.is_empty() || secret.chars().count() > MAX_SECRET => {
            return Err(invalid("invalid_secret", format!("secret must be 1 to {MAX_SECRET} characters")));
        }
        Some(secret) => secret,
        None => format!("whsec_{}", hex::encode(rand::random::<[u8; 24]>())),
    };
    let series_id = request.series_id.as_deref().map(SeriesId::parse).transpose()?.map(|id| id.to_string());
    if request.min_score.is_some_and(|min| !min.is_finite() || min < 0.0) {
        return Err(invalid("invalid_min_score", "min_score must be a finite number, at least 0"));
    }
    let mode = one_of("mode", request.mode, &["incident", "anomaly"])?;
    let format = one_of("format", request.format, &["json", "slack"])?;
    Ok(Webhook {
        id: random_id("wh"),
        url: request.url,
        secret,
        series_id,
        min_score: request.min_score,
        mode,
        format,
        created_at_ms: chrono::Utc::now().timestamp_millis(),
    })
}

/// Registers a webhook: every anomaly it matches from now on is POSTed to it.
#[utoipa::path(
    post,
    path = "/webhooks",
    tag = "webhooks",
    request_body = WebhookRequest,
    responses(
        (status = 201, description = "Registered; `secret` is shown only here", body = WebhookView),
        (status = 422, description = "Invalid url (not http(s), with credentials, or aimed at an internal address without WEBHOOK_ALLOW_PRIVATE), secret, series id or min_score", body = ErrorBody),
        (status = 503, description = "The database is down", body = ErrorBody),
    )
)]
pub async fn create(
    State(state): State<MonitorState>,
    ApiJson(request): ApiJson<WebhookRequest>,
) -> Result<(StatusCode, Json<WebhookView>), ApiError> {
    let hook = validated(request, state.webhook_targets).await?;
    state.backends.webhooks.create_webhook(&hook).await?;
    let view = WebhookView { secret: Some(hook.secret.clone()), ..WebhookView::from(&hook) };
    Ok((StatusCode::CREATED, Json(view)))
}

/// Every webhook (without secrets).
#[utoipa::path(
    get,
    path = "/webhooks",
    tag = "webhooks",
    responses(
        (status = 200, description = "The webhooks", body = WebhooksPage),
        (status = 503, description = "The database is down", body = ErrorBody),
    )
)]
pub async fn list(State(state): State<MonitorState>) -> Result<Json<WebhooksPage>, ApiError> {
    let hooks = state.backends.webhooks.webhooks().await?;
    Ok(Json(WebhooksPage { webhooks: hooks.iter().map(WebhookView::from).collect() }))
}

/// Removes a webhook and its deliveries.
#[utoipa::path(
    delete,
    path = "/webhooks/{id}",
    tag = "webhooks",
    params(("id" = String, Path, description = "The webhook's id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No such webhook", body = ErrorBody),
        (status = 503, description = "The database is down", body = ErrorBody),
    )
)]
pub async fn delete(State(state): State<MonitorState>, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    if state.backends.webhooks.delete_webhook(&id).await? { Ok(StatusCode::NO_CONTENT) } else { Err(not_found(&id)) }
}

/// Sends a test delivery now: a made-up anomaly (`"test": true`), in the
/// webhook's format.
#[utoipa::path(
    post,
    path = "/webhooks/{id}/test",
    tag = "webhooks",
    params(("id" = String, Path, description = "The webhook's id")),
    responses(
        (status = 202, description = "Queued: `{\"delivery_id\"}`; see its deliveries"),
        (status = 404, description = "No such webhook", body = ErrorBody),
        (status = 503, description = "The database is down", body = ErrorBody),
    )
)]
pub async fn test(
    State(state): State<MonitorState>,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let hook = state.backends.webhooks.webhook(&id).await?.ok_or_else(|| not_found(&id))?;
    let now = chrono::Utc::now().timestamp_millis();
    let delivery_id = random_id("dl");
    let mut payload = json!({
        "test": true, "series_id": hook.series_id.as_deref().unwrap_or("test-series"), "timestamp": now / 1000,
        "value": 42.0, "anomaly": true, "score": 9.0, "anomaly_score": 0.75, "model_version": null,
        "recorded_at": rfc3339_millis(now), "source": "test", "detector": "test", "id": "test",
    });
    if hook.format == "slack"
        && let Ok(view) = serde_json::from_value::<PredictionView>(payload.clone())
    {
        payload =
            serde_json::from_str(&body(Message::Anomaly(&view), &hook.format, &state.public_url)).unwrap_or(payload);
    }
    let delivery = NewDelivery {
        id: delivery_id.clone(),
        webhook_id: hook.id,
        anomaly_key: format!("test:{delivery_id}"),
        payload: payload.to_string(),
        found_at_ms: now,
    };
    state.backends.webhooks.enqueue_deliveries(&[delivery], now).await?;
    state.webhooks.created();
    Ok((StatusCode::ACCEPTED, Json(json!({ "delivery_id": delivery_id }))))
}

/// A webhook's deliveries, newest first: status, attempts, last error.
#[utoipa::path(
    get,
    path = "/webhooks/{id}/deliveries",
    tag = "webhooks",
    params(("id" = String, Path, description = "The webhook's id"), DeliveriesQuery),
    responses(
        (status = 200, description = "The deliveries", body = DeliveriesPage),
        (status = 404, description = "No such webhook", body = ErrorBody),
        (status = 422, description = "Invalid status or limit", body = ErrorBody),
        (status = 503, description = "The database is down", body = ErrorBody),
    )
)]
pub async fn deliveries(
    State(state): State<MonitorState>,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<DeliveriesQuery>,
) -> Result<Json<DeliveriesPage>, ApiError> {
    let status = query.status.as_deref().filter(|s| !s.is_empty());
    if status.is_some_and(|s| !matches!(s, "pending" | "delivered" | "failed")) {
        return Err(invalid("invalid_query", "status must be pending, delivered or failed"));
    }
    let limit = page_limit(query.limit, 100, MAX_DELIVERIES)?;
    state.backends.webhooks.webhook(&id).await?.ok_or_else(|| not_found(&id))?;
    let listed = state.backends.webhooks.deliveries(DeliveryQuery { webhook_id: Some(&id), status, limit }).await?;
    Ok(Json(DeliveriesPage { deliveries: listed.iter().map(DeliveryView::from).collect() }))
}
