//! What `anomaly eval` measures is what the platform serves: a NAB file
//! replayed through the stream with the platform's default detector gives
//! exactly the anomalies `anomaly eval` finds on that file.

use anomaly_cli::eval::corpus;
use anomaly_cli::eval::run::run_detector;
use anomaly_core::DetectorConfig;
use blackbox_tests::*;
use serde_json::json;
use std::path::Path;
use std::time::{Duration, Instant};

async fn a_replayed_nab_file_gets_the_verdicts_of_eval(env: TestEnv) {
    let nab = Path::new(env!("CARGO_MANIFEST_DIR")).join("../dataset/nab");
    let all = corpus::load(&nab).expect("the NAB corpus loads");
    let file = all.into_iter().find(|s| s.name == "realKnownCause/nyc_taxi.csv").expect("nyc_taxi is in NAB");
    let default = DetectorConfig::of_kind("novelty").expect("valid");
    // nyc_taxi has 10,320 rows: NAB's probation for it is the stream's default, 750.
    let scores = run_detector(&default, &file, true).scores;
    let expected: Vec<i64> =
        file.timestamps.iter().zip(&scores).filter(|(_, s)| **s >= anomaly_core::EDGE).map(|(t, _)| *t).collect();
    assert!(expected.len() >= 3, "eval flags something on nyc_taxi: {expected:?}");

    // The platform as `make run` starts it: the stream's default detector.
    let platform = Platform::start_detecting(&env, "novelty").await;
    for (times, values) in file.timestamps.chunks(1000).zip(file.values.chunks(1000)) {
        let body = json!({"timestamps": times, "values": values});
        let (status, answer) = post_json(&format!("{}/ingest/nyc_taxi", platform.infer.url), &body).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    let state = loop {
        let (_, state) = get_json(&format!("{}/stream/nyc_taxi", platform.infer.url)).await;
        if state["points"].as_u64() == Some(file.values.len() as u64) || Instant::now() > deadline {
            break state;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(state["points"].as_u64(), Some(file.values.len() as u64), "every point judged: {state}");
    assert_eq!(state["detector"]["kind"], "novelty", "{state}");
    let url = format!("{}/anomalies?series_id=nyc_taxi&source=stream&limit=10000", platform.monitor.url);
    let (status, page) = get_json(&url).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let mut served: Vec<i64> =
        page["predictions"].as_array().into_iter().flatten().filter_map(|a| a["timestamp"].as_i64()).collect();
    served.sort_unstable();
    assert_eq!(served, expected, "the stream flags exactly what eval flags");
}

on_both_backends!(a_replayed_nab_file_gets_the_verdicts_of_eval);
