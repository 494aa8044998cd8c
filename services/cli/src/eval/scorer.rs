//! NAB's score, computed as numenta/NAB's `sweeper.py` does (v1.1): each
//! point of a file gets a weight by where it lies relative to the labelled
//! windows; a detector's detections at a threshold earn the weight of the
//! earliest detection in each window, pay for every detection outside one,
//! and pay `fn_weight` for each window without any. One threshold, chosen
//! over the whole corpus, and a normalisation between the detector that
//! never fires (0) and the perfect one (100).

/// The costs of one NAB profile.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Profile {
    /// NAB's name (`standard`, `reward_low_FP_rate`, `reward_low_FN_rate`).
    pub name: &'static str,
    /// Credit of a detection at a window's left edge.
    pub tp_weight: f64,
    /// Cost of a detection far from any window.
    pub fp_weight: f64,
    /// Cost of a window without a detection.
    pub fn_weight: f64,
}

impl Profile {
    /// NAB's standard profile.
    pub const STANDARD: Self = Self { name: "standard", tp_weight: 1.0, fp_weight: 0.11, fn_weight: 1.0 };
    /// NAB's profile that charges false positives twice as much.
    pub const LOW_FP: Self = Self { name: "reward_low_FP_rate", tp_weight: 1.0, fp_weight: 0.22, fn_weight: 1.0 };
    /// NAB's profile that charges missed windows twice as much.
    pub const LOW_FN: Self = Self { name: "reward_low_FN_rate", tp_weight: 1.0, fp_weight: 0.11, fn_weight: 2.0 };
    /// The three, in NAB's order of reporting.
    pub const ALL: [Self; 3] = [Self::STANDARD, Self::LOW_FP, Self::LOW_FN];
}

/// Rows of a file not scored: the first 15%, at most 750.
pub fn probation_length(rows: usize) -> usize {
    ((rows as f64 * 0.15).floor() as usize).min(750)
}

/// NAB's reward curve: near 1 well before a window's end, 0 at it, -1 far
/// past it (`position` in window widths relative to the window's right edge).
pub fn scaled_sigmoid(position: f64) -> f64 {
    if position > 3.0 { -1.0 } else { 2.0 / (1.0 + (5.0 * position).exp()) - 1.0 }
}

/// Where one scorable point lies: in a window (its number within the file)
/// with the credit a detection there earns, or outside with what it costs
/// as a fraction of `fp_weight` (negative).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Place {
    /// Inside window `window`; `credit` is in (0, 1], 1 at the left edge.
    InWindow {
        /// The window's number within its file.
        window: usize,
        /// `scaled_sigmoid(position) / scaled_sigmoid(-1)`.
        credit: f64,
    },
    /// Outside every window; `cost` is in [-1, 0).
    Outside {
        /// `scaled_sigmoid` of the distance past the preceding window.
        cost: f64,
    },
}

/// The place of every row of a file of `rows` rows with the windows
/// `windows` (inclusive row ranges, sorted, disjoint); `None` for the first
/// `probation` rows (NAB's [`probation_length`]).
pub fn places(rows: usize, probation: usize, windows: &[(usize, usize)]) -> Vec<Option<Place>> {
    let max_tp = scaled_sigmoid(-1.0);
    let mut places = Vec::with_capacity(rows);
    let mut next = 0;
    let mut previous: Option<(usize, usize)> = None; // (right edge, width)
    for i in 0..rows {
        while next < windows.len() && windows[next].1 < i {
            let (left, right) = windows[next];
            previous = Some((right, right - left + 1));
            next += 1;
        }
        let place = match windows.get(next) {
            Some(&(left, right)) if left <= i => {
                let width = (right - left + 1) as f64;
                let position = -((right - i + 1) as f64) / width;
                Place::InWindow { window: next, credit: scaled_sigmoid(position) / max_tp }
            }
            _ => match previous {
                None => Place::Outside { cost: -1.0 },
                Some((right, width)) => {
                    let past = (i - right) as f64 / (width as f64 - 1.0);
                    Place::Outside { cost: scaled_sigmoid(past) }
                }
            },
        };
        places.push((i >= probation).then_some(place));
    }
    places
}

