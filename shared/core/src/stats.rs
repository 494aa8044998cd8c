//! Running mean and population variance in one numerically stable pass
//! (Welford's algorithm), usable batch-wise and point by point.

/// Mean and population variance of the values pushed so far.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RunningStats {
    count: u64,
    mean: f64,
    /// Sum of squared distances from the running mean.
    m2: f64,
}

impl RunningStats {
    /// Statistics of a whole slice.
    pub fn of(values: &[f64]) -> Self {
        let mut stats = Self::default();
        for &value in values {
            stats.push(value);
        }
        stats
    }

    /// Adds one value.
    pub fn push(&mut self, value: f64) {
        self.count += 1;
        let delta = value - self.mean;
        self.mean += delta / self.count as f64;
        self.m2 += delta * (value - self.mean);
    }

    /// Number of values pushed.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Arithmetic mean (0 when empty).
    pub fn mean(&self) -> f64 {
        self.mean
    }

    /// Population standard deviation (0 when empty).
    pub fn std_dev(&self) -> f64 {
        if self.count == 0 { 0.0 } else { (self.m2 / self.count as f64).max(0.0).sqrt() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn naive(values: &[f64]) -> (f64, f64) {
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
        (mean, var.sqrt())
    }

    #[test]
    fn stable_for_large_offsets_with_small_spread() {
        // 1e9 + {4, 7, 13, 16}: mean 1e9 + 10, population std sqrt(22.5).
        let values = [1e9 + 4.0, 1e9 + 7.0, 1e9 + 13.0, 1e9 + 16.0];
        let stats = RunningStats::of(&values);
        assert_eq!(stats.mean(), 1e9 + 10.0);
        assert!((stats.std_dev() - 22.5f64.sqrt()).abs() < 1e-6, "{}", stats.std_dev());
    }

    #[test]
    fn constant_series_has_exactly_zero_spread() {
        assert_eq!(RunningStats::of(&[0.1; 1000]).std_dev(), 0.0);
    }

    proptest! {
        #[test]
        fn matches_naive_reference(values in prop::collection::vec(-1e6f64..1e6, 1..300)) {
            let stats = RunningStats::of(&values);
            let (mean, std) = naive(&values);
            prop_assert!((stats.mean() - mean).abs() <= 1e-9 * (1.0 + mean.abs()));
            prop_assert!((stats.std_dev() - std).abs() <= 1e-7 * (1.0 + std));
        }

        #[test]
        fn online_equals_batch(values in prop::collection::vec(-1e3f64..1e3, 1..100)) {
            let mut online = RunningStats::default();
            for v in &values { online.push(*v); }
            prop_assert_eq!(online, RunningStats::of(&values));
        }
    }
}
