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
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// Messages judged in one batch at most (over all partitions).
const BATCH_MESSAGES: usize = 8192;
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
    pub(super) pending: BTreeMap<u32, Vec<Received>>,
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
                _ = stop.changed() => continue,
            };
            let Some(event) = event else {
                tracing::error!("the kafka consumer thread ended; the stream stops judging");
                break;
            };
            self.handle(event, &stop).await;
            // Gather what arrives in the next few milliseconds into the same
            // batch: one commit per partition and batch is what costs.
            let gathered_by = tokio::time::Instant::now() + BATCH_WINDOW;
            let mut batched = 1;
            while batched < BATCH_MESSAGES {
                let Ok(Some(event)) = tokio::time::timeout_at(gathered_by, self.from_consumer.recv()).await else {
                    break;
                };
                self.handle(event, &stop).await;
                batched += 1;
            }
            self.flush(&stop).await;
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

    async fn handle(&mut self, event: FromConsumer, stop: &watch::Receiver<bool>) {
        match event {
            FromConsumer::Message(message) => {
                if self.held.contains_key(&message.partition) {
                    self.pending.entry(message.partition).or_default().push(message);
                }
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

    /// Judges and commits every pending batch; a failed one is retried from
    /// the last checkpoint's states until it succeeds or the worker stops.
    async fn flush(&mut self, stop: &watch::Receiver<bool>) {
        let pending = std::mem::take(&mut self.pending);
        for (partition, messages) in pending {
            let entries = self.entries(&messages).await;
            let (mut entries, mut messages) = (entries.as_slice(), messages.as_slice());
            // In batches of a bounded number of series, one commit each, in
            // order: a batch not committed ends the partition's turn.
            while !entries.is_empty() {
                let cut = entries_within(entries, BATCH_MAX_SERIES);
                if !self.judge_until_committed(partition, &entries[..cut], &messages[..cut], stop).await {
                    break;
                }
                (entries, messages) = (&entries[cut..], &messages[cut..]);
            }
        }
    }

    /// Judges and commits `entries` (one per message of `messages`) of
    /// `partition`, retrying from the last checkpoint's states until it
    /// succeeds, the partition is lost, or the worker stops; true if committed.
    async fn judge_until_committed(
        &mut self,
        partition: u32,
        entries: &[LogEntry],
        messages: &[Received],
        stop: &watch::Receiver<bool>,
    ) -> bool {
        while let Some(held) = self.held.get_mut(&partition) {
            match self.judge.judge_and_commit(held, entries).await {
                Ok(true) => {
                    self.status.batch_done(partition);
                    let _ = self.consumer.commits.send(vec![(partition, next_offset(held))]);
                    self.status.set_position(partition, held.position);
                    let now = crate::stream::judge::unix_millis();
                    for sent in messages.iter().filter_map(|m| m.timestamp_ms) {
                        self.metrics.ingest_to_verdict.record(now.saturating_sub(sent).max(0) as f64 / 1000.0);
                    }
                    return true;
                }
                Ok(false) => {
                    tracing::warn!(partition, "a newer owner took the kafka partition over");
                    self.held.remove(&partition);
                    self.after_rebalance();
                    return false;
                }
                Err(error) => {
                    tracing::warn!(%error, partition, "kafka batch failed; retrying from the last checkpoint");
                    self.status.batch_failed(partition, &error);
                    self.judge.forget_states();
                    if *stop.borrow() {
                        return false;
                    }
                    tokio::time::sleep(RETRY_AFTER).await;
                }
            }
        }
        false
    }

    /// Decodes messages into log entries; a malformed one is logged with its
    /// partition and offset, counted, copied to the dead-letter topic when
    /// there is one, and judged as no points (its offset still advances).
    async fn entries(&self, messages: &[Received]) -> Vec<LogEntry> {
        let mut entries = Vec::with_capacity(messages.len());
        for message in messages {
            let id = position_after(message.offset);
            match decode_points_message(message.key.as_deref(), message.payload.as_deref()) {
                Ok(points) => entries.push(LogEntry { id, points, malformed: 0 }),
                Err(reason) => {
                    tracing::warn!(partition = message.partition, offset = message.offset, %reason, "malformed kafka message skipped");
                    metrics::counter!("anomaly_kafka_malformed_messages_total").increment(1);
                    if let Err(error) = self.dead_letter(message, &reason).await {
                        tracing::warn!(%error, offset = message.offset, "could not copy a malformed message to the dead-letter topic");
                    }
                    entries.push(LogEntry { id, points: Vec::new(), malformed: 1 });
                }
            }
        }
        entries
    }

    async fn dead_letter(&self, message: &Received, reason: &str) -> Result<(), StoreError> {
        let Some(dead) = &self.dead_letters else { return Ok(()) };
        dead.producer.send_dead_letter(&dead.topic, message.key.as_deref(), message.payload.as_deref(), reason).await
    }
}
