//! Alerts people can act on, against a receiver the test runs: mute windows
//! (anomalies judged during one are stored and shown, marked muted, and
//! fire no webhook; deliveries resume after it), incidents (a burst of
//! anomalies of a series is one delivery when it opens and one when it
//! closes) and Slack's message format.

use blackbox_tests::*;
use serde_json::{Value, json};
use std::time::Duration;

/// Streams 60 calm points of `series` from `start` with one spike (point 55).
async fn spike(platform: &Platform, series: &str, start: i64) {
    let (status, answer) =
        post_json(&format!("{}/ingest/{series}", platform.infer.url), &calm_points(start, 60, &[55])).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("after 1970").as_secs() as i64
}

/// The bodies the receiver got, as JSON.
fn bodies(receiver: &Receiver) -> Vec<Value> {
    receiver.received().iter().map(|r| serde_json::from_slice(&r.body).expect("JSON body")).collect()
}

async fn received_until(receiver: &Receiver, what: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    wait_until(what, 20, async || done(&bodies(receiver))).await;
    bodies(receiver)
}

async fn register(platform: &Platform, body: Value) -> Value {
    let (status, hook) = post_json(&format!("{}/webhooks", platform.monitor.url), &body).await;
    assert_eq!(status, StatusCode::CREATED, "{hook}");
    hook
}

