//! Webhook delivery: endpoints registered with `POST /webhooks` (see
//! [`crate::api::webhooks`]) receive every anomaly they match as a signed
//! JSON POST (see [`signature`]), at least once, retried with backoff.
//! `fanout` turns the anomaly feed into durable deliveries, `dispatcher`
//! sends them, `targets` keeps them off internal addresses.

mod dispatcher;
mod fanout;
pub mod signature;
mod targets;

pub use dispatcher::RetryPolicy;
pub use fanout::{FanoutStatus, random_id};
pub use targets::Targets;

use anomaly_store::{AnomalyFeed, WebhookStore};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::{Notify, watch};

/// The webhook tasks of one process; they stop with [`WebhookWorkers::stop`],
/// or once this is dropped.
#[derive(Debug)]
pub struct WebhookWorkers {
    /// Woken when deliveries were created.
    created: Notify,
    /// How the fan-out goes, for `/healthcheck`.
    fanout: Arc<FanoutStatus>,
    /// Tells the tasks to stop.
    stop: watch::Sender<bool>,
    /// The fan-out and the dispatcher, until stopped.
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    /// How long a stop waits for them (an attempt's timeout and a margin).
    stop_within: Duration,
}

impl WebhookWorkers {
    /// Starts turning the feed into deliveries and sending them; an error
    /// when the delivery client cannot be built.
    pub fn start(
        feed: Arc<dyn AnomalyFeed>,
        store: Arc<dyn WebhookStore>,
        policy: RetryPolicy,
    ) -> reqwest::Result<Arc<Self>> {
        let http = dispatcher::client(&policy)?;
        let (stop, stopped) = watch::channel(false);
        let workers = Arc::new(Self {
            created: Notify::new(),
            fanout: Arc::default(),
            stop,
            tasks: Mutex::default(),
            stop_within: policy.timeout + Duration::from_secs(5),
        });
        let (fanout_status, weak) = (workers.fanout.clone(), Arc::downgrade(&workers));
        let tasks = vec![
            tokio::spawn(fanout::run(feed, store.clone(), fanout_status, weak.clone(), stopped.clone())),
            tokio::spawn(dispatcher::run(store, http, policy, weak, stopped)),
        ];
        *workers.tasks.lock().unwrap_or_else(PoisonError::into_inner) = tasks;
        Ok(workers)
    }

    /// Stops following the feed and taking deliveries, and waits until the
    /// attempts in flight have ended and their outcomes are recorded (at
    /// most an attempt's timeout and 5 s): the monitor runs it once its
    /// HTTP side has stopped.
    pub async fn stop(&self) {
        self.stop.send_replace(true);
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(PoisonError::into_inner));
        let all = futures::future::join_all(tasks);
        if tokio::time::timeout(self.stop_within, all).await.is_err() {
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
