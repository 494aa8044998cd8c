//! The Kafka consumer on a thread of its own (librdkafka's calls block):
//! it polls the points topic in the consumer group and hands messages to the
//! async worker over a bounded channel, in order. A rebalance runs here too:
//! before partitions are revoked it asks the worker to finish and commit its
//! in-flight batch and commits the offsets it answers; when partitions are
//! assigned it asks the worker to claim them and starts each at the offset
//! after the last one whose verdicts are durable (the database, not the
//! group's committed offset, is the source of truth). Every second
//! librdkafka's statistics give the partitions' high watermarks (as the
//! fetches saw them: no request of their own) for the lag. On close it
//! commits what the worker asked for last and leaves the group.

use crate::stream::{StreamMetrics, StreamStatus};
use anomaly_store::KafkaClient;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext};
use rdkafka::error::KafkaResult;
use rdkafka::message::Message;
use rdkafka::types::RDKafkaRespErr;
use rdkafka::{ClientConfig, ClientContext, Offset, Statistics, TopicPartitionList};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// One message as received.
pub(super) struct Received {
    pub(super) partition: u32,
    pub(super) offset: i64,
    /// The producer's time, Unix milliseconds, when the message has one.
    pub(super) timestamp_ms: Option<i64>,
    pub(super) key: Option<Vec<u8>>,
    pub(super) payload: Option<Vec<u8>>,
}

/// Next offsets per partition: where to start, or what to commit.
pub(super) type Offsets = Vec<(u32, i64)>;

/// What the consumer thread tells the worker, in the order it happened.
pub(super) enum FromConsumer {
    Message(Received),
    /// Partitions assigned: the worker claims them and answers the offset
    /// to start each at (none: the group's committed offset, else the earliest).
    Assigned {
        partitions: Vec<u32>,
        reply: oneshot::Sender<Offsets>,
    },
    /// Partitions about to be revoked: the worker commits its batch and
    /// answers the offsets to commit.
    Revoked {
        partitions: Vec<u32>,
        reply: oneshot::Sender<Offsets>,
    },
}

/// The settings the consumer needs.
pub(super) struct ConsumerSettings {
    pub(super) client: KafkaClient,
    pub(super) group_id: String,
    pub(super) topic: String,
    pub(super) session_timeout_ms: u32,
}

/// How the worker talks back to the consumer thread.
pub(super) struct ConsumerHandle {
    /// Offsets whose verdicts are durable, to commit.
    pub(super) commits: std::sync::mpsc::Sender<Offsets>,
    /// Set when the worker has committed its last batch: the thread commits
    /// what is left, leaves the group and ends.
    pub(super) closing: Arc<AtomicBool>,
    pub(super) thread: std::thread::JoinHandle<()>,
}

/// How often librdkafka reports its statistics (the high watermarks).
/// Asking the broker for them instead took 0.2 to 1.5 s a second on
/// tansu for 16 partitions, with the poll loop standing still
/// (perf/README.md, #31).
const WATERMARKS_EVERY: Duration = Duration::from_secs(1);
/// Longest a poll blocks (the thread looks at `closing` and the commits in between).
const POLL_WAIT: Duration = Duration::from_millis(100);
/// Longest the broker may hold a fetch (`fetch.wait.max.ms`) unless
/// `KAFKA_CLIENT_CONFIG` gives one. librdkafka's 500 ms is a latency floor
/// on a broker that holds a fetch for the whole wait even once data came
/// (tansu does: a lone point took 400 ms to its verdict, 59 ms at 50 ms);
/// a broker that answers as soon as data comes only fetches more often
/// while idle (perf/README.md, #31).
const FETCH_WAIT: Duration = Duration::from_millis(50);

struct GroupContext {
    topic: String,
    to_worker: mpsc::Sender<FromConsumer>,
    closing: Arc<AtomicBool>,
    status: Arc<StreamStatus>,
}

