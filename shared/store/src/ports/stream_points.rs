//! The history of the stream: every point it judged, with its verdict,
//! stored in the batch's commit (see [`crate::Checkpoint::judged`]), read
//! back page by page or summarised per time bucket, and dropped after the
//! retention period.

use crate::StoreError;
use anomaly_core::{ModelVersion, SeriesId};
use async_trait::async_trait;
use std::borrow::Cow;

/// One point the stream judged, with its verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct JudgedPoint {
    /// The series.
    pub series_id: SeriesId,
    /// The point's time, Unix seconds.
    pub timestamp: i64,
    /// The point's value.
    pub value: f64,
    /// Its score, when judged and finite.
    pub score: Option<f64>,
    /// The graded anomaly score in [0, 1] (0.5 at the edge of normal; see
    /// `anomaly_core::anomaly_score`); `None` on rows stored before it existed.
    pub anomaly_score: Option<f64>,
    /// The detector's decision.
    pub anomaly: bool,
    /// The detector had not seen enough points to judge.
    pub warming_up: bool,
    /// The detector kind that judged it.
    pub detector: Cow<'static, str>,
    /// The fitted version whose detector judged it; `None`: the platform default.
    pub version: Option<ModelVersion>,
    /// When it was judged, Unix milliseconds.
    pub judged_at_ms: i64,
}

/// Which stored points of one series to read: newest point first.
#[derive(Debug, Clone)]
pub struct PointQuery {
    /// The series.
    pub series_id: SeriesId,
    /// Points at or after this Unix second.
    pub from: Option<i64>,
    /// Points at or before this Unix second.
    pub to: Option<i64>,
    /// Values at or above this.
    pub min_value: Option<f64>,
    /// Values at or below this.
    pub max_value: Option<f64>,
    /// Only anomalies (`true`) or only the others (`false`).
    pub anomaly: Option<bool>,
    /// Points before this Unix second (the `next_after` of the page before).
    pub before: Option<i64>,
    /// At most this many.
    pub limit: u32,
}

impl PointQuery {
    /// The newest `limit` points of `series_id`, unfiltered.
    pub fn newest(series_id: SeriesId, limit: u32) -> Self {
        Self { series_id, from: None, to: None, min_value: None, max_value: None, anomaly: None, before: None, limit }
    }
}

/// The points of one time bucket, summarised.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PointBucket {
    /// Its first Unix second.
    pub from: i64,
    /// Its last Unix second.
    pub to: i64,
    /// Points in it.
    pub count: u64,
    /// Their lowest value.
    pub min: f64,
    /// Their highest value.
    pub max: f64,
    /// Their mean (within `min..=max`, whatever the values).
    pub mean: f64,
    /// Of which anomalous.
    pub anomalies: u64,
}

/// Equal time buckets over `from..=to`: `count` of them at most, each
/// `width` seconds wide (the last one may end past `to`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Buckets {
    /// The first Unix second.
    pub from: i64,
    /// The last Unix second.
    pub to: i64,
    /// Seconds per bucket, at least 1.
    pub width: i64,
}

impl Buckets {
    /// `count` (at least 1) equal buckets over `from..=to` (`from <= to`).
    pub fn over(from: i64, to: i64, count: u32) -> Self {
        let span = i128::from(to) - i128::from(from) + 1;
        let count = i128::from(count.max(1));
        let width = ((span + count - 1) / count).clamp(1, i128::from(i64::MAX));
        Self { from, to, width: width as i64 }
    }

    /// The first and last second of bucket `index`, the last cut at `to`.
    pub fn bounds(&self, index: i64) -> (i64, i64) {
        let start = i128::from(self.from) + i128::from(index) * i128::from(self.width);
        let end = (start + i128::from(self.width) - 1).min(i128::from(self.to));
        (start.clamp(0, i128::from(i64::MAX)) as i64, end.clamp(0, i128::from(i64::MAX)) as i64)
    }
}

/// The stored history of the stream.
#[async_trait]
pub trait PointHistory: Send + Sync {
    /// The points `query` asks for, newest point first.
    async fn points(&self, query: &PointQuery) -> Result<Vec<JudgedPoint>, StoreError>;

    /// The first and last point time stored of `series_id`, if any.
    async fn point_range(&self, series_id: &SeriesId) -> Result<Option<(i64, i64)>, StoreError>;

    /// The points of `series_id` within `buckets`, summarised per bucket in
    /// the database; buckets without points are left out.
    async fn point_summary(&self, series_id: &SeriesId, buckets: Buckets) -> Result<Vec<PointBucket>, StoreError>;

    /// Drops the points judged before the Unix day `first_kept_day`
    /// (PostgreSQL: whole partitions; SQLite: small chunks). Returns how
    /// many partitions (or rows, on SQLite) went.
    async fn drop_points_before(&self, first_kept_day: i64) -> Result<u64, StoreError>;
}

/// The Unix day of `unix_ms`.
pub fn unix_day(unix_ms: i64) -> i64 {
    unix_ms.div_euclid(86_400_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_the_range_in_equal_steps() {
        let buckets = Buckets::over(0, 99, 10);
        assert_eq!(buckets.width, 10);
        assert_eq!(buckets.bounds(0), (0, 9));
        assert_eq!(buckets.bounds(9), (90, 99));
        let uneven = Buckets::over(0, 100, 10);
        assert_eq!(uneven.width, 11);
        assert_eq!(uneven.bounds(9), (99, 100), "the last bucket is cut at `to`");
        let whole = Buckets::over(0, i64::MAX, 2000);
        assert!(whole.width > 0);
        assert_eq!(whole.bounds(1999).1, i64::MAX);
        assert_eq!(Buckets::over(5, 5, 800).width, 1);
    }
}