/// The raw score (before normalisation) of detections `detected` on a
/// file whose rows lie at `places`, and what it is made of.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RawScore {
    /// Sum of credits, costs and penalties.
    pub score: f64,
    /// Windows with at least one scorable row.
    pub windows: usize,
    /// Windows with a detection.
    pub found: usize,
    /// Detections outside every window.
    pub false_positives: usize,
}

impl RawScore {
    /// Adds another file's score.
    pub fn add(&mut self, other: &Self) {
        self.score += other.score;
        self.windows += other.windows;
        self.found += other.found;
        self.false_positives += other.false_positives;
    }

    /// The score of a detector that never fires on these windows.
    pub fn null(&self, profile: &Profile) -> f64 {
        -(self.windows as f64) * profile.fn_weight
    }

    /// The score of one detection at the left edge of every window.
    pub fn perfect(&self, profile: &Profile) -> f64 {
        self.windows as f64 * profile.tp_weight
    }

    /// NAB's normalised score: 0 for the null detector, 100 for the perfect one.
    pub fn normalised(&self, profile: &Profile) -> f64 {
        let (null, perfect) = (self.null(profile), self.perfect(profile));
        100.0 * (self.score - null) / (perfect - null)
    }
}

/// Scores the rows with `detected[i]` true as detections.
pub fn score_detections(places: &[Option<Place>], detected: &[bool], profile: &Profile) -> RawScore {
    let windows = windows_scored(places);
    let mut best = vec![None::<f64>; windows.len()];
    let mut raw = RawScore { windows: windows.iter().filter(|w| **w).count(), ..Default::default() };
    for (place, _) in places.iter().zip(detected).filter(|(_, d)| **d) {
        match place {
            Some(Place::InWindow { window, credit }) => {
                let slot = &mut best[*window];
                *slot = Some(slot.map_or(*credit, |c| c.max(*credit)));
            }
            Some(Place::Outside { cost }) => {
                raw.score += cost * profile.fp_weight;
                raw.false_positives += 1;
            }
            None => {}
        }
    }
    for (credit, scored) in best.iter().zip(&windows) {
        match credit {
            Some(credit) => {
                raw.score += credit * profile.tp_weight;
                raw.found += 1;
            }
            None if *scored => raw.score -= profile.fn_weight,
            None => {}
        }
    }
    raw
}

/// For each window of a file (by number), whether any of its rows is scored.
fn windows_scored(places: &[Option<Place>]) -> Vec<bool> {
    let mut scored = Vec::new();
    for place in places.iter().flatten() {
        if let Place::InWindow { window, .. } = place {
            if scored.len() <= *window {
                scored.resize(*window + 1, false);
            }
            scored[*window] = true;
        }
    }
    scored
}

/// The threshold NAB's optimiser picks for a detector over a corpus, and
/// the raw corpus score it gives: every distinct anomaly score is tried
/// (a row is a detection when its score is at least the threshold), and
/// the highest threshold among the best scores wins, as in NAB.
pub fn best_threshold<'a>(
    files: impl IntoIterator<Item = (&'a [Option<Place>], &'a [f64])>,
    profile: &Profile,
) -> (f64, f64) {
    // Every scorable row of the corpus with its anomaly score.
    let mut rows: Vec<(f64, Effect)> = Vec::new();
    let mut window_keys = 0;
    let mut score = 0.0;
    for (places, anomaly_scores) in files {
        let scored = windows_scored(places);
        score -= scored.iter().filter(|s| **s).count() as f64 * profile.fn_weight;
        for (place, anomaly) in places.iter().zip(anomaly_scores) {
            let effect = match place {
                Some(Place::InWindow { window, credit }) => {
                    Effect::Credit { window: window_keys + window, credit: credit * profile.tp_weight }
                }
                Some(Place::Outside { cost }) => Effect::Cost(cost * profile.fp_weight),
                None => continue,
            };
            rows.push((*anomaly, effect));
        }
        window_keys += scored.len();
    }
    rows.sort_by(|a, b| b.0.total_cmp(&a.0));
    // Each window contributes -fn_weight until detected, then its best credit.
    let mut window_part = vec![-profile.fn_weight; window_keys];
    let (mut best_threshold, mut best_score) = (1.1, score);
    let mut i = 0;
    while i < rows.len() {
        let threshold = rows[i].0;
        while i < rows.len() && rows[i].0 == threshold {
            match rows[i].1 {
                Effect::Credit { window, credit } => {
                    let part = &mut window_part[window];
                    if credit > *part {
                        score += credit - *part;
                        *part = credit;
                    }
                }
                Effect::Cost(cost) => score += cost,
            }
            i += 1;
        }
        if score > best_score {
            (best_threshold, best_score) = (threshold, score);
        }
    }
    (best_threshold, best_score)
}

