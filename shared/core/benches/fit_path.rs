//! Criterion benchmarks of the fit path's CPU work: parsing a fit body,
//! validating the series, fitting, and judging one value. Run with
//! `cargo bench -p anomaly-core`; results are in perf/README.md.

use anomaly_core::{Direction, ThreeSigma, Threshold, TrainingSeries};
use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct FitBody {
    timestamps: Vec<i64>,
    values: Vec<f64>,
}

fn series(points: usize) -> (Vec<i64>, Vec<f64>) {
    let timestamps = (0..points as i64).map(|i| 1_600_000_000 + 60 * i).collect();
    let values = (0..points).map(|i| 10.0 + (i % 97) as f64 * 0.25).collect();
    (timestamps, values)
}

fn fit_path(c: &mut Criterion) {
    for points in [1_000, 1_000_000] {
        let (timestamps, values) = series(points);
        let body = serde_json::json!({ "timestamps": timestamps, "values": values }).to_string();
        let mut group = c.benchmark_group("fit_path");
        group.throughput(Throughput::Elements(points as u64));
        if points > 10_000 {
            group.sample_size(10);
        }
        group.bench_with_input(BenchmarkId::new("parse_json", points), &body, |b, body| {
            b.iter(|| serde_json::from_str::<FitBody>(black_box(body)).expect("valid body"))
        });
        group.bench_with_input(
            BenchmarkId::new("validate", points),
            &(timestamps.clone(), values.clone()),
            |b, data| {
                b.iter_batched(
                    || data.clone(),
                    |(t, v)| TrainingSeries::new(t, v, 3).expect("valid series"),
                    BatchSize::LargeInput,
                )
            },
        );
        let validated = TrainingSeries::new(timestamps, values, 3).expect("valid series");
        group.bench_with_input(BenchmarkId::new("fit_three_sigma", points), &validated, |b, s| {
            b.iter(|| ThreeSigma::fit(black_box(s), Threshold::DEFAULT, Direction::TwoSided).expect("fits"))
        });
        group.finish();
    }
    let (timestamps, values) = series(1_000);
    let model = ThreeSigma::fit(
        &TrainingSeries::new(timestamps, values, 3).expect("valid"),
        Threshold::DEFAULT,
        Direction::TwoSided,
    )
    .expect("fits");
    c.bench_function("evaluate_one_value", |b| b.iter(|| model.evaluate(black_box(17.5))));
}

criterion_group!(benches, fit_path);
criterion_main!(benches);
