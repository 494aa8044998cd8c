//! `GET /models` lists the latest model of each series (filtered, paged by
//! series id); `GET /models/{series_id}` lists one series' versions.

use blackbox_tests::*;

fn ids(page: &serde_json::Value) -> Vec<String> {
    page["models"].as_array().into_iter().flatten().filter_map(|m| m["series_id"].as_str().map(str::to_owned)).collect()
}

async fn models_are_listed_filtered_and_paged(env: TestEnv) {
    let platform = Platform::start(&env).await;
    for id in ["gamma", "alpha", "beta_1", "betaX1", "alpha"] {
        fit(&platform.train, id, &series_body(5)).await;
    }
    let url = format!("{}/models", platform.monitor.url);

    let (status, all) = get_json(&url).await;
    assert_eq!(status, StatusCode::OK, "{all}");
    // Byte order on both backends: 'X' (0x58) sorts before '_' (0x5F).
    assert_eq!(ids(&all), ["alpha", "betaX1", "beta_1", "gamma"]);
    assert_eq!(all["models"][0]["version"], "v2", "the latest version of alpha");
    assert_eq!(all["next_after"], serde_json::Value::Null);

    let (_, first) = get_json(&format!("{url}?limit=3")).await;
    assert_eq!(
        (ids(&first), first["next_after"].as_str()),
        (vec!["alpha".into(), "betaX1".into(), "beta_1".into()], Some("beta_1"))
    );
    let (_, second) = get_json(&format!("{url}?limit=3&after=beta_1")).await;
    assert_eq!((ids(&second), second["next_after"].as_str()), (vec!["gamma".to_owned()], None));

    // Any case; `_` is a literal underscore, not a wildcard.
    let (_, filtered) = get_json(&format!("{url}?filter=BETA_")).await;
    assert_eq!(ids(&filtered), ["beta_1"]);

    for bad in ["limit=0", "limit=1001", "limit=x"] {
        let (status, error) = get_json(&format!("{url}?{bad}")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {error}");
    }

    // A filter longer than any id is the client's mistake, not an outage
    // (SQLite refuses LIKE patterns of 50,000 bytes); the page shows no series.
    let long = "a".repeat(60_000);
    let (status, error) = get_json(&format!("{url}?filter={long}")).await;
    assert_eq!((status, error["error"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_filter")));
    let (status, _) = get_json(&format!("{url}?filter={}", "a".repeat(128))).await;
    assert_eq!(status, StatusCode::OK);
    let page = client()
        .get(format!("{}/dashboard/series?filter={long}", platform.monitor.url))
        .send()
        .await
        .expect("the page answers");
    assert_eq!(page.status(), StatusCode::OK);
}

async fn a_series_lists_its_versions(env: TestEnv) {
    let platform = Platform::start(&env).await;
    fit(&platform.train, "s", &series_body(5)).await;
    fit(&platform.train, "s", &series_body(7)).await;
    let (status, series) = get_json(&format!("{}/models/s", platform.monitor.url)).await;
    assert_eq!(status, StatusCode::OK, "{series}");
    let versions: Vec<_> = series["versions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| (v["version"].clone(), v["points_used"].clone()))
        .collect();
    assert_eq!(versions, [("v2".into(), 7.into()), ("v1".into(), 5.into())]);
    let (status, error) = get_json(&format!("{}/models/unknown", platform.monitor.url)).await;
    assert_eq!((status, error["error"].as_str()), (StatusCode::NOT_FOUND, Some("series_not_found")));
    let (status, error) = get_json(&format!("{}/models/bad%20id", platform.monitor.url)).await;
    assert_eq!((status, error["error"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_series_id")));
}

on_both_backends!(models_are_listed_filtered_and_paged, a_series_lists_its_versions);
