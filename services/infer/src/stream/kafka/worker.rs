//! The Kafka worker: judges the messages of the partitions the group
//! assigned to this process, through the same [`Judge`] as the log worker.
//! Messages are batched per partition as they arrive; a batch's verdicts,
//! detector states and next offset are committed to the database first
//! (fenced by the epoch taken when the partition was assigned), and only
//! then is the offset committed to Kafka. A redelivered message after a
//! crash is judged again from the restored state and its anomaly written
//! once (the anomaly table is idempotent).

use super::consumer::{ConsumerHandle, FromConsumer, Offsets, Received};
use crate::stream::judge::{Held, Judge, claim};
use crate::stream::lag_minutes::LagMinutes;
use crate::stream::worker::{BATCH_MAX_SERIES, entries_within};
use crate::stream::{StreamMetrics, StreamStatus};
use anomaly_store::{Backends, KafkaProducer, LogEntry, LogPosition, StoreError, decode_points_message};
use std::collections::{BTreeMap, HashSet};
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// Messages judged in one batch at most (over all partitions).
const BATCH_MESSAGES: usize = 8192;
/// Points a batch gathers at most (it ends after the message that passes
/// them): messages of rows hold many points each.
const BATCH_POINTS: usize = 200_000;
/// How long a batch gathers messages after its first one.
const BATCH_WINDOW: Duration = Duration::from_millis(10);
/// Pause after a storage failure.
const RETRY_AFTER: Duration = Duration::from_millis(500);
/// How often the lag is looked at for the dashboard's lag per minute.
const LAG_EVERY: Duration = Duration::from_secs(1);

/// Where malformed messages are copied, when configured.
pub(super) struct DeadLetters {
    pub(super) producer: KafkaProducer,
    pub(super) topic: String,
}

/// The Kafka worker of one process.
pub(super) struct KafkaWorker {
    pub(super) backends: Backends,
    pub(super) judge: Judge,
    pub(super) status: Arc<StreamStatus>,
    pub(super) metrics: StreamMetrics,
    /// `kafka:<topic>`, the log name of the stored positions.
    pub(super) log: String,
    /// The lag per minute for the dashboard.
    pub(super) lag_minutes: LagMinutes,
    pub(super) dead_letters: Option<DeadLetters>,
    pub(super) from_consumer: mpsc::Receiver<FromConsumer>,
    pub(super) consumer: ConsumerHandle,
    pub(super) held: BTreeMap<u32, Held>,
    /// Per partition, the messages received and not committed, decoded.
    pub(super) pending: BTreeMap<u32, Batch>,
    /// The commits of the last batch, one per partition.
    pub(super) in_flight: Vec<InFlight>,
    /// A batch failed to be judged since the last settle.
    pub(super) judging_failed: bool,
}

/// The commits of one partition's batches, on a task of their own.
pub(super) struct InFlight {
    partition: u32,
    /// Its batches in order.
    chunks: Vec<Chunk>,
    /// How many batches were committed, and how the first that was not
    /// ended (`Ok(true)` when all were).
    commit: tokio::task::JoinHandle<(usize, Result<bool, StoreError>)>,
}

/// One batch of a partition: its position once committed, and its messages.
struct Chunk {
    last: LogPosition,
    batch: Batch,
}

/// Messages of one partition in order, decoded once as they arrive (a
/// malformed one is counted and dead-lettered once, however often its
/// batch is retried).
#[derive(Default)]
pub(super) struct Batch {
    entries: Vec<LogEntry>,
    /// Each message's producer time (Unix ms), for ingest-to-verdict.
    sent_ms: Vec<Option<i64>>,
}

impl Batch {
    /// Moves the messages from `at` on into a batch of their own.
    fn split_off(&mut self, at: usize) -> Batch {
        Batch { entries: self.entries.split_off(at), sent_ms: self.sent_ms.split_off(at) }
    }

    /// Moves `later`'s messages to the end of this batch.
    fn append(&mut self, later: &mut Batch) {
        self.entries.append(&mut later.entries);
        self.sent_ms.append(&mut later.sent_ms);
    }
}

