//! A fit can choose its detector (`"detector": {"kind", ...}`); the answer,
//! the listings and predict follow it, and bad choices are 422 with
//! nothing stored. Fits without one stay 3-sigma, answers unchanged.

use blackbox_tests::*;
use serde_json::json;

/// `n` calm points with a small regular wiggle.
fn calm(n: usize) -> serde_json::Value {
    let timestamps: Vec<i64> = (0..n as i64).map(|i| 1_609_459_200 + 60 * i).collect();
    let values: Vec<f64> = (0..n).map(|i| 10.0 + [-0.5, 0.0, 0.5, 0.25][i % 4]).collect();
    json!({ "timestamps": timestamps, "values": values })
}

async fn a_fit_chooses_its_detector(env: TestEnv) {
    let platform = Platform::start(&env).await;
    let default = fit(&platform.train, "plain", &calm(10)).await;
    assert_eq!(default["detector"], json!({"kind": "three_sigma", "threshold": 3.0, "direction": "two_sided"}));

    for (kind, extra) in [
        ("rolling_zscore", json!({"window": 20})),
        ("rolling_mad", json!({"window": 20, "threshold": 4.0})),
        ("ewma_zscore", json!({"alpha": 0.2, "warmup": 10})),
        (
            "novelty",
            json!({
                "warmup": 20,
                "change": 5.0,
                "seasonal": 7.0,
                "quiet": 100,
                "resonance": 0.6,
                "probation": 100,
                "sensitivity": 0.6
            }),
        ),
    ] {
        let mut body = calm(60);
        let mut detector = extra.clone();
        detector["kind"] = json!(kind);
        body["detector"] = detector;
        let answer = fit(&platform.train, kind, &body).await;
        assert_eq!(answer["detector"]["kind"], kind, "{answer}");
        for (name, value) in extra.as_object().expect("object") {
            assert_eq!(&answer["detector"][name], value, "{answer}");
        }
        assert_eq!(answer["points_used"], 60);
        let (status, normal) = predict(&platform.infer, kind, None, 10.1).await;
        assert_eq!((status, normal["anomaly"].as_bool()), (StatusCode::OK, Some(false)), "{kind}: {normal}");
        let (_, spike) = predict(&platform.infer, kind, None, 40.0).await;
        assert_eq!(spike["anomaly"], true, "{kind}: {spike}");
        let (_, listed) = get_json(&format!("{}/models/{kind}", platform.monitor.url)).await;
        assert_eq!(listed["versions"][0]["detector"], answer["detector"], "{listed}");
        let (status, _) = get_json(&format!("{}/dashboard/series/{kind}", platform.monitor.url)).await;
        assert_eq!(status, StatusCode::OK);
    }
}

async fn bad_detectors_are_422_and_store_nothing(env: TestEnv) {
    let platform = Platform::start(&env).await;
    let cases = [
        (json!({"kind": "isolation_forest"}), "invalid_detector"),
        (json!({"kind": "rolling_zscore", "window": 1}), "invalid_detector"),
        (json!({"kind": "rolling_zscore", "alpha": 0.3}), "invalid_detector"),
        (json!({"kind": "ewma_zscore", "alpha": 1.5}), "invalid_detector"),
        (json!({"kind": "novelty", "change": 0}), "invalid_detector"),
        (json!({"kind": "novelty", "seasonal": -1}), "invalid_detector"),
        (json!({"kind": "novelty", "resonance": 0}), "invalid_detector"),
        (json!({"kind": "novelty", "probation": 10}), "invalid_detector"),
        (json!({"kind": "novelty", "sensitivity": 1}), "invalid_detector"),
        (json!({"kind": "novelty", "sensitivity": 0}), "invalid_detector"),
        (json!({"kind": "ewma_zscore", "probation": 100}), "invalid_detector"),
        (json!({"kind": "rolling_zscore", "change": 3}), "invalid_detector"),
        (json!({"kind": "rolling_mad", "threshold": -1}), "invalid_threshold"),
        (json!({"kind": "rolling_zscore", "window": 100}), "too_few_points"),
        (json!({"kind": "rolling_zscore", "colour": "red"}), "invalid_field"),
        (json!({"window": 5}), "missing_field"),
    ];
    for (detector, code) in cases {
        let mut body = calm(60);
        body["detector"] = detector.clone();
        let (status, error) = post_json(&format!("{}/fit/s", platform.train.url), &body).await;
        assert_eq!(
            (status, error["error"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(code)),
            "{detector}: {error}"
        );
    }
    let (status, _) = predict(&platform.infer, "s", None, 1.0).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "nothing was stored");
}

on_both_backends!(a_fit_chooses_its_detector, bad_detectors_are_422_and_store_nothing);
