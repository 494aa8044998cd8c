//! Summary of a window of latency samples: mean and nearest-rank p95.

/// Mean and 95th percentile of recent latencies, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LatencySummary {
    /// Arithmetic mean; 0 when there are no samples.
    pub avg: f64,
    /// Nearest-rank 95th percentile; 0 when there are no samples.
    pub p95: f64,
    /// Number of samples summarised.
    pub samples: usize,
}

impl LatencySummary {
    /// Summarises `samples` (milliseconds, any order).
    pub fn of(samples: &[f64]) -> Self {
        if samples.is_empty() {
            return Self::default();
        }
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        let rank = (0.95 * sorted.len() as f64).ceil() as usize;
        Self {
            avg: sorted.iter().sum::<f64>() / sorted.len() as f64,
            p95: sorted[rank.clamp(1, sorted.len()) - 1],
            samples: sorted.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentile() {
        let samples: Vec<f64> = (1..=100).map(f64::from).collect();
        let summary = LatencySummary::of(&samples);
        assert_eq!((summary.avg, summary.p95, summary.samples), (50.5, 95.0, 100));
        assert_eq!(LatencySummary::of(&[7.0]).p95, 7.0);
        assert_eq!(LatencySummary::of(&[1.0, 2.0]).p95, 2.0);
        assert_eq!(LatencySummary::of(&[]), LatencySummary::default());
    }
}
