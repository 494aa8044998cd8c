//! The per-row anomaly scores NAB published for its detectors
//! (`results/<detector>/<category>/<file>.csv`, one `anomaly_score` column,
//! one row per data row), to check our scorer against NAB's figures.

use super::corpus::LabelledSeries;
use anyhow::{Context, bail};
use std::path::Path;

/// Reads detector `detector`'s scores under `results` for every series of `corpus`.
pub fn read_scores(results: &Path, detector: &str, corpus: &[LabelledSeries]) -> anyhow::Result<Vec<Vec<f64>>> {
    corpus
        .iter()
        .map(|series| {
            let file = results.join(detector).join(&series.name);
            let mut reader = csv::Reader::from_path(&file).with_context(|| format!("opening {}", file.display()))?;
            let scores = reader
                .records()
                .map(|r| {
                    let record = r?;
                    let field = record.get(0).unwrap_or_default().trim();
                    field.parse::<f64>().with_context(|| format!("{}: score {field:?}", file.display()))
                })
                .collect::<anyhow::Result<Vec<f64>>>()?;
            if scores.len() != series.values.len() {
                bail!("{}: {} scores for {} rows", file.display(), scores.len(), series.values.len());
            }
            Ok(scores)
        })
        .collect()
}
