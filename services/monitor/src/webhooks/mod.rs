//! Webhook delivery: endpoints registered with `POST /webhooks` (see
//! [`crate::api::webhooks`]) hear of the anomalies they match, per
//! incident or per anomaly, as signed JSON or Slack messages (see
//! [`signature`], `messages`), at least once, retried with backoff, except
//! while a mute holds. `fanout` turns the anomaly feed into durable
//! deliveries (`incidents` groups them), `dispatcher` sends them, `targets`
//! keeps them off internal addresses.

mod dispatcher;
mod fanout;
mod incidents;
mod messages;
pub mod signature;
mod targets;

pub use dispatcher::RetryPolicy;
pub use fanout::{AlertSettings, FanoutStatus, random_id};
pub use messages::{Message, body};
pub use targets::Targets;

use anomaly_http::OwnedTasks;
use anomaly_store::Backends;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// The webhook tasks of one process; they stop with [`WebhookWorkers::stop`],
/// or once this is dropped.
#[derive(Debug)]
pub struct WebhookWorkers {
    /// Woken when deliveries were created.
    created: Notify,
    /// How the fan-out goes, for `/healthcheck`.
    fanout: Arc<FanoutStatus>,
    /// The fan-out and the dispatcher, and their stop signal.
    tasks: OwnedTasks,
    /// How long a stop waits for them (an attempt's timeout and a margin).
    stop_within: Duration,
}

impl WebhookWorkers {
    /// Starts turning the feed into deliveries and sending them; an error
    /// when the delivery client cannot be built.
    pub fn start(backends: &Backends, policy: RetryPolicy, alerts: AlertSettings) -> reqwest::Result<Arc<Self>> {
        let store = backends.webhooks.clone();
        let ports = fanout::FanoutPorts {
            feed: backends.anomaly_feed.clone(),
            store: store.clone(),
            mutes: backends.mutes.clone(),
            alerts,
        };
        let http = dispatcher::client(&policy)?;
        let workers = Arc::new(Self {
            created: Notify::new(),
            fanout: Arc::default(),
            tasks: OwnedTasks::default(),
            stop_within: policy.timeout + Duration::from_secs(5),
        });
        let (fanout_status, weak, tasks) = (workers.fanout.clone(), Arc::downgrade(&workers), &workers.tasks);
        tasks.own(tokio::spawn(fanout::run(ports, fanout_status, weak.clone(), tasks.stopping())));
        tasks.own(tokio::spawn(dispatcher::run(store, http, policy, weak, tasks.stopping())));
        Ok(workers)
    }

    /// Stops following the feed and taking deliveries, and waits until the
    /// attempts in flight have ended and their outcomes are recorded (at
    /// most an attempt's timeout and 5 s): the monitor runs it once its
    /// HTTP side has stopped.
    pub async fn stop(&self) {
        if !self.tasks.stop(self.stop_within).await {
            tracing::warn!(
                "webhook attempts still in flight at the stop; their leases run out and they are sent again"
            );
        }
    }

    /// What `/healthcheck` reports of the fan-out.
    pub fn fanout_probe(&self) -> Arc<dyn anomaly_http::FanoutProbe> {
        self.fanout.clone()
    }

    /// Wakes the dispatcher: deliveries were created.
    pub fn created(&self) {
        self.created.notify_one();
    }
}
