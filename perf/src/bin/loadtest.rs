//! Goose load tests of the platform (or of the baseline, which has the same
//! routes). Seeds the series a scenario needs, runs it, prints goose's
//! report and one `SUMMARY` line per request kind for the driver.
//!
//! Scenarios:
//! - `predict_hot`: many series, all cached; latest and `?version=v1` mixed.
//! - `predict_cold`: every request asks for a series the infer process has
//!   not seen yet (seeded through train, so found in Redis or the database).
//! - `fit`, `fit_1k`, `fit_100k`: fits of 1,000 and/or 100,000 points.
//! - `mixed`: 99% predicts, 1% refits of the same series; a predict that
//!   answers with a version older than one whose fit had already answered
//!   when the predict started counts as an error.

use clap::{Parser, ValueEnum};
use goose::config::GooseConfiguration;
use goose::goose::GooseResponse;
use goose::prelude::*;
use perf::{PREDICT_BODY, fit_body, seed};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[clap(rename_all = "snake_case")]
enum ScenarioKind {
    PredictHot,
    PredictCold,
    Fit,
    #[value(name = "fit_1k")]
    Fit1k,
    #[value(name = "fit_100k")]
    Fit100k,
    Mixed,
}

/// Command line of the load test.
#[derive(Debug, Parser)]
struct Args {
    /// Which scenario to run.
    #[arg(long, value_enum)]
    scenario: ScenarioKind,
    /// Base URL of the predict service (infer, or the baseline).
    #[arg(long, default_value = "http://127.0.0.1:8001")]
    host: String,
    /// Base URL of the fit service (train, or the baseline); default: --host.
    #[arg(long)]
    fit_host: Option<String>,
    /// Concurrent goose users.
    #[arg(long, default_value_t = 32)]
    users: usize,
    /// Run time in seconds (predict_cold runs until each seeded series was asked once).
    #[arg(long, default_value_t = 15)]
    duration: u64,
    /// Number of series the scenario uses.
    #[arg(long, default_value_t = 1000)]
    series: usize,
    /// Do not seed (the series already exist).
    #[arg(long)]
    skip_seed: bool,
    /// The detector kind of the seeded series (default: the fit's, 3-sigma).
    #[arg(long)]
    seed_detector: Option<String>,
    /// Only seed, then exit.
    #[arg(long)]
    seed_only: bool,
    /// Where goose writes its report (.html, .md or .json).
    #[arg(long)]
    report_file: Option<String>,
    /// Label printed in the SUMMARY lines.
    #[arg(long, default_value = "")]
    label: String,
}

/// What the transactions share.
struct Shared {
    fit_host: String,
    series: usize,
    cold_prefix: String,
    next_cold: AtomicUsize,
    small_body: String,
    large_body: String,
    /// Per mixed series: the highest version whose fit has answered.
    acknowledged: Vec<AtomicU32>,
}

static SHARED: OnceLock<Shared> = OnceLock::new();

fn shared() -> &'static Shared {
    SHARED.get().expect("initialised before the attack")
}

async fn post(
    user: &mut GooseUser,
    name: &str,
    url: &str,
    body: String,
) -> Result<GooseResponse, Box<TransactionError>> {
    let builder =
        user.get_request_builder(&GooseMethod::Post, url)?.header("content-type", "application/json").body(body);
    let request =
        GooseRequest::builder().method(GooseMethod::Post).path(url).name(name).set_request_builder(builder).build();
    user.request(request).await
}

async fn predict_hot(user: &mut GooseUser) -> TransactionResult {
    let series = fastrand::usize(..shared().series);
    let version = if fastrand::bool() { "?version=v1" } else { "" };
    post(user, "predict", &format!("/predict/perf-hot-{series}{version}"), PREDICT_BODY.to_owned()).await?;
    Ok(())
}

async fn predict_cold(user: &mut GooseUser) -> TransactionResult {
    let state = shared();
    let index = state.next_cold.fetch_add(1, Ordering::Relaxed) % state.series;
    post(user, "predict_cold", &format!("/predict/{}-{index}", state.cold_prefix), PREDICT_BODY.to_owned()).await?;
    Ok(())
}

async fn fit_1k(user: &mut GooseUser) -> TransactionResult {
    let state = shared();
    let url = format!("{}/fit/perf-fit-1k-{}", state.fit_host, fastrand::usize(..state.series));
    post(user, "fit_1k", &url, state.small_body.clone()).await?;
    Ok(())
}

async fn fit_100k(user: &mut GooseUser) -> TransactionResult {
    let state = shared();
    let url = format!("{}/fit/perf-fit-100k-{}", state.fit_host, fastrand::usize(..state.series));
    post(user, "fit_100k", &url, state.large_body.clone()).await?;
    Ok(())
}

fn version_of(answer: &serde_json::Value, field: &str) -> Option<u32> {
    answer[field].as_str()?.strip_prefix('v')?.parse().ok()
}

