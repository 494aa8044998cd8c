//! The streaming half of infer: `POST /ingest` puts points into the
//! stream's source (the partitioned log, or the Kafka topic with
//! `KAFKA_BROKERS`; see [`source`]), the worker judges them with each
//! series' online detector, `GET /stream/{series_id}` and `GET /ready`
//! tell how it goes.

pub mod ingest;
mod judge;
mod kafka;
mod lag_minutes;
mod source;
pub mod status;
mod worker;

pub use ingest::{BatchIngestRequest, BatchPoint, IngestAccepted, IngestRequest, ingest_many, ingest_series};
pub use status::{SeriesStreamView, StreamHealthProbe, ready, series_stream};

use crate::ModelLookup;
use crate::settings::InferSettings;
use anomaly_core::{DetectorConfig, Model, Threshold, Verdict};
use anomaly_store::{Backends, EntryId, StoreError};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::watch;

/// The detector of series that have no fitted model.
#[derive(Debug, Clone, Copy)]
pub struct StreamDefaults {
    /// The platform default detector (`STREAM_DETECTOR`).
    pub config: DetectorConfig,
}

impl StreamDefaults {
    /// The online detector `kind` with its defaults; the rolling kinds take
    /// `window` points and threshold `threshold`.
    pub fn new(kind: &str, window: u32, threshold: f64) -> Result<Self, anomaly_core::ValidationError> {
        let rolling = matches!(kind, "rolling_zscore" | "rolling_mad");
        let options = anomaly_core::DetectorOptions {
            kind: Some(kind.to_owned()),
            window: rolling.then_some(window),
            threshold: rolling.then(|| Threshold::new(threshold).map(Threshold::get)).transpose()?,
            ..Default::default()
        };
        let config = DetectorConfig::from_options(&options)?;
        if config.start().is_none() {
            return Err(anomaly_core::ValidationError::InvalidDetector(format!(
                "the stream's default detector must learn online; {kind} only exists fitted"
            )));
        }
        Ok(Self { config })
    }

    pub(crate) fn model(&self) -> Model {
        self.config.start().unwrap_or_else(|| unreachable!("the stream default is an online kind"))
    }
}

/// What the worker of this process holds: its partitions and positions.
#[derive(Default)]
pub struct StreamStatus {
    owned: Mutex<Option<BTreeMap<u32, EntryId>>>,
    /// Kafka: each owned partition's high watermark (the next offset to be written).
    ends: Mutex<BTreeMap<u32, u64>>,
    /// When the worker last committed a batch, Unix ms; 0: not yet.
    last_commit_ms: AtomicI64,
    /// Partitions whose last batches failed: how many in a row, and the last error.
    failing: Mutex<BTreeMap<u32, (u32, String)>>,
}

/// Batches of one partition that must fail in a row before `/ready` and
/// `/healthcheck` report the partition stuck.
pub const STUCK_AFTER_FAILURES: u32 = 3;

/// A partition whose batches keep failing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StuckPartition {
    /// The partition.
    pub partition: u32,
    /// Its batches that failed in a row.
    pub failures: u32,
    /// The last one's error.
    pub error: String,
}

impl StreamStatus {
    /// The worker committed a batch now.
    pub(crate) fn committed(&self) {
        self.last_commit_ms.store(judge::unix_millis(), Ordering::Relaxed);
    }

    /// Seconds since the worker last committed a batch; `None` before its first.
    pub fn last_commit_age_seconds(&self) -> Option<f64> {
        let at = self.last_commit_ms.load(Ordering::Relaxed);
        (at > 0).then(|| (judge::unix_millis() - at).max(0) as f64 / 1000.0)
    }

    /// A batch of `partition` failed with `error`.
    pub(crate) fn batch_failed(&self, partition: u32, error: &StoreError) {
        let mut failing = self.failing.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = failing.entry(partition).or_insert((0, String::new()));
        *entry = (entry.0.saturating_add(1), error.to_string());
        StreamMetrics::set_failures(partition, entry.0);
    }

    /// A batch of `partition` went through (or it is no longer owned).
    pub(crate) fn batch_done(&self, partition: u32) {
        if self.failing.lock().unwrap_or_else(PoisonError::into_inner).remove(&partition).is_some() {
            StreamMetrics::set_failures(partition, 0);
        }
    }

