//! `anomaly tune`: a grid search of one detector's parameters on a labelled
//! corpus. Every combination of the axes (`key=v1,v2,...`) runs once over
//! every file; each is scored on the DEV half (even files within each
//! category), the TEST half and all files, best DEV first: choose on DEV,
//! then look at TEST once (how the default was chosen, docs/evaluation.md).

use super::corpus::LabelledSeries;
use super::corpus::in_dev_half;
use super::params::detector_configs;
use super::run::{run_detector, takes_corpus_probation};
use super::scorer::Profile;
use super::{Evaluation, ProfileResult, evaluate};
use anyhow::{Context, bail};
use indicatif::ProgressBar;
use rayon::prelude::*;
use std::time::Duration;

/// One combination of parameters and its scores.
#[derive(Debug, Clone)]
pub struct TuneRow {
    /// The axes' values of this row, `key=value`.
    pub params: Vec<String>,
    /// Scores on the DEV half, the TEST half and every file.
    pub dev: Evaluation,
    /// See `dev`.
    pub test: Evaluation,
    /// See `dev`.
    pub all: Evaluation,
}

/// Every combination of `axes` (`key=v1,v2,...`), in order; one empty
/// combination when there is no axis.
pub fn grid(axes: &[String]) -> anyhow::Result<Vec<Vec<String>>> {
    let mut combinations: Vec<Vec<String>> = vec![Vec::new()];
    let mut keys = Vec::new();
    for axis in axes {
        let (key, values) = axis.split_once('=').with_context(|| format!("{axis:?} is not key=v1,v2,..."))?;
        if keys.contains(&key) {
            bail!("{key} is given twice; list all its values in one key=v1,v2,...");
        }
        keys.push(key);
        let values: Vec<&str> = values.split(',').map(str::trim).collect();
        if values.iter().any(|v| v.is_empty()) {
            bail!("{axis:?} has an empty value; write key=v1,v2,...");
        }
        combinations = combinations
            .iter()
            .flat_map(|combination| {
                values.iter().map(move |v| [combination.clone(), vec![format!("{key}={v}")]].concat())
            })
            .collect();
    }
    Ok(combinations)
}

