//! Concurrent fits of one series get gapless versions v1..vN: the database
//! assigns them, not a process lock (two train replicas here).

use blackbox_tests::*;
use std::collections::BTreeSet;

async fn fifty_concurrent_fits_give_v1_to_v50(env: TestEnv) {
    // Two train replicas, each with its own connection pools.
    let replicas = [start_train(env.connect().await).await, start_train(env.connect().await).await];
    let fits = (0..50).map(|i| {
        let url = format!("{}/fit/hot", replicas[i % 2].url);
        async move { post_json(&url, &series_body(20)).await }
    });
    let answers = futures::future::join_all(fits).await;
    let mut versions = BTreeSet::new();
    for (status, answer) in answers {
        assert_eq!(status, StatusCode::OK, "{answer}");
        let version = answer["version"].as_str().and_then(|v| v.strip_prefix('v')).and_then(|n| n.parse::<u32>().ok());
        versions.insert(version.expect("version vN"));
    }
    assert_eq!(versions, (1..=50).collect::<BTreeSet<u32>>());

    let infer = start_infer(env.connect().await).await;
    let (status, latest) = predict(&infer, "hot", None, 10.0).await;
    assert_eq!((status, latest["model_version"].as_str()), (StatusCode::OK, Some("v50")), "{latest}");
}

on_both_backends!(fifty_concurrent_fits_give_v1_to_v50);
