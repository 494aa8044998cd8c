//! Turns the anomaly feed into deliveries: follows the feed from the
//! position stored in the database, creates one delivery per anomaly and
//! matching webhook (unique, so two replicas, or an anomaly published
//! twice, make one), then stores the new position. A restarted monitor
//! resumes where the last one stopped, as far back as the feed keeps.

use super::WebhookWorkers;
use super::incidents::{IncidentBook, IncidentEvent, Sighting};
use super::messages::{Message, body};
use crate::queries::PredictionView;
use anomaly_http::{FanoutHealth, FanoutProbe, STUCK_AFTER_FAILURES};
use anomaly_store::{
    AnomalyFeed, FeedAnomaly, LogPosition, MuteStore, NewDelivery, OpenIncident, StoreError, Webhook, WebhookStore,
    is_muted,
};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;
use tokio::sync::watch;

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

/// A new random id with `prefix`.
pub fn random_id(prefix: &str) -> String {
    format!("{prefix}_{:016x}", rand::random::<u64>())
}

/// How the fan-out goes: rounds failed in a row, the last error, and the
/// last feed entry turned into deliveries.
#[derive(Debug, Default)]
pub struct FanoutStatus(Mutex<(u32, Option<String>, Option<LogPosition>)>);

impl FanoutStatus {
    fn lock(&self) -> std::sync::MutexGuard<'_, (u32, Option<String>, Option<LogPosition>)> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn failed(&self, error: &StoreError) {
        let mut status = self.lock();
        status.0 = status.0.saturating_add(1);
        status.1 = Some(error.to_string());
    }

    /// A round went through, up to `position`.
    fn moved_to(&self, position: LogPosition) {
        *self.lock() = (0, None, Some(position));
    }

    /// The fan-out (re)starts after `position`; earlier failures still count.
    fn resumed_at(&self, position: LogPosition) {
        self.lock().2 = Some(position);
    }
}

impl FanoutProbe for FanoutStatus {
    fn report(&self) -> FanoutHealth {
        let (failures, error, position) = self.lock().clone();
        FanoutHealth {
            status: if failures >= STUCK_AFTER_FAILURES { "stuck" } else { "up" }.into(),
            failures,
            error,
            position: position.map(|id| id.to_string()),
        }
    }
}

/// How alerts are grouped and linked.
#[derive(Debug, Clone)]
pub struct AlertSettings {
    /// Anomalies of a series judged within this of the one before are one
    /// incident (`ALERT_GROUP_SECONDS`), milliseconds.
    pub group_ms: i64,
    /// The dashboard's address for links in messages (`PUBLIC_URL`).
    pub public_url: String,
}

/// What the fan-out reads and writes.
pub struct FanoutPorts {
    /// The anomalies.
    pub feed: Arc<dyn AnomalyFeed>,
    /// Webhooks, deliveries and the feed position.
    pub store: Arc<dyn WebhookStore>,
    /// Mute windows: no delivery for what they cover.
    pub mutes: Arc<dyn MuteStore>,
    /// Grouping and links.
    pub alerts: AlertSettings,
}

/// Follows the feed while `workers` lives and `stop` is false, waking its
/// dispatcher when it created deliveries.
pub async fn run(
    ports: FanoutPorts,
    status: Arc<FanoutStatus>,
    workers: Weak<WebhookWorkers>,
    mut stop: watch::Receiver<bool>,
) {
    while workers.strong_count() > 0 && !*stop.borrow() {
        // Stopped mid-page, the page is turned into deliveries again at the
        // next start (they are unique per anomaly and webhook).
        let followed = tokio::select! {
            followed = follow(&ports, &status, &workers) => followed,
            _ = stop.wait_for(|stop| *stop) => return,
        };
        if let Err(error) = followed {
            tracing::warn!(%error, "webhook fan-out paused");
            status.failed(&error);
            tokio::time::sleep(RETRY_AFTER).await;
        }
    }
}

