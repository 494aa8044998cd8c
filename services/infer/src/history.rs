//! Recording predictions without slowing predict. Each verdict is counted
//! in `anomaly_predictions_total{result}` and handed to a bounded queue; the
//! handler never waits. One task drains the queue every 200 ms and writes
//! the verdicts as rows, up to `PREDICTION_HISTORY_MAX_RATE` per second
//! (anomalies first, then the newest normal ones), so the history's cost
//! stays bounded at any request rate. The per-series and per-minute
//! counters of every verdict are added up in memory and written with the
//! rows once a second: one upsert per active series a second, not five.
//! The oldest rows beyond `PREDICTION_HISTORY_MAX_ROWS` are pruned. The
//! anomalies among the rows, once stored, are published to the anomaly feed
//! (`source: predict`), and so reach the live feed and the webhooks, when
//! the caller may write (with `API_KEYS` set, a key of the write scope): a
//! read-only or anonymous caller's anomalies are stored and listed, but
//! alert nobody.
//!
//! On a stop, once no request can queue more, [`HistoryRecorder::drain`]
//! writes what is queued and counted: a clean stop loses no verdict.
//!
//! Verdicts that find the queue full are counted in
//! `anomaly_prediction_history_dropped_total`, rows left out by the rate in
//! `anomaly_prediction_history_sampled_out_total`.

use anomaly_http::OwnedTasks;
use anomaly_store::{AnomalyFeed, FeedAnomaly, PredictionBatch, PredictionHistory, PredictionRecord};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

/// How often the writer drains the queue and writes a batch.
const CYCLE: Duration = Duration::from_millis(200);
/// How often the counters go with the batch.
const COUNT_EVERY: Duration = Duration::from_secs(1);
/// How often the oldest rows are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(10);

/// How the history is bounded.
#[derive(Debug, Clone, Copy)]
pub struct HistoryLimits {
    /// Rows kept; 0 records nothing.
    pub max_rows: u64,
    /// Rows written per second at most.
    pub max_rows_per_second: u32,
    /// Verdicts queued between two writes.
    pub queue: usize,
}

/// The handler's end of the history queue, and the writer's task.
pub struct HistoryRecorder {
    queue: Option<mpsc::Sender<Queued>>,
    /// The writer; stopped, it writes what is queued and ends.
    writer: OwnedTasks,
    normal: metrics::Counter,
    anomalous: metrics::Counter,
    dropped: metrics::Counter,
}

impl HistoryRecorder {
    /// Starts the writer (unless `limits.max_rows` is 0).
    pub fn start(history: Arc<dyn PredictionHistory>, feed: Arc<dyn AnomalyFeed>, limits: HistoryLimits) -> Self {
        anomaly_http::metrics::install();
        let writer = OwnedTasks::default();
        let queue = (limits.max_rows > 0).then(|| {
            let (queue, receiver) = mpsc::channel(limits.queue.max(1));
            writer.own(tokio::spawn(write_batches(receiver, writer.stopping(), history, feed, limits)));
            queue
        });
        Self {
            queue,
            writer,
            normal: metrics::counter!("anomaly_predictions_total", "result" => "normal"),
            anomalous: metrics::counter!("anomaly_predictions_total", "result" => "anomaly"),
            dropped: metrics::counter!("anomaly_prediction_history_dropped_total"),
        }
    }

    /// Counts one verdict and queues it; never waits. `alerts`: once
    /// stored, an anomaly is published to the feed.
    pub fn record(&self, record: PredictionRecord, alerts: bool) {
        if record.anomaly { &self.anomalous } else { &self.normal }.increment(1);
        if let Some(queue) = &self.queue
            && queue.try_send(Queued { record, alerts }).is_err()
        {
            self.dropped.increment(1);
        }
    }
}

/// A verdict waiting to be written.
struct Queued {
    record: PredictionRecord,
    /// Whether its caller may raise alerts (see the module's doc).
    alerts: bool,
}

impl HistoryRecorder {
    /// Has the writer write every verdict queued, then end, and waits for
    /// it (at most [`DRAIN_TIMEOUT`]): run once no request can queue more.
    pub async fn drain(&self) {
        if !self.writer.stop(DRAIN_TIMEOUT).await {
            tracing::warn!("the prediction history was not written in time; the verdicts queued are lost");
        }
    }
}

