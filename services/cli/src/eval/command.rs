//! `anomaly eval`: loads a corpus, runs the chosen detectors over every
//! file in parallel (rayon) with a progress bar, prints the table, and
//! writes the report and NAB-format results when asked.

use super::corpus::{self, LabelledSeries};
use super::detector::EvalDetector;
use super::scorer::Profile;
use super::{Evaluation, evaluate, export, report, table};
use anomaly_core::{DetectorConfig, DetectorOptions};
use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use std::path::PathBuf;
use std::time::Duration;

/// What `anomaly eval` was asked.
#[derive(Debug, Clone, Default)]
pub struct EvalOptions {
    /// The corpus folder (NAB or Yahoo S5 layout).
    pub corpus: PathBuf,
    /// Detector kinds; every kind with its defaults when empty.
    pub detectors: Vec<String>,
    /// `k=v` parameters applied to each detector.
    pub params: Vec<String>,
    /// `standard`, `low_fp`, `low_fn` or `all`.
    pub profile: String,
    /// Which files: `all`, or the `dev`/`test` halves (even/odd index within each category).
    pub split: String,
    /// Where to write the markdown report and SVGs.
    pub report: Option<PathBuf>,
    /// Where to write results in NAB's layout.
    pub export_nab: Option<PathBuf>,
}

/// The profiles `name` selects.
pub fn profiles(name: &str) -> anyhow::Result<Vec<Profile>> {
    Ok(match name {
        "standard" => vec![Profile::STANDARD],
        "low_fp" => vec![Profile::LOW_FP],
        "low_fn" => vec![Profile::LOW_FN],
        "all" => Profile::ALL.to_vec(),
        other => bail!("--profile must be standard, low_fp, low_fn or all; got {other:?}"),
    })
}

/// The detector configurations asked for, validated as a fit would.
pub fn detector_configs(kinds: &[String], params: &[String]) -> anyhow::Result<Vec<DetectorConfig>> {
    let kinds: Vec<String> =
        if kinds.is_empty() { DetectorConfig::KINDS.iter().map(|k| (*k).to_owned()).collect() } else { kinds.to_vec() };
    kinds
        .iter()
        .map(|kind| {
            let mut options = DetectorOptions { kind: Some(kind.clone()), ..Default::default() };
            for param in params {
                set_param(&mut options, param)?;
            }
            DetectorConfig::from_options(&options).map_err(|e| anyhow::anyhow!("{kind}: {e}"))
        })
        .collect()
}

fn set_param(options: &mut DetectorOptions, param: &str) -> anyhow::Result<()> {
    let (key, value) = param.split_once('=').with_context(|| format!("parameter {param:?} is not key=value"))?;
    let number = || value.parse::<f64>().with_context(|| format!("parameter {key}: {value:?} is not a number"));
    let count = || value.parse::<u32>().with_context(|| format!("parameter {key}: {value:?} is not a count"));
    match key {
        "window" => options.window = Some(count()?),
        "warmup" => options.warmup = Some(count()?),
        "threshold" => options.threshold = Some(number()?),
        "alpha" => options.alpha = Some(number()?),
        "tolerance" => options.tolerance = Some(number()?),
        "quiet" => options.quiet = Some(count()?),
        "change" => options.change = Some(number()?),
        "seasonal" => options.seasonal = Some(number()?),
        "resonance" => options.resonance = Some(number()?),
        "probation" => options.probation = Some(count()?),
        "direction" => options.direction = Some(value.to_owned()),
        other => {
            bail!(
                "parameter {other} is unknown; known: window, warmup, threshold, alpha, direction, tolerance, quiet, change, seasonal, resonance, probation"
            )
        }
    }
    Ok(())
}

/// The files of `corpus` in `split`.
pub fn split(corpus: Vec<LabelledSeries>, split: &str) -> anyhow::Result<Vec<LabelledSeries>> {
    let keep_dev = match split {
        "all" => return Ok(corpus),
        "dev" => true,
        "test" => false,
        other => bail!("--split must be all, dev or test; got {other:?}"),
    };
    let dev = in_dev_half(&corpus);
    Ok(corpus.into_iter().zip(dev).filter(|(_, in_dev)| *in_dev == keep_dev).map(|(series, _)| series).collect())
}

/// For each file of `corpus`, whether it is in the DEV half: the even
/// files (first, third...) within each category, in corpus order.
pub fn in_dev_half(corpus: &[LabelledSeries]) -> Vec<bool> {
    let mut index_in_category = std::collections::HashMap::<&str, usize>::new();
    corpus
        .iter()
        .map(|series| {
            let index = index_in_category.entry(series.category()).or_default();
            let even = index.is_multiple_of(2);
            *index += 1;
            even
        })
        .collect()
}

/// A progress bar over `rows` rows of a corpus (hidden when not on a terminal).
pub fn rows_progress(rows: usize) -> ProgressBar {
    let progress = ProgressBar::new(rows as u64);
    progress.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} rows, {per_sec}, {eta} left")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    progress
}

/// Runs the evaluation and prints the table.
pub fn run(options: &EvalOptions) -> anyhow::Result<Vec<Evaluation>> {
    let profiles = profiles(&options.profile)?;
    let detectors = EvalDetector::chosen(&options.detectors, &options.params)?;
    let corpus = split(corpus::load(&options.corpus)?, &options.split)?;
    if corpus.is_empty() {
        bail!("{} holds no labelled series", options.corpus.display());
    }
    let rows: usize = corpus.iter().map(|s| s.values.len()).sum();
    let progress = rows_progress(rows * detectors.len());
    let mut evaluations = Vec::new();
    for detector in &detectors {
        let runs = corpus
            .par_iter()
            .map(|series| {
                let scores = detector.run(series);
                progress.inc(series.values.len() as u64);
                scores
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let elapsed: Duration = runs.iter().map(|r| r.elapsed).sum();
        let state_bytes = runs.iter().map(|r| r.state_bytes).max().unwrap_or(0);
        let scores: Vec<Vec<f64>> = runs.into_iter().map(|r| r.scores).collect();
        if let Some(dir) = &options.export_nab {
            for (series, scores) in corpus.iter().zip(&scores) {
                export::write_nab_results(dir, detector.slug(), series, scores)?;
            }
        }
        let evaluation = evaluate(&detector.describe(), detector.slug(), &corpus, &scores, &profiles, elapsed);
        evaluations.push(Evaluation { state_bytes, ..evaluation });
    }
    progress.finish_and_clear();
    println!("{} files, {rows} rows\n\n{}", corpus.len(), table::render(&evaluations, false));
    if let Some(dir) = &options.report {
        report::write_report(dir, &corpus, &evaluations)?;
        println!("report: {}", dir.join("README.md").display());
    }
    Ok(evaluations)
}

/// A detector's name with its parameters, e.g. `rolling_zscore(window=50,threshold=3)`.
pub fn describe(config: &DetectorConfig) -> String {
    let value = serde_json::to_value(config).unwrap_or_default();
    let params: Vec<String> = value
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(key, _)| *key != "kind")
        .map(|(key, value)| format!("{key}={}", value.as_str().map_or_else(|| value.to_string(), str::to_owned)))
        .collect();
    format!("{}({})", config.kind(), params.join(","))
}
