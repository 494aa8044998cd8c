//! Recording predictions without slowing predict: each verdict is counted
//! in `anomaly_predictions_total{result}`, and the handler hands it to a
//! bounded queue for the dashboard's history and never waits; one task
//! writes whatever has queued as one batch (a few statements per batch,
//! not one per request) and prunes the oldest rows. When the queue is full
//! (the database cannot keep up), verdicts go unrecorded and are counted in
//! `anomaly_prediction_history_dropped_total`.

use anomaly_store::{PredictionHistory, PredictionRecord};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Most rows written in one batch.
const MAX_BATCH: usize = 5000;
/// How long the writer lets a batch fill after its first row.
const LINGER: Duration = Duration::from_millis(200);
/// How often the oldest rows are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(10);

/// The handler's end of the history queue.
pub struct HistoryRecorder {
    queue: Option<mpsc::Sender<PredictionRecord>>,
    normal: metrics::Counter,
    anomalous: metrics::Counter,
    dropped: metrics::Counter,
}

impl HistoryRecorder {
    /// Starts the writer keeping at most `max_rows` rows, with a queue of
    /// `queue_capacity` verdicts; `max_rows` 0 records nothing.
    pub fn start(history: Arc<dyn PredictionHistory>, max_rows: u64, queue_capacity: usize) -> Self {
        anomaly_http::metrics::install();
        let queue = (max_rows > 0).then(|| {
            let (queue, receiver) = mpsc::channel(queue_capacity.max(1));
            tokio::spawn(write_batches(receiver, history, max_rows));
            queue
        });
        Self {
            queue,
            normal: metrics::counter!("anomaly_predictions_total", "result" => "normal"),
            anomalous: metrics::counter!("anomaly_predictions_total", "result" => "anomaly"),
            dropped: metrics::counter!("anomaly_prediction_history_dropped_total"),
        }
    }

    /// Counts one verdict and queues it; never waits.
    pub fn record(&self, record: PredictionRecord) {
        if record.anomaly { &self.anomalous } else { &self.normal }.increment(1);
        if let Some(queue) = &self.queue
            && queue.try_send(record).is_err()
        {
            self.dropped.increment(1);
        }
    }
}

async fn write_batches(
    mut queue: mpsc::Receiver<PredictionRecord>,
    history: Arc<dyn PredictionHistory>,
    max_rows: u64,
) {
    let written = metrics::counter!("anomaly_prediction_history_written_total");
    let lost = metrics::counter!("anomaly_prediction_history_lost_total");
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut last_prune = Instant::now();
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        tokio::time::sleep(LINGER).await;
        while batch.len() < MAX_BATCH {
            let Ok(record) = queue.try_recv() else { break };
            batch.push(record);
        }
        match history.append(&batch).await {
            Ok(()) => written.increment(batch.len() as u64),
            Err(error) => {
                lost.increment(batch.len() as u64);
                tracing::warn!(%error, rows = batch.len(), "prediction history batch not stored");
            }
        }
        batch.clear();
        if last_prune.elapsed() >= PRUNE_EVERY {
            last_prune = Instant::now();
            if let Err(error) = history.prune(max_rows).await {
                tracing::warn!(%error, "could not prune the prediction history");
            }
        }
    }
}
