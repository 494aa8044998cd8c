//! Sends deliveries: takes the lease of due ones (a few per webhook, so a
//! slow or dead endpoint delays only its own), POSTs each signed body on a
//! task of its own, and records the outcome: delivered on 2xx; retried
//! with exponential backoff and jitter on 5xx, 408, 429, timeouts and
//! connection errors, up to `WEBHOOK_MAX_ATTEMPTS`; failed at once on
//! other answers (a redirect is not followed). Outcomes are recorded by
//! one task, as many as have come in one transaction, so a busy webhook
//! costs the database a write per batch rather than per anomaly. A replica
//! that dies mid-attempt loses its lease, and another takes the delivery
//! over: at least once.

use super::WebhookWorkers;
use super::signature::sign;
use super::targets::{PublicOnly, Targets};
use crate::MonitorSettings;
use anomaly_store::{AttemptOutcome, ClaimedDelivery, WebhookStore};
use std::sync::Arc;
use std::sync::Weak;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

/// Deliveries taken per round.
const PER_ROUND: u32 = 64;
/// How often due retries are looked for when nothing wakes the dispatcher.
const POLL: Duration = Duration::from_millis(250);
/// Longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(600);
/// Longest error text kept.
const MAX_ERROR: usize = 300;
/// Most outcomes recorded in one transaction.
const RECORD_BATCH: usize = 512;

/// An attempt's outcome, on its way to the database.
struct Finished {
    delivery_id: String,
    outcome: AttemptOutcome,
}

/// How deliveries are attempted.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts before a delivery fails.
    pub max_attempts: u32,
    /// Wait before the first retry.
    pub base: Duration,
    /// Time allowed per attempt.
    pub timeout: Duration,
    /// Deliveries of one webhook in flight at once, across replicas.
    pub in_flight: u32,
    /// Where deliveries may connect.
    pub targets: Targets,
}

impl From<&MonitorSettings> for RetryPolicy {
    fn from(settings: &MonitorSettings) -> Self {
        Self {
            max_attempts: settings.webhook_max_attempts,
            base: Duration::from_millis(settings.webhook_retry_base_ms),
            timeout: Duration::from_secs(settings.webhook_timeout_seconds),
            in_flight: settings.webhook_max_in_flight,
            targets: Targets { allow_private: settings.webhook_allow_private },
        }
    }
}

impl RetryPolicy {
    /// The wait after attempt number `attempt` (1-based): `base·2^(attempt-1)`,
    /// at most 10 minutes, of which a random half ("equal jitter").
    pub fn backoff(&self, attempt: u32) -> Duration {
        let full = self.base.saturating_mul(1 << attempt.saturating_sub(1).min(20)).min(MAX_BACKOFF);
        full / 2 + full.mul_f64(rand::random::<f64>() / 2.0)
    }
}