impl GroupContext {
    /// Asks the worker and waits for its answer (`None`: it is gone or closing).
    fn ask(&self, question: impl FnOnce(oneshot::Sender<Offsets>) -> FromConsumer) -> Option<Offsets> {
        if self.closing.load(Ordering::SeqCst) {
            return None;
        }
        let (reply, answer) = oneshot::channel();
        self.to_worker.blocking_send(question(reply)).ok()?;
        answer.blocking_recv().ok()
    }

    fn partitions(&self, tpl: &TopicPartitionList) -> Vec<u32> {
        tpl.elements_for_topic(&self.topic).iter().filter_map(|e| u32::try_from(e.partition()).ok()).collect()
    }

    fn offsets_list(&self, offsets: &Offsets) -> TopicPartitionList {
        let mut list = TopicPartitionList::new();
        for (partition, next) in offsets {
            let _ = list.add_partition_offset(&self.topic, *partition as i32, Offset::Offset(*next));
        }
        list
    }
}

impl ClientContext for GroupContext {
    /// Records each owned partition's high watermark, and its lag in `/metrics`.
    fn stats(&self, statistics: Statistics) {
        let (Some(owned), Some(topic)) = (self.status.owned(), statistics.topics.get(&self.topic)) else { return };
        for (partition, position) in owned {
            let Some(high) = topic.partitions.get(&(partition as i32)).map(|p| p.hi_offset) else { continue };
            if let Ok(high) = u64::try_from(high) {
                self.status.set_end(partition, high);
                StreamMetrics::set_lag(partition, self.status.kafka_lag(partition, position));
            }
        }
    }
}

impl ConsumerContext for GroupContext {
    fn rebalance(&self, consumer: &BaseConsumer<Self>, err: RDKafkaRespErr, tpl: &mut TopicPartitionList) {
        let partitions = self.partitions(tpl);
        match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => {
                metrics::counter!("anomaly_kafka_rebalances_total", "kind" => "assign").increment(1);
                tracing::info!(?partitions, "kafka partitions assigned");
                for (partition, next) in
                    self.ask(|reply| FromConsumer::Assigned { partitions, reply }).unwrap_or_default()
                {
                    let _ = tpl.set_partition_offset(&self.topic, partition as i32, Offset::Offset(next));
                }
                if let Err(error) = consumer.assign(tpl) {
                    tracing::warn!(%error, "kafka assignment failed");
                }
            }
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => {
                metrics::counter!("anomaly_kafka_rebalances_total", "kind" => "revoke").increment(1);
                tracing::info!(?partitions, "kafka partitions revoked");
                let offsets = self.ask(|reply| FromConsumer::Revoked { partitions, reply }).unwrap_or_default();
                commit(consumer, &self.offsets_list(&offsets), CommitMode::Sync);
                if let Err(error) = consumer.unassign() {
                    tracing::warn!(%error, "kafka unassignment failed");
                }
            }
            other => {
                tracing::warn!(error = ?other, "kafka rebalance failed; giving the assignment up");
                let _ = consumer.unassign();
            }
        }
    }

    fn commit_callback(&self, result: KafkaResult<()>, _offsets: &TopicPartitionList) {
        let outcome = if result.is_ok() { "ok" } else { "error" };
        metrics::counter!("anomaly_kafka_commits_total", "result" => outcome).increment(1);
        if let Err(error) = result {
            tracing::debug!(%error, "kafka offset commit failed; the next one covers it");
        }
    }
}

fn commit(consumer: &BaseConsumer<GroupContext>, offsets: &TopicPartitionList, mode: CommitMode) {
    if offsets.count() == 0 {
        return;
    }
    if let Err(error) = consumer.commit(offsets, mode) {
        tracing::debug!(%error, "kafka offset commit failed");
    }
}

