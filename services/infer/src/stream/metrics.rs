//! The stream's counters, gauges and histogram in `/metrics`.

use anomaly_core::Verdict;

/// The stream's counters in `/metrics`.
#[derive(Clone)]
pub(crate) struct StreamMetrics {
    pub(crate) ingested: metrics::Counter,
    verdicts: [metrics::Counter; 3],
    pub(crate) anomalies: metrics::Counter,
    /// Judged points stored in the stream's history.
    pub(crate) points_stored: metrics::Counter,
    pub(crate) late: metrics::Counter,
    pub(crate) malformed: metrics::Counter,
    pub(crate) partitions_owned: metrics::Gauge,
    pub(crate) states_in_memory: metrics::Gauge,
    /// When the last batch was checkpointed, Unix seconds (its age is
    /// `time() - anomaly_stream_last_checkpoint_timestamp_seconds`).
    pub(crate) last_checkpoint: metrics::Gauge,
    /// From the append of an entry (its Redis stream id's time, or a Kafka
    /// message's producer time) to the commit of its verdicts.
    ingest_to_verdict: metrics::Histogram,
}

impl StreamMetrics {
    pub(crate) fn new() -> Self {
        anomaly_http::metrics::install();
        let verdict = |result: &'static str| metrics::counter!("anomaly_stream_verdicts_total", "result" => result);
        Self {
            ingested: metrics::counter!("anomaly_stream_points_ingested_total"),
            verdicts: [verdict("warming_up"), verdict("normal"), verdict("anomaly")],
            anomalies: metrics::counter!("anomaly_stream_anomalies_stored_total"),
            points_stored: metrics::counter!("anomaly_points_stored_total"),
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
    pub(crate) fn set_failures(partition: u32, failures: u32) {
        metrics::gauge!("anomaly_stream_partition_failures", "partition" => partition.to_string()).set(failures);
    }

    /// A batch is committed now: records ingest-to-verdict for each of its
    /// entries, from when it was sent (Unix ms).
    pub(crate) fn committed_now(&self, sent_ms: impl IntoIterator<Item = i64>) {
        let now = anomaly_store::unix_millis();
        for sent in sent_ms {
            self.ingest_to_verdict.record(now.saturating_sub(sent).max(0) as f64 / 1000.0);
        }
    }

    /// Adds a batch's verdicts and late points.
    pub(crate) fn count(&self, counts: &VerdictCounts) {
        for (counter, count) in self.verdicts.iter().zip(counts.verdicts) {
            counter.increment(count);
        }
        self.late.increment(counts.late);
    }
}

/// Verdicts of a batch by result (warming up, normal, anomaly), and its
/// late points: counted in the batch, added to `/metrics` once.
#[derive(Default)]
pub(crate) struct VerdictCounts {
    verdicts: [u64; 3],
    pub(crate) late: u64,
}

impl VerdictCounts {
    pub(crate) fn add(&mut self, verdict: &Verdict) {
        let index = match verdict {
            Verdict::WarmingUp { .. } => 0,
            Verdict::Judged(decision) => 1 + usize::from(decision.anomaly),
        };
        self.verdicts[index] += 1;
    }
}
