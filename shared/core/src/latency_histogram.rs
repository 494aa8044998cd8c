//! A latency histogram with fixed logarithmic buckets (four per doubling,
//! from 1 µs to about a minute), so histograms from many processes add up
//! bucket by bucket and percentiles come out within 19 % of the truth.

/// Number of buckets.
pub const BUCKETS: usize = 104;

/// Counts of latencies per bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LatencyHistogram {
    counts: [u64; BUCKETS],
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self { counts: [0; BUCKETS] }
    }
}

impl LatencyHistogram {
    /// The bucket a latency of `ms` milliseconds falls in.
    pub fn bucket_of(ms: f64) -> usize {
        let micros = ms * 1000.0;
        if micros.is_nan() || micros <= 1.0 {
            return 0;
        }
        ((micros.log2() * 4.0).ceil() as usize).min(BUCKETS - 1)
    }

    /// The largest latency, in milliseconds, bucket `index` holds.
    pub fn upper_bound_ms(index: usize) -> f64 {
        2f64.powf(index as f64 / 4.0) / 1000.0
    }

    /// Adds one latency.
    pub fn record(&mut self, ms: f64) {
        self.add(Self::bucket_of(ms), 1);
    }

    /// Adds `count` latencies to bucket `index` (ignored when out of range).
    pub fn add(&mut self, index: usize, count: u64) {
        if let Some(slot) = self.counts.get_mut(index) {
            *slot += count;
        }
    }

    /// The non-empty buckets, as (index, count).
    pub fn buckets(&self) -> impl Iterator<Item = (usize, u64)> + '_ {
        self.counts.iter().copied().enumerate().filter(|(_, count)| *count > 0)
    }

    /// Number of latencies recorded.
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The nearest-rank `quantile` (0 to 1) as its bucket's upper bound, in
    /// milliseconds; 0 when empty.
    pub fn quantile_ms(&self, quantile: f64) -> f64 {
        let total = self.count();
        if total == 0 {
            return 0.0;
        }
        let rank = ((quantile.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (index, count) in self.buckets() {
            seen += count;
            if seen >= rank {
                return Self::upper_bound_ms(index);
            }
        }
        Self::upper_bound_ms(BUCKETS - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_bound_their_latencies_within_a_fifth() {
        for ms in [0.0005, 0.002, 0.05, 0.37, 1.0, 12.5, 900.0, 30_000.0] {
            let upper = LatencyHistogram::upper_bound_ms(LatencyHistogram::bucket_of(ms));
            assert!(upper >= ms && upper <= ms.max(0.001) * 1.19, "{ms} -> {upper}");
        }
    }

    #[test]
    fn quantiles_follow_nearest_rank() {
        let mut histogram = LatencyHistogram::default();
        for ms in 1..=100 {
            histogram.record(f64::from(ms));
        }
        assert_eq!(histogram.count(), 100);
        let p95 = histogram.quantile_ms(0.95);
        assert!((95.0..=95.0 * 1.19).contains(&p95), "{p95}");
        assert!(histogram.quantile_ms(0.5) < histogram.quantile_ms(0.99));
        assert_eq!(LatencyHistogram::default().quantile_ms(0.5), 0.0);
    }
}
