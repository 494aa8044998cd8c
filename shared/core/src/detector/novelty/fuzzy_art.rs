//! A fuzzy ART network (adaptive resonance theory) with two vigilances, as
//! ARTime uses it: each category is the fuzzy intersection (element-wise
//! minimum) of the complement-coded patterns it has absorbed. A pattern
//! resonates with a category when its similarity reaches the upper
//! vigilance `rho_ub` (the category then learns it); when the best
//! similarity only reaches the lower vigilance `rho_lb` the pattern becomes
//! a category of its own, and below that it is a mismatch: a pattern unlike
//! any seen, which is what the [resonance channel](super::resonance) reports.
//!
//! Inputs lie in [0, 1] and are quantised to 1/[`STEPS`]; weights are
//! minima of inputs, so they are stored exactly as one byte each. At most
//! [`CAPACITY`] categories are kept: a new one replaces the category that
//! resonated least recently.

use serde::{Deserialize, Serialize};

/// Values in a pattern.
pub const FEATURES: usize = 16;
/// Values in a complement-coded pattern (the pattern, then 1 minus it).
const CODED: usize = 2 * FEATURES;
/// Quantisation steps of [0, 1] (a multiple of the resonance channel's 80 levels).
pub const STEPS: f64 = 240.0;
/// The most categories kept (chosen on NAB's DEV half: 512 scores as
/// unbounded, 256 within 0.1, 128 0.2 lower).
pub const CAPACITY: usize = 256;

/// How a pattern matched the network.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Match {
    /// The pattern matched no category (it became a new one).
    pub mismatch: bool,
    /// The best similarity, in [0, 1].
    pub similarity: f64,
    /// The similarity of the pattern's last value to the best category's.
    pub energy: f64,
}

/// The network.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FuzzyArt {
    /// Every category's weights, one byte each, as hex.
    #[serde(with = "hex_bytes")]
    weights: Vec<u8>,
    /// For each category, the clock when it last resonated or was made.
    last_used: Vec<u32>,
    /// Patterns presented so far (wrapping).
    clock: u32,
    /// Lower vigilance.
    pub rho_lb: f64,
    /// Upper vigilance.
    pub rho_ub: f64,
}

/// Quantises a value of [0, 1] (out-of-range and NaN values are clamped).
fn quantise(value: f64) -> u8 {
    let clamped = if value.is_nan() { 0.0 } else { value.clamp(0.0, 1.0) };
    (clamped * STEPS).round() as u8
}

impl FuzzyArt {
    /// An empty network with both vigilances at `rho`.
    pub fn new(rho: f64) -> Self {
        Self { rho_lb: rho, rho_ub: rho, ..Self::default() }
    }

    /// Categories held.
    pub fn len(&self) -> usize {
        self.weights.len() / CODED
    }

    fn category(&self, index: usize) -> &[u8; CODED] {
        self.weights[index * CODED..(index + 1) * CODED].try_into().expect("whole categories")
    }

    /// Presents `pattern`; with `learning`, the network learns it.
    pub fn present(&mut self, pattern: &[f64; FEATURES], learning: bool) -> Match {
        let mut coded = [0u8; CODED];
        for (k, value) in pattern.iter().enumerate() {
            coded[k] = quantise(*value);
            coded[k + FEATURES] = STEPS as u8 - coded[k];
        }
        self.clock = self.clock.wrapping_add(1);
        // A damaged checkpoint keeps whole categories, each with its clock.
        self.weights.truncate(self.len() * CODED);
        self.last_used.resize(self.len(), 0);
        if self.weights.is_empty() {
            // The first pattern only makes the uncommitted category (all ones).
            self.weights.extend([STEPS as u8; CODED]);
            self.last_used.push(u32::MAX);
            return Match { mismatch: false, similarity: 0.0, energy: 0.0 };
        }
        let mut best = (0.0, 0.0, usize::MAX);
        let mut resonated = false;
        for index in 0..self.len() {
            let (similarity, energy) = similarity(&coded, self.category(index));
            if similarity > best.0 {
                best = (similarity, energy, index);
            }
            if learning && similarity >= self.rho_ub {
                resonated = true;
                let start = index * CODED;
                for (w, x) in self.weights[start..start + CODED].iter_mut().zip(&coded) {
                    *w = (*w).min(*x);
                }
                if self.last_used[index] != u32::MAX {
                    self.last_used[index] = self.clock;
                }
            }
        }
        let mismatch = !resonated && best.0 < self.rho_lb;
        if learning && !resonated {
            self.add(coded);
        }
        Match { mismatch: learning && mismatch, similarity: best.0, energy: best.1 }
    }

