//! Feedback on anomalies: every listed anomaly has a stable id (the same in
//! `/anomalies` and the feed); `PUT /anomalies/{id}/label` stores a label
//! and a note on it, `GET /anomalies?label=` filters by it, `DELETE` takes
//! it back, and an id that names no stored anomaly is a 404.

use blackbox_tests::*;
use serde_json::{Value, json};

async fn listed(monitor: &str, query: &str) -> Vec<Value> {
    let (status, page) = get_json(&format!("{monitor}/anomalies?{query}")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["predictions"].as_array().cloned().unwrap_or_default()
}

async fn labels_round_trip_and_filter(env: TestEnv) {
    let platform = Platform::start(&env).await;
    let monitor = platform.monitor.url.clone();
    // Two stream anomalies and one predict anomaly.
    let (status, _) =
        post_json(&format!("{}/ingest/temp", platform.infer.url), &calm_points(1_000_000, 120, &[80, 110])).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    fit(&platform.train, "cpu", &series_body(30)).await;
    let (_, verdict) = predict(&platform.infer, "cpu", None, 500.0).await;
    assert_eq!(verdict["anomaly"], true);
    wait_until("three anomalies listed", 15, async || listed(&monitor, "").await.len() >= 3).await;

    let all = listed(&monitor, "").await;
    let ids: Vec<&str> = all.iter().map(|a| a["id"].as_str().expect("an id")).collect();
    assert_eq!(ids.iter().collect::<std::collections::BTreeSet<_>>().len(), 3, "distinct ids: {ids:?}");
    assert!(all.iter().all(|a| a["label"].is_null()), "nothing labelled yet");
    let stream_id =
        all.iter().find(|a| a["source"] == "stream").expect("a stream anomaly")["id"].as_str().expect("an id");
    let predict_id =
        all.iter().find(|a| a["source"] == "predict").expect("a predict anomaly")["id"].as_str().expect("an id");

    let url = |id: &str| format!("{monitor}/anomalies/{id}/label");
    let (status, answer) =
        put_json(&url(stream_id), &json!({"label": "false_positive", "note": "planned failover"})).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!((answer["id"].as_str(), answer["label"].as_str()), (Some(stream_id), Some("false_positive")));
    let (status, _) = put_json(&url(predict_id), &json!({"label": "true_positive"})).await;
    assert_eq!(status, StatusCode::OK);

    let by_id = |rows: &[Value], id: &str| rows.iter().find(|a| a["id"] == id).cloned().expect("listed");
    let all = listed(&monitor, "").await;
    let stream = by_id(&all, stream_id);
    assert_eq!(
        (stream["label"].as_str(), stream["label_note"].as_str()),
        (Some("false_positive"), Some("planned failover"))
    );
    assert!(stream["labelled_at"].as_str().is_some_and(|t| t.ends_with('Z')), "{stream}");
    assert_eq!(by_id(&all, predict_id)["label"], "true_positive");

    let ids_of =
        |rows: Vec<Value>| rows.iter().map(|a| a["id"].as_str().unwrap_or_default().to_owned()).collect::<Vec<_>>();
    assert_eq!(ids_of(listed(&monitor, "label=false_positive").await), [stream_id]);
    assert_eq!(ids_of(listed(&monitor, "label=true_positive").await), [predict_id]);
    assert_eq!(ids_of(listed(&monitor, "label=true_positive&source=stream").await), Vec::<String>::new());
    assert_eq!(listed(&monitor, "label=unlabelled").await.len(), 1);

    // A new label replaces the old; DELETE takes it back.
    let (status, _) = put_json(&url(stream_id), &json!({"label": "true_positive"})).await;
    assert_eq!(status, StatusCode::OK);
    let stream = by_id(&listed(&monitor, "").await, stream_id);
    assert_eq!((stream["label"].as_str(), stream.get("label_note")), (Some("true_positive"), None));
    let (status, _) = delete(&url(stream_id), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(by_id(&listed(&monitor, "").await, stream_id)["label"].is_null());

    // Missing or malformed ids are 404; bad bodies and filters are 422, nothing stored.
    for id in ["s.1.0.novelty.nope", "p.1.2.1.cpu", "not-an-id", "s.1000000.0.novelty.temp"] {
        let (status, error) = put_json(&url(id), &json!({"label": "true_positive"})).await;
        assert_eq!((status, error["error"].as_str()), (StatusCode::NOT_FOUND, Some("anomaly_not_found")), "{id}");
    }
    for body in [
        json!({"label": "maybe"}),
        json!({}),
        json!({"label": "true_positive", "extra": 1}),
        json!({"label": "true_positive", "note": "x".repeat(1001)}),
    ] {
        let (status, error) = put_json(&url(predict_id), &body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {error}");
    }
    assert_eq!(
        by_id(&listed(&monitor, "").await, predict_id)["label"],
        "true_positive",
        "unchanged by the refused bodies"
    );
    let (status, error) = get_json(&format!("{monitor}/anomalies?label=maybe")).await;
    assert_eq!((status, error["error"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_query")));
}

/// `anomaly eval --platform`: a series' stored points and its labels make
/// a corpus, scored like any other.
async fn a_platform_s_own_labels_make_a_corpus(env: TestEnv) {
    let platform = Platform::start(&env).await;
    let monitor = platform.monitor.url.clone();
    let body = calm_points(1_000_000, 300, &[100, 180, 250]);
    let (status, _) = post_json(&format!("{}/ingest/temp", platform.infer.url), &body).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    wait_until("three anomalies listed", 15, async || listed(&monitor, "series_id=temp").await.len() >= 3).await;
    let anomalies = listed(&monitor, "series_id=temp").await;
    let time = |row: usize| 1_000_000 + 60 * row as i64;
    for anomaly in &anomalies {
        let label = if anomaly["timestamp"] == time(180) { "false_positive" } else { "true_positive" };
        let url = format!("{monitor}/anomalies/{}/label", anomaly["id"].as_str().expect("id"));
        assert_eq!(put_json(&url, &json!({"label": label})).await.0, StatusCode::OK);
    }

    let source = anomaly_cli::eval::platform::PlatformSource { url: monitor.clone(), api_key: None };
    let corpus = source.corpus(&["temp".to_owned()]).await.expect("the platform's corpus");
    let series = &corpus[0];
    assert_eq!(
        series.values,
        body["values"].as_array().expect("values").iter().filter_map(Value::as_f64).collect::<Vec<_>>()
    );
    assert_eq!(series.timestamps.first(), Some(&time(0)), "oldest first");
    let inside = |row: usize| series.windows.iter().any(|&(from, to)| (from..=to).contains(&row));
    assert_eq!(series.windows.len(), 2, "{:?}", series.windows);
    assert!(inside(100) && inside(250) && !inside(180), "{:?}", series.windows);

    let options = anomaly_cli::eval::command::EvalOptions {
        detectors: vec!["rolling_zscore".into()],
        profile: "standard".into(),
        split: "all".into(),
        ..Default::default()
    };
    let evaluations = tokio::task::spawn_blocking(move || anomaly_cli::eval::command::run_on(corpus, &options))
        .await
        .expect("joined")
        .expect("evaluated");
    let score = evaluations[0].profiles[0].score;
    assert!(score > 0.0 && score <= 100.0, "both labelled anomalies found: {score}");

    let missing = source.corpus(&["never-streamed".to_owned()]).await.expect_err("no points");
    assert!(missing.to_string().contains("no stored points"), "{missing}");
}

on_both_backends!(labels_round_trip_and_filter, a_platform_s_own_labels_make_a_corpus);
