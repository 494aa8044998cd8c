//! The stream worker: judges every point of the partitions it owns, in log
//! order, with each series' online detector, then writes the batch's
//! detector states, anomalies and log position in one transaction (fenced by
//! its epoch), and only then acknowledges the entries. A worker killed at
//! any moment resumes from the last committed position with the states of
//! that moment, so its verdicts equal those of an uninterrupted run.

use super::{StreamDefaults, StreamMetrics, StreamStatus};
use crate::ModelLookup;
use anomaly_core::{Model, OnlineDetector, SeriesId};
use anomaly_store::{
    Backends, BusEvent, Checkpoint, EntryId, FeedAnomaly, LogEntry, SeriesStream, StoreError, StreamAnomaly,
};
use futures::StreamExt;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Entries read per partition and batch.
const BATCH_ENTRIES: usize = 256;
/// How long an idle worker waits for appends before it looks again (the
/// log wakes it earlier when one arrives; lease rounds need it back too).
const IDLE_WAIT: Duration = Duration::from_millis(500);
/// Pause after a storage failure.
const RETRY_AFTER: Duration = Duration::from_millis(500);

/// Series whose fitted model may have changed since their state was loaded.
#[derive(Default)]
pub(crate) struct Refits {
    series: Mutex<HashSet<SeriesId>>,
    /// The subscription (re)connected, so invalidations may have been
    /// missed: reload every series' state between two batches.
    reload_all: AtomicBool,
}

/// One partition this worker owns: where it is and with which epoch.
struct Owned {
    partition: u32,
    position: EntryId,
    epoch: u64,
}

/// This worker's name in the leases and how often it renews them.
pub(crate) struct LeaseSettings {
    /// Unique per process.
    pub(crate) worker: String,
    /// Time between two lease rounds (a fifth of the lease, at most 1 s).
    pub(crate) round: Duration,
}

/// The worker of one process.
pub(crate) struct Worker {
    backends: Backends,
    lease: LeaseSettings,
    models: Arc<ModelLookup>,
    defaults: StreamDefaults,
    status: Arc<StreamStatus>,
    metrics: StreamMetrics,
    refits: Arc<Refits>,
    states: HashMap<SeriesId, SeriesStream>,
}

fn unix_millis() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

impl Worker {
    pub(crate) fn new(
        backends: Backends,
        models: Arc<ModelLookup>,
        defaults: StreamDefaults,
        status: Arc<StreamStatus>,
        metrics: StreamMetrics,
        lease: LeaseSettings,
    ) -> Self {
        let refits = Arc::new(Refits::default());
        listen_for_refits(&backends, Arc::downgrade(&refits));
        Self { backends, lease, models, defaults, status, metrics, refits, states: HashMap::new() }
    }

    /// Runs until `stop` turns true (checked between batches), then gives
    /// its partitions up so that other workers take them at once.
    pub(crate) async fn run(mut self, mut stop: tokio::sync::watch::Receiver<bool>) {
        let mut owned: Vec<Owned> = Vec::new();
        let mut next_round = tokio::time::Instant::now();
        while !*stop.borrow() {
            if tokio::time::Instant::now() >= next_round {
                if let Err(error) = self.lease_round(&mut owned).await {
                    tracing::warn!(%error, "stream lease round failed; retrying");
                }
                self.status.set_owned(owned.iter().map(|o| (o.partition, o.position)).collect());
                next_round = tokio::time::Instant::now() + self.lease.round;
            }
            if self.refits.reload_all.swap(false, Ordering::SeqCst) {
                self.states.clear();
            }
            let mut judged_any = false;
            let mut index = 0;
            while index < owned.len() {
                match self.step(&mut owned[index]).await {
                    Ok(Some(judged)) => {
                        judged_any |= judged;
                        self.status.set_position(owned[index].partition, owned[index].position);
                        index += 1;
                    }
                    Ok(None) => {
                        let lost = owned.remove(index);
                        tracing::warn!(partition = lost.partition, "a newer owner took the partition over");
                        self.status.release(lost.partition);
                        self.states.clear();
                    }
                    Err(error) => {
                        tracing::warn!(%error, "stream batch failed; retrying from the last checkpoint");
                        self.states.clear();
                        let _ = sleep_or_stop(&mut stop, RETRY_AFTER).await;
                        index += 1;
                    }
                }
            }
            if !judged_any {
                let positions: Vec<(u32, EntryId)> = owned.iter().map(|o| (o.partition, o.position)).collect();
                let until_round = next_round.saturating_duration_since(tokio::time::Instant::now());
                tokio::select! {
                    () = self.backends.points.wait_for_appends(&positions, IDLE_WAIT.min(until_round)) => {}
                    _ = stop.changed() => {}
                }
            }
        }
        for partition in owned.iter().map(|o| o.partition) {
            let _ = self.backends.leases.release(&self.lease.worker, partition).await;
        }
        let _ = self.backends.leases.leave(&self.lease.worker).await;
        tracing::info!("stream worker stopped after its last batch and released its partitions");
    }

