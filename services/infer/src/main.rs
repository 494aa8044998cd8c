//! Runs the infer service on its own process (see `platform` for all three in one).

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // On SIGTERM the server stops, then drains its stream worker and history.
    anomaly_http::standalone::run_service("infer", |backends, settings: infer::InferSettings, http| async move {
        infer::build(backends, &settings, &http).await
    })
    .await
}
