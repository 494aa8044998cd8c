//! Turns the anomaly feed into deliveries: follows the feed from the
//! position stored in the database, creates one delivery per anomaly and
//! matching webhook (unique, so two replicas, or an anomaly published
//! twice, make one), then stores the new position. A restarted monitor
//! resumes where the last one stopped, as far back as the feed keeps.

use super::WebhookWorkers;
use crate::queries::PredictionView;
use anomaly_store::{AnomalyFeed, FeedAnomaly, NewDelivery, Webhook, WebhookStore};
use std::sync::Arc;
use std::sync::Weak;
use std::time::Duration;

/// Entries turned into deliveries at once.
const PAGE: usize = 500;
/// How long one read waits for new entries.
const WAIT: Duration = Duration::from_secs(5);
/// Pause after a failure.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// Whether `hook` wants `anomaly`.
fn wants(hook: &Webhook, anomaly: &FeedAnomaly) -> bool {
    hook.series_id.as_ref().is_none_or(|id| *id == anomaly.series_id)
        && hook.min_score.is_none_or(|min| anomaly.score.is_none_or(|score| score.abs() >= min))
}

/// What identifies an anomaly across publications.
fn anomaly_key(anomaly: &FeedAnomaly) -> String {
    let judge = anomaly.model_version.as_deref().or(anomaly.detector.as_deref()).unwrap_or_default();
    format!("{}:{}:{}:{judge}", anomaly.source, anomaly.series_id, anomaly.timestamp)
}

/// A new random id with `prefix`.
pub fn random_id(prefix: &str) -> String {
    format!("{prefix}_{:016x}", rand::random::<u64>())
}

/// Follows the feed while `workers` lives, waking its dispatcher when it
/// created deliveries.
pub async fn run(feed: Arc<dyn AnomalyFeed>, store: Arc<dyn WebhookStore>, workers: Weak<WebhookWorkers>) {
    while workers.strong_count() > 0 {
        if let Err(error) = follow(&*feed, &*store, &workers).await {
            tracing::warn!(%error, "webhook fan-out paused");
            tokio::time::sleep(RETRY_AFTER).await;
        }
    }
}

async fn follow(
    feed: &dyn AnomalyFeed,
    store: &dyn WebhookStore,
    workers: &Weak<WebhookWorkers>,
) -> Result<(), anomaly_store::StoreError> {
    let mut position = match store.webhook_feed_position().await? {
        Some(position) => position,
        None => {
            let end = feed.last_id().await?;
            store.set_webhook_feed_position(end).await?;
            end
        }
    };
    while workers.strong_count() > 0 {
        let entries = feed.read_after(position, PAGE, WAIT).await?;
        let Some(last) = entries.last().map(|entry| entry.id) else { continue };
        let hooks = store.webhooks().await?;
        let now = chrono::Utc::now().timestamp_millis();
        let mut deliveries = Vec::new();
        for entry in &entries {
            for hook in hooks.iter().filter(|hook| wants(hook, &entry.anomaly)) {
                deliveries.push(NewDelivery {
                    id: random_id("dl"),
                    webhook_id: hook.id.clone(),
                    anomaly_key: anomaly_key(&entry.anomaly),
                    payload: serde_json::to_string(&PredictionView::from(&entry.anomaly)).unwrap_or_default(),
                    found_at_ms: entry.anomaly.recorded_at_ms,
                });
            }
        }
        if store.enqueue_deliveries(&deliveries, now).await? > 0
            && let Some(workers) = workers.upgrade()
        {
            workers.created();
        }
        store.set_webhook_feed_position(last).await?;
        position = last;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn anomaly(series: &str, score: Option<f64>) -> FeedAnomaly {
        FeedAnomaly {
            series_id: series.into(),
            timestamp: 60,
            value: 1.0,
            score,
            detector: Some("novelty".into()),
            model_version: None,
            recorded_at_ms: 0,
            source: "stream".into(),
        }
    }

    #[test]
    fn filters_by_series_and_score_magnitude() {
        let hook = Webhook {
            id: "wh".into(),
            url: "http://x".into(),
            secret: "s".into(),
            series_id: Some("cpu".into()),
            min_score: Some(5.0),
            created_at_ms: 0,
        };
        assert!(wants(&hook, &anomaly("cpu", Some(-7.0))));
        assert!(wants(&hook, &anomaly("cpu", None)), "a score too large to be finite passes");
        assert!(!wants(&hook, &anomaly("cpu", Some(4.0))));
        assert!(!wants(&hook, &anomaly("mem", Some(9.0))));
        assert_eq!(anomaly_key(&anomaly("cpu", None)), "stream:cpu:60:novelty");
    }
}