async fn mixed_predict(user: &mut GooseUser) -> TransactionResult {
    let series = fastrand::usize(..shared().series);
    let floor = shared().acknowledged[series].load(Ordering::SeqCst);
    let mut goose =
        post(user, "mixed_predict", &format!("/predict/perf-mixed-{series}"), PREDICT_BODY.to_owned()).await?;
    let answer = match goose.response {
        Ok(response) => response.json::<serde_json::Value>().await.unwrap_or_default(),
        Err(_) => return Ok(()),
    };
    match version_of(&answer, "model_version") {
        Some(version) if version >= floor => Ok(()),
        _ => user.set_failure(
            &format!("answered {answer} after v{floor} was acknowledged"),
            &mut goose.request,
            None,
            None,
        ),
    }
}

async fn mixed_refit(user: &mut GooseUser) -> TransactionResult {
    let state = shared();
    let series = fastrand::usize(..state.series);
    let url = format!("{}/fit/perf-mixed-{series}", state.fit_host);
    let goose = post(user, "mixed_refit", &url, state.small_body.clone()).await?;
    if let Ok(response) = goose.response
        && let Ok(answer) = response.json::<serde_json::Value>().await
        && let Some(version) = version_of(&answer, "version")
    {
        state.acknowledged[series].fetch_max(version, Ordering::SeqCst);
    }
    Ok(())
}

fn scenario_of(kind: ScenarioKind) -> Result<Scenario, GooseError> {
    Ok(match kind {
        ScenarioKind::PredictHot => scenario!("predict_hot").register_transaction(transaction!(predict_hot)),
        ScenarioKind::PredictCold => scenario!("predict_cold").register_transaction(transaction!(predict_cold)),
        ScenarioKind::Fit => {
            scenario!("fit").register_transaction(transaction!(fit_1k)).register_transaction(transaction!(fit_100k))
        }
        ScenarioKind::Fit1k => scenario!("fit_1k").register_transaction(transaction!(fit_1k)),
        ScenarioKind::Fit100k => scenario!("fit_100k").register_transaction(transaction!(fit_100k)),
        ScenarioKind::Mixed => scenario!("mixed")
            .register_transaction(transaction!(mixed_predict).set_weight(99)?)
            .register_transaction(transaction!(mixed_refit).set_weight(1)?),
    })
}

/// The series the scenario needs, to fit before it starts.
fn series_to_seed(kind: ScenarioKind, state: &Shared) -> Vec<String> {
    let names = |prefix: &str| (0..state.series).map(|i| format!("{prefix}-{i}")).collect();
    match kind {
        ScenarioKind::PredictHot => names("perf-hot"),
        ScenarioKind::PredictCold => names(&state.cold_prefix),
        ScenarioKind::Mixed => names("perf-mixed"),
        ScenarioKind::Fit | ScenarioKind::Fit1k | ScenarioKind::Fit100k => Vec::new(),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let fit_host = args.fit_host.clone().unwrap_or_else(|| args.host.clone());
    let state = Shared {
        fit_host: fit_host.clone(),
        series: args.series.max(1),
        cold_prefix: format!("perf-cold-{}", std::process::id()),
        next_cold: AtomicUsize::new(0),
        small_body: fit_body(1_000),
        large_body: fit_body(100_000),
        acknowledged: (0..args.series.max(1)).map(|_| AtomicU32::new(1)).collect(),
    };
    if !args.skip_seed {
        let names = series_to_seed(args.scenario, &state);
        if !names.is_empty() {
            eprintln!("seeding {} series on {fit_host}", names.len());
            seed(&fit_host, names, args.seed_detector.as_deref()).await?;
        }
    }
    if args.seed_only {
        return Ok(());
    }
    let _ = SHARED.set(state);

    let users = args.users.max(1).to_string();
    let mut goose_args = vec![
        "--host".to_owned(),
        args.host.clone(),
        "--users".to_owned(),
        users.clone(),
        "--increase-rate".to_owned(),
        users,
    ];
    goose_args.extend(["--no-telnet", "--no-websocket"].map(str::to_owned));
    if args.scenario == ScenarioKind::PredictCold {
        let iterations = args.series.div_ceil(args.users.max(1)).to_string();
        goose_args.extend(["--iterations".to_owned(), iterations]);
    } else {
        goose_args.extend(["--run-time".to_owned(), format!("{}s", args.duration), "--no-reset-metrics".to_owned()]);
    }
    if let Some(report) = &args.report_file {
        goose_args.extend(["--report-file".to_owned(), report.clone()]);
    }
    let configuration = GooseConfiguration::parse_args_default(&goose_args)?;
    let metrics = GooseAttack::initialize_with_config(configuration)?
        .register_scenario(scenario_of(args.scenario)?)
        .execute()
        .await?;

    let seconds = metrics.duration.max(1) as f64;
    let mut names: Vec<_> = metrics.requests.keys().cloned().collect();
    names.sort();
    for name in names {
        let aggregate = &metrics.requests[&name];
        let timing = &aggregate.raw_data;
        println!(
            "SUMMARY label={} request={} requests={} rps={:.0} p50_us={} p99_us={} errors={}",
            if args.label.is_empty() { "-" } else { &args.label },
            name.split_whitespace().last().unwrap_or(&name),
            timing.counter,
            timing.counter as f64 / seconds,
            timing.percentile_us(0.50),
            timing.percentile_us(0.99),
            aggregate.fail_count,
        );
    }
    Ok(())
}
