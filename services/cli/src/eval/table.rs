//! The table `anomaly eval` prints (markdown, so the report reuses it).

use super::Evaluation;
use super::scorer::Profile;
use std::fmt::Write as _;

/// One row per evaluation; `with_threshold` adds the thresholds chosen.
pub fn render(evaluations: &[Evaluation], with_threshold: bool) -> String {
    let Some(first) = evaluations.first() else { return String::new() };
    let profiles: Vec<Profile> = first.profiles.iter().map(|p| p.profile).collect();
    let with_top1 = evaluations.iter().any(|e| e.top1.is_some());
    let mut text = String::from("| detector |");
    if with_top1 {
        text += " UCR top-1 |";
    }
    for profile in &profiles {
        let _ = write!(text, " {} |", short_name(profile));
    }
    text += " standard, every flag counted | windows found | false-positive rows | mean delay (rows, share of window) | ns per row | state bytes |";
    if with_threshold {
        text += " threshold |";
    }
    text += "\n|---|";
    text += &"---:|".repeat(profiles.len() + 6 + usize::from(with_threshold) + usize::from(with_top1));
    text += "\n";
    for evaluation in evaluations {
        let _ = write!(text, "| {} |", evaluation.detector);
        if with_top1 {
            let _ = match evaluation.top1 {
                Some((solved, files)) => {
                    write!(text, " {solved} / {files} ({:.0}%) |", 100.0 * solved as f64 / files.max(1) as f64)
                }
                None => write!(text, " - |"),
            };
        }
        for result in &evaluation.profiles {
            let _ = write!(text, " {:.2} |", result.score);
        }
        let _ = write!(text, " {:.2} |", evaluation.as_served);
        let first = &evaluation.profiles[0];
        let delay = evaluation
            .mean_delay()
            .map_or_else(|| "-".to_owned(), |(rows, share)| format!("{rows:.0}, {:.0}%", share * 100.0));
        let _ = write!(
            text,
            " {} / {} | {} | {delay} | {:.0} | {} |",
            first.raw.found,
            first.raw.windows,
            first.raw.false_positives,
            evaluation.nanos_per_row(),
            evaluation.state_bytes
        );
        if with_threshold {
            let _ = write!(text, " {} |", first.threshold);
        }
        text += "\n";
    }
    text
}

/// A profile's name in a column heading.
pub fn short_name(profile: &Profile) -> &'static str {
    match profile.name {
        "standard" => "standard",
        "reward_low_FP_rate" => "low FP",
        _ => "low FN",
    }
}
