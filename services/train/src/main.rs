//! Runs the train service on its own process (see `platform` for all three in one).

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    anomaly_http::standalone::run_service("train", |backends, settings: train::TrainSettings, http| async move {
        train::build(backends, &settings, &http).await
    })
    .await
}
