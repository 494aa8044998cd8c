//! Which windows a platform detector and one of NAB's published detectors
//! each find, at the threshold NAB's optimiser picks for the published one
//! (standard profile), and the score of both detectors' flags together.
//!
//! `cargo run --release -p anomaly-cli --example compare_published -- novelty numenta`

use anomaly_cli::eval::corpus;
use anomaly_cli::eval::params::detector_configs;
use anomaly_cli::eval::published::read_scores;
use anomaly_cli::eval::run::run_detector;
use anomaly_cli::eval::scorer::{Profile, RawScore};
use anomaly_cli::eval::{Evaluation, evaluate};
use rayon::prelude::*;
use std::path::Path;
use std::time::Duration;

fn summary(e: &Evaluation) -> String {
    let scores: Vec<String> = e.profiles.iter().map(|p| format!("{:.2}", p.score)).collect();
    let raw = e.profiles[0].raw;
    format!("{} (found {}/{}, fp {})", scores.join(" / "), raw.found, raw.windows, raw.false_positives)
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let ours = args.next().unwrap_or_else(|| "novelty".into());
    let theirs = args.next().unwrap_or_else(|| "numenta".into());
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../dataset/nab");
    let all = corpus::load(&dir)?;
    let published = read_scores(&dir.join("results"), &theirs, &all)?;
    let their_eval = evaluate(&theirs, &theirs, &all, &published, &Profile::ALL, Duration::ZERO);
    let threshold = their_eval.profiles[0].threshold;
    let config = detector_configs(std::slice::from_ref(&ours), &[])?.remove(0);
    let flags: Vec<Vec<f64>> = all.par_iter().map(|s| run_detector(&config, s, true).scores).collect();
    let our_eval = evaluate(&ours, &ours, &all, &flags, &Profile::ALL, Duration::ZERO);
    let union: Vec<Vec<f64>> = flags
        .iter()
        .zip(&published)
        .map(|(f, p)| {
            f.iter().zip(p).map(|(f, p)| f64::from(u8::from(*f >= anomaly_core::EDGE || *p >= threshold))).collect()
        })
        .collect();
    let union_eval = evaluate("union", "union", &all, &union, &Profile::ALL, Duration::ZERO);

    println!("{theirs} (threshold {threshold:.4}): {}", summary(&their_eval));
    println!("{ours}: {}", summary(&our_eval));
    println!("either's flags: {}", summary(&union_eval));
    println!("\nper category, standard profile: raw score, windows found, false positives");
    let mut categories: Vec<&str> = all.iter().map(|s| s.category()).collect();
    categories.dedup();
    for category in categories {
        let sum = |e: &Evaluation| {
            let mut raw = RawScore::default();
            e.files.iter().zip(&all).filter(|(_, s)| s.category() == category).for_each(|(f, _)| raw.add(&f.raw));
            format!("{:7.2} {:3}/{:<3} {:4}", raw.score, raw.found, raw.windows, raw.false_positives)
        };
        println!("{category:28} {ours} {}  {theirs} {}", sum(&our_eval), sum(&their_eval));
    }
    println!("\nwindows at least one of the two misses (rows from the left edge to the first detection):");
    for (series, (f, p)) in all.iter().zip(flags.iter().zip(&published)) {
        let probation = series.probation;
        for &(left, right) in series.windows.iter().filter(|(_, right)| *right >= probation) {
            let first =
                |scores: &[f64], at: f64| (left.max(probation)..=right).find(|&i| scores[i] >= at).map(|i| i - left);
            let (a, b) = (first(f, anomaly_core::EDGE), first(p, threshold));
            let who = match (a, b) {
                (Some(_), Some(_)) => continue,
                (Some(_), None) => format!("{ours} only"),
                (None, Some(_)) => format!("{theirs} only"),
                (None, None) => "neither".to_owned(),
            };
            println!("{who:>16}  {} rows {left}-{right}  {ours} {a:?}  {theirs} {b:?}", series.name);
        }
    }
    Ok(())
}
