//! Runs the monitor service on its own process (see `platform` for all three in one).

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    anomaly_http::standalone::run_service("monitor", |backends, settings: monitor::MonitorSettings, http| async move {
        monitor::build(backends, &settings, &http).await
    })
    .await
}