    /// Renews the leases held, gives up those beyond this worker's share
    /// (partitions / live workers, rounded up) and takes free ones up to it.
    async fn lease_round(&mut self, owned: &mut Vec<Owned>) -> Result<(), StoreError> {
        let leases = &self.backends.leases;
        let worker = self.lease.worker.as_str();
        let partitions = self.backends.points.partitions();
        let live = leases.heartbeat(worker).await?;
        let share = partitions.div_ceil(live.max(1)) as usize;
        let before = owned.len();
        let mut kept = Vec::with_capacity(owned.len());
        for held in owned.drain(..) {
            if leases.renew(worker, held.partition).await? {
                kept.push(held);
            } else {
                tracing::warn!(partition = held.partition, "lease lost");
            }
        }
        *owned = kept;
        while owned.len() > share {
            if let Some(extra) = owned.pop() {
                leases.release(worker, extra.partition).await?;
                tracing::info!(partition = extra.partition, share, "partition handed over to rebalance");
            }
        }
        for partition in 0..partitions {
            if owned.len() >= share {
                break;
            }
            if owned.iter().any(|o| o.partition == partition) {
                continue;
            }
            let (_, stored_epoch) = self.backends.streams.partition_position(partition).await?;
            let Some(epoch) = leases.acquire(worker, partition, stored_epoch + 1).await? else { continue };
            // Read after the lease: the previous owner's last commit counts.
            let (position, _) = self.backends.streams.partition_position(partition).await?;
            let claim = Checkpoint { partition, epoch, last_entry: position, ..Default::default() };
            if self.backends.streams.commit(&claim).await? {
                tracing::info!(partition, epoch, "partition taken");
                owned.push(Owned { partition, position, epoch });
            } else {
                leases.release(worker, partition).await?;
            }
        }
        if owned.len() != before {
            // States of series in partitions that changed hands may be stale.
            self.states.clear();
        }
        self.metrics.partitions_owned.set(owned.len() as f64);
        for held in owned.iter() {
            let lag = self.backends.points.entries_after(held.partition, held.position).await?;
            StreamMetrics::set_lag(held.partition, lag);
        }
        Ok(())
    }

    /// Judges one batch of a partition. `Some(true)` if it judged entries,
    /// `Some(false)` if there were none, `None` if it lost the partition.
    async fn step(&mut self, owned: &mut Owned) -> Result<Option<bool>, StoreError> {
        let entries = self.backends.points.read_after(owned.partition, owned.position, BATCH_ENTRIES).await?;
        let Some(last) = entries.last().map(|e| e.id) else { return Ok(Some(false)) };
        let mut checkpoint =
            Checkpoint { partition: owned.partition, epoch: owned.epoch, last_entry: last, ..Default::default() };
        let touched = self.judge(&entries, &mut checkpoint.anomalies).await?;
        let now = unix_millis();
        for id in &touched {
            if let Some(state) = self.states.get_mut(id) {
                state.updated_ms = now;
                checkpoint.series.push(state.clone());
            }
        }
        // Published before the commit: at least once (a retried batch
        // publishes again), never lost.
        let published: Vec<FeedAnomaly> = checkpoint.anomalies.iter().map(FeedAnomaly::from).collect();
        self.backends.anomaly_feed.publish(&published).await?;
        if !self.backends.streams.commit(&checkpoint).await? {
            return Ok(None);
        }
        owned.position = last;
        self.metrics.anomalies.increment(checkpoint.anomalies.len() as u64);
        // Redis stream ids carry the append time in ms; the SQL log's do not.
        if self.backends.points.ids_are_times() {
            let now = unix_millis().max(0) as u64;
            for entry in &entries {
                self.metrics.ingest_to_verdict.record(now.saturating_sub(entry.id.ms) as f64 / 1000.0);
            }
        }
        if let Err(error) = self.backends.points.acknowledge(owned.partition, last).await {
            tracing::debug!(%error, "could not trim the log; a later batch will");
        }
        Ok(Some(true))
    }

