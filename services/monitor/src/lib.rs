//! The monitor service: `GET /plot` (the training data of a model version
//! with its fitted band, drawn as SVG by plotters), the model listings
//! `GET /models` and `GET /models/{series_id}`, and the prediction history
//! `GET /series/{series_id}/predictions` and `GET /anomalies`, and the
//! dashboard in the browser (`/dashboard`), and the live feed of anomalies
//! `GET /events` (Server-Sent Events), and webhooks (`/webhooks`) that
//! receive each anomaly as a signed POST.

mod api;
mod live_feed;
mod openapi;
mod pages;
mod queries;
mod query_params;
mod render;
mod settings;
mod verdict_events;
mod webhooks;

pub use api::events::events;
pub use api::models::{ModelsPage, SeriesModels, list_models, series_models};
pub use api::plot::plot;
pub use api::predictions::{PredictionsPage, anomalies, series_predictions};
pub use openapi::openapi;
pub use queries::PredictionView;
pub use render::plot::{PlotInput, render_svg};
pub use settings::MonitorSettings;

use anomaly_http::{Access, HttpArgs, Server, service_router};
use anomaly_store::Backends;
use axum::Router;

/// What the monitor handlers share.
#[derive(Clone)]
pub struct MonitorState {
    /// Storage.
    pub backends: Backends,
    /// The train service, whose health the dashboard shows.
    pub train_url: String,
    /// The infer service, whose health the dashboard shows.
    pub infer_url: String,
    /// Client for those health checks.
    pub http: reqwest::Client,
    /// The anomaly feed as this process follows it, for `/events`.
    pub live: std::sync::Arc<live_feed::LiveFeed>,
    /// The webhook fan-out and dispatcher of this process.
    pub webhooks: std::sync::Arc<webhooks::WebhookWorkers>,
    /// Where webhooks may point (`WEBHOOK_ALLOW_PRIVATE`).
    pub webhook_targets: webhooks::Targets,
    /// One permit per live-feed client that may connect (`SSE_MAX_CLIENTS`).
    pub sse_slots: std::sync::Arc<tokio::sync::Semaphore>,
    /// The dashboard's address for links in messages (`PUBLIC_URL`).
    pub public_url: String,
}

impl MonitorState {
    /// State over `backends`, checking the services `settings` names;
    /// starts following the anomaly feed and delivering webhooks. Fails
    /// when the webhook client cannot be built.
    pub fn new(backends: Backends, settings: &MonitorSettings) -> std::io::Result<Self> {
        let policy = webhooks::RetryPolicy::from(settings);
        let webhooks = webhooks::WebhookWorkers::start(&backends, policy, webhooks::AlertSettings::from(settings))
            .map_err(|error| std::io::Error::other(format!("the webhook client cannot be built: {error}")))?;
        Ok(Self {
            webhook_targets: policy.targets,
            sse_slots: std::sync::Arc::new(tokio::sync::Semaphore::new(settings.sse_max_clients as usize)),
            live: live_feed::LiveFeed::start(backends.anomaly_feed.clone(), backends.mutes.clone()),
            webhooks,
            backends,
            train_url: settings.train_url.clone(),
            infer_url: settings.infer_url.clone(),
            http: reqwest::Client::new(),
            public_url: settings.public_url.clone(),
        })
    }
}

/// All routes of the monitor service, guarded by `access`: the JSON API
/// ([`openapi::api_routes`], documented from the same list) and the pages.
pub fn router(state: MonitorState, access: &Access) -> Router {
    let backends = state.backends.clone();
    let probes = anomaly_http::Probes { webhook_fanout: Some(state.webhooks.fanout_probe()), ..Default::default() };
    let routes = openapi::api_routes().into_router(access).merge(pages::routes(access)).with_state(state);
    service_router("monitor", routes, backends, Vec::new(), probes, openapi())
}

/// Binds the monitor service on `settings.monitor_port` (0 picks a free port).
pub async fn build(backends: Backends, settings: &MonitorSettings, http: &HttpArgs) -> std::io::Result<Server> {
    let access = Access::from_args(http).map_err(std::io::Error::other)?;
    let state = MonitorState::new(backends, settings)?;
    let webhooks = state.webhooks.clone();
    let server = Server::bind(&http.host, settings.monitor_port, router(state, &access), http).await?;
    // Once no request is in flight: the webhook attempts under way end and are recorded.
    Ok(server.after_stop(move || async move { webhooks.stop().await }))
}