/// The client deliveries are sent with: the attempt's timeout, no
/// redirects, and (unless internal targets are allowed) only the public
/// addresses of a name. An error when it cannot be built (the TLS backend
/// failed to start): no delivery is ever sent without those rules.
pub fn client(policy: &RetryPolicy) -> reqwest::Result<reqwest::Client> {
    let http = reqwest::Client::builder()
        .timeout(policy.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("anomaly-monitor-webhooks");
    let http = if policy.targets.allow_private { http } else { http.dns_resolver(Arc::new(PublicOnly)) };
    http.build()
}

/// Sends deliveries with `http` while `workers` lives and `stop` is false;
/// then lets the attempts in flight end (each within the attempt timeout)
/// and records their outcomes, so a stopped monitor sends none of them again.
pub async fn run(
    store: Arc<dyn WebhookStore>,
    http: reqwest::Client,
    policy: RetryPolicy,
    workers: Weak<WebhookWorkers>,
    mut stop: watch::Receiver<bool>,
) {
    let owner = super::fanout::random_id("monitor");
    let (finished, outcomes) = mpsc::unbounded_channel();
    let recorder = tokio::spawn(record(store.clone(), owner.clone(), outcomes, workers.clone()));
    let mut in_flight = JoinSet::new();
    // The lease outlives the attempt, so a live owner never loses it.
    let lease = policy.timeout + Duration::from_secs(30);
    while workers.strong_count() > 0 && !*stop.borrow() {
        while in_flight.try_join_next().is_some() {}
        let now = chrono::Utc::now().timestamp_millis();
        let lease_until = now + lease.as_millis() as i64;
        match store.claim_deliveries(&owner, now, lease_until, policy.in_flight, PER_ROUND).await {
            Ok(claimed) if !claimed.is_empty() => {
                for delivery in claimed {
                    let (http, finished) = (http.clone(), finished.clone());
                    in_flight.spawn(async move {
                        let outcome = attempt(&http, policy, &delivery).await;
                        let _ = finished.send(Finished { delivery_id: delivery.id, outcome });
                    });
                }
                continue;
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "cannot take webhook deliveries"),
        }
        let Some(woken) = workers.upgrade() else { break };
        tokio::select! {
            _ = tokio::time::timeout(POLL, woken.created.notified()) => {}
            _ = stop.changed() => {}
        }
    }
    while in_flight.join_next().await.is_some() {}
    // The last sender: the recorder writes what is left and ends.
    drop(finished);
    let _ = recorder.await;
}

/// One attempt of one delivery; counted in the metrics.
async fn attempt(http: &reqwest::Client, policy: RetryPolicy, delivery: &ClaimedDelivery) -> AttemptOutcome {
    if let Some(error) = policy.targets.literal_refusal(&delivery.url) {
        return counted(AttemptOutcome::Failed { error, status_code: None });
    }
    let answer = http
        .post(&delivery.url)
        .header("content-type", "application/json")
        .header("x-anomaly-delivery", &delivery.id)
        .header("x-anomaly-signature", sign(&delivery.secret, delivery.payload.as_bytes()))
        .body(delivery.payload.clone())
        .send()
        .await;
    let attempt = delivery.attempts + 1;
    let (retryable, error, status_code) = match answer {
        Ok(response) if response.status().is_success() => {
            let latency = (chrono::Utc::now().timestamp_millis() - delivery.found_at_ms).max(0) as f64 / 1000.0;
            metrics::histogram!("anomaly_webhook_delivery_seconds").record(latency);
            return counted(AttemptOutcome::Delivered { status_code: response.status().as_u16() });
        }
        Ok(response) => {
            let status = response.status();
            let retryable = status.is_server_error() || status.as_u16() == 408 || status.as_u16() == 429;
            (retryable, format!("the endpoint answered {status}"), Some(status.as_u16()))
        }
        Err(error) => {
            let mut text =
                if error.is_timeout() { format!("no answer within {:?}", policy.timeout) } else { error.to_string() };
            if let Some(source) = std::error::Error::source(&error) {
                text = format!("{text}: {source}");
            }
            (true, text, None)
        }
    };
    let error: String = error.chars().take(MAX_ERROR).collect();
    counted(if retryable && attempt < policy.max_attempts {
        let next_attempt_ms = chrono::Utc::now().timestamp_millis() + policy.backoff(attempt).as_millis() as i64;
        AttemptOutcome::Retry { next_attempt_ms, error, status_code }
    } else {
        AttemptOutcome::Failed { error, status_code }
    })
}

/// Counts an outcome in the metrics.
fn counted(outcome: AttemptOutcome) -> AttemptOutcome {
    let (label, finished) = match &outcome {
        AttemptOutcome::Delivered { .. } => ("delivered", true),
        AttemptOutcome::Retry { .. } => ("retried", false),
        AttemptOutcome::Failed { .. } => ("failed", true),
    };
    metrics::counter!("anomaly_webhook_attempts_total", "result" => label).increment(1);
    if finished {
        metrics::counter!("anomaly_webhook_deliveries_total", "outcome" => label).increment(1);
    }
    outcome
}

/// Records outcomes as they come, as many at once as are waiting, then
/// wakes the dispatcher: their webhooks have free slots.
async fn record(
    store: Arc<dyn WebhookStore>,
    owner: String,
    mut outcomes: mpsc::UnboundedReceiver<Finished>,
    workers: Weak<WebhookWorkers>,
) {
    let mut batch = Vec::with_capacity(RECORD_BATCH);
    while outcomes.recv_many(&mut batch, RECORD_BATCH).await > 0 {
        let attempts: Vec<_> = batch.drain(..).map(|f| (f.delivery_id, f.outcome)).collect();
        let now = chrono::Utc::now().timestamp_millis();
        match store.finish_attempts(&owner, &attempts, now).await {
            Ok(recorded) => {
                for ((id, _), _) in attempts.iter().zip(recorded).filter(|(_, recorded)| !recorded) {
                    tracing::warn!(delivery = %id, "delivery lease lost; another replica owns it");
                }
            }
            // The leases run out and the deliveries are attempted again: at least once.
            Err(error) => tracing::warn!(%error, attempts = attempts.len(), "cannot record delivery attempts"),
        }
        let Some(workers) = workers.upgrade() else { return };
        workers.created();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let policy = RetryPolicy {
            max_attempts: 8,
            base: Duration::from_secs(1),
            timeout: Duration::from_secs(10),
            in_flight: 64,
            targets: Targets::default(),
        };
        for (attempt, full) in [(1, 1), (2, 2), (3, 4), (8, 128), (30, 600)] {
            let wait = policy.backoff(attempt);
            let full = Duration::from_secs(full);
            assert!(wait >= full / 2 && wait <= full, "attempt {attempt}: {wait:?} not in [{:?}, {full:?}]", full / 2);
        }
    }
}