    /// Judges the entries' points in order; returns the series touched.
    async fn judge(
        &mut self,
        entries: &[LogEntry],
        anomalies: &mut Vec<StreamAnomaly>,
    ) -> Result<HashSet<SeriesId>, StoreError> {
        let mut touched = HashSet::new();
        let recorded_at_ms = unix_millis();
        for entry in entries {
            self.metrics.malformed.increment(entry.malformed);
            for point in &entry.points {
                self.load_state(&point.series_id).await?;
                let Some(state) = self.states.get_mut(&point.series_id) else { continue };
                touched.insert(point.series_id.clone());
                if state.last_point.is_some_and(|(last, _)| point.timestamp <= last) {
                    state.late += 1;
                    self.metrics.late.increment(1);
                    continue;
                }
                let verdict = state.model.update(point.value);
                state.points += 1;
                state.last_point = Some((point.timestamp, point.value));
                self.metrics.count(&verdict);
                if let anomaly_core::Verdict::Judged(decision) = verdict
                    && decision.anomaly
                {
                    state.anomalies += 1;
                    anomalies.push(StreamAnomaly {
                        series_id: point.series_id.clone(),
                        timestamp: point.timestamp,
                        value: point.value,
                        score: decision.score.is_finite().then_some(decision.score),
                        detector: state.model.kind().to_owned(),
                        version: state.version,
                        recorded_at_ms,
                    });
                }
            }
        }
        Ok(touched)
    }

    /// Makes sure the series' state is in memory and judges with its latest
    /// fitted model (a refit replaces the detector with the fit's warm one).
    async fn load_state(&mut self, series_id: &SeriesId) -> Result<(), StoreError> {
        let known = self.states.contains_key(series_id);
        if known && !self.refits.take(series_id) {
            return Ok(());
        }
        let current = match self.states.remove(series_id) {
            Some(state) => Some(state),
            None => self.backends.streams.series_stream(series_id).await?,
        };
        let latest = self.models.find(series_id, None).await?;
        let state = match (latest, current) {
            (Some(fitted), Some(current)) if current.version >= Some(fitted.version) => current,
            (Some(fitted), current) => {
                let base = current.unwrap_or_else(|| self.fresh(series_id, fitted.params.model.clone()));
                SeriesStream { version: Some(fitted.version), model: fitted.params.model.clone(), ..base }
            }
            (None, Some(current)) => current,
            (None, None) => self.fresh(series_id, self.defaults.model()),
        };
        self.states.insert(series_id.clone(), state);
        Ok(())
    }

    fn fresh(&self, series_id: &SeriesId, model: Model) -> SeriesStream {
        SeriesStream {
            series_id: series_id.clone(),
            version: None,
            model,
            last_point: None,
            points: 0,
            anomalies: 0,
            late: 0,
            updated_ms: 0,
        }
    }
}

impl Refits {
    /// Whether `series_id` was refitted since it was last checked (and forgets it).
    fn take(&self, series_id: &SeriesId) -> bool {
        self.series.lock().unwrap_or_else(PoisonError::into_inner).remove(series_id)
    }
}

/// Notes refitted series as invalidations arrive (and acknowledges them).
fn listen_for_refits(backends: &Backends, refits: Weak<Refits>) {
    let mut events = backends.bus.subscribe();
    tokio::spawn(async move {
        while let Some(event) = events.next().await {
            let Some(refits) = refits.upgrade() else { return };
            match event {
                BusEvent::Invalidate(series_id, ack) => {
                    refits.series.lock().unwrap_or_else(PoisonError::into_inner).insert(series_id);
                    ack.send();
                }
                BusEvent::Connected => refits.reload_all.store(true, Ordering::SeqCst),
                BusEvent::Disconnected => {}
            }
        }
    });
}

/// Sleeps `pause`; true if `stop` turned true meanwhile.
async fn sleep_or_stop(stop: &mut tokio::sync::watch::Receiver<bool>, pause: Duration) -> bool {
    tokio::select! {
        () = tokio::time::sleep(pause) => {}
        _ = stop.changed() => {}
    }
    *stop.borrow()
}