/// How long the last write of the history may take on a stop.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Writes a batch every [`CYCLE`] while verdicts come, and the counters
/// every [`COUNT_EVERY`] until none are left; once `stop` turns true,
/// writes what is queued and counted, and ends.
async fn write_batches(
    mut queue: mpsc::Receiver<Queued>,
    mut stop: watch::Receiver<bool>,
    history: Arc<dyn PredictionHistory>,
    feed: Arc<dyn AnomalyFeed>,
    limits: HistoryLimits,
) {
    let written = metrics::counter!("anomaly_prediction_history_written_total");
    let sampled_out = metrics::counter!("anomaly_prediction_history_sampled_out_total");
    let lost = metrics::counter!("anomaly_prediction_history_lost_total");
    let rows_per_cycle = (f64::from(limits.max_rows_per_second) * CYCLE.as_secs_f64()).ceil().max(1.0) as usize;
    // Kept from cycle to cycle: at load it holds tens of thousands of
    // verdicts, and growing a new one each cycle copied them over and over.
    let mut drained = Vec::new();
    let mut counted = PredictionBatch::default();
    let (mut last_prune, mut last_count) = (Instant::now(), Instant::now());
    let mut stopping = false;
    while !stopping {
        // Idle with nothing left to count: wait for the next verdict.
        if counted.is_empty() {
            tokio::select! {
                received = queue.recv_many(&mut drained, limits.queue.max(1)) => stopping = received == 0,
                _ = stop.wait_for(|stop| *stop) => stopping = true,
            }
        }
        if !stopping {
            tokio::select! {
                () = tokio::time::sleep(CYCLE) => {}
                _ = stop.wait_for(|stop| *stop) => stopping = true,
            }
        }
        while let Ok(record) = queue.try_recv() {
            drained.push(record);
        }
        let verdicts = drained.len();
        let (rows, alerting) = keep_within(&mut drained, rows_per_cycle, &mut counted);
        sampled_out.increment((verdicts - rows.len()) as u64);
        let mut batch = PredictionBatch { rows, ..PredictionBatch::default() };
        if stopping || last_count.elapsed() >= COUNT_EVERY {
            last_count = Instant::now();
            (batch.per_series, batch.per_minute) =
                (std::mem::take(&mut counted.per_series), std::mem::take(&mut counted.per_minute));
        }
        if batch.is_empty() {
            continue;
        }
        match history.append(&batch).await {
            Ok(()) => {
                written.increment(batch.rows.len() as u64);
                if let Err(error) = feed.publish(&alerting).await {
                    tracing::warn!(%error, anomalies = alerting.len(), "anomalous predictions not published");
                }
            }
            Err(error) => {
                lost.increment(batch.rows.len() as u64);
                tracing::warn!(%error, rows = batch.rows.len(), "prediction history batch not stored");
            }
        }
        if last_prune.elapsed() >= PRUNE_EVERY {
            last_prune = Instant::now();
            if let Err(error) = history.prune(limits.max_rows).await {
                tracing::warn!(%error, "could not prune the prediction history");
            }
        }
    }
}

/// Counts every verdict in `counted`, and keeps at most `max_rows` of them
/// as rows: anomalies first, then the newest normal verdicts. Also gives
/// the kept anomalies whose callers may raise alerts, for the feed. Leaves
/// `verdicts` empty, its room kept for the next cycle.
fn keep_within(
    verdicts: &mut Vec<Queued>,
    max_rows: usize,
    counted: &mut PredictionBatch,
) -> (Vec<PredictionRecord>, Vec<FeedAnomaly>) {
    let mut rows = Vec::new();
    let mut alerting = Vec::new();
    for Queued { record, alerts } in verdicts.iter() {
        counted.count(record);
        if record.anomaly && rows.len() < max_rows {
            if *alerts {
                alerting.push(FeedAnomaly::from(record));
            }
            rows.push(record.clone());
        }
    }
    let room = max_rows - rows.len();
    let newest = rows.len();
    rows.extend(
        verdicts.iter().rev().filter(|queued| !queued.record.anomaly).take(room).map(|queued| queued.record.clone()),
    );
    rows[newest..].reverse();
    verdicts.clear();
    (rows, alerting)
}

#[cfg(test)]
mod tests {
    use super::*;
    use anomaly_core::{ModelVersion, SeriesId};

    fn verdict(timestamp: i64, anomaly: bool) -> Queued {
        // Only the caller of the anomaly at 5 may raise alerts.
        let alerts = timestamp == 5;
        let record = PredictionRecord {
            series_id: SeriesId::parse("s").expect("valid"),
            version: ModelVersion::new(1).expect("valid"),
            timestamp,
            value: 1.0,
            score: None,
            anomaly_score: None,
            anomaly,
            recorded_at_ms: 0,
            label: None,
        };
        Queued { record, alerts }
    }

    #[test]
    fn keeps_anomalies_then_the_newest_normal_verdicts_and_counts_all_of_them() {
        let mut counted = PredictionBatch::default();
        let mut verdicts = (0..10).map(|t| verdict(t, t == 2 || t == 5)).collect();
        let (rows, alerting) = keep_within(&mut verdicts, 4, &mut counted);
        let kept: Vec<_> = rows.iter().map(|r| r.timestamp).collect();
        assert_eq!(kept, [2, 5, 8, 9]);
        assert_eq!(alerting.iter().map(|a| a.timestamp).collect::<Vec<_>>(), [5]);
        assert!(verdicts.is_empty(), "every verdict taken");
        let mut few = (0..3).map(|t| verdict(t, false)).collect();
        assert_eq!(keep_within(&mut few, 10, &mut counted).0.len(), 3);
        let series = counted.per_series.values().next().expect("one series");
        assert_eq!((series.predictions, series.anomalies), (13, 2), "counted across calls");
    }
}