/// A message's offset as a stored position: the next offset to read, so
/// that 0 (nothing judged) differs from "offset 0 judged".
fn position_after(offset: i64) -> LogPosition {
    LogPosition { major: u64::try_from(offset).unwrap_or_default() + 1, minor: 0 }
}

fn next_offset(held: &Held) -> i64 {
    i64::try_from(held.position.major).unwrap_or(i64::MAX)
}

impl KafkaWorker {
    /// Runs until `stop`, then commits its last batch and leaves the group.
    pub(super) async fn run(mut self, mut stop: watch::Receiver<bool>) {
        let mut lag_every = tokio::time::interval(LAG_EVERY);
        lag_every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        while !*stop.borrow() {
            let event = tokio::select! {
                event = self.from_consumer.recv() => event,
                _ = lag_every.tick() => {
                    self.record_lag().await;
                    continue;
                }
                // Idle: the last batch's commits are recorded without
                // waiting for the next message.
                () = tokio::time::sleep(BATCH_WINDOW), if !self.in_flight.is_empty() => {
                    self.settle(&stop).await;
                    continue;
                }
                _ = stop.changed() => continue,
            };
            let Some(event) = event else {
                tracing::error!("the kafka consumer thread ended; the stream stops judging");
                break;
            };
            let mut points = self.handle(event, &stop).await;
            // Gather what arrives in the next few milliseconds into the same
            // batch: one commit per partition and batch is what costs.
            let gathered_by = tokio::time::Instant::now() + BATCH_WINDOW;
            let mut batched = 1;
            while batched < BATCH_MESSAGES && points < BATCH_POINTS {
                let Ok(Some(event)) = tokio::time::timeout_at(gathered_by, self.from_consumer.recv()).await else {
                    break;
                };
                points += self.handle(event, &stop).await;
                batched += 1;
            }
            // The last batch's commits ran while this one gathered.
            self.settle(&stop).await;
            self.launch().await;
            // Batches held back (a series of two partitions, a failure) go
            // once the commits in flight are settled, not after the next message.
            while !self.pending.is_empty() && !*stop.borrow() {
                self.settle(&stop).await;
                self.launch().await;
            }
        }
        self.flush(&stop).await;
        let last: Offsets = self.held.values().map(|h| (h.partition, next_offset(h))).collect();
        let _ = self.consumer.commits.send(last);
        self.consumer.closing.store(true, Ordering::SeqCst);
        // Drain until the thread has left the group (it may be blocked on a send).
        while self.from_consumer.recv().await.is_some() {}
        let _ = tokio::task::spawn_blocking(move || self.consumer.thread.join()).await;
        tracing::info!("kafka worker committed its last batch and left the group");
    }

    /// Takes a message into its partition's batch, or handles a rebalance;
    /// returns the points taken.
    async fn handle(&mut self, event: FromConsumer, stop: &watch::Receiver<bool>) -> usize {
        match event {
            FromConsumer::Message(message) => {
                if !self.held.contains_key(&message.partition) {
                    return 0;
                }
                let entry = self.entry(&message).await;
                let points = entry.points.len();
                let batch = self.pending.entry(message.partition).or_default();
                batch.entries.push(entry);
                batch.sent_ms.push(message.timestamp_ms);
                points
            }
            FromConsumer::Assigned { partitions, reply } => {
                self.flush(stop).await;
                let mut starts = Offsets::new();
                for partition in partitions {
                    let Some(held) = self.claim_until_done(partition, stop).await else { continue };
                    if held.position != LogPosition::START {
                        starts.push((partition, next_offset(&held)));
                    }
                    self.held.insert(partition, held);
                }
                self.after_rebalance();
                let _ = reply.send(starts);
                0
            }
            FromConsumer::Revoked { partitions, reply } => {
                self.flush(stop).await;
                let mut commits = Offsets::new();
                for partition in partitions {
                    if let Some(held) = self.held.remove(&partition) {
                        commits.push((partition, next_offset(&held)));
                    }
                    self.pending.remove(&partition);
                }
                self.after_rebalance();
                let _ = reply.send(commits);
                0
            }
        }
    }

