//! The left matrix profile of a stream over a bounded look-back: for the
//! newest subsequence of `length` values, the z-normalised Euclidean
//! distance to its nearest neighbour among the earlier subsequences that
//! start at most [`LOOKBACK`] values before it, trivial matches (those
//! nearer than half a subsequence) excluded. A shape never seen before is
//! far from all of them.
//!
//! Values are integers (the caller quantises them), so the dot products
//! are exact in `f64` (every sum stays below 2^53): each new value updates
//! the dot product of the newest subsequence with every candidate in O(1)
//! (`QT[lag] += x[t]·x[t-lag] - x[t-m]·x[t-m-lag]`, as STOMP does along a
//! diagonal), O(LOOKBACK) per value in all, and a profile read back from a
//! checkpoint recomputes exactly the numbers the running one holds. The
//! distance is reported divided by √length, so it lies in [0, 2]
//! whatever the length. A subsequence's standard deviation counts as at
//! least [`SIGMA_FLOOR`]: the noise of a flat stretch is not a shape.

use super::packed;
use serde::{Deserialize, Serialize, Serializer};

/// Subsequences before the newest one that it is compared with (512,
/// 1024, 2048 and 4096 found the same number of ucr-dev's anomalies).
pub const LOOKBACK: usize = 512;
/// The longest subsequence.
pub const MAX_LENGTH: usize = 64;
/// The largest magnitude of a quantised value: products of two stay below
/// 2^40 and sums of [`MAX_LENGTH`] of them below 2^47.
pub const LIMIT: i32 = 1 << 20;
/// The smallest standard deviation a subsequence is normalised by, in
/// quantised units (1% of the 2^18 the caller maps its scale to).
pub const SIGMA_FLOOR: f64 = 2621.44;

/// Values no longer used that are kept until there are this many, then
/// dropped at once: dropping the oldest on every value moved the whole
/// buffer each time.
const SLACK: usize = 64;
/// Independent minima kept while scanning the candidates.
const LANES: usize = 4;

/// The profile's state: the values it compares, newest last. The dot
/// products and per-subsequence statistics derive from them.
#[derive(Debug, Clone, Deserialize)]
pub struct LeftProfile {
    /// Subsequence length, 4 to [`MAX_LENGTH`].
    length: usize,
    /// The last `LOOKBACK + length + 1` values and at most [`SLACK`]
    /// older ones (dropped in a batch); a checkpoint holds the former.
    #[serde(with = "packed")]
    values: Vec<i32>,
    #[serde(skip)]
    derived: Derived,
}

impl PartialEq for LeftProfile {
    /// Profiles using the same values are equal: the rest derives from them.
    fn eq(&self, other: &Self) -> bool {
        self.length == other.length && self.used() == other.used()
    }
}

impl Serialize for LeftProfile {
    /// The length and the values it uses, not the older ones waiting to be dropped.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Stored<'a> {
            length: usize,
            #[serde(serialize_with = "packed_values")]
            values: &'a [i32],
        }
        Stored { length: self.length, values: self.used() }.serialize(serializer)
    }
}

/// [`packed::serialize`] for a borrowed slice field.
fn packed_values<S: Serializer>(values: &&[i32], serializer: S) -> Result<S::Ok, S::Error> {
    packed::serialize(values, serializer)
}

/// What derives from the values, rebuilt after a restore.
#[derive(Debug, Clone, Default)]
struct Derived {
    /// Per lag, the dot product of the newest subsequence with the one
    /// ending `lag` values earlier, for every lag with a whole candidate.
    qt: Vec<f64>,
    /// Whether `qt` is that of the newest subsequence (not after a restore).
    valid: bool,
    /// Per value: the mean, 1 / floored standard deviation and
    /// (standard deviation / floored one)² of the subsequence ending there.
    mean: Vec<f64>,
    inverse: Vec<f64>,
    ratio: Vec<f64>,
}

impl LeftProfile {
    /// An empty profile of subsequences of `length` (clamped to 4 to
    /// [`MAX_LENGTH`]).
    pub fn new(length: usize) -> Self {
        Self { length: length.clamp(4, MAX_LENGTH), values: Vec::new(), derived: Derived::default() }
    }

    /// The subsequence length.
    #[cfg(test)]
    pub fn length(&self) -> usize {
        self.length
    }

    /// Values used at most.
    fn capacity(&self) -> usize {
        LOOKBACK + self.length + 1
    }

    /// The values used: the newest [`capacity`](Self::capacity).
    fn used(&self) -> &[i32] {
        &self.values[self.values.len().saturating_sub(self.capacity())..]
    }

