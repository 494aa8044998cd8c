//! The log worker: takes leases on partitions of the platform's own log
//! (Redis Streams or the SQL log), judges every entry of them in order
//! ([`Judge`]), and only after the batch's commit acknowledges the entries.
//! A worker killed at any moment resumes from the last committed position
//! with the states of that moment, so its verdicts equal those of an
//! uninterrupted run.

use super::judge::{Held, Judge, Judged, claim};
use super::lag_minutes::LagMinutes;
use super::{StreamMetrics, StreamStatus};
use anomaly_store::{Backends, LogEntry, LogPosition, POINT_LOG, PartitionLeases, StoreError};
use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::time::Instant;

/// Entries read per partition and batch.
const BATCH_ENTRIES: usize = 256;
/// Series one batch judges at most (a batch ends before the entry that
/// would pass it, but holds at least one entry): what a batch loads into
/// memory and writes in one commit is bounded, however many series a
/// flood of entries names.
pub(crate) const BATCH_MAX_SERIES: usize = 10_000;
/// How long an idle worker waits for appends before it looks again (the
/// log wakes it earlier when one arrives; lease rounds need it back too).
const IDLE_WAIT: Duration = Duration::from_millis(500);
/// Pause after a storage failure.
const RETRY_AFTER: Duration = Duration::from_millis(500);

/// This worker's name in the leases and how often it renews them.
pub(crate) struct LeaseSettings {
    /// Unique per process.
    pub(crate) worker: String,
    /// Time between two lease rounds (a fifth of the lease, at most 1 s).
    pub(crate) round: Duration,
}

/// The log worker of one process.
pub(crate) struct Worker {
    backends: Backends,
    lease: LeaseSettings,
    status: Arc<StreamStatus>,
    metrics: StreamMetrics,
    judge: Judge,
    /// The lag per minute for the dashboard.
    lag_minutes: LagMinutes,
    /// When the leases held were last renewed (by a lease round, or while
    /// a batch ran).
    renewed: Arc<Mutex<Instant>>,
}

impl Worker {
    pub(crate) fn new(
        backends: Backends,
        judge: Judge,
        status: Arc<StreamStatus>,
        metrics: StreamMetrics,
        lease: LeaseSettings,
    ) -> Self {
        let renewed = Arc::new(Mutex::new(Instant::now()));
        Self { backends, lease, status, metrics, judge, lag_minutes: LagMinutes::default(), renewed }
    }

