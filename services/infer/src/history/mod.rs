//! Recording predictions without slowing predict. Each verdict is counted
//! in `anomaly_predictions_total{result}`, and per series and per minute in
//! a [buffer](pending) shared with the writer, which keeps the verdicts that
//! may become rows: the handler never waits, and its cost does not grow with
//! the rate. One task takes the buffer every 200 ms and writes its verdicts
//! as rows, up to `PREDICTION_HISTORY_MAX_RATE` per second (anomalies first,
//! then the newest normal ones), so the history's cost stays bounded at any
//! request rate. The per-series and per-minute counters of every verdict
//! are written with the rows once a second: one upsert per active series a
//! second, not five. The oldest rows beyond `PREDICTION_HISTORY_MAX_ROWS`
//! are pruned. The anomalies among the rows, once stored, are published to
//! the anomaly feed (`source: predict`), and so reach the live feed and the
//! webhooks, when the caller may write (with `API_KEYS` set, a key of the
//! write scope): a read-only or anonymous caller's anomalies are stored and
//! listed, but alert nobody.
//!
//! On a stop, once no request can add more, [`HistoryRecorder::drain`]
//! writes what is kept and counted: a clean stop loses no verdict.
//!
//! Verdicts counted but not kept as rows (over the rate) are counted in
//! `anomaly_prediction_history_sampled_out_total`.

mod pending;

use anomaly_http::OwnedTasks;
use anomaly_store::{AnomalyFeed, PredictionBatch, PredictionHistory, PredictionRecord};
use pending::Pending;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{Notify, watch};

/// How often the writer takes the buffer and writes a batch.
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
}

/// The handlers' end of the history, and the writer's task.
pub struct HistoryRecorder {
    /// The buffer, and the writer's wake-up when it waits for a verdict.
    pending: Option<(Arc<Pending>, Arc<Notify>)>,
    /// The writer; stopped, it writes what is kept and counted, and ends.
    writer: OwnedTasks,
    normal: metrics::Counter,
    anomalous: metrics::Counter,
}

impl HistoryRecorder {
    /// Starts the writer (unless `limits.max_rows` is 0).
    pub fn start(history: Arc<dyn PredictionHistory>, feed: Arc<dyn AnomalyFeed>, limits: HistoryLimits) -> Self {
        anomaly_http::metrics::install();
        let writer = OwnedTasks::default();
        let rows_per_cycle = (f64::from(limits.max_rows_per_second) * CYCLE.as_secs_f64()).ceil().max(1.0) as usize;
        let pending = (limits.max_rows > 0).then(|| {
            let (pending, wake) = (Arc::new(Pending::new(rows_per_cycle)), Arc::new(Notify::new()));
            let task = write_batches(pending.clone(), wake.clone(), writer.stopping(), history, feed, limits.max_rows);
            writer.own(tokio::spawn(task));
            (pending, wake)
        });
        Self {
            pending,
            writer,
            normal: metrics::counter!("anomaly_predictions_total", "result" => "normal"),
            anomalous: metrics::counter!("anomaly_predictions_total", "result" => "anomaly"),
        }
    }

    /// Counts one verdict and keeps it for the writer; never waits.
    /// `alerts`: once stored, an anomaly is published to the feed.
    pub fn record(&self, record: PredictionRecord, alerts: bool) {
        if record.anomaly { &self.anomalous } else { &self.normal }.increment(1);
        if let Some((pending, wake)) = &self.pending
            && pending.add(record, alerts)
        {
            wake.notify_one();
        }
    }

    /// Has the writer write every verdict kept and counted, then end, and
    /// waits for it (at most [`DRAIN_TIMEOUT`]): run once no request can
    /// add more.
    pub async fn drain(&self) {
        if !self.writer.stop(DRAIN_TIMEOUT).await {
            tracing::warn!("the prediction history was not written in time; the verdicts kept are lost");
        }
    }
}

/// How long the last write of the history may take on a stop.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Writes a batch every [`CYCLE`] while verdicts come, and the counters
/// every [`COUNT_EVERY`] until none are left; once `stop` turns true,
/// writes what is kept and counted, and ends.
async fn write_batches(
    pending: Arc<Pending>,
    wake: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
    history: Arc<dyn PredictionHistory>,
    feed: Arc<dyn AnomalyFeed>,
    max_rows: u64,
) {
    let written = metrics::counter!("anomaly_prediction_history_written_total");
    let sampled_out = metrics::counter!("anomaly_prediction_history_sampled_out_total");
    let lost = metrics::counter!("anomaly_prediction_history_lost_total");
    let (mut last_prune, mut last_count) = (Instant::now(), Instant::now());
    let mut stopping = false;
    while !stopping {
        // Idle with nothing left to write: wait for the next verdict.
        if pending.is_empty() {
            tokio::select! {
                () = wake.notified() => {}
                _ = stop.wait_for(|stop| *stop) => stopping = true,
            }
        }
        if !stopping {
            tokio::select! {
                () = tokio::time::sleep(CYCLE) => {}
                _ = stop.wait_for(|stop| *stop) => stopping = true,
            }
        }
        let cycle = pending.take_rows();
        sampled_out.increment(cycle.verdicts - cycle.rows.len() as u64);
        let mut batch = PredictionBatch { rows: cycle.rows, ..PredictionBatch::default() };
        if stopping || last_count.elapsed() >= COUNT_EVERY {
            last_count = Instant::now();
            pending.take_counts(&mut batch);
        }
        if batch.is_empty() {
            continue;
        }
        match history.append(&batch).await {
            Ok(()) => {
                written.increment(batch.rows.len() as u64);
                if let Err(error) = feed.publish(&cycle.alerting).await {
                    tracing::warn!(%error, anomalies = cycle.alerting.len(), "anomalous predictions not published");
                }
            }
            Err(error) => {
                lost.increment(batch.rows.len() as u64);
                tracing::warn!(%error, rows = batch.rows.len(), "prediction history batch not stored");
            }
        }
        if last_prune.elapsed() >= PRUNE_EVERY {
            last_prune = Instant::now();
            if let Err(error) = history.prune(max_rows).await {
                tracing::warn!(%error, "could not prune the prediction history");
            }
        }
    }
}
