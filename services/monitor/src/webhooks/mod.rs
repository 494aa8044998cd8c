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
use std::sync::Arc;
use tokio::sync::Notify;

/// The webhook tasks of one process; they stop once this is dropped.
#[derive(Debug, Default)]
pub struct WebhookWorkers {
    /// Woken when deliveries were created.
    created: Notify,
    /// How the fan-out goes, for `/healthcheck`.
    fanout: Arc<FanoutStatus>,
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
        let workers = Arc::new(Self::default());
        tokio::spawn(fanout::run(feed, store.clone(), workers.fanout.clone(), Arc::downgrade(&workers)));
        tokio::spawn(dispatcher::run(store, http, policy, Arc::downgrade(&workers)));
        Ok(workers)
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