    /// Records how far the held partitions are behind their high watermarks.
    async fn record_lag(&mut self) {
        let lagging: Vec<(u32, u64)> = self
            .held
            .values()
            .map(|held| (held.partition, self.status.kafka_lag(held.partition, held.position)))
            .filter(|(_, lag)| *lag > 0)
            .collect();
        self.lag_minutes.record(self.backends.streams.as_ref(), &self.log, &lagging).await;
    }

    /// States of series in partitions that changed hands may be stale.
    fn after_rebalance(&mut self) {
        self.judge.forget_states();
        self.status.set_owned(self.held.iter().map(|(p, h)| (*p, h.position)).collect());
        self.metrics.partitions_owned.set(self.held.len() as f64);
    }

    /// Takes the partition over with an epoch above every earlier owner's,
    /// retrying while the database is down (unless stopping).
    async fn claim_until_done(&mut self, partition: u32, stop: &watch::Receiver<bool>) -> Option<Held> {
        loop {
            let attempt = async {
                let (_, epoch) = self.backends.streams.partition_position(&self.log, partition).await?;
                claim(self.backends.streams.as_ref(), &self.log, partition, epoch + 1).await
            };
            match attempt.await {
                Ok(Some(held)) => {
                    tracing::info!(
                        partition,
                        epoch = held.epoch,
                        next_offset = held.position.major,
                        "kafka partition taken"
                    );
                    return Some(held);
                }
                Ok(None) => continue,
                Err(error) => tracing::warn!(%error, partition, "claiming a kafka partition failed; retrying"),
            }
            if *stop.borrow() {
                return None;
            }
            tokio::time::sleep(RETRY_AFTER).await;
        }
    }

    /// Commits every pending batch and waits for the commits; a failed one
    /// is retried from the last checkpoint's states until it succeeds or
    /// the worker stops.
    async fn flush(&mut self, stop: &watch::Receiver<bool>) {
        loop {
            let failed = self.settle(stop).await;
            if self.pending.is_empty() || (failed && *stop.borrow()) {
                return;
            }
            self.launch().await;
        }
    }

    /// Judges the pending messages of every partition and starts their
    /// commits, one task per partition, all at once (a commit is mostly
    /// waiting on the database); they run while the next batch gathers,
    /// and [`settle`](Self::settle) collects them. Call after `settle`: a
    /// partition's batch is judged from the states its last commit wrote.
    /// A partition whose batch names a series of a partition launched
    /// before it (a producer that keyed a series' messages differently)
    /// waits for the next round, so one series' commits never race. The
    /// series are compared by hash, not copied: a collision only holds a
    /// batch back a round.
    async fn launch(&mut self) {
        let hasher = RandomState::new();
        let mut launched_series = HashSet::new();
        let mut waiting = BTreeMap::new();
        for (partition, mut rest) in std::mem::take(&mut self.pending) {
            let Some(held) = self.held.get(&partition).cloned() else { continue };
            // A run of one series' points is hashed once.
            let series: HashSet<u64> = rest
                .entries
                .iter()
                .flat_map(|e| e.points.chunk_by(|a, b| a.series_id == b.series_id))
                .map(|run| hasher.hash_one(&run[0].series_id))
                .collect();
            if !series.is_disjoint(&launched_series) {
                waiting.insert(partition, rest);
                continue;
            }
            launched_series.extend(series);
            let mut chunks = Vec::new();
            let mut commits = Vec::new();
            // In batches of a bounded number of series, committed in order.
            while !rest.entries.is_empty() {
                let cut = entries_within(&rest.entries, BATCH_MAX_SERIES);
                let tail = rest.split_off(cut);
                let these = std::mem::replace(&mut rest, tail);
                match self.judge.prepare(&held, &these.entries).await {
                    Ok(Some(judged)) => {
                        chunks.push(Chunk { last: judged.checkpoint.last_entry, batch: these });
                        commits.push(self.judge.commit(judged));
                    }
                    Ok(None) => {}
                    Err(error) => {
                        // The states of the series judged are past their
                        // checkpoints: read again; this batch and the rest
                        // are judged again after the commits in flight.
                        self.judge.forget_states();
                        self.judging_failed = true;
                        self.status.batch_failed(partition, &error);
                        tracing::warn!(%error, partition, "judging a kafka batch failed; retrying from the last checkpoint");
                        let mut retried = these;
                        retried.append(&mut rest);
                        waiting.insert(partition, retried);
                        break;
                    }
                }
            }
            if chunks.is_empty() {
                continue;
            }
            let commit = tokio::spawn(async move {
                let mut committed = 0;
                for commit in commits {
                    match commit.await {
                        Ok(true) => committed += 1,
                        outcome => return (committed, outcome),
                    }
                }
                (committed, Ok(true))
            });
            self.in_flight.push(InFlight { partition, chunks, commit });
        }
        self.pending = waiting;
    }

