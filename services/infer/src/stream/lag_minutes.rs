//! The stream lag per minute that the dashboard's overview charts: each
//! worker records how far its partitions are behind in `stream_minutes`
//! (the worst of the minute is kept).

use super::judge::unix_millis;
use anomaly_store::StreamStore;

/// When one worker wrote last.
#[derive(Default)]
pub(crate) struct LagMinutes {
    /// The minute the lag was last recorded in (and old minutes pruned).
    recorded_in: i64,
}

impl LagMinutes {
    /// Records `lagging` (the partitions of `log` behind, with how many
    /// entries; `log` is [`anomaly_store::POINT_LOG`] or `kafka:<topic>`):
    /// written while a partition lags, else once a minute (to prune), so an
    /// idle worker does not write every round. A failure costs only the chart.
    pub(crate) async fn record(&mut self, streams: &dyn StreamStore, log: &str, lagging: &[(u32, u64)]) {
        let minute = unix_millis().div_euclid(60_000);
        if lagging.is_empty() && minute == self.recorded_in {
            return;
        }
        match streams.record_lag(log, lagging, minute).await {
            Ok(()) => self.recorded_in = minute,
            Err(error) => tracing::debug!(%error, log, "could not record the stream lag"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anomaly_store::SqlModelStore;

    #[tokio::test]
    async fn the_worst_lag_of_the_minute_is_kept_across_logs() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqlModelStore::open_sqlite_file(&dir.path().join("lag.db"), 1).await.expect("opened");
        let (mut log, mut kafka) = (LagMinutes::default(), LagMinutes::default());
        log.record(&store, "points", &[(3, 10), (4, 2)]).await;
        log.record(&store, "points", &[(3, 7)]).await;
        kafka.record(&store, "kafka:telemetry.raw", &[(0, 25)]).await;
        kafka.record(&store, "kafka:telemetry.raw", &[]).await;
        // One minute, or two if the test ran across a minute's end.
        let minutes = store.stream_minutes(0).await.expect("read");
        assert!((1..=2).contains(&minutes.len()), "{minutes:?}");
        let worst = minutes.iter().map(|minute| minute.lag_entries).max();
        assert_eq!(worst, Some(25), "the worst partition of either log: {minutes:?}");
    }
}