    /// Adds `value` (clamped to ±[`LIMIT`]) and returns the newest
    /// subsequence's distance to its nearest earlier neighbour, once it has one.
    pub fn push(&mut self, value: i32) -> Option<f64> {
        self.append(value);
        self.nearest()
    }

    /// As [`push`](Self::push), and with the nearest distance the
    /// typical one: the mean distance to the candidates that do not overlap
    /// the newest subsequence (`None` before there is one, and when the
    /// newest subsequence is flat, its deviation under [`SIGMA_FLOOR`]: a
    /// flat stretch is near every other flat one, which says nothing of
    /// how the series repeats its shapes). Costs a square root per
    /// candidate more than `push`; for measuring how a series repeats
    /// itself, not for every point.
    pub fn push_measured(&mut self, value: i32) -> Option<(f64, Option<f64>)> {
        self.append(value);
        let flat = self.derived.ratio.last().is_none_or(|ratio| *ratio < 1.0);
        let candidates = self.candidates()?;
        Some((candidates.nearest()?, if flat { None } else { candidates.mean_distance_from(self.length) }))
    }

    /// Takes `value` in and moves the dot products to the new newest subsequence.
    fn append(&mut self, value: i32) {
        if self.derived.mean.len() != self.values.len() {
            self.rebuild();
        }
        self.values.push(value.clamp(-LIMIT, LIMIT));
        self.push_statistics();
        if self.values.len() > self.capacity() + SLACK {
            let unused = self.values.len() - self.capacity();
            self.values.drain(..unused);
            self.derived.mean.drain(..unused);
            self.derived.inverse.drain(..unused);
            self.derived.ratio.drain(..unused);
        }
        self.advance_products();
    }

    /// The statistics of the subsequence ending at the newest value.
    fn push_statistics(&mut self) {
        let n = self.values.len();
        let (mean, inverse, ratio) = if n < self.length {
            (f64::NAN, f64::NAN, f64::NAN)
        } else {
            let window = &self.values[n - self.length..];
            let sum: f64 = window.iter().map(|v| f64::from(*v)).sum();
            let squares: f64 = window.iter().map(|v| f64::from(*v) * f64::from(*v)).sum();
            let m = self.length as f64;
            let mean = sum / m;
            let variance = (squares / m - mean * mean).max(0.0);
            let floored = variance.max(SIGMA_FLOOR * SIGMA_FLOOR);
            (mean, 1.0 / floored.sqrt(), variance / floored)
        };
        self.derived.mean.push(mean);
        self.derived.inverse.push(inverse);
        self.derived.ratio.push(ratio);
    }

    /// The largest lag with a whole candidate subsequence.
    fn max_lag(&self) -> usize {
        (self.values.len().saturating_sub(self.length)).min(LOOKBACK)
    }

    /// The dot products of the new newest subsequence: one step along each
    /// diagonal the previous one had, the new lag (while the look-back
    /// fills) from scratch.
    fn advance_products(&mut self) {
        let x = &self.values;
        let (n, m) = (x.len(), self.length);
        let max_lag = self.max_lag();
        let qt = &mut self.derived.qt;
        if n <= m || !self.derived.valid {
            qt.clear();
        } else {
            let t = n - 1;
            let (newest, leaving) = (f64::from(x[t]), f64::from(x[t - m]));
            qt.truncate(t - m + 1);
            // Lag `lag` steps with the values `lag` before the newest and
            // before the one leaving: both run backwards (as slices, so the
            // loop has no bounds checks and the compiler can use SIMD).
            let lags = qt.len();
            let (recent, older) = (&x[t + 1 - lags..=t], &x[t + 1 - m - lags..=t - m]);
            for ((product, a), b) in qt.iter_mut().zip(recent.iter().rev()).zip(older.iter().rev()) {
                *product += newest * f64::from(*a) - leaving * f64::from(*b);
            }
        }
        if n >= m {
            let newest = &x[n - m..];
            for lag in qt.len()..=max_lag {
                let other = &x[n - m - lag..n - lag];
                qt.push(newest.iter().zip(other).map(|(a, b)| f64::from(*a) * f64::from(*b)).sum());
            }
        }
        self.derived.valid = true;
    }