async fn a_mute_stores_and_shows_but_sends_nothing(env: TestEnv) {
    let platform = Platform::start(&env).await;
    let monitor = platform.monitor.url.clone();
    let receiver = Receiver::start(&[]).await;
    register(&platform, json!({"url": receiver.url, "mode": "anomaly"})).await;

    let (status, mute) = post_json(
        &format!("{monitor}/mutes"),
        &json!({"series_id": "cpu", "from": now() - 1, "to": now() + 4, "reason": "deploy"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{mute}");
    assert_eq!((mute["active"].as_bool(), mute["reason"].as_str()), (Some(true), Some("deploy")));
    let (_, listed) = get_json(&format!("{monitor}/mutes")).await;
    assert_eq!(listed["mutes"][0]["id"], mute["id"]);

    // Muted: cpu. Not muted: mem, whose delivery shows the fan-out went past cpu's.
    spike(&platform, "cpu", 1_000_000).await;
    spike(&platform, "mem", 1_000_000).await;
    let got = received_until(&receiver, "mem's anomaly delivered", |b| b.iter().any(|b| b["series_id"] == "mem")).await;
    assert!(got.iter().all(|b| b["series_id"] != "cpu"), "nothing of the muted series: {got:?}");
    let (_, anomalies) = get_json(&format!("{monitor}/anomalies?series_id=cpu")).await;
    let cpu = &anomalies["predictions"][0];
    assert_eq!(
        (cpu["timestamp"].as_i64(), cpu["muted"].as_bool()),
        (Some(1_000_000 + 55 * 60), Some(true)),
        "stored, marked: {anomalies}"
    );
    let (_, anomalies) = get_json(&format!("{monitor}/anomalies?series_id=mem")).await;
    assert_eq!(anomalies["predictions"][0]["muted"], false);
    wait_until("the muted anomaly counted", 10, async || {
        let text = client().get(format!("{monitor}/metrics")).send().await.expect("sent").text().await.expect("text");
        text.lines().any(|line| line == "anomaly_webhook_muted_total 1")
    })
    .await;

    // After the mute, deliveries of cpu resume.
    let until = mute["to"].as_i64().expect("to");
    while now() <= until {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    spike(&platform, "cpu", 2_000_000).await;
    let got =
        received_until(&receiver, "cpu delivered after the mute", |b| b.iter().any(|b| b["series_id"] == "cpu")).await;
    let cpu: Vec<&Value> = got.iter().filter(|b| b["series_id"] == "cpu").collect();
    assert_eq!(cpu.len(), 1, "only the anomaly after the mute: {cpu:?}");
    assert_eq!((cpu[0]["timestamp"].as_i64(), cpu[0]["muted"].as_bool()), (Some(2_000_000 + 55 * 60), Some(false)));
}

async fn mutes_are_checked_ended_and_kept(env: TestEnv) {
    let platform = Platform::start(&env).await;
    let monitor = platform.monitor.url.clone();
    let mutes = format!("{monitor}/mutes");
    for body in [
        json!({"from": now(), "to": now() - 10}),
        json!({"from": 10, "to": 20}),
        json!({"from": now(), "to": now() + 60, "series_id": "bad id"}),
        json!({"from": now(), "to": now() + 60, "reason": "x".repeat(501)}),
        json!({"from": now(), "to": now() + 60, "extra": true}),
        json!({"from": now()}),
        json!({"from": -1, "to": now() + 60}),
    ] {
        let (status, error) = post_json(&mutes, &body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {error}");
    }
    let (_, listed) = get_json(&mutes).await;
    assert_eq!(listed["mutes"], json!([]), "nothing stored from refused bodies");

    let (_, started) = post_json(&mutes, &json!({"from": now() - 5, "to": now() + 3600})).await;
    let (_, later) = post_json(&mutes, &json!({"from": now() + 600, "to": now() + 1200, "series_id": "cpu"})).await;
    assert_eq!((started["series_id"].clone(), later["active"].as_bool()), (Value::Null, Some(false)));
    for mute in [&started, &later] {
        let (status, _) = delete(&format!("{mutes}/{}", mute["id"].as_str().expect("id")), None).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
    }
    // The started one is kept, ended now (what it muted stays marked); the later one is gone.
    let (_, listed) = get_json(&mutes).await;
    let kept = listed["mutes"].as_array().expect("a list");
    assert_eq!(kept.len(), 1, "{listed}");
    assert_eq!(kept[0]["id"], started["id"]);
    assert!(kept[0]["to"].as_i64() <= Some(now()), "{listed}");
    let (status, error) = delete(&format!("{mutes}/mu_nope"), None).await;
    assert_eq!((status, error["error"].as_str()), (StatusCode::NOT_FOUND, Some("mute_not_found")));
}

/// 50 anomalies of `series` within 2 minutes of point time (a rule flags
/// every point above 50), judged in one go.
async fn burst(platform: &Platform, series: &str) {
    let fitted = json!({"timestamps": [0, 1, 2], "values": [1, 2, 3], "detector": {"kind": "rule", "above": 50}});
    fit(&platform.train, series, &fitted).await;
    let timestamps: Vec<i64> = (0..50).map(|i| 1_000 + i * 12 / 5).collect();
    let values: Vec<f64> = (0..50).map(|i| 60.0 + f64::from(i)).collect();
    let (status, answer) = post_json(
        &format!("{}/ingest/{series}", platform.infer.url),
        &json!({"timestamps": timestamps, "values": values}),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
}

async fn a_burst_is_one_incident_or_one_delivery_per_anomaly(env: TestEnv) {
    let group_seconds = 2;
    let settings = monitor::MonitorSettings { alert_group_seconds: group_seconds, ..monitor_settings("", "") };
    let platform = Platform::start_with_monitor(&env, settings).await;
    let (per_incident, per_anomaly) = (Receiver::start(&[]).await, Receiver::start(&[]).await);
    let hook = register(&platform, json!({"url": per_incident.url})).await;
    assert_eq!((hook["mode"].as_str(), hook["format"].as_str()), (Some("incident"), Some("json")), "the defaults");
    register(&platform, json!({"url": per_anomaly.url, "mode": "anomaly"})).await;

    burst(&platform, "burst").await;
    let each = received_until(&per_anomaly, "50 deliveries in anomaly mode", |b| b.len() >= 50).await;
    let opened = received_until(&per_incident, "the incident opened", |b| !b.is_empty()).await;
    assert_eq!((opened[0]["event"].as_str(), opened[0]["anomalies"].as_u64()), (Some("incident_opened"), Some(1)));
    assert_eq!(opened[0]["series_id"], "burst");
    let both = received_until(&per_incident, "the incident closed", |b| b.len() >= 2).await;
    let closed = &both[1];
    assert_eq!(
        (closed["event"].as_str(), closed["anomalies"].as_u64()),
        (Some("incident_closed"), Some(50)),
        "{closed}"
    );
    assert_eq!(closed["incident_id"], opened[0]["incident_id"]);
    assert_eq!(closed["last_anomaly"]["timestamp"], 1_000 + 49 * 12 / 5);
    // Nothing more arrives: 2 deliveries against 50.
    tokio::time::sleep(Duration::from_secs(group_seconds + 1)).await;
    assert_eq!((bodies(&per_incident).len(), bodies(&per_anomaly).len()), (2, 50));
    let mut times: Vec<i64> = each.iter().map(|b| b["timestamp"].as_i64().expect("timestamp")).collect();
    times.sort_unstable();
    times.dedup();
    assert_eq!(times.len(), 50, "one delivery per anomaly");
}

async fn a_slack_webhook_gets_slack_messages(env: TestEnv) {
    let platform = Platform::start(&env).await;
    let receiver = Receiver::start(&[]).await;
    let hook = register(&platform, json!({"url": receiver.url, "mode": "anomaly", "format": "slack"})).await;
    assert_eq!(hook["format"], "slack");
    spike(&platform, "db-1", 1_000_000).await;
    let got = received_until(&receiver, "the Slack message", |b| !b.is_empty()).await;
    let message = &got[0];
    // Slack's incoming-webhook shape: `text`, and `blocks` of sections and actions.
    assert!(message["text"].as_str().is_some_and(|t| t.contains("db-1")), "{message}");
    let blocks = message["blocks"].as_array().expect("blocks");
    assert_eq!(
        blocks.iter().map(|b| b["type"].as_str().unwrap_or_default()).collect::<Vec<_>>(),
        ["section", "section", "actions"]
    );
    assert_eq!(blocks[0]["text"]["type"], "mrkdwn");
    let fields: Vec<&str> =
        blocks[1]["fields"].as_array().expect("fields").iter().filter_map(|f| f["text"].as_str()).collect();
    assert!(fields.contains(&"*Series*\ndb-1") && fields.contains(&"*Value*\n100"), "{fields:?}");
    assert!(fields.iter().any(|f| f.starts_with("*Score*\n0.")), "{fields:?}");
    let button = &blocks[2]["elements"][0];
    assert_eq!((button["type"].as_str(), button["text"]["type"].as_str()), (Some("button"), Some("plain_text")));
    assert_eq!(button["url"], "http://dashboard.test/dashboard/series/db-1");

    for (body, code) in [
        (json!({"url": receiver.url, "mode": "digest"}), "invalid_webhook"),
        (json!({"url": receiver.url, "format": "teams"}), "invalid_webhook"),
    ] {
        let (status, error) = post_json(&format!("{}/webhooks", platform.monitor.url), &body).await;
        assert_eq!((status, error["error"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(code)), "{body}");
    }
}

on_both_backends!(
    a_mute_stores_and_shows_but_sends_nothing,
    mutes_are_checked_ended_and_kept,
    a_burst_is_one_incident_or_one_delivery_per_anomaly,
    a_slack_webhook_gets_slack_messages,
);