    fn add(&mut self, coded: [u8; CODED]) {
        if self.len() < CAPACITY {
            self.weights.extend(coded);
            self.last_used.push(self.clock);
            return;
        }
        let oldest = (0..self.len()).min_by_key(|i| self.last_used[*i]).unwrap_or(0);
        self.weights[oldest * CODED..(oldest + 1) * CODED].copy_from_slice(&coded);
        self.last_used[oldest] = self.clock;
    }
}

/// ARTime's match of a coded pattern to a category: the share of the
/// category's weight the pattern covers, cubed, times the "energy" (the
/// same share over the last value and its complement only), squared; and
/// that energy.
/// A category with no weight left matches nothing (ARTime's divisions give 0
/// or NaN there).
fn similarity(coded: &[u8; CODED], weights: &[u8; CODED]) -> (f64, f64) {
    let (mut covered, mut total) = (0u16, 0u16);
    for (x, w) in coded.iter().zip(weights) {
        covered += u16::from((*x).min(*w));
        total += u16::from(*w);
    }
    let last = [FEATURES - 1, CODED - 1];
    let energy_total: u16 = last.iter().map(|k| u16::from(weights[*k])).sum();
    let energy_covered: u16 = last.iter().map(|k| u16::from(coded[*k].min(weights[*k]))).sum();
    if total == 0 || energy_total == 0 {
        return (0.0, 0.0);
    }
    let share = f64::from(covered) / f64::from(total);
    let energy = f64::from(energy_covered) / f64::from(energy_total);
    (share.powi(3) * energy.powi(2), energy)
}