    /// The newest subsequence's candidates, or `None` before it has one.
    fn candidates(&self) -> Option<Candidates<'_>> {
        let n = self.values.len();
        let exclusion = (self.length / 2).max(1);
        let max_lag = self.max_lag();
        if n < self.length || exclusion > max_lag {
            return None;
        }
        let d = &self.derived;
        let t = n - 1;
        // Lag `lag` pairs the product `qt[lag]` with the candidate ending at
        // `t - lag`: the candidates' statistics run backwards.
        let ending = t - max_lag..=t - exclusion;
        Some(Candidates {
            products: &d.qt[exclusion..=max_lag],
            means: &d.mean[ending.clone()],
            inverses: &d.inverse[ending.clone()],
            ratios: &d.ratio[ending],
            newest: (d.mean[t], d.inverse[t], d.ratio[t]),
            m: self.length as f64,
            first_lag: exclusion,
        })
    }

    /// The distance of the newest subsequence to its nearest candidate.
    fn nearest(&self) -> Option<f64> {
        self.candidates()?.nearest()
    }

    /// Recomputes what derives from the values (after a restore).
    fn rebuild(&mut self) {
        let values = std::mem::take(&mut self.values);
        self.derived = Derived::default();
        for value in values {
            self.values.push(value);
            self.push_statistics();
        }
        self.advance_products();
    }
}

/// The newest subsequence's candidates, as slices (so the loops over them
/// have no bounds checks and the compiler can use SIMD).
struct Candidates<'a> {
    /// The dot product with each candidate, by lag from `first_lag` on.
    products: &'a [f64],
    /// Each candidate's mean, 1 / floored standard deviation and ratio (as
    /// in [`Derived`]), the nearest in time (smallest lag) last.
    means: &'a [f64],
    inverses: &'a [f64],
    ratios: &'a [f64],
    /// The newest subsequence's mean, inverse and ratio.
    newest: (f64, f64, f64),
    /// The subsequence length.
    m: f64,
    /// The lag of `products[0]`.
    first_lag: usize,
}

impl Candidates<'_> {
    /// The squared distance to the candidate of `product` and statistics `j`.
    fn squared(&self, product: f64, mean_j: f64, inverse_j: f64, ratio_j: f64) -> f64 {
        let (mean, inverse, ratio) = self.newest;
        let correlation = (product / self.m - mean * mean_j) * inverse * inverse_j;
        ratio + ratio_j - 2.0 * correlation
    }

    /// The distance to the nearest candidate, if any is finite.
    fn nearest(&self) -> Option<f64> {
        let best = self.nearest_squared();
        best.is_finite().then(|| best.max(0.0).sqrt())
    }

    /// The smallest squared distance, kept in [`LANES`] independent minima
    /// (no chain of dependent `min`s; the profile's hottest loop).
    fn nearest_squared(&self) -> f64 {
        let mut best = [f64::INFINITY; LANES];
        let whole = self.means.len() / LANES * LANES;
        let by_lane = self.products.rchunks_exact(LANES).zip(
            self.means.chunks_exact(LANES).zip(self.inverses.chunks_exact(LANES)).zip(self.ratios.chunks_exact(LANES)),
        );
        for (q, ((mu, inv), r)) in by_lane {
            for lane in 0..LANES {
                best[lane] = best[lane].min(self.squared(q[LANES - 1 - lane], mu[lane], inv[lane], r[lane]));
            }
        }
        let left = self.products.len() - whole;
        let rest = (0..left).map(|i| {
            let j = whole + left - 1 - i;
            self.squared(self.products[i], self.means[j], self.inverses[j], self.ratios[j])
        });
        rest.fold(best.into_iter().fold(f64::INFINITY, f64::min), f64::min)
    }

    /// The mean distance to the candidates from lag `lag` on (those that
    /// do not overlap the newest subsequence when `lag` is its length),
    /// summed in order of lag; `None` when there are none.
    fn mean_distance_from(&self, lag: usize) -> Option<f64> {
        let skip = lag.saturating_sub(self.first_lag).min(self.products.len());
        let kept = self.products.len() - skip;
        let statistics = self.means[..kept].iter().zip(&self.inverses[..kept]).zip(&self.ratios[..kept]).rev();
        let total = self.products[skip..]
            .iter()
            .zip(statistics)
            .map(|(q, ((mu, inv), r))| self.squared(*q, *mu, *inv, *r).max(0.0).sqrt())
            .fold(0.0, |total, distance| total + distance);
        (kept > 0).then(|| total / kept as f64)
    }
}

