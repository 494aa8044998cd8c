//! Models survive a restart of every service: nothing of a model lives only
//! in memory (nor only in Redis: the restarted services get an empty cache).

use blackbox_tests::*;

async fn models_survive_a_restart(mut env: TestEnv) {
    {
        let platform = Platform::start(&env).await;
        for (series, fits) in [("a", 1), ("b", 3), ("c", 2)] {
            for _ in 0..fits {
                fit(&platform.train, series, &series_body(7)).await;
            }
        }
    }
    // A fresh key prefix: nothing cached survives, PostgreSQL (or the SQLite
    // file) is the only source.
    env.storage.redis_key_prefix.push_str("after-restart:");
    let platform = Platform::start(&env).await;
    for (series, latest) in [("a", "v1"), ("b", "v3"), ("c", "v2")] {
        let (status, verdict) = predict(&platform.infer, series, None, 10.0).await;
        assert_eq!((status, verdict["model_version"].as_str()), (StatusCode::OK, Some(latest)), "{series}: {verdict}");
    }
    let (_, verdict) = predict(&platform.infer, "b", Some("v2"), 10.0).await;
    assert_eq!(verdict["model_version"], "v2");
    let next = fit(&platform.train, "b", &series_body(7)).await;
    assert_eq!(next["version"], "v4", "versions continue after a restart");
    let (_, health) = get_json(&format!("{}/healthcheck", platform.monitor.url)).await;
    assert_eq!(health["series_trained"], 3, "{health}");
}

async fn a_versioned_read_on_a_cold_cache_leaves_latest_alone(mut env: TestEnv) {
    let platform = Platform::start(&env).await;
    fit(&platform.train, "s", &series_body(5)).await;
    fit(&platform.train, "s", &series_body(6)).await;
    // A cold cache (as after a Redis restart): read v1 first, then latest.
    env.storage.redis_key_prefix.push_str("cold:");
    let infer = start_infer(env.connect().await).await;
    let (_, old) = predict(&infer, "s", Some("v1"), 10.0).await;
    assert_eq!(old["model_version"], "v1");
    let (_, latest) = predict(&infer, "s", None, 10.0).await;
    assert_eq!(latest["model_version"], "v2", "{latest}");
}

on_both_backends!(models_survive_a_restart, a_versioned_read_on_a_cold_cache_leaves_latest_alone);
