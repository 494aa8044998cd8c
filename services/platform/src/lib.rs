//! Train, infer and monitor in one process over one set of storage
//! adapters: what `make run` starts, and what the tests start in-process.
//! [`build`] binds the three; each is served by the caller.

use anomaly_http::{HttpArgs, Server};
use anomaly_store::Backends;

/// The settings of the three services.
#[derive(Debug, Clone)]
pub struct PlatformSettings {
    /// train's.
    pub train: train::TrainSettings,
    /// infer's.
    pub infer: infer::InferSettings,
    /// monitor's; its dashboard is pointed at the train and infer built here.
    pub monitor: monitor::MonitorSettings,
}

/// The three services, bound.
pub struct Services {
    /// train.
    pub train: Server,
    /// infer.
    pub infer: Server,
    /// monitor, its dashboard checking the two above.
    pub monitor: Server,
}

/// Binds train, infer and monitor over `backends`; monitor's dashboard
/// checks the train and infer bound here.
pub async fn build(backends: Backends, settings: &PlatformSettings, http: &HttpArgs) -> std::io::Result<Services> {
    let train = train::build(backends.clone(), &settings.train, http).await?;
    let infer = infer::build(backends.clone(), &settings.infer, http).await?;
    let monitor_settings =
        monitor::MonitorSettings { train_url: train.url()?, infer_url: infer.url()?, ..settings.monitor.clone() };
    let monitor = monitor::build(backends, &monitor_settings, http).await?;
    Ok(Services { train, infer, monitor })
}
