//! Random Cut Forest (AWS's algorithm, the `krcflib` crate) as an
//! evaluation-only detector: the streaming relative of Isolation Forest,
//! scored on a corpus beside the platform's detectors. Its rows get the
//! forest's graded anomaly score (about 1 for usual points), so NAB's
//! threshold optimiser picks where it fires.
//!
//! It is not a stream detector: its state (every tree with its sample of
//! shingles) is tens of KB per series, and the crate cannot serialise a
//! forest, so it could not be checkpointed and restored.

use super::corpus::LabelledSeries;
use super::run::Scores;
use anyhow::Context;
use rcflib::rcf::{RCFBuilder, RCFOptionsBuilder};
use std::time::Instant;

/// The forest's shape.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ForestParams {
    /// Trees in the forest.
    pub trees: usize,
    /// Shingles each tree samples.
    pub capacity: usize,
    /// Consecutive values in one point of the forest.
    pub shingle: usize,
}

impl ForestParams {
    /// AWS's defaults for streams (NAB's published RCF entry used these).
    pub const DEFAULT: Self = Self { trees: 30, capacity: 256, shingle: 8 };

    /// The detector's name with its parameters.
    pub fn describe(&self) -> String {
        format!("rcf(trees={},capacity={},shingle={})", self.trees, self.capacity, self.shingle)
    }
}

/// Runs a forest over `series`: each row scored, then learnt.
pub fn run_forest(params: ForestParams, series: &LabelledSeries) -> anyhow::Result<Scores> {
    let started = Instant::now();
    let mut builder = RCFBuilder::new(1, params.shingle);
    builder
        .tree_capacity(params.capacity)
        .number_of_trees(params.trees)
        .random_seed(17)
        .internal_shingling(true)
        .time_decay(0.1 / params.capacity as f64);
    let mut forest = builder.build_default().map_err(|e| anyhow::anyhow!("{e:?}")).context("building the forest")?;
    let mut scores = Vec::with_capacity(series.values.len());
    for &value in &series.values {
        let point = [value as f32];
        let score = forest.score(&point).map_err(|e| anyhow::anyhow!("{e:?}"))?;
        scores.push(if score.is_finite() { score } else { 0.0 });
        forest.update(&point, 0).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    }
    Ok(Scores { scores, elapsed: started.elapsed(), state_bytes: forest.size() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spike_scores_above_the_usual_rows() {
        let values: Vec<f64> = (0..2000).map(|i| f64::from(i % 10) + if i == 1500 { 100.0 } else { 0.0 }).collect();
        let series = LabelledSeries::nab("spike.csv".into(), (0..2000).collect(), values, vec![(1490, 1510)]);
        let scores = run_forest(ForestParams::DEFAULT, &series).expect("runs").scores;
        let usual = scores[1000..1400].iter().copied().fold(0.0, f64::max);
        assert!(scores[1500] > 1.5 * usual, "spike {} against usual at most {usual}", scores[1500]);
    }
}
