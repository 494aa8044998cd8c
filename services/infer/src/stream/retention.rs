//! The stream's history kept for `POINTS_RETENTION_DAYS`: once at start
//! and then every hour, the days ahead are prepared (PostgreSQL creates
//! their partitions before any point needs them) and the days past the
//! retention are dropped (whole partitions; chunks on SQLite), off the
//! stream's path.

use anomaly_store::{PointHistory, unix_day, unix_millis};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How often the days are prepared and dropped.
const EVERY: Duration = Duration::from_secs(3600);
/// Days prepared ahead of today.
const DAYS_AHEAD: i64 = 2;

/// Keeps `history` to the last `days` days until `stopping` turns true.
pub(crate) async fn run(history: Arc<dyn PointHistory>, days: u32, mut stopping: watch::Receiver<bool>) {
    let dropped = metrics::counter!("anomaly_points_retention_dropped_total");
    loop {
        match keep(history.as_ref(), days, unix_millis()).await {
            Ok(0) => {}
            Ok(count) => {
                dropped.increment(count);
                tracing::info!(count, days, "stream points past their retention dropped");
            }
            Err(error) => tracing::warn!(%error, "stream point retention failed; tried again within the hour"),
        }
        if tokio::time::timeout(EVERY, stopping.wait_for(|stop| *stop)).await.is_ok() {
            return;
        }
    }
}

/// Prepares today and the days ahead, and drops the days before the last
/// `days` (the day `days` ago is kept whole). Returns what was dropped.
pub(crate) async fn keep(history: &dyn PointHistory, days: u32, now_ms: i64) -> Result<u64, anomaly_store::StoreError> {
    let today = unix_day(now_ms);
    let ahead: Vec<i64> = (today..=today + DAYS_AHEAD).collect();
    history.prepare_point_days(&ahead).await?;
    history.drop_points_before(today - i64::from(days)).await
}
