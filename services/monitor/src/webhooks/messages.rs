//! What a delivery says, in the webhook's format: our JSON (the anomaly as
//! `GET /anomalies` lists it, or the incident with its latest anomaly), or
//! a Slack incoming-webhook message (`text`, and blocks with the series,
//! value, score and a link to the series page under `PUBLIC_URL`).

use super::incidents::IncidentEvent;
use crate::queries::PredictionView;
use anomaly_http::model_description::rfc3339_millis;
use anomaly_store::OpenIncident;
use serde_json::{Value, json};

/// What a delivery is about.
#[derive(Debug, Clone, Copy)]
pub enum Message<'a> {
    /// One anomaly (`anomaly` mode).
    Anomaly(&'a PredictionView),
    /// An incident opened or closed (`incident` mode).
    Incident(IncidentEvent, &'a OpenIncident),
}

/// The body of `message` for a webhook of `format` (`json` or `slack`);
/// links point under `public_url`.
pub fn body(message: Message<'_>, format: &str, public_url: &str) -> String {
    let body = match (format, message) {
        ("slack", message) => slack(message, public_url),
        (_, Message::Anomaly(view)) => serde_json::to_value(view).unwrap_or_default(),
        (_, Message::Incident(event, incident)) => incident_json(event, incident),
    };
    body.to_string()
}

fn incident_json(event: IncidentEvent, incident: &OpenIncident) -> Value {
    json!({
        "event": event.name(),
        "incident_id": incident.first_anomaly,
        "series_id": incident.series_id,
        "opened_at": rfc3339_millis(incident.opened_at_ms),
        "last_anomaly_at": rfc3339_millis(incident.last_at_ms),
        "closed": event == IncidentEvent::Closed,
        "anomalies": incident.anomalies,
        "max_anomaly_score": incident.max_anomaly_score,
        "last_anomaly": serde_json::from_str::<Value>(&incident.last).unwrap_or(Value::Null),
    })
}

/// A number as people read it: up to 4 significant decimals.
fn readable(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| format!("{}", (v * 1e4).round() / 1e4))
}

