//! Sends deliveries: takes the lease of due ones (a few per webhook, so a
//! slow or dead endpoint delays only its own), POSTs each signed body on a
//! task of its own, and records the outcome: delivered on 2xx; retried
//! with exponential backoff and jitter on 5xx, 408, 429, timeouts and
//! connection errors, up to `WEBHOOK_MAX_ATTEMPTS`; failed at once on
//! other answers (a redirect is not followed). A replica that dies
//! mid-attempt loses its lease, and another takes the delivery over: at
//! least once.

use super::WebhookWorkers;
use super::signature::sign;
use crate::MonitorSettings;
use anomaly_store::{AttemptOutcome, ClaimedDelivery, WebhookStore};
use std::sync::Arc;
use std::sync::Weak;
use std::time::Duration;

/// Deliveries of one webhook in flight at once, across replicas.
const PER_WEBHOOK: u32 = 16;
/// Deliveries taken per round.
const PER_ROUND: u32 = 64;
/// How often due retries are looked for when nothing wakes the dispatcher.
const POLL: Duration = Duration::from_millis(250);
/// Longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(600);
/// Longest error text kept.
const MAX_ERROR: usize = 300;

/// How deliveries are attempted.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts before a delivery fails.
    pub max_attempts: u32,
    /// Wait before the first retry.
    pub base: Duration,
    /// Time allowed per attempt.
    pub timeout: Duration,
}

impl From<&MonitorSettings> for RetryPolicy {
    fn from(settings: &MonitorSettings) -> Self {
        Self {
            max_attempts: settings.webhook_max_attempts,
            base: Duration::from_millis(settings.webhook_retry_base_ms),
            timeout: Duration::from_secs(settings.webhook_timeout_seconds),
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

/// Sends deliveries while `workers` lives.
pub async fn run(store: Arc<dyn WebhookStore>, policy: RetryPolicy, workers: Weak<WebhookWorkers>) {
    let owner = super::fanout::random_id("monitor");
    let http = reqwest::Client::builder()
        .timeout(policy.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("anomaly-monitor-webhooks")
        .build()
        .unwrap_or_default();
    // The lease outlives the attempt, so a live owner never loses it.
    let lease = policy.timeout + Duration::from_secs(30);
    while workers.strong_count() > 0 {
        let now = chrono::Utc::now().timestamp_millis();
        let lease_until = now + lease.as_millis() as i64;
        match store.claim_deliveries(&owner, now, lease_until, PER_WEBHOOK, PER_ROUND).await {
            Ok(claimed) if !claimed.is_empty() => {
                for delivery in claimed {
                    let (store, http, owner, workers) = (store.clone(), http.clone(), owner.clone(), workers.clone());
                    tokio::spawn(async move {
                        attempt(store, http, owner, policy, delivery).await;
                        // A slot of its webhook is free: take the next one now.
                        if let Some(workers) = workers.upgrade() {
                            workers.created();
                        }
                    });
                }
                continue;
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "cannot take webhook deliveries"),
        }
        let Some(woken) = workers.upgrade() else { return };
        let _ = tokio::time::timeout(POLL, woken.created.notified()).await;
    }
}

/// One attempt of one delivery, and its outcome recorded.
async fn attempt(
    store: Arc<dyn WebhookStore>,
    http: reqwest::Client,
    owner: String,
    policy: RetryPolicy,
    delivery: ClaimedDelivery,
) {
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
            let status_code = response.status().as_u16();
            return record(&store, &owner, &delivery, AttemptOutcome::Delivered { status_code }).await;
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
    let outcome = if retryable && attempt < policy.max_attempts {
        let next_attempt_ms = chrono::Utc::now().timestamp_millis() + policy.backoff(attempt).as_millis() as i64;
        AttemptOutcome::Retry { next_attempt_ms, error, status_code }
    } else {
        AttemptOutcome::Failed { error, status_code }
    };
    record(&store, &owner, &delivery, outcome).await;
}

async fn record(store: &Arc<dyn WebhookStore>, owner: &str, delivery: &ClaimedDelivery, outcome: AttemptOutcome) {
    let now = chrono::Utc::now().timestamp_millis();
    let (outcome_label, finished) = match &outcome {
        AttemptOutcome::Delivered { .. } => ("delivered", true),
        AttemptOutcome::Retry { .. } => ("retried", false),
        AttemptOutcome::Failed { .. } => ("failed", true),
    };
    metrics::counter!("anomaly_webhook_attempts_total", "result" => outcome_label).increment(1);
    if finished {
        metrics::counter!("anomaly_webhook_deliveries_total", "outcome" => outcome_label).increment(1);
    }
    if matches!(outcome, AttemptOutcome::Delivered { .. }) {
        let latency = (now - delivery.found_at_ms).max(0) as f64 / 1000.0;
        metrics::histogram!("anomaly_webhook_delivery_seconds").record(latency);
    }
    match store.finish_attempt(&delivery.id, owner, &outcome, now).await {
        Ok(true) => {}
        Ok(false) => tracing::warn!(delivery = %delivery.id, "delivery lease lost; another replica owns it"),
        Err(error) => {
            // The lease runs out and the delivery is attempted again: at least once.
            tracing::warn!(%error, delivery = %delivery.id, "cannot record a delivery attempt");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let policy = RetryPolicy { max_attempts: 8, base: Duration::from_secs(1), timeout: Duration::from_secs(10) };
        for (attempt, full) in [(1, 1), (2, 2), (3, 4), (8, 128), (30, 600)] {
            let wait = policy.backoff(attempt);
            let full = Duration::from_secs(full);
            assert!(wait >= full / 2 && wait <= full, "attempt {attempt}: {wait:?} not in [{:?}, {full:?}]", full / 2);
        }
    }
}