    /// Runs until `stop` turns true (checked between batches), then gives
    /// its partitions up so that other workers take them at once.
    pub(crate) async fn run(mut self, mut stop: tokio::sync::watch::Receiver<bool>) {
        let mut owned: Vec<Held> = Vec::new();
        let mut next_round = tokio::time::Instant::now();
        while !*stop.borrow() {
            if tokio::time::Instant::now() >= next_round {
                if let Err(error) = self.lease_round(&mut owned).await {
                    tracing::warn!(%error, "stream lease round failed; retrying");
                }
                self.status.set_owned(owned.iter().map(|o| (o.partition, o.position)).collect());
                next_round = tokio::time::Instant::now() + self.lease.round;
            }
            self.judge.reload_if_reconnected();
            let mut judged_any = false;
            let mut index = 0;
            // The commit of the batch judged last, running while the next
            // partition's batch is read and judged.
            let mut in_flight: Option<InFlight> = None;
            let leases = LeaseKeeper::of(&self.backends, &self.lease, &owned, self.renewed.clone());
            while index < owned.len() {
                // A partition's next batch waits for its last commit: its
                // states in memory must be those committed, if that failed.
                if in_flight.as_ref().is_some_and(|flight| flight.partition == owned[index].partition) {
                    let flight = in_flight.take();
                    judged_any |= self.settle(flight, &mut owned, &mut index, &leases, &mut stop).await;
                    continue;
                }
                let step = tokio::select! {
                    stepped = self.step(&owned[index]) => stepped,
                    never = leases.renew_every_round() => match never {},
                };
                let partition = owned[index].partition;
                index += 1;
                match step {
                    Ok(None) => {
                        self.status.batch_done(partition);
                    }
                    Ok(Some((judged, entry_times))) => {
                        let flight = in_flight.take();
                        judged_any |= self.settle(flight, &mut owned, &mut index, &leases, &mut stop).await;
                        let last = judged.checkpoint.last_entry;
                        let commit = tokio::spawn(self.judge.commit(judged));
                        let flight = InFlight { partition, last, entry_times, commit };
                        // Overlapped only when the commit writes the history:
                        // a short commit gains less than the smaller batches
                        // cost (perf/README.md, #28).
                        if self.judge.keeps_points() {
                            in_flight = Some(flight);
                        } else {
                            judged_any |= self.settle(Some(flight), &mut owned, &mut index, &leases, &mut stop).await;
                        }
                    }
                    Err(error) => {
                        let flight = in_flight.take();
                        judged_any |= self.settle(flight, &mut owned, &mut index, &leases, &mut stop).await;
                        self.batch_failed(partition, &error, &mut stop).await;
                    }
                }
            }
            let flight = in_flight.take();
            judged_any |= self.settle(flight, &mut owned, &mut index, &leases, &mut stop).await;
            if !judged_any {
                let positions: Vec<(u32, LogPosition)> = owned.iter().map(|o| (o.partition, o.position)).collect();
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
    async fn lease_round(&mut self, owned: &mut Vec<Held>) -> Result<(), StoreError> {
        let leases = &self.backends.leases;
        let worker = self.lease.worker.as_str();
        let partitions = self.backends.points.partitions();
        let live = leases.heartbeat(worker).await?;
        *self.renewed.lock().unwrap_or_else(PoisonError::into_inner) = Instant::now();
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
            let (_, stored_epoch) = self.backends.streams.partition_position(POINT_LOG, partition).await?;
            let Some(epoch) = leases.acquire(worker, partition, stored_epoch + 1).await? else { continue };
            // Claimed after the lease: the previous owner's last commit counts.
            if let Some(held) = claim(self.backends.streams.as_ref(), POINT_LOG, partition, epoch).await? {
                tracing::info!(partition, epoch, "partition taken");
                // Entries judged before an owner died between its commit and
                // its trim would otherwise count as lag until the next batch.
                if let Err(error) = self.backends.points.acknowledge(partition, held.position).await {
                    tracing::debug!(%error, partition, "could not trim the judged entries of a partition taken");
                }
                owned.push(held);
            } else {
                leases.release(worker, partition).await?;
            }
        }
        if owned.len() != before {
            // States of series in partitions that changed hands may be stale.
            self.judge.forget_states();
        }
        self.metrics.partitions_owned.set(owned.len() as f64);
        let mut lagging = Vec::new();
        for held in owned.iter() {
            let lag = self.backends.points.entries_after(held.partition, held.position).await?;
            StreamMetrics::set_lag(held.partition, lag);
            if lag > 0 {
                lagging.push((held.partition, lag));
            }
        }
        self.lag_minutes.record(self.backends.streams.as_ref(), POINT_LOG, &lagging).await;
        Ok(())
    }

    /// Reads and judges one batch of a partition: `None` when there is
    /// nothing to judge, else the batch to commit and, for a log whose ids
    /// are times, the append time of each entry (ms).
    async fn step(&mut self, owned: &Held) -> Result<Option<(Judged, Vec<i64>)>, StoreError> {
        let mut entries = self.backends.points.read_after(owned.partition, owned.position, BATCH_ENTRIES).await?;
        entries.truncate(entries_within(&entries, BATCH_MAX_SERIES));
        let Some(judged) = self.judge.prepare(owned, &entries).await? else { return Ok(None) };
        // Redis stream ids carry the append time in ms; the SQL log's do not.
        let times = if self.backends.points.ids_are_times() {
            entries.iter().map(|e| i64::try_from(e.id.major).unwrap_or(i64::MAX)).collect()
        } else {
            Vec::new()
        };
        Ok(Some((judged, times)))
    }

    /// Waits for the commit in flight, if any, and records its outcome:
    /// the partition's position moves and its entries are acknowledged;
    /// a partition a newer owner took is dropped from `owned` (`index`,
    /// the next partition to step, kept on it); after a failure the states
    /// in memory are read again and the worker pauses. True when a batch
    /// was committed.
    async fn settle(
        &mut self,
        flight: Option<InFlight>,
        owned: &mut Vec<Held>,
        index: &mut usize,
        leases: &LeaseKeeper,
        stop: &mut tokio::sync::watch::Receiver<bool>,
    ) -> bool {
        let Some(InFlight { partition, last, entry_times, commit }) = flight else { return false };
        let outcome = tokio::select! {
            outcome = commit => outcome.unwrap_or_else(|e| Err(StoreError::Corrupt(format!("the commit task failed: {e}")))),
            never = leases.renew_every_round() => match never {},
        };
        let Some(at) = owned.iter().position(|held| held.partition == partition) else { return false };
        match outcome {
            Ok(true) => {
                owned[at].position = last;
                self.judge.keep_within_capacity();
                self.status.batch_done(partition);
                self.status.set_position(partition, last);
                self.metrics.committed_now(entry_times);
                if let Err(error) = self.backends.points.acknowledge(partition, last).await {
                    tracing::debug!(%error, "could not trim the log; a later batch will");
                }
                true
            }
            Ok(false) => {
                let lost = owned.remove(at);
                if at < *index {
                    *index -= 1;
                }
                tracing::warn!(partition = lost.partition, "a newer owner took the partition over");
                self.status.release(lost.partition);
                self.judge.forget_states();
                false
            }
            Err(error) => {
                self.batch_failed(partition, &error, stop).await;
                false
            }
        }
    }

    /// A batch of `partition` failed (judging or committing): reported, the
    /// states in memory read again from the checkpoints, a pause.
    async fn batch_failed(
        &mut self,
        partition: u32,
        error: &StoreError,
        stop: &mut tokio::sync::watch::Receiver<bool>,
    ) {
        tracing::warn!(%error, partition, "stream batch failed; retrying from the last checkpoint");
        self.status.batch_failed(partition, error);
        self.judge.forget_states();
        let _ = sleep_or_stop(stop, RETRY_AFTER).await;
    }
}

/// A batch whose commit runs on a task of its own.
struct InFlight {
    partition: u32,
    /// Its last entry: the partition's position once committed.
    last: LogPosition,
    /// When its entries were appended (Unix ms), for ingest-to-verdict.
    entry_times: Vec<i64>,
    commit: tokio::task::JoinHandle<Result<bool, StoreError>>,
}

/// How many of `entries`, from the first, hold points of at most
/// `max_series` series (at least one entry).
pub(crate) fn entries_within(entries: &[LogEntry], max_series: usize) -> usize {
    let mut series = HashSet::new();
    for (index, entry) in entries.iter().enumerate() {
        series.extend(entry.points.iter().map(|point| &point.series_id));
        if series.len() > max_series {
            return index.max(1);
        }
    }
    entries.len()
}

/// Renews the leases of the partitions owned while a batch runs, a round
/// after they were last renewed, so a long batch, or many batches in a row,
/// never let them expire.
struct LeaseKeeper {
    leases: Arc<dyn PartitionLeases>,
    worker: String,
    partitions: Vec<u32>,
    round: Duration,
    renewed: Arc<Mutex<Instant>>,
}

impl LeaseKeeper {
    fn of(backends: &Backends, lease: &LeaseSettings, owned: &[Held], renewed: Arc<Mutex<Instant>>) -> Self {
        Self {
            leases: backends.leases.clone(),
            worker: lease.worker.clone(),
            partitions: owned.iter().map(|held| held.partition).collect(),
            round: lease.round,
            renewed,
        }
    }

    /// A round after the last renewal, renews each lease; runs until
    /// dropped. A lease found lost is left to the next lease round (a
    /// commit of a lost partition is refused by its epoch anyway).
    async fn renew_every_round(&self) -> std::convert::Infallible {
        loop {
            let last = *self.renewed.lock().unwrap_or_else(PoisonError::into_inner);
            tokio::time::sleep_until(last + self.round).await;
            for partition in &self.partitions {
                if let Err(error) = self.leases.renew(&self.worker, *partition).await {
                    tracing::debug!(%error, partition, "lease renewal during a batch failed");
                }
            }
            *self.renewed.lock().unwrap_or_else(PoisonError::into_inner) = Instant::now();
        }
    }
}

/// Sleeps `pause`; true if `stop` turned true meanwhile.
async fn sleep_or_stop(stop: &mut tokio::sync::watch::Receiver<bool>, pause: Duration) -> bool {
    tokio::select! {
        () = tokio::time::sleep(pause) => {}
        _ = stop.changed() => {}
    }
    *stop.borrow()
}

#[cfg(test)]
mod tests {
    use super::*;
    use anomaly_core::SeriesId;
    use anomaly_store::StreamPoint;

    fn entry(seq: u64, series: &[&str]) -> LogEntry {
        let points = series
            .iter()
            .map(|id| StreamPoint { series_id: SeriesId::parse(id).expect("valid"), timestamp: 1, value: 1.0 })
            .collect();
        LogEntry { id: LogPosition { major: 1, minor: seq }, points, malformed: 0 }
    }

    #[test]
    fn a_batch_ends_before_the_entry_that_passes_the_series_bound() {
        let entries = [entry(0, &["a", "b"]), entry(1, &["b", "c"]), entry(2, &["d"]), entry(3, &["a"])];
        assert_eq!(entries_within(&entries, 3), 2, "a, b, c; d would be the fourth");
        assert_eq!(entries_within(&entries, 4), 4, "a, b, c, d: all fit");
        assert_eq!(entries_within(&entries, 1), 1, "at least one entry, however many series it holds");
        assert_eq!(entries_within(&[], 1), 0);
    }
}
