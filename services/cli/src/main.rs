//! `anomaly`: replay CSV series into the stream, evaluate detectors on
//! labelled data. See `anomaly --help`.

use anomaly_cli::eval::command::{EvalOptions, rows_progress, run as run_eval, run_on};
use anomaly_cli::eval::corpus;
use anomaly_cli::eval::platform::PlatformSource;
use anomaly_cli::eval::tune::{format_row, tune};
use anomaly_cli::replay::{ReplayOptions, ReplayTarget, replay};
use anomaly_cli::series_file;
use anomaly_store::KafkaClient;
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;

/// Tools for the anomaly platform.
#[derive(Parser)]
#[command(name = "anomaly", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Send CSV series (`timestamp,value[,is_anomaly]`) to POST /ingest (or to a Kafka topic), in batches, with a progress bar.
    Replay {
        /// A CSV file, or a folder searched for .csv files.
        path: PathBuf,
        /// The series id (one file only); default: each file's name without .csv.
        #[arg(long)]
        series: Option<String>,
        /// Points per second over all series; default: as fast as the service takes them.
        #[arg(long)]
        rate: Option<f64>,
        /// Replay on the data's own clock, this many times faster than real time.
        #[arg(long, conflicts_with = "rate")]
        speedup: Option<f64>,
        /// Most points per request (or Kafka message).
        #[arg(long, default_value_t = 1000)]
        batch: usize,
        /// The infer service.
        #[arg(long, env = "INFER_URL", default_value = "http://127.0.0.1:8001")]
        url: String,
        /// An API key with the write scope, when the platform has API_KEYS.
        #[arg(long, env = "ANOMALY_API_KEY", hide_env_values = true)]
        api_key: Option<String>,
        /// Produce to Kafka at these brokers (`host:port,...`) instead of POST /ingest.
        #[arg(long)]
        kafka: Option<String>,
        /// Extra librdkafka client properties, used with --kafka only,
        /// `key=value,...` (TLS, SASL...), as infer's KAFKA_CLIENT_CONFIG.
        #[arg(
            long,
            env = "KAFKA_CLIENT_CONFIG",
            default_value = "",
            hide_env_values = true,
            hide_default_value = true
        )]
        kafka_config: String,
        /// The Kafka topic, with --kafka.
        #[arg(long, requires = "kafka", default_value = "telemetry.raw")]
        topic: String,
    },
    /// Score detectors on a labelled corpus the way NAB does, and print one table.
    Eval {
        /// The corpus: NAB's layout (data/, labels/combined_windows.json) or CSVs with an is_anomaly column.
        #[arg(long, default_value = "dataset/nab")]
        corpus: PathBuf,
        /// A detector kind (repeatable): a platform kind, or `rcf` (Random Cut
        /// Forest, evaluation only); default: every one.
        #[arg(long = "detector")]
        detectors: Vec<String>,
        /// A detector parameter, key=value (repeatable), e.g. window=1000: the value is read as JSON (a number, true, ...), else as a string, as a fit's `detector` object holds it.
        #[arg(long = "param")]
        params: Vec<String>,
        /// standard, low_fp, low_fn or all.
        #[arg(long, default_value = "all")]
        profile: String,
        /// all, or dev / test: the even / odd files within each category (tune on dev, check on test).
        #[arg(long, default_value = "all")]
        split: String,
        /// Write a markdown summary and one SVG per file here.
        #[arg(long)]
        report: Option<PathBuf>,
        /// Write results in NAB's layout here, for NAB's own scorer.
        #[arg(long)]
        export_nab: Option<PathBuf>,
        /// Score on a running platform's own data instead of a corpus:
        /// monitor's URL (e.g. http://127.0.0.1:8002). Each --series is the
        /// points its stream kept, its anomalies labelled true_positive the
        /// anomalies to find.
        #[arg(long, requires = "series")]
        platform: Option<String>,
        /// A series of the platform (repeatable), with --platform.
        #[arg(long = "series", requires = "platform")]
        series: Vec<String>,
        /// An API key with the read scope, when the platform has API_KEYS.
        #[arg(long, env = "ANOMALY_API_KEY", hide_env_values = true)]
        api_key: Option<String>,
    },
    /// Grid-search one detector's parameters on a labelled corpus: every
    /// combination of the axes, scored on the DEV half (even files within
    /// each category), the TEST half and all files; best DEV first.
    Tune {
        /// The corpus, as for eval.
        #[arg(long, default_value = "dataset/nab")]
        corpus: PathBuf,
        /// The detector kind.
        #[arg(long, default_value = "novelty")]
        detector: String,
        /// A parameter held fixed, key=value (repeatable).
        #[arg(long = "param")]
        params: Vec<String>,
        /// The axes, key=v1,v2,... (e.g. threshold=5,6,7 quiet=400,1200); none: the defaults alone.
        axes: Vec<String>,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Replay { path, series, rate, speedup, batch, url, api_key, kafka, kafka_config, topic } => {
            if rate.is_some_and(|r| r <= 0.0 || !r.is_finite()) || speedup.is_some_and(|s| s <= 0.0 || !s.is_finite()) {
                anyhow::bail!("--rate and --speedup must be positive numbers");
            }
            let files = series_file::csv_files(&path)?;
            if series.is_some() && files.len() > 1 {
                anyhow::bail!("--series names one series, but {} holds {} CSV files", path.display(), files.len());
            }
            let all = files
                .iter()
                .map(|file| series_file::read(file, series.clone().unwrap_or_else(|| series_file::series_id_of(file))))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let total: usize = all.iter().map(|s| s.values.len()).sum();
            let progress = ProgressBar::new(total as u64);
            progress.set_style(
                ProgressStyle::with_template("{bar:40} {pos}/{len} points, {per_sec}, {eta} left")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            let target = match kafka {
                Some(brokers) => ReplayTarget::Kafka {
                    client: KafkaClient::new(&brokers, &kafka_config).map_err(anyhow::Error::msg)?,
                    topic,
                },
                None => ReplayTarget::Http { url, api_key },
            };
            let summary = replay(&all, &ReplayOptions { target, rate, speedup, batch }, &progress).await;
            progress.finish_and_clear();
            let summary = summary?;
            let seconds = summary.elapsed.as_secs_f64();
            println!(
                "replayed {} points of {} series in {seconds:.2} s ({:.0} points/s)",
                summary.points,
                summary.series,
                summary.points as f64 / seconds.max(1e-9)
            );
            Ok(())
        }
        Command::Eval { corpus, detectors, params, profile, split, report, export_nab, platform, series, api_key } => {
            let options = EvalOptions { corpus, detectors, params, profile, split, report, export_nab };
            match platform {
                Some(url) => {
                    let files = PlatformSource { url, api_key }.corpus(&series).await?;
                    tokio::task::spawn_blocking(move || run_on(files, &options)).await??;
                }
                None => {
                    run_eval(&options)?;
                }
            }
            Ok(())
        }
        Command::Tune { corpus, detector, params, axes } => {
            let files = corpus::load(&corpus)?;
            if files.is_empty() {
                anyhow::bail!("{} holds no labelled series", corpus.display());
            }
            let progress = rows_progress(0);
            let table = tune(&files, &detector, &params, &axes, &progress);
            progress.finish_and_clear();
            let table = table?;
            println!("{detector} on {} files; standard / low FP / low FN, best DEV first", files.len());
            for row in table {
                println!("{}", format_row(&row));
            }
            Ok(())
        }
    }
}