/// The same distance written plainly: each subsequence z-normalised (its
/// standard deviation floored), Euclidean distance to every candidate,
/// divided by √length. Over all `values`, one per value (`None` before a
/// candidate exists).
#[cfg(test)]
pub(crate) fn plain_profile(values: &[i32], length: usize) -> Vec<Option<f64>> {
    let normalised = |end: usize| -> Vec<f64> {
        let window: Vec<f64> = values[end + 1 - length..=end].iter().map(|v| f64::from(*v)).collect();
        let mean = window.iter().sum::<f64>() / length as f64;
        let variance = window.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / length as f64;
        let sigma = variance.sqrt().max(SIGMA_FLOOR);
        window.iter().map(|v| (v - mean) / sigma).collect()
    };
    (0..values.len())
        .map(|t| {
            if t + 1 < length {
                return None;
            }
            let newest = normalised(t);
            let exclusion = (length / 2).max(1);
            (exclusion..=LOOKBACK.min(t + 1 - length))
                .map(|lag| {
                    let other = normalised(t - lag);
                    newest.iter().zip(&other).map(|(a, b)| (a - b) * (a - b)).sum::<f64>() / length as f64
                })
                .fold(None, |best: Option<f64>, d| Some(best.map_or(d, |b| b.min(d))))
                .map(f64::sqrt)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn online(values: &[i32], length: usize) -> Vec<Option<f64>> {
        let mut profile = LeftProfile::new(length);
        values.iter().map(|v| profile.push(*v)).collect()
    }

    fn assert_close(online: &[Option<f64>], plain: &[Option<f64>]) -> Result<(), TestCaseError> {
        prop_assert_eq!(online.len(), plain.len());
        for (i, (a, b)) in online.iter().zip(plain).enumerate() {
            match (a, b) {
                (Some(a), Some(b)) => prop_assert!((a - b).abs() < 1e-6, "at {}: {} against {}", i, a, b),
                _ => prop_assert_eq!(a.is_some(), b.is_some(), "at {}", i),
            }
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        #[test]
        fn matches_the_plain_left_profile_on_random_series(
            values in prop::collection::vec(-LIMIT..=LIMIT, 1..700),
            length in 4usize..=MAX_LENGTH,
        ) {
            assert_close(&online(&values, length), &plain_profile(&values, length))?;
        }

        #[test]
        fn matches_the_plain_left_profile_on_periodic_series(
            pattern in prop::collection::vec(-300_000i32..300_000, 5..80),
            noise in prop::collection::vec(-3000i32..3000, 600..1300),
            length in 4usize..=MAX_LENGTH,
        ) {
            let values: Vec<i32> = noise.iter().enumerate().map(|(i, n)| pattern[i % pattern.len()] + n).collect();
            assert_close(&online(&values, length), &plain_profile(&values, length))?;
        }
    }

    #[test]
    fn a_new_shape_is_far_and_a_repeated_one_near() {
        let wave = |i: usize| ((i as f64) * std::f64::consts::TAU / 40.0).sin() * 200_000.0;
        let mut values: Vec<i32> = (0..1200).map(|i| wave(i) as i32).collect();
        for (k, v) in values[1000..1020].iter_mut().enumerate() {
            *v = if k % 2 == 0 { 150_000 } else { -150_000 };
        }
        let profile = online(&values, 40);
        let usual = profile[600..1000].iter().flatten().fold(0.0f64, |a, b| a.max(*b));
        let strange = profile[1000..1060].iter().flatten().fold(0.0f64, |a, b| a.max(*b));
        assert!(usual < 0.05, "a repeated wave is near its earlier periods: {usual}");
        assert!(strange > 0.5, "a new shape is far from all of them: {strange}");
    }

    #[test]
    fn restores_exactly_from_its_values() {
        let values: Vec<i32> = (0..1500).map(|i| ((i * 7919) % 2001 - 1000) * 100 + (i % 50) * 3000).collect();
        let mut running = LeftProfile::new(30);
        // 700 and 1200: older values wait to be dropped; the checkpoint leaves them out.
        for cut in [10, 300, 700, 1200] {
            let mut first = LeftProfile::new(30);
            values[..cut].iter().for_each(|v| {
                first.push(*v);
            });
            let json = serde_json::to_string(&first).expect("serialises");
            let mut restored: LeftProfile = serde_json::from_str(&json).expect("reads back");
            assert_eq!(restored, first, "the same values used");
            assert_eq!(restored.values.len(), first.used().len(), "only those stored");
            let mut uninterrupted = first.clone();
            for v in &values[cut..] {
                assert_eq!(restored.push(*v).map(f64::to_bits), uninterrupted.push(*v).map(f64::to_bits));
            }
        }
        values.iter().for_each(|v| {
            running.push(*v);
        });
        assert!(serde_json::to_string(&running).expect("serialises").len() < 4 * 1024, "about 5.3 bytes a value");
    }
}