/// What detecting one row does to a corpus score.
#[derive(Clone, Copy)]
enum Effect {
    /// Offers `credit` to window `window` (numbered over the corpus).
    Credit { window: usize, credit: f64 },
    /// Adds this (negative) cost.
    Cost(f64),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scored(rows: usize, windows: &[(usize, usize)], detections: &[usize], profile: &Profile) -> RawScore {
        let places = places(rows, probation_length(rows), windows);
        let mut detected = vec![false; rows];
        for &d in detections {
            detected[d] = true;
        }
        score_detections(&places, &detected, profile)
    }

    #[test]
    fn probation_is_fifteen_percent_at_most_750_rows() {
        assert_eq!(probation_length(1000), 150);
        assert_eq!(probation_length(10_000), 750);
        assert_eq!(probation_length(7), 1);
    }

    #[test]
    fn a_detection_at_the_left_edge_earns_the_full_credit_and_only_the_earliest_counts() {
        let p = Profile::STANDARD;
        let edge = scored(1000, &[(500, 599)], &[500], &p);
        assert!((edge.score - 1.0).abs() < 1e-12, "{edge:?}");
        let both = scored(1000, &[(500, 599)], &[500, 590], &p);
        assert_eq!(both, edge, "a later detection in the same window adds nothing");
        let late = scored(1000, &[(500, 599)], &[590], &p);
        assert!(late.score > 0.0 && late.score < 0.3, "late in the window earns little: {late:?}");
        assert_eq!((late.found, late.windows), (1, 1));
        let missed = scored(1000, &[(500, 599)], &[], &p);
        assert_eq!(missed.score, -1.0);
        assert!((missed.normalised(&p)).abs() < 1e-12 && (edge.normalised(&p) - 100.0).abs() < 1e-9);
    }

    #[test]
    fn a_false_positive_costs_more_the_farther_it_is_from_the_window_before() {
        let p = Profile::STANDARD;
        let cost = |at: usize| scored(1000, &[(300, 399)], &[300, at], &p).score - 1.0;
        assert!((cost(200) + 0.11).abs() < 1e-12, "before any window: the full cost");
        assert!(cost(400) > -0.01, "just after the window: almost free");
        assert!(cost(400) > cost(450) && cost(450) > cost(600));
        assert!((cost(800) + 0.11).abs() < 1e-12, "over three widths past: the full cost");
        let low_fp = scored(1000, &[(300, 399)], &[300, 200], &Profile::LOW_FP).score - 1.0;
        assert!((low_fp + 0.22).abs() < 1e-12);
    }

    #[test]
    fn the_probation_period_is_not_scored() {
        let p = Profile::STANDARD;
        let in_probation = scored(1000, &[(500, 599)], &[10, 149, 500], &p);
        assert_eq!(in_probation.false_positives, 0);
        let after = scored(1000, &[(500, 599)], &[150, 500], &p);
        assert_eq!(after.false_positives, 1);
    }

    #[test]
    fn the_best_threshold_is_the_highest_of_the_best_scores() {
        let places = places(1000, probation_length(1000), &[(500, 599)]);
        let mut anomaly = vec![0.0; 1000];
        anomaly[510] = 0.9; // in the window
        anomaly[200] = 0.95; // a false positive above it
        anomaly[300] = 0.5;
        let (threshold, score) = best_threshold([(&places[..], &anomaly[..])], &Profile::STANDARD);
        assert_eq!(threshold, 0.9);
        let detected: Vec<bool> = anomaly.iter().map(|a| *a >= 0.9).collect();
        assert!((score - score_detections(&places, &detected, &Profile::STANDARD).score).abs() < 1e-12);
    }
}
