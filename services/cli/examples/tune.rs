//! How the default detector's parameters were chosen: a grid search on the
//! NAB corpus, scored on the DEV half (even files within each category),
//! with the TEST half and the whole corpus shown beside each row.
//!
//! `cargo run --release -p anomaly-cli --example tune -- novelty threshold=3,4,5 quiet=200,400`

use anomaly_cli::eval::command::{detector_configs, split};
use anomaly_cli::eval::corpus::{self, LabelledSeries};
use anomaly_cli::eval::run::run_detector;
use anomaly_cli::eval::scorer::Profile;
use anomaly_cli::eval::{Evaluation, evaluate};
use rayon::prelude::*;
use std::path::Path;
use std::time::Duration;

fn score(kind: &str, params: &[String], corpus: &[LabelledSeries]) -> anyhow::Result<Evaluation> {
    let config = detector_configs(&[kind.to_owned()], params)?.remove(0);
    let scores: Vec<Vec<f64>> = corpus.par_iter().map(|s| run_detector(&config, s).scores).collect();
    Ok(evaluate(kind, kind, corpus, &scores, &Profile::ALL, Duration::ZERO))
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let kind = args.next().unwrap_or_else(|| "novelty".into());
    // Every combination of the k=v1,v2,... arguments.
    let mut grid: Vec<Vec<String>> = vec![Vec::new()];
    for axis in args {
        let (key, values) = axis.split_once('=').ok_or_else(|| anyhow::anyhow!("{axis}: not key=v1,v2"))?;
        grid = grid
            .iter()
            .flat_map(|combo| values.split(',').map(move |v| [combo.clone(), vec![format!("{key}={v}")]].concat()))
            .collect();
    }
    let all = corpus::load(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../dataset/nab").as_path())?;
    let (dev, test) = (split(all.clone(), "dev")?, split(all.clone(), "test")?);
    let mut rows = Vec::new();
    for params in grid {
        let (d, t, a) = (score(&kind, &params, &dev)?, score(&kind, &params, &test)?, score(&kind, &params, &all)?);
        let p = |e: &Evaluation| e.profiles.iter().map(|p| format!("{:6.2}", p.score)).collect::<Vec<_>>().join(" ");
        let line = format!(
            "{:40} dev {} | test {} | all {} | found {}/{} fp {}",
            params.join(" "),
            p(&d),
            p(&t),
            p(&a),
            a.profiles[0].raw.found,
            a.profiles[0].raw.windows,
            a.profiles[0].raw.false_positives
        );
        rows.push((d.profiles[0].score, line));
    }
    rows.sort_by(|a, b| b.0.total_cmp(&a.0));
    for (_, line) in rows {
        println!("{line}");
    }
    Ok(())
}