    /// Partitions whose last [`STUCK_AFTER_FAILURES`] batches or more failed.
    pub fn stuck(&self) -> Vec<StuckPartition> {
        let failing = self.failing.lock().unwrap_or_else(PoisonError::into_inner);
        failing
            .iter()
            .filter(|(_, (failures, _))| *failures >= STUCK_AFTER_FAILURES)
            .map(|(partition, (failures, error))| StuckPartition {
                partition: *partition,
                failures: *failures,
                error: error.clone(),
            })
            .collect()
    }

    pub(crate) fn set_owned(&self, owned: BTreeMap<u32, EntryId>) {
        let failing: Vec<u32> = self.failing.lock().unwrap_or_else(PoisonError::into_inner).keys().copied().collect();
        for partition in failing.into_iter().filter(|partition| !owned.contains_key(partition)) {
            self.batch_done(partition);
        }
        *self.owned.lock().unwrap_or_else(PoisonError::into_inner) = Some(owned);
    }

    pub(crate) fn set_position(&self, partition: u32, position: EntryId) {
        if let Some(owned) = self.owned.lock().unwrap_or_else(PoisonError::into_inner).as_mut() {
            owned.insert(partition, position);
        }
    }

    pub(crate) fn release(&self, partition: u32) {
        self.batch_done(partition);
        if let Some(owned) = self.owned.lock().unwrap_or_else(PoisonError::into_inner).as_mut() {
            owned.remove(&partition);
        }
    }

    /// Kafka: records `partition`'s high watermark.
    pub(crate) fn set_end(&self, partition: u32, end: u64) {
        self.ends.lock().unwrap_or_else(PoisonError::into_inner).insert(partition, end);
    }

    /// Kafka: messages of `partition` after `position` (as far as the last
    /// watermark read tells; unknown counts as none).
    pub(crate) fn kafka_lag(&self, partition: u32, position: EntryId) -> u64 {
        let ends = self.ends.lock().unwrap_or_else(PoisonError::into_inner);
        ends.get(&partition).map_or(0, |end| end.saturating_sub(position.ms))
    }