    /// Waits for the commits in flight and records their outcomes: the
    /// committed batches move their partition's position and offset; after
    /// a failure the states in memory are read again, the uncommitted
    /// messages go back to the front of their partition's queue, and the
    /// worker pauses once (as after a batch that failed to be judged).
    /// True after a failure.
    async fn settle(&mut self, stop: &watch::Receiver<bool>) -> bool {
        let mut failed = false;
        for InFlight { partition, chunks, commit } in std::mem::take(&mut self.in_flight) {
            let (committed, outcome) = commit
                .await
                .unwrap_or_else(|error| (0, Err(StoreError::Corrupt(format!("the commit task failed: {error}")))));
            let mut chunks = chunks.into_iter();
            for chunk in chunks.by_ref().take(committed) {
                self.committed(partition, chunk);
            }
            match outcome {
                Ok(true) => {}
                Ok(false) => {
                    tracing::warn!(partition, "a newer owner took the kafka partition over");
                    self.held.remove(&partition);
                    self.pending.remove(&partition);
                    self.after_rebalance();
                }
                Err(error) => {
                    tracing::warn!(%error, partition, "kafka batch failed; retrying from the last checkpoint");
                    self.status.batch_failed(partition, &error);
                    let mut uncommitted = Batch::default();
                    for mut chunk in chunks {
                        uncommitted.append(&mut chunk.batch);
                    }
                    uncommitted.append(self.pending.entry(partition).or_default());
                    self.pending.insert(partition, uncommitted);
                    failed = true;
                }
            }
        }
        if failed {
            self.judge.forget_states();
        } else {
            self.judge.keep_within_capacity();
        }
        let failed = failed || std::mem::take(&mut self.judging_failed);
        if failed && !*stop.borrow() {
            tokio::time::sleep(RETRY_AFTER).await;
        }
        failed
    }

    /// A batch of `partition` is committed: its position and Kafka offset
    /// move on.
    fn committed(&mut self, partition: u32, chunk: Chunk) {
        let Some(held) = self.held.get_mut(&partition) else { return };
        held.position = chunk.last;
        self.status.batch_done(partition);
        let _ = self.consumer.commits.send(vec![(partition, next_offset(held))]);
        self.status.set_position(partition, held.position);
        self.metrics.committed_now(chunk.batch.sent_ms.into_iter().flatten());
    }

    /// Decodes a message into a log entry; a malformed one is logged with its
    /// partition and offset, counted, copied to the dead-letter topic when
    /// there is one, and judged as no points (its offset still advances).
    async fn entry(&self, message: &Received) -> LogEntry {
        let id = position_after(message.offset);
        match decode_points_message(message.key.as_deref(), message.payload.as_deref()) {
            Ok(points) => LogEntry { id, points, malformed: 0 },
            Err(reason) => {
                tracing::warn!(partition = message.partition, offset = message.offset, %reason, "malformed kafka message skipped");
                metrics::counter!("anomaly_kafka_malformed_messages_total").increment(1);
                if let Err(error) = self.dead_letter(message, &reason).await {
                    tracing::warn!(%error, offset = message.offset, "could not copy a malformed message to the dead-letter topic");
                }
                LogEntry { id, points: Vec::new(), malformed: 1 }
            }
        }
    }

    async fn dead_letter(&self, message: &Received, reason: &str) -> Result<(), StoreError> {
        let Some(dead) = &self.dead_letters else { return Ok(()) };
        dead.producer.send_dead_letter(&dead.topic, message.key.as_deref(), message.payload.as_deref(), reason).await
    }
}
