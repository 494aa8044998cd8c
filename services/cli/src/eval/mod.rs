//! `anomaly eval`: detectors scored on a labelled corpus the way NAB scores
//! them ([`scorer`]), with what a person needs to judge them: windows found
//! and missed, false positives, how early detections come.

pub mod command;
pub mod corpus;
pub mod detector;
pub mod export;
pub mod forest;
pub mod params;
pub mod platform;
pub mod published;
pub mod report;
pub mod run;
pub mod scorer;
pub mod table;
pub mod tune;
pub mod ucr;

use anomaly_core::EDGE;
use corpus::LabelledSeries;
use scorer::{Place, Profile, RawScore, best_threshold, places, score_detections};
use std::time::Duration;

/// One detector's result on a corpus.
#[derive(Debug, Clone)]
pub struct Evaluation {
    /// The detector's name as shown, with its parameters.
    pub detector: String,
    /// A short name for files and folders (the kind).
    pub slug: String,
    /// Per profile: the threshold NAB's optimiser picks and the score at it.
    pub profiles: Vec<ProfileResult>,
    /// The standard score when every row scoring at least [`EDGE`] is a
    /// detection: for the platform's detectors, the score of the flags as
    /// the platform serves them, whatever the optimiser prefers.
    pub as_served: f64,
    /// UCR's top-1 over the files with one labelled anomaly: files solved
    /// and files; `None` when no file has one.
    pub top1: Option<(usize, usize)>,
    /// Per file, at the first profile's threshold.
    pub files: Vec<FileResult>,
    /// Rows in the corpus.
    pub rows: usize,
    /// Time the detector took over all files.
    pub elapsed: Duration,
    /// The largest checkpoint of one series, in bytes (0 when not measured).
    pub state_bytes: usize,
}

/// The score under one profile.
#[derive(Debug, Clone, Copy)]
pub struct ProfileResult {
    /// The profile.
    pub profile: Profile,
    /// Rows scoring at least this are detections.
    pub threshold: f64,
    /// The corpus' raw score and counts at that threshold.
    pub raw: RawScore,
    /// NAB's normalised score (0 null detector, 100 perfect).
    pub score: f64,
}

/// One file at the standard threshold.
#[derive(Debug, Clone)]
pub struct FileResult {
    /// The file's name in the corpus.
    pub name: String,
    /// Raw score and counts.
    pub raw: RawScore,
    /// Rows flagged (score at least the threshold), probation included.
    pub detections: Vec<usize>,
    /// For each found window: rows from its left edge to the first detection, and the window's width.
    pub delays: Vec<(usize, usize)>,
    /// UCR's top-1: the row scoring highest after the probation, and
    /// whether it lies on the labelled anomaly (see [`ucr::top1`]).
    pub top1: Option<(usize, bool)>,
}

impl Evaluation {
    /// The result under `profile`.
    pub fn profile(&self, profile: &Profile) -> Option<&ProfileResult> {
        self.profiles.iter().find(|p| p.profile == *profile)
    }

    /// Mean rows from a window's left edge to its first detection, and the
    /// same as a fraction of the window's width; `None` when nothing was found.
    pub fn mean_delay(&self) -> Option<(f64, f64)> {
        let delays: Vec<_> = self.files.iter().flat_map(|f| &f.delays).collect();
        if delays.is_empty() {
            return None;
        }
        let n = delays.len() as f64;
        let rows = delays.iter().map(|(d, _)| *d as f64).sum::<f64>() / n;
        let fraction = delays.iter().map(|(d, w)| *d as f64 / *w as f64).sum::<f64>() / n;
        Some((rows, fraction))
    }

    /// Nanoseconds per row.
    pub fn nanos_per_row(&self) -> f64 {
        self.elapsed.as_nanos() as f64 / self.rows.max(1) as f64
    }
}

/// Scores `scores[i]` (one per row of `corpus[i]`) under `profiles`.
pub fn evaluate(
    detector: &str,
    slug: &str,
    corpus: &[LabelledSeries],
    scores: &[Vec<f64>],
    profiles: &[Profile],
    elapsed: Duration,
) -> Evaluation {
    let file_places: Vec<Vec<Option<Place>>> =
        corpus.iter().map(|s| places(s.values.len(), s.probation, &s.windows)).collect();
    let profiles: Vec<ProfileResult> = profiles
        .iter()
        .map(|profile| {
            let files = file_places.iter().map(Vec::as_slice).zip(scores.iter().map(Vec::as_slice));
            let (threshold, _) = best_threshold(files, profile);
            let mut raw = RawScore::default();
            for (places, scores) in file_places.iter().zip(scores) {
                let detected: Vec<bool> = scores.iter().map(|s| *s >= threshold).collect();
                raw.add(&score_detections(places, &detected, profile));
            }
            ProfileResult { profile: *profile, threshold, raw, score: raw.normalised(profile) }
        })
        .collect();
    let threshold = profiles.first().map_or(1.0, |p| p.threshold);
    let profile = profiles.first().map_or(Profile::STANDARD, |p| p.profile);
    let files: Vec<FileResult> = corpus
        .iter()
        .zip(&file_places)
        .zip(scores)
        .map(|((series, places), scores)| {
            let detected: Vec<bool> = scores.iter().map(|s| *s >= threshold).collect();
            let raw = score_detections(places, &detected, &profile);
            let delays = series
                .windows
                .iter()
                .filter_map(|&(left, right)| {
                    let first = (left..=right).find(|&i| detected[i] && places[i].is_some())?;
                    Some((first - left, right - left + 1))
                })
                .collect();
            let detections = detected.iter().enumerate().filter(|(_, d)| **d).map(|(i, _)| i).collect();
            let top1 = series.anomaly.and_then(|anomaly| ucr::top1(scores, series.probation, anomaly));
            FileResult { name: series.name.clone(), raw, detections, delays, top1 }
        })
        .collect();
    let mut served = RawScore::default();
    for (places, scores) in file_places.iter().zip(scores) {
        let detected: Vec<bool> = scores.iter().map(|s| *s >= EDGE).collect();
        served.add(&score_detections(places, &detected, &Profile::STANDARD));
    }
    let as_served = served.normalised(&Profile::STANDARD);
    let rows = corpus.iter().map(|s| s.values.len()).sum();
    let top1s: Vec<bool> = files.iter().filter_map(|f| f.top1.map(|(_, solved)| solved)).collect();
    let top1 = (!top1s.is_empty()).then(|| (top1s.iter().filter(|s| **s).count(), top1s.len()));
    Evaluation {
        detector: detector.to_owned(),
        slug: slug.to_owned(),
        profiles,
        as_served,
        top1,
        files,
        rows,
        elapsed,
        state_bytes: 0,
    }
}