fn slack(message: Message<'_>, public_url: &str) -> Value {
    let (headline, latest, anomalies) = match message {
        Message::Anomaly(view) => {
            (format!(":rotating_light: Anomaly on *{}*", view.series_id), serde_json::to_value(view).ok(), None)
        }
        Message::Incident(event, incident) => {
            let headline = match event {
                IncidentEvent::Opened => format!(":rotating_light: Incident opened on *{}*", incident.series_id),
                IncidentEvent::Closed => format!(
                    ":white_check_mark: Incident closed on *{}*: {} anomalies from {} to {}",
                    incident.series_id,
                    incident.anomalies,
                    rfc3339_millis(incident.opened_at_ms),
                    rfc3339_millis(incident.last_at_ms)
                ),
            };
            (headline, serde_json::from_str(&incident.last).ok(), Some(incident.anomalies))
        }
    };
    let latest = latest.unwrap_or(Value::Null);
    let series_id = latest["series_id"].as_str().unwrap_or_default();
    let link = format!("{}/dashboard/series/{series_id}", public_url.trim_end_matches('/'));
    let mut fields = vec![
        json!({"type": "mrkdwn", "text": format!("*Series*\n{series_id}")}),
        json!({"type": "mrkdwn", "text": format!("*Value*\n{}", readable(latest["value"].as_f64()))}),
        json!({"type": "mrkdwn", "text": format!("*Score*\n{}", readable(latest["anomaly_score"].as_f64()))}),
        json!({"type": "mrkdwn", "text": format!("*Point time*\n{}", latest["timestamp"])}),
    ];
    if let Some(count) = anomalies {
        fields.push(json!({"type": "mrkdwn", "text": format!("*Anomalies*\n{count}")}));
    }
    let text = format!(
        "{headline}: value {} (score {})",
        readable(latest["value"].as_f64()),
        readable(latest["anomaly_score"].as_f64())
    );
    json!({
        "text": text,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": headline}},
            {"type": "section", "fields": fields},
            {"type": "actions", "elements": [
                {"type": "button", "text": {"type": "plain_text", "text": "Open the series"}, "url": link}
            ]},
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view() -> PredictionView {
        serde_json::from_value(json!({
            "id": "s.60.0.novelty.cpu", "series_id": "cpu", "timestamp": 60, "value": 97.123456, "anomaly": true,
            "score": 8.0, "anomaly_score": 0.7272727, "model_version": null, "recorded_at": "2026-12-04T10:00:00.000Z",
            "source": "stream", "detector": "novelty"
        }))
        .expect("a view")
    }

    /// The parts of Slack's documented shape a message uses: `text`, and
    /// `blocks` of sections (mrkdwn text or up to 10 fields) and actions
    /// (buttons with plain_text and an http(s) url).
    fn assert_slack_shape(message: &Value) {
        assert!(message["text"].as_str().is_some_and(|t| !t.is_empty()), "{message}");
        let blocks = message["blocks"].as_array().expect("blocks");
        assert!(!blocks.is_empty() && blocks.len() <= 50);
        for block in blocks {
            match block["type"].as_str() {
                Some("section") => {
                    if let Some(fields) = block["fields"].as_array() {
                        assert!(fields.len() <= 10);
                        assert!(
                            fields
                                .iter()
                                .all(|f| f["type"] == "mrkdwn" && f["text"].as_str().is_some_and(|t| t.len() <= 2000))
                        );
                    } else {
                        assert_eq!(block["text"]["type"], "mrkdwn");
                        assert!(block["text"]["text"].as_str().is_some_and(|t| t.len() <= 3000));
                    }
                }
                Some("actions") => {
                    for element in block["elements"].as_array().expect("elements") {
                        assert_eq!(
                            (element["type"].as_str(), element["text"]["type"].as_str()),
                            (Some("button"), Some("plain_text"))
                        );
                        assert!(element["url"].as_str().is_some_and(|u| u.starts_with("http")));
                    }
                }
                other => panic!("unexpected block {other:?}"),
            }
        }
    }

    #[test]
    fn slack_messages_have_slack_s_shape_and_link_the_series() {
        let view = view();
        let message: Value =
            serde_json::from_str(&body(Message::Anomaly(&view), "slack", "https://anomaly.example.com/"))
                .expect("json");
        assert_slack_shape(&message);
        let text = message.to_string();
        assert!(text.contains("https://anomaly.example.com/dashboard/series/cpu"), "{text}");
        assert!(text.contains("97.1235") && text.contains("0.7273"), "{text}");
        let incident = OpenIncident {
            webhook_id: "wh".into(),
            series_id: "cpu".into(),
            first_anomaly: "s.60.0.novelty.cpu".into(),
            opened_at_ms: 0,
            last_at_ms: 60_000,
            anomalies: 50,
            max_anomaly_score: Some(0.9),
            last: serde_json::to_string(&view).expect("json"),
            last_entry: anomaly_store::LogPosition::START,
        };
        for event in [IncidentEvent::Opened, IncidentEvent::Closed] {
            let message: Value =
                serde_json::from_str(&body(Message::Incident(event, &incident), "slack", "http://x")).expect("json");
            assert_slack_shape(&message);
            assert!(message.to_string().contains("*Anomalies*\\n50"), "{message}");
        }
    }

    #[test]
    fn our_json_is_the_listed_anomaly_or_the_incident() {
        let view = view();
        let anomaly: Value = serde_json::from_str(&body(Message::Anomaly(&view), "json", "")).expect("json");
        assert_eq!(anomaly, serde_json::to_value(&view).expect("json"));
        let incident = OpenIncident {
            webhook_id: "wh".into(),
            series_id: "cpu".into(),
            first_anomaly: "s.60.0.novelty.cpu".into(),
            opened_at_ms: 0,
            last_at_ms: 1000,
            anomalies: 2,
            max_anomaly_score: None,
            last: anomaly.to_string(),
            last_entry: anomaly_store::LogPosition::START,
        };
        let closed: Value =
            serde_json::from_str(&body(Message::Incident(IncidentEvent::Closed, &incident), "json", "")).expect("json");
        assert_eq!(
            (closed["event"].as_str(), closed["closed"].as_bool(), closed["anomalies"].as_u64()),
            (Some("incident_closed"), Some(true), Some(2))
        );
        assert_eq!(closed["last_anomaly"], anomaly);
    }
}
