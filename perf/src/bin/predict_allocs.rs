//! Heap allocations per predict inside the process, without sockets or
//! hyper: infer's whole router (access guard, request metrics, body limit
//! and timeout, lookup, latency sample, history record) against the bare
//! baseline's router, each called through `tower::ServiceExt`. dhat's
//! allocator counts every allocation of the process, so the background
//! work a predict causes (the history writer, the latency flush) is
//! counted too, spread over the requests; with `--sites FILE` it writes
//! where they happen (open FILE in DHAT's viewer,
//! <https://nnethercote.github.io/dh_view/dh_view.html>). First, before
//! dhat counts anything (its allocator then only forwards), the wall time
//! per request of each router on one thread: the part of a predict's CPU
//! that is the router and handler, not sockets, hyper or the kernel.
//! Usage: `predict_allocs [REQUESTS] [--sites FILE]` (default 20,000).

use anomaly_core::{DetectorConfig, ModelParams, SeriesId, TrainingSeries};
use anomaly_store::{Backends, StorageConfig};
use axum::Router;
use axum::body::Body;
use axum::http::Request;
use clap::Parser;
use std::time::Instant;
use tower::ServiceExt;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

#[derive(Parser)]
struct Cli {
    /// Predict requests per router.
    #[arg(default_value_t = 20_000)]
    requests: u64,
    /// Write the allocation sites here (DHAT's JSON).
    #[arg(long)]
    sites: Option<std::path::PathBuf>,
    #[command(flatten)]
    infer: infer::InferSettings,
}

/// Calls `POST /predict/x` on `router` `requests` times; prints the wall
/// time per request, or with dhat counting, the allocations and bytes.
async fn measure(name: &str, router: &Router, requests: u64, counting: bool) {
    let call = || async {
        let request = Request::post("/predict/x")
            .header("content-type", "application/json")
            .body(Body::from(perf::PREDICT_BODY))
            .expect("a request");
        let response = router.clone().oneshot(request).await.expect("infallible");
        assert!(response.status().is_success(), "{name}: {}", response.status());
        axum::body::to_bytes(response.into_body(), 1 << 20).await.expect("a body");
    };
    for _ in 0..1000 {
        call().await;
    }
    let before = counting.then(dhat::HeapStats::get);
    let started = Instant::now();
    for _ in 0..requests {
        call().await;
    }
    let elapsed = started.elapsed();
    let per = |total: u64| total as f64 / requests as f64;
    match before {
        Some(before) => {
            let after = dhat::HeapStats::get();
            println!(
                "{name:<9} allocations/request {:>6.1}  bytes/request {:>7.0}",
                per(after.total_blocks - before.total_blocks),
                per(after.total_bytes - before.total_bytes),
            );
        }
        None => println!("{name:<9} µs/request {:.2}", elapsed.as_secs_f64() * 1e6 / requests as f64),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let dir = tempfile::tempdir()?;
    let backends = Backends::connect(&StorageConfig::embedded(dir.path().join("allocs.db"))).await?;
    let series =
        TrainingSeries::new((0..1000).collect(), (0..1000).map(|i| 10.0 + f64::from(i % 7) * 0.5).collect(), 1)?;
    let params = ModelParams::fit(&DetectorConfig::of_kind("three_sigma")?, &series)?;
    let record = backends.store.insert_next_version(&SeriesId::parse("x")?, &params, series).await?;
    backends.cache.put_latest(&record).await?;
    let infer = infer::router(infer::InferState::new(backends, &cli.infer)?, &anomaly_http::Access::open());
    let baseline = perf::baseline::router();
    let fit = Request::post("/fit/x")
        .header("content-type", "application/json")
        .body(Body::from(perf::fit_body(1000)))
        .expect("a request");
    baseline.clone().oneshot(fit).await.expect("infallible");
    for _ in 0..3 {
        measure("infer", &infer, cli.requests * 10, false).await;
        measure("baseline", &baseline, cli.requests * 10, false).await;
    }
    let _profiler = match &cli.sites {
        Some(file) => dhat::Profiler::builder().file_name(file).build(),
        None => dhat::Profiler::builder().testing().build(),
    };
    for _ in 0..2 {
        measure("infer", &infer, cli.requests, true).await;
        measure("baseline", &baseline, cli.requests, true).await;
    }
    Ok(())
}