    /// The owned partitions and their positions; `None` until claimed.
    pub fn owned(&self) -> Option<BTreeMap<u32, EntryId>> {
        self.owned.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

/// The stream's counters in `/metrics`.
#[derive(Clone)]
pub(crate) struct StreamMetrics {
    pub(crate) ingested: metrics::Counter,
    verdicts: [metrics::Counter; 3],
    pub(crate) anomalies: metrics::Counter,
    pub(crate) late: metrics::Counter,
    pub(crate) malformed: metrics::Counter,
    pub(crate) partitions_owned: metrics::Gauge,
    pub(crate) states_in_memory: metrics::Gauge,
    /// When the last batch was checkpointed, Unix seconds (its age is
    /// `time() - anomaly_stream_last_checkpoint_timestamp_seconds`).
    pub(crate) last_checkpoint: metrics::Gauge,
    /// From the append of an entry (its Redis stream id's time) to the commit of its verdicts.
    pub(crate) ingest_to_verdict: metrics::Histogram,
}

impl StreamMetrics {
    fn new() -> Self {
        anomaly_http::metrics::install();
        let verdict = |result: &'static str| metrics::counter!("anomaly_stream_verdicts_total", "result" => result);
        Self {
            ingested: metrics::counter!("anomaly_stream_points_ingested_total"),
            verdicts: [verdict("warming_up"), verdict("normal"), verdict("anomaly")],
            anomalies: metrics::counter!("anomaly_stream_anomalies_stored_total"),
            late: metrics::counter!("anomaly_stream_late_points_total"),
            malformed: metrics::counter!("anomaly_stream_malformed_points_total"),
            partitions_owned: metrics::gauge!("anomaly_stream_partitions_owned"),
            states_in_memory: metrics::gauge!("anomaly_stream_states_in_memory"),
            last_checkpoint: metrics::gauge!("anomaly_stream_last_checkpoint_timestamp_seconds"),
            ingest_to_verdict: metrics::histogram!("anomaly_stream_ingest_to_verdict_seconds"),
        }
    }

    /// Entries of `partition` not judged yet.
    pub(crate) fn set_lag(partition: u32, entries: u64) {
        metrics::gauge!("anomaly_stream_lag_entries", "partition" => partition.to_string()).set(entries as f64);
    }

    /// Batches of `partition` that failed in a row (0: the last went through).
    fn set_failures(partition: u32, failures: u32) {
        metrics::gauge!("anomaly_stream_partition_failures", "partition" => partition.to_string()).set(failures);
    }

    pub(crate) fn count(&self, verdict: &Verdict) {
        let index = match verdict {
            Verdict::WarmingUp { .. } => 0,
            Verdict::Judged(decision) => 1 + usize::from(decision.anomaly),
        };
        self.verdicts[index].increment(1);
    }
}

/// The streaming side of one infer process: its worker and what it reports.
pub struct Stream {
    /// What the worker holds.
    pub status: Arc<StreamStatus>,
    /// Where points come from and ingested points go.
    pub(crate) source: Arc<dyn source::StreamSource>,
    /// Most log entries a partition may be behind for `/ready`.
    pub ready_max_lag: u64,
    /// Most series one ingest request may hold (`INGEST_MAX_SERIES_PER_REQUEST`).
    pub ingest_max_series: usize,
    pub(crate) metrics: StreamMetrics,
    stop: watch::Sender<bool>,
    /// The worker's task, until [`Stream::drain`] awaits it.
    worker: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

/// How long a stopping worker may take to finish its batch and release its partitions.
const DRAIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

impl Stream {
    /// Starts the worker over `backends`: a consumer in Kafka's group when
    /// Kafka is configured, else a worker of the platform's own log.
    pub fn start(
        backends: Backends,
        models: Arc<ModelLookup>,
        defaults: StreamDefaults,
        settings: &InferSettings,
    ) -> Result<Self, StoreError> {
        let (ready_max_lag, kafka) = (settings.ready_max_lag, &settings.kafka);
        let status = Arc::new(StreamStatus::default());
        let metrics = StreamMetrics::new();
        let (stop, stopped) = watch::channel(false);
        let max_states = usize::try_from(settings.stream_states_in_memory).unwrap_or(usize::MAX);
        let judge = judge::Judge::new(backends.clone(), models, defaults, metrics.clone(), max_states, status.clone());
        let (source, handle): (Arc<dyn source::StreamSource>, _) = if kafka.enabled() {
            let (ingest, handle) = kafka::start(kafka, backends, judge, status.clone(), metrics.clone(), stopped)?;
            (Arc::new(source::KafkaTopic { ingest, status: status.clone() }), handle)
        } else {
            let name = worker_name(&settings.stream_worker_id);
            let log = source::OwnLog(backends.points.clone());
            (Arc::new(log), Self::start_log_worker(backends, judge, status.clone(), metrics.clone(), stopped, name))
        };
        let ingest_max_series = usize::try_from(settings.ingest_max_series_per_request).unwrap_or(usize::MAX);
        let worker = Mutex::new(Some(handle));
        Ok(Self { status, source, ready_max_lag, ingest_max_series, metrics, stop, worker })
    }

    /// Stops the worker after its current batch and waits (at most 10 s)
    /// until it has committed it and released its partitions. The service
    /// runs it once its HTTP side has stopped.
    pub async fn drain(&self) {
        self.stop();
        let worker = self.worker.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(worker) = worker
            && tokio::time::timeout(DRAIN_TIMEOUT, worker).await.is_err()
        {
            tracing::warn!("the stream worker did not stop in time; its leases expire on their own");
        }
    }

    fn start_log_worker(
        backends: Backends,
        judge: judge::Judge,
        status: Arc<StreamStatus>,
        metrics: StreamMetrics,
        stopped: watch::Receiver<bool>,
        name: String,
    ) -> tokio::task::JoinHandle<()> {
        let lease = backends.leases.lease();
        let lease = worker::LeaseSettings {
            worker: name,
            // Renewals well within the lease; at least every second, so a
            // joining worker gets its share quickly whatever the lease.
            round: (lease / 5).clamp(std::time::Duration::from_millis(100), std::time::Duration::from_secs(1)),
        };
        let worker = worker::Worker::new(backends, judge, status, metrics, lease);
        tokio::spawn(worker.run(stopped))
    }

    /// Asks the worker to stop after its current batch.
    pub fn stop(&self) {
        self.stop.send_replace(true);
    }
}

/// `STREAM_WORKER_ID`, or a name of this start alone.
fn worker_name(configured: &str) -> String {
    let configured = configured.trim();
    if configured.is_empty() {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        format!("{}-{nanos:x}", std::process::id())
    } else {
        configured.to_owned()
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        self.stop();
    }
}
