//! A Kafka broker for the tests: at `TEST_KAFKA_BROKERS` (`make test` starts
//! a tansu broker when none answers), with a fresh topic per test, a
//! producer, and a reader of everything a topic holds.

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use std::time::{Duration, Instant};

/// The brokers the tests use; fails (never skips) when unset.
pub fn kafka_brokers() -> String {
    std::env::var("TEST_KAFKA_BROKERS")
        .expect("TEST_KAFKA_BROKERS is needed by the Kafka tests; run `make test`, which starts a broker")
}

/// Creates a topic named `prefix` plus a unique suffix, with `partitions`; returns its name.
pub async fn create_topic(prefix: &str, partitions: i32) -> String {
    let name = format!("{prefix}.{}", crate::unique_name());
    let admin: AdminClient<DefaultClientContext> =
        ClientConfig::new().set("bootstrap.servers", kafka_brokers()).create().expect("admin client");
    let topic = NewTopic::new(&name, partitions, TopicReplication::Fixed(1));
    let results = admin.create_topics([&topic], &AdminOptions::new()).await.expect("create_topics answered");
    for result in results {
        result.unwrap_or_else(|(topic, error)| panic!("topic {topic} not created: {error}"));
    }
    name
}

/// Sends `(key, value)` messages to `topic`, waiting for every acknowledgement.
pub async fn produce(topic: &str, messages: &[(String, String)]) {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", kafka_brokers())
        .set("enable.idempotence", "true")
        .create()
        .expect("producer");
    for (key, value) in messages {
        producer
            .send(FutureRecord::to(topic).key(key.as_str()).payload(value.as_str()), Duration::from_secs(10))
            .await
            .unwrap_or_else(|(error, _)| panic!("produce to {topic}: {error}"));
    }
}

/// Sends unkeyed `values` to `topic`, the i-th to partition i modulo
/// `partitions` (as a producer that keys nothing may), waiting for every
/// acknowledgement.
pub async fn produce_round_robin(topic: &str, partitions: i32, values: &[String]) {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", kafka_brokers())
        .set("enable.idempotence", "true")
        .create()
        .expect("producer");
    for (i, value) in values.iter().enumerate() {
        let partition = i32::try_from(i).unwrap_or_default() % partitions;
        let record: FutureRecord<'_, str, str> = FutureRecord::to(topic).partition(partition).payload(value.as_str());
        producer
            .send(record, Duration::from_secs(10))
            .await
            .unwrap_or_else(|(error, _)| panic!("produce to {topic}: {error}"));
    }
}

/// A message read back: partition, key, value and its `anomaly-error` header, if any.
#[derive(Debug, Clone)]
pub struct ReadMessage {
    /// The partition it was on.
    pub partition: i32,
    /// The key, as text.
    pub key: String,
    /// The value, as text.
    pub value: String,
    /// The `anomaly-error` header.
    pub error: Option<String>,
}

/// Reads every partition of `topic` from the start until at least `count`
/// messages arrived or `wait` passed; returns what arrived.
pub fn read_all(topic: &str, partitions: i32, count: usize, wait: Duration) -> Vec<ReadMessage> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", kafka_brokers())
        .set("group.id", format!("reader-{}", crate::unique_name()))
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let mut assignment = TopicPartitionList::new();
    for partition in 0..partitions {
        assignment.add_partition_offset(topic, partition, Offset::Beginning).expect("partition");
    }
    consumer.assign(&assignment).expect("assign");
    let deadline = Instant::now() + wait;
    let mut read = Vec::new();
    while read.len() < count && Instant::now() < deadline {
        if let Some(Ok(message)) = consumer.poll(Duration::from_millis(200)) {
            let text = |bytes: Option<&[u8]>| String::from_utf8_lossy(bytes.unwrap_or_default()).into_owned();
            let error = message
                .headers()
                .and_then(|headers| headers.iter().find(|h| h.key == "anomaly-error").map(|h| text(h.value)));
            read.push(ReadMessage {
                partition: message.partition(),
                key: text(message.key()),
                value: text(message.payload()),
                error,
            });
        }
    }
    read
}

/// The offsets `group` committed on `topic`'s partitions (`-1`: none).
pub fn committed_offsets(topic: &str, partitions: i32, group: &str) -> Vec<i64> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", kafka_brokers())
        .set("group.id", group)
        .create()
        .expect("consumer");
    let mut list = TopicPartitionList::new();
    for partition in 0..partitions {
        list.add_partition(topic, partition);
    }
    let committed = consumer.committed_offsets(list, Duration::from_secs(10)).expect("committed offsets");
    (0..partitions)
        .map(|p| match committed.find_partition(topic, p).map(|e| e.offset()) {
            Some(Offset::Offset(offset)) => offset,
            _ => -1,
        })
        .collect()
}