/// The consumer's properties: the deployment's, then the group and its
/// manual commits; the fetch wait unless the deployment gave one.
fn consumer_config(settings: &ConsumerSettings) -> ClientConfig {
    let mut config = settings.client.config();
    if config.get("fetch.wait.max.ms").is_none() {
        config.set("fetch.wait.max.ms", FETCH_WAIT.as_millis().to_string());
    }
    config
        .set("group.id", &settings.group_id)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", settings.session_timeout_ms.to_string())
        .set("heartbeat.interval.ms", (settings.session_timeout_ms / 4).max(250).to_string())
        .set("statistics.interval.ms", WATERMARKS_EVERY.as_millis().to_string());
    config
}

/// Joins the group and starts the consumer thread.
pub(super) fn start(
    settings: &ConsumerSettings,
    to_worker: mpsc::Sender<FromConsumer>,
    status: Arc<StreamStatus>,
) -> KafkaResult<ConsumerHandle> {
    let closing = Arc::new(AtomicBool::new(false));
    let context = GroupContext {
        topic: settings.topic.clone(),
        to_worker: to_worker.clone(),
        closing: closing.clone(),
        status: status.clone(),
    };
    let consumer: BaseConsumer<GroupContext> = consumer_config(settings).create_with_context(context)?;
    consumer.subscribe(&[&settings.topic])?;
    let (commits, to_commit) = std::sync::mpsc::channel();
    let thread_closing = closing.clone();
    let thread = std::thread::Builder::new()
        .name("kafka-consumer".into())
        .spawn(move || poll_until_closed(&consumer, &to_worker, &to_commit, &thread_closing))
        .map_err(|e| rdkafka::error::KafkaError::ClientCreation(e.to_string()))?;
    Ok(ConsumerHandle { commits, closing, thread })
}

fn poll_until_closed(
    consumer: &BaseConsumer<GroupContext>,
    to_worker: &mpsc::Sender<FromConsumer>,
    to_commit: &std::sync::mpsc::Receiver<Offsets>,
    closing: &AtomicBool,
) {
    let offsets_list = |offsets: &Offsets| consumer.context().offsets_list(offsets);
    while !closing.load(Ordering::SeqCst) {
        while let Ok(offsets) = to_commit.try_recv() {
            commit(consumer, &offsets_list(&offsets), CommitMode::Async);
        }
        match consumer.poll(POLL_WAIT) {
            Some(Ok(message)) => {
                let received = Received {
                    partition: u32::try_from(message.partition()).unwrap_or_default(),
                    offset: message.offset(),
                    timestamp_ms: message.timestamp().to_millis(),
                    key: message.key().map(<[u8]>::to_vec),
                    payload: message.payload().map(<[u8]>::to_vec),
                };
                if to_worker.blocking_send(FromConsumer::Message(received)).is_err() {
                    break;
                }
            }
            Some(Err(error)) => tracing::warn!(%error, "kafka consumer error"),
            None => {}
        }
    }
    // The worker committed its last batch: commit it, then leave the group
    // (dropping the consumer closes it; the revoke it runs asks nobody).
    while let Ok(offsets) = to_commit.try_recv() {
        commit(consumer, &offsets_list(&offsets), CommitMode::Sync);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(properties: &str) -> ConsumerSettings {
        ConsumerSettings {
            client: KafkaClient::new("k:9092", properties).expect("valid properties"),
            group_id: "g".into(),
            topic: "t".into(),
            session_timeout_ms: 6000,
        }
    }

    #[test]
    fn the_fetch_waits_briefly_unless_the_deployment_says_otherwise() {
        let default = consumer_config(&settings("client.id=c"));
        assert_eq!(default.get("fetch.wait.max.ms"), Some("50"));
        assert_eq!(default.get("client.id"), Some("c"));
        assert_eq!(default.get("enable.auto.commit"), Some("false"));
        let given = consumer_config(&settings("fetch.wait.max.ms=500"));
        assert_eq!(given.get("fetch.wait.max.ms"), Some("500"));
    }
}
