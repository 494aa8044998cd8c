//! The stream's history kept for `POINTS_RETENTION_DAYS`: once at start
//! and then every hour, the days past the retention are dropped (whole
//! partitions; chunks on SQLite), off the stream's path. (The commit of a
//! batch makes its day's partition, and the next day's, itself.)

use anomaly_store::{PointHistory, unix_day, unix_millis};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How often old days are dropped.
const EVERY: Duration = Duration::from_secs(3600);

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

/// Drops the days before the last `days` (the day `days` ago is kept
/// whole). Returns what was dropped.
async fn keep(history: &dyn PointHistory, days: u32, now_ms: i64) -> Result<u64, anomaly_store::StoreError> {
    history.drop_points_before(unix_day(now_ms) - i64::from(days)).await
}