async fn follow(ports: &FanoutPorts, status: &FanoutStatus, workers: &Weak<WebhookWorkers>) -> Result<(), StoreError> {
    let (feed, store) = (&ports.feed, &ports.store);
    let mut position = match store.webhook_feed_position().await? {
        Some(position) => position,
        None => {
            let end = feed.last_id().await?;
            store.set_webhook_feed_position(end).await?;
            end
        }
    };
    status.resumed_at(position);
    // Reads wait at most half the grouping time, so incidents close on time.
    let wait = WAIT.min(Duration::from_millis((ports.alerts.group_ms / 2).max(100) as u64));
    // An idle feed reads no incidents while none was open at the last
    // look, but looks again once a grouping time has passed (another
    // replica may have opened one and stopped).
    let group = Duration::from_millis(ports.alerts.group_ms.max(0) as u64);
    let (mut incidents_open, mut looked) = (true, std::time::Instant::now());
    while workers.strong_count() > 0 {
        let page = feed.read_after(position, PAGE, wait).await?;
        if page.end.is_none() && !incidents_open && looked.elapsed() < group {
            status.moved_to(position);
            continue;
        }
        // Counted once the round is stored: a round that fails is read again.
        let (mut skipped, mut muted) = (page.skipped, 0);
        let hooks = store.webhooks().await?;
        let mutes = if page.entries.is_empty() { Vec::new() } else { ports.mutes.mutes().await? };
        let mut book = IncidentBook::new(store.open_incidents().await?, ports.alerts.group_ms);
        let mut deliveries = Vec::new();
        for entry in &page.entries {
            // An entry that names no anomaly of ours (a foreign producer's) is not delivered.
            let Some(anomaly_id) = entry.anomaly.id() else {
                skipped += 1;
                continue;
            };
            if is_muted(&mutes, &entry.anomaly.series_id, entry.anomaly.recorded_at_ms) {
                muted += 1;
                continue;
            }
            let view = PredictionView::from(&entry.anomaly);
            let json = serde_json::to_string(&view).unwrap_or_default();
            let anomaly_key = anomaly_id.to_string();
            for hook in hooks.iter().filter(|hook| wants(hook, &entry.anomaly)) {
                if hook.mode == "anomaly" {
                    deliveries.push(NewDelivery {
                        id: random_id("dl"),
                        webhook_id: hook.id.clone(),
                        anomaly_key: anomaly_key.clone(),
                        payload: body(Message::Anomaly(&view), &hook.format, &ports.alerts.public_url),
                        found_at_ms: entry.anomaly.recorded_at_ms,
                    });
                    continue;
                }
                let seen = Sighting {
                    entry: entry.id,
                    anomaly_id: &anomaly_key,
                    series_id: &entry.anomaly.series_id,
                    judged_at_ms: entry.anomaly.recorded_at_ms,
                    anomaly_score: entry.anomaly.anomaly_score,
                    json: &json,
                };
                for (event, incident) in book.record(&hook.id, &seen) {
                    deliveries.push(incident_delivery(hook, event, &incident, &ports.alerts.public_url));
                }
            }
        }
        let now = chrono::Utc::now().timestamp_millis();
        for (event, incident) in book.expire(now) {
            if let Some(hook) = hooks.iter().find(|hook| hook.id == incident.webhook_id) {
                deliveries.push(incident_delivery(hook, event, &incident, &ports.alerts.public_url));
            }
        }
        if store.enqueue_deliveries(&deliveries, now).await? > 0
            && let Some(workers) = workers.upgrade()
        {
            workers.created();
        }
        (incidents_open, looked) = (book.has_open(), std::time::Instant::now());
        let (open, closed) = book.into_changes();
        if !open.is_empty() || !closed.is_empty() {
            store.save_incidents(&open, &closed).await?;
        }
        if let Some(last) = page.end {
            store.set_webhook_feed_position(last).await?;
            position = last;
        }
        crate::live_feed::count_skipped("webhooks", skipped);
        metrics::counter!("anomaly_webhook_muted_total").increment(muted);
        status.moved_to(position);
    }
    Ok(())
}

/// The delivery telling `hook` that `incident` opened or closed: unique by
/// incident and event.
fn incident_delivery(hook: &Webhook, event: IncidentEvent, incident: &OpenIncident, public_url: &str) -> NewDelivery {
    NewDelivery {
        id: random_id("dl"),
        webhook_id: hook.id.clone(),
        anomaly_key: format!("{}:{}", event.name(), incident.first_anomaly),
        payload: body(Message::Incident(event, incident), &hook.format, public_url),
        found_at_ms: match event {
            IncidentEvent::Opened => incident.opened_at_ms,
            IncidentEvent::Closed => incident.last_at_ms,
        },
    }
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
            anomaly_score: score.map(|s| anomaly_core::anomaly_score(s.abs() / 3.0, s.abs() > 3.0)),
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
            mode: "anomaly".into(),
            format: "json".into(),
            created_at_ms: 0,
        };
        assert!(wants(&hook, &anomaly("cpu", Some(-7.0))));
        assert!(wants(&hook, &anomaly("cpu", None)), "a score too large to be finite passes");
        assert!(!wants(&hook, &anomaly("cpu", Some(4.0))));
        assert!(!wants(&hook, &anomaly("mem", Some(9.0))));
        assert_eq!(anomaly("cpu", None).id().map(|id| id.to_string()).as_deref(), Some("s.60.0.novelty.cpu"));
    }
}
