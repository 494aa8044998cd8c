//! Running one service in its own process: parse its configuration, init
//! tracing, connect storage, bind, serve until SIGINT/SIGTERM. Each
//! service's `main.rs` is a call to [`run_service`].

use crate::{HttpArgs, Server, StorageArgs, shutdown_signal, telemetry::init_tracing};
use anomaly_store::Backends;
use clap::Parser;
use std::future::Future;

/// The configuration of a service run on its own: shared settings plus the
/// service's own `S`.
#[derive(Debug, Parser)]
pub struct ServiceConfig<S: clap::Args> {
    /// Storage settings.
    #[command(flatten)]
    pub storage: StorageArgs,
    /// HTTP settings.
    #[command(flatten)]
    pub http: HttpArgs,
    /// The service's own settings.
    #[command(flatten)]
    pub service: S,
}

/// Runs the service `name` that `build` binds.
pub async fn run_service<S, F, Fut>(name: &'static str, build: F) -> anyhow::Result<()>
where
    S: clap::Args,
    F: FnOnce(Backends, S, HttpArgs) -> Fut,
    Fut: Future<Output = std::io::Result<Server>>,
{
    let config = ServiceConfig::<S>::parse();
    init_tracing(&config.http.log_format);
    let backends = Backends::connect(&config.storage.storage_config()).await?;
    let server = build(backends, config.service, config.http).await?;
    tracing::info!(service = name, url = %server.url()?, "listening");
    server.run(shutdown_signal()).await?;
    tracing::info!(service = name, "stopped");
    Ok(())
}
