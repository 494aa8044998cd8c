//! `anomaly eval`: loads a corpus, runs the chosen detectors over every
//! file in parallel (rayon) with a progress bar, prints the table, and
//! writes the report and NAB-format results when asked.

use super::corpus;
use super::detector::EvalDetector;
use super::scorer::Profile;
use super::{Evaluation, evaluate, export, report, table};

use anyhow::bail;
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

/// A progress bar over `rows` rows of a corpus (hidden when not on a terminal).
pub fn rows_progress(rows: usize) -> ProgressBar {
    let progress = ProgressBar::new(rows as u64);
    progress.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} rows, {per_sec}, {eta} left")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    progress
}

/// Runs the evaluation on the corpus folder and prints the table.
pub fn run(options: &EvalOptions) -> anyhow::Result<Vec<Evaluation>> {
    let corpus = corpus::load(&options.corpus)?;
    if corpus.is_empty() {
        bail!("{} holds no labelled series", options.corpus.display());
    }
    run_on(corpus, options)
}

/// Runs the evaluation on `corpus` (a folder's, or a platform's) and prints the table.
pub fn run_on(corpus: Vec<corpus::LabelledSeries>, options: &EvalOptions) -> anyhow::Result<Vec<Evaluation>> {
    let profiles = profiles(&options.profile)?;
    let detectors = EvalDetector::chosen(&options.detectors, &options.params)?;
    let corpus = corpus::split(corpus, &options.split)?;
    if corpus.is_empty() {
        bail!("the {} split holds no series", options.split);
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
