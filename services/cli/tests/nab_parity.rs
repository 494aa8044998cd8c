//! Our NAB scorer against NAB's own: the per-row scores NAB published for
//! four detectors, scored with threshold optimisation, must give the final
//! scores NAB computed from them (within 0.1 on the standard profile, 0.2
//! on the others; NAB's scorer, run again, differs by up to 0.09).

use anomaly_cli::eval::scorer::Profile;
use anomaly_cli::eval::{corpus, evaluate, published};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

fn nab_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../dataset/nab")
}

#[test]
fn our_scores_of_nabs_published_results_match_nabs_final_scores() {
    let dir = nab_dir();
    let corpus = corpus::load(&dir).expect("the NAB corpus loads");
    assert_eq!(corpus.len(), 58);
    assert_eq!(corpus.iter().map(|s| s.windows.len()).sum::<usize>(), 116);
    let text = std::fs::read_to_string(dir.join("results/final_scores.json")).expect("final scores");
    let published: BTreeMap<String, BTreeMap<String, f64>> = serde_json::from_str(&text).expect("json");
    assert_eq!(published.len(), 4);
    let mut report = String::new();
    let mut worst: f64 = 0.0;
    for (detector, figures) in &published {
        let scores = published::read_scores(&dir.join("results"), detector, &corpus).expect("scores load");
        let ours = evaluate(detector, detector, &corpus, &scores, &Profile::ALL, Duration::ZERO);
        for result in &ours.profiles {
            let theirs = figures[result.profile.name];
            let tolerance = if result.profile == Profile::STANDARD { 0.1 } else { 0.2 };
            let gap = (result.score - theirs).abs();
            worst = worst.max(gap);
            report += &format!(
                "{detector} {}: ours {:.3} (threshold {}), NAB {theirs:.3}, gap {gap:.3} {}\n",
                result.profile.name,
                result.score,
                result.threshold,
                if gap <= tolerance { "ok" } else { "TOO FAR" }
            );
        }
    }
    println!("{report}largest gap {worst:.3}");
    assert!(!report.contains("TOO FAR"), "{report}");
}
