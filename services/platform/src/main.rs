//! Runs train, infer and monitor in one process over one set of storage
//! adapters. With no DATABASE_URL/REDIS_URL that is the embedded default
//! (SQLite file, in-process cache and bus): what `make run` starts.

use anomaly_http::{HttpArgs, Server, StorageArgs, shutdown_signal, telemetry::init_tracing};
use anomaly_store::Backends;
use clap::Parser;
use platform::{PlatformSettings, Services};
use tokio::sync::watch;

/// The platform's configuration: shared settings plus each service's own.
#[derive(Debug, Parser)]
#[command(version, about = "Time-series anomaly detection: train, infer and monitor in one process")]
struct Config {
    #[command(flatten)]
    storage: StorageArgs,
    #[command(flatten)]
    http: HttpArgs,
    #[command(flatten)]
    train: train::TrainSettings,
    #[command(flatten)]
    infer: infer::InferSettings,
    #[command(flatten)]
    monitor: monitor::MonitorSettings,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    init_tracing(&config.http.log_format);
    let storage = config.storage.storage_config();
    let backends = Backends::connect(&storage).await?;
    tracing::info!(database = backends.store.backend(), cache = backends.cache.backend(), "storage ready");
    let settings = PlatformSettings { train: config.train, infer: config.infer, monitor: config.monitor };
    let Services { train, infer, monitor } = platform::build(backends, &settings, &config.http).await?;
    let servers = [("train", train), ("infer", infer), ("monitor", monitor)];
    let (stop, stopped) = watch::channel(false);
    let mut tasks = Vec::new();
    for (name, server) in servers {
        tracing::info!(service = name, url = %server.url()?, "listening");
        tasks.push(tokio::spawn(serve(name, server, stopped.clone())));
    }
    shutdown_signal().await;
    let _ = stop.send(true);
    // Each server stops, then finishes its own work (infer: the stream
    // worker's batch, the prediction history kept).
    for task in tasks {
        task.await??;
    }
    tracing::info!("stopped");
    Ok(())
}

async fn serve(name: &'static str, server: Server, mut stopped: watch::Receiver<bool>) -> std::io::Result<()> {
    server
        .run(async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        })
        .await
        .inspect_err(|error| tracing::error!(service = name, %error, "server failed"))
}