/// Scores `kind` with `fixed` parameters and every combination of `axes`
/// on `corpus`, best DEV standard score first; `progress` is given the
/// rows to run once the combinations are known, and counts them.
pub fn tune(
    corpus: &[LabelledSeries],
    kind: &str,
    fixed: &[String],
    axes: &[String],
    progress: &ProgressBar,
) -> anyhow::Result<Vec<TuneRow>> {
    let combinations = grid(axes)?;
    // Every combination is checked before the first one runs.
    let configs = combinations
        .iter()
        .map(|combination| {
            let params = [fixed, combination.as_slice()].concat();
            detector_configs(&[kind.to_owned()], &params).map(|mut configs| {
                let config = configs.remove(0);
                (config, takes_corpus_probation(&config, &params))
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let dev = in_dev_half(corpus);
    let (dev_files, test_files) = (of_half(corpus, &dev, true), of_half(corpus, &dev, false));
    progress.set_length((corpus.iter().map(|s| s.values.len()).sum::<usize>() * configs.len()) as u64);
    let mut rows = Vec::with_capacity(configs.len());
    for (params, (config, corpus_probation)) in combinations.into_iter().zip(&configs) {
        let scores: Vec<Vec<f64>> = corpus
            .par_iter()
            .map(|series| {
                let scores = run_detector(config, series, *corpus_probation).scores;
                progress.inc(series.values.len() as u64);
                scores
            })
            .collect();
        let score = |files: &[LabelledSeries], scores: &[Vec<f64>]| {
            evaluate(kind, kind, files, scores, &Profile::ALL, Duration::ZERO)
        };
        rows.push(TuneRow {
            dev: score(&dev_files, &of_half(&scores, &dev, true)),
            test: score(&test_files, &of_half(&scores, &dev, false)),
            all: score(corpus, &scores),
            params,
        });
    }
    rows.sort_by(|a, b| b.dev.profiles[0].score.total_cmp(&a.dev.profiles[0].score));
    Ok(rows)
}

/// The items of the files in the DEV half (`in_dev`) or the TEST half,
/// where `dev` marks each file's half.
fn of_half<T: Clone>(items: &[T], dev: &[bool], in_dev: bool) -> Vec<T> {
    items.iter().zip(dev).filter(|(_, d)| **d == in_dev).map(|(item, _)| item.clone()).collect()
}

/// One line of the table: the row's parameters, then standard / low FP /
/// low FN on DEV, TEST and all files, then windows found and false
/// positives on all files (standard profile).
pub fn format_row(row: &TuneRow) -> String {
    // A half without windows (a corpus of one file) has no score.
    let scores = |e: &Evaluation| {
        let score =
            |p: &ProfileResult| if p.raw.windows == 0 { format!("{:>6}", "-") } else { format!("{:6.2}", p.score) };
        e.profiles.iter().map(score).collect::<Vec<_>>().join(" ")
    };
    let raw = row.all.profiles[0].raw;
    let params = if row.params.is_empty() { "(defaults)".to_owned() } else { row.params.join(" ") };
    format!(
        "{params:40} dev {} | test {} | all {} | found {}/{} fp {}",
        scores(&row.dev),
        scores(&row.test),
        scores(&row.all),
        raw.found,
        raw.windows,
        raw.false_positives
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(name: &str, spike_at: usize) -> LabelledSeries {
        let values = (0..2000).map(|i| if i == spike_at { 50.0 } else { 10.0 + (i % 7) as f64 * 0.1 }).collect();
        LabelledSeries::nab(
            name.to_owned(),
            (0..2000).map(|i| 1_700_000_000 + 60 * i).collect(),
            values,
            vec![(spike_at - 50, spike_at + 50)],
        )
    }

    #[test]
    fn the_grid_is_every_combination_of_the_axes() {
        let axes = ["threshold=3,4".to_owned(), "quiet=100,200,300".to_owned()];
        let grid = grid(&axes).expect("valid axes");
        assert_eq!(grid.len(), 6);
        assert_eq!(grid[0], ["threshold=3", "quiet=100"]);
        assert_eq!(grid[5], ["threshold=4", "quiet=300"]);
        assert_eq!(super::grid(&[]).expect("no axis"), [Vec::<String>::new()], "no axis: the defaults alone");
    }

    #[test]
    fn malformed_axes_say_what_to_write() {
        for (axis, expected) in [("threshold", "not key=v1,v2"), ("threshold=3,,4", "empty value")] {
            let error = grid(&[axis.to_owned()]).expect_err(axis).to_string();
            assert!(error.contains(expected), "{axis}: {error}");
        }
        let twice = grid(&["quiet=1".to_owned(), "quiet=2".to_owned()]).expect_err("twice").to_string();
        assert!(twice.contains("given twice"), "{twice}");
    }

    #[test]
    fn rows_come_best_dev_first_with_each_half_scored_on_its_own_files() {
        let corpus = vec![series("a/one.csv", 1500), series("a/two.csv", 1600), series("a/three.csv", 1700)];
        // A warm-up past every spike: no verdict, no detection; the
        // default warm-up finds every spike.
        let axes = ["warmup=1900,150".to_owned()];
        let rows = tune(&corpus, "novelty", &[], &axes, &ProgressBar::hidden()).expect("tunes");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].params, ["warmup=150"], "the row that finds the spikes first");
        assert_eq!(
            (rows[0].dev.profiles[0].raw.windows, rows[0].test.profiles[0].raw.windows),
            (2, 1),
            "even files DEV"
        );
        assert_eq!(rows[0].all.profiles[0].raw.found, 3);
        assert_eq!(rows[1].all.profiles[0].raw.found, 0);
        assert!(format_row(&rows[0]).starts_with("warmup=150 "), "{}", format_row(&rows[0]));
    }

    #[test]
    fn a_half_without_windows_shows_no_score() {
        let rows = tune(&[series("a/one.csv", 1500)], "novelty", &[], &[], &ProgressBar::hidden()).expect("tunes");
        let line = format_row(&rows[0]);
        assert!(line.contains("test      -      -      - |"), "{line}");
        assert!(!line.contains("NaN"), "{line}");
    }

    #[test]
    fn an_unknown_parameter_fails_before_anything_runs() {
        let corpus = vec![series("a/one.csv", 1500)];
        let progress = ProgressBar::hidden();
        let error = tune(&corpus, "novelty", &[], &["quiet=1".to_owned(), "speed=2".to_owned()], &progress)
            .expect_err("unknown key")
            .to_string();
        assert!(error.contains("speed does not apply to the novelty detector"), "{error}");
        assert_eq!(progress.position(), 0, "nothing ran");
    }
}