/// Bytes as a hex string in checkpoints (half the size of a JSON array).
mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        serializer.serialize_str(&hex)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        let hex = String::deserialize(deserializer)?;
        if hex.len() % 2 != 0 {
            return Err(D::Error::custom("hex bytes of odd length"));
        }
        (0..hex.len())
            .step_by(2)
            .map(|i| hex.get(i..i + 2).and_then(|pair| u8::from_str_radix(pair, 16).ok()))
            .collect::<Option<Vec<u8>>>()
            .ok_or_else(|| D::Error::custom("not hex bytes"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// ARTime's network written plainly: categories visited in descending
    /// similarity; each at the upper vigilance learns; the first below it
    /// ends the search, making a new category when no category learnt.
    fn plain(patterns: &[[f64; FEATURES]], rho_lb: f64, rho_ub: f64) -> (Vec<(bool, f64)>, usize) {
        let mut categories: Vec<Vec<f64>> = Vec::new();
        let mut out = Vec::new();
        for pattern in patterns {
            let coded: Vec<f64> = pattern
                .iter()
                .map(|v| (v * STEPS).round() / STEPS)
                .chain(pattern.iter().map(|v| 1.0 - (v * STEPS).round() / STEPS))
                .collect();
            if categories.is_empty() {
                categories.push(vec![1.0; CODED]);
                out.push((false, 0.0));
                continue;
            }
            let scored: Vec<(f64, Vec<f64>)> = categories
                .iter()
                .map(|w| {
                    let m: Vec<f64> = coded.iter().zip(w).map(|(x, w)| x.min(*w)).collect();
                    let share = m.iter().sum::<f64>() / w.iter().sum::<f64>();
                    let energy = (m[FEATURES - 1] + m[CODED - 1]) / (w[FEATURES - 1] + w[CODED - 1]);
                    (share.powi(3) * energy.powi(2), m)
                })
                .collect();
            let mut order: Vec<usize> = (0..scored.len()).collect();
            order.sort_by(|a, b| scored[*b].0.total_cmp(&scored[*a].0));
            let mut learnt = false;
            for j in &order {
                if scored[*j].0 >= rho_ub - 1e-12 {
                    categories[*j] = scored[*j].1.clone();
                    learnt = true;
                } else {
                    break;
                }
            }
            let best = scored[order[0]].0;
            if !learnt {
                categories.push(coded);
            }
            out.push((!learnt && best < rho_lb, best));
        }
        (out, categories.len())
    }

    fn patterns(raw: &[Vec<f64>]) -> Vec<[f64; FEATURES]> {
        raw.iter().map(|p| std::array::from_fn(|k| p[k])).collect()
    }

    proptest! {
        #[test]
        fn matches_the_plain_network(
            raw in prop::collection::vec(prop::collection::vec(0.0f64..=1.0, FEATURES), 1..120),
            rho_lb in 0.1f64..0.9,
            gap in 0.0f64..0.1,
        ) {
            let patterns = patterns(&raw);
            let rho_ub = rho_lb + gap;
            let mut network = FuzzyArt { rho_lb, rho_ub, ..FuzzyArt::default() };
            let online: Vec<(bool, f64)> = patterns.iter().map(|p| {
                let m = network.present(p, true);
                (m.mismatch, m.similarity)
            }).collect();
            let (expected, categories) = plain(&patterns, rho_lb, rho_ub);
            prop_assert_eq!(network.len(), categories);
            for (got, want) in online.iter().zip(&expected) {
                prop_assert_eq!(got.0, want.0);
                prop_assert!((got.1 - want.1).abs() < 1e-9, "{} vs {}", got.1, want.1);
            }
        }
    }

    #[test]
    fn a_pattern_like_a_category_resonates_and_one_unlike_all_is_a_mismatch() {
        let mut network = FuzzyArt::new(0.7);
        let flat = [0.5; FEATURES];
        assert!(!network.present(&flat, true).mismatch, "the first pattern only sets the network up");
        assert!(network.present(&flat, true).mismatch, "nothing learnt resembles it yet");
        let again = network.present(&flat, true);
        assert!(!again.mismatch && again.similarity > 0.99, "now it resonates: {again:?}");
        let mut spike = flat;
        spike[FEATURES - 1] = 1.0;
        spike[0] = 0.0;
        assert!(network.present(&spike, true).mismatch);
        assert_eq!(network.len(), 3, "the uncommitted category and two learnt");
    }

    #[test]
    fn without_learning_nothing_changes() {
        let mut network = FuzzyArt::new(0.7);
        network.present(&[0.2; FEATURES], true);
        network.present(&[0.2; FEATURES], true);
        let before = network.clone();
        let seen = network.present(&[0.9; FEATURES], false);
        assert!(!seen.mismatch);
        assert_eq!(network.weights, before.weights);
    }

    #[test]
    fn at_capacity_a_new_category_replaces_the_least_recently_used() {
        let mut network = FuzzyArt::new(0.999);
        let pattern = |i: usize| -> [f64; FEATURES] {
            std::array::from_fn(|k| (((i * 7919 + k * 104_729) ^ (i * k * 31)) % 241) as f64 / 240.0)
        };
        network.present(&pattern(0), true);
        for i in 0..CAPACITY + 40 {
            network.present(&pattern(i), true);
        }
        assert_eq!(network.len(), CAPACITY);
        assert_eq!(network.category(0), &[STEPS as u8; CODED], "the uncommitted category stays");
        assert!(!network.present(&pattern(CAPACITY + 39), true).mismatch, "the newest is kept");
    }

    #[test]
    fn checkpoints_write_weights_as_hex_and_refuse_bad_hex() {
        let mut network = FuzzyArt::new(0.7);
        network.present(&[0.25; FEATURES], true);
        network.present(&[1.0; FEATURES], true);
        let mut json = serde_json::to_value(&network).expect("serialises");
        let hex = json["weights"].as_str().expect("a string").to_owned();
        assert_eq!(hex.len(), 2 * 2 * CODED, "two categories of one byte per weight");
        assert!(hex.starts_with(&"f0".repeat(CODED)), "the uncommitted category is all 240: {hex}");
        assert_eq!(serde_json::from_value::<FuzzyArt>(json.clone()).expect("reads back"), network);
        for bad in ["f", "zz"] {
            json["weights"] = serde_json::Value::from(bad);
            assert!(serde_json::from_value::<FuzzyArt>(json.clone()).is_err(), "{bad}");
        }
    }
}
