//! Runs the infer service on its own process (see `platform` for all three in one).

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let served =
        anomaly_http::standalone::run_service("infer", |backends, settings: infer::InferSettings, http| async move {
            infer::build(backends, &settings, &http).await
        })
        .await;
    // SIGTERM: the stream worker finishes its batch and releases its partitions.
    infer::drain_stream_workers().await;
    served
}
