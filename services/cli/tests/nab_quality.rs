//! A quality gate, not a timing: the platform's default detector keeps the
//! NAB score recorded in docs/evaluation.md (minus 0.5) on the full corpus,
//! with NAB's probation length for each file as `anomaly eval` runs it.

use anomaly_cli::eval::corpus;
use anomaly_cli::eval::evaluate;
use anomaly_cli::eval::params::detector_configs;
use anomaly_cli::eval::run::run_detector;
use anomaly_cli::eval::scorer::Profile;
use std::path::Path;
use std::time::Duration;

/// The standard score recorded for `novelty` with its defaults.
const RECORDED_STANDARD: f64 = 76.28;

#[test]
fn the_default_detector_keeps_its_nab_score() {
    let nab = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../dataset/nab");
    let corpus = corpus::load(&nab).expect("the NAB corpus loads");
    let config = detector_configs(&["novelty".into()], &[]).expect("valid").remove(0);
    let scores: Vec<Vec<f64>> = corpus.iter().map(|s| run_detector(&config, s, true).scores).collect();
    let evaluation = evaluate("novelty", "novelty", &corpus, &scores, &Profile::ALL, Duration::ZERO);
    let scores: Vec<f64> = evaluation.profiles.iter().map(|p| p.score).collect();
    println!("novelty: standard / low FP / low FN = {scores:.2?}");
    assert!(scores[0] >= RECORDED_STANDARD - 0.5, "standard {:.2} fell below {RECORDED_STANDARD} - 0.5", scores[0]);
    assert!(scores[1] > 30.0 && scores[2] > 40.0, "no collapse on the other profiles: {scores:?}");
}
