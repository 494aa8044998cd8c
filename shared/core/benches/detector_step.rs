//! Criterion benchmark of the online step of each detector: judge one
//! point and learn from it, at the default window (W = 50), over a noisy
//! series with spikes; prints the checkpoint size of each. Run with `cargo bench -p anomaly-core --bench
//! detector_step`; results are in perf/README.md.

use anomaly_core::{DetectorConfig, OnlineDetector};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

const POINTS: usize = 100_000;

fn detector_step(c: &mut Criterion) {
    let values: Vec<f64> =
        (0..POINTS).map(|i| 10.0 + ((i * 7919) % 101) as f64 / 50.0 + if i % 997 == 0 { 30.0 } else { 0.0 }).collect();
    let mut group = c.benchmark_group("detector_step");
    group.throughput(Throughput::Elements(POINTS as u64));
    for kind in ["rolling_zscore", "ewma_zscore", "rolling_mad", "novelty"] {
        let config = DetectorConfig::of_kind(kind).expect("valid");
        let started = config.start().expect("an online kind");
        let mut warm = started.clone();
        for &value in values.iter().take(1000) {
            let _ = warm.update(value);
        }
        let checkpoint = serde_json::to_string(&warm).expect("serialises").len();
        println!("{kind}: checkpoint of a warm W=50 state: {checkpoint} bytes of JSON");
        group.bench_function(kind, |b| {
            b.iter(|| {
                let mut detector = started.clone();
                let mut anomalies = 0u32;
                for &value in &values {
                    anomalies += u32::from(detector.update(black_box(value)).is_anomaly());
                }
                anomalies
            })
        });
    }
    group.finish();
}

criterion_group!(benches, detector_step);
criterion_main!(benches);
