//! How the platform connects to Kafka: the brokers, plus the librdkafka
//! properties a deployment needs (TLS, SASL, client id, timeouts...) from
//! `KAFKA_CLIENT_CONFIG`, e.g.
//! `security.protocol=SASL_SSL,sasl.mechanisms=SCRAM-SHA-512,sasl.username=u,sasl.password=p`.
//! The properties that carry the platform's delivery guarantees are set by
//! the platform and cannot be given.

use rdkafka::ClientConfig;

/// Properties the platform sets itself: where to connect, the consumer
/// group and its manual commits, the idempotent, fully acknowledged producer.
const SET_BY_THE_PLATFORM: &[&str] = &[
    "bootstrap.servers",
    "metadata.broker.list",
    "group.id",
    "enable.auto.commit",
    "enable.auto.offset.store",
    "enable.idempotence",
    "acks",
    "request.required.acks",
];

/// Brokers and extra client properties, shared by every consumer and
/// producer the platform makes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KafkaClient {
    brokers: String,
    properties: Vec<(String, String)>,
}

impl KafkaClient {
    /// `brokers` (`host:port,...`) with `properties`: `key=value` pairs
    /// separated by commas (a value cannot hold a comma); empty: none.
    pub fn new(brokers: &str, properties: &str) -> Result<Self, String> {
        let mut parsed = Vec::new();
        for item in properties.split(',').map(str::trim).filter(|item| !item.is_empty()) {
            let Some((key, value)) = item.split_once('=') else {
                return Err(format!("KAFKA_CLIENT_CONFIG: {item:?} is not key=value"));
            };
            let key = key.trim();
            if key.is_empty() {
                return Err(format!("KAFKA_CLIENT_CONFIG: {item:?} has no property name"));
            }
            if SET_BY_THE_PLATFORM.contains(&key) {
                return Err(format!("KAFKA_CLIENT_CONFIG: {key} is set by the platform and cannot be given"));
            }
            parsed.push((key.to_owned(), value.trim().to_owned()));
        }
        Ok(Self { brokers: brokers.trim().to_owned(), properties: parsed })
    }

    /// The brokers.
    pub fn brokers(&self) -> &str {
        &self.brokers
    }

    /// A client configuration with the brokers and the extra properties;
    /// the caller adds its own.
    pub fn config(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", &self.brokers);
        for (key, value) in &self.properties {
            config.set(key, value);
        }
        config
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_are_parsed_and_the_platform_s_own_refused() {
        let client = KafkaClient::new(" k1:9092 ", " security.protocol=SASL_SSL , sasl.password=a=b,,").expect("valid");
        assert_eq!(client.brokers(), "k1:9092");
        let config = client.config();
        assert_eq!(config.get("bootstrap.servers"), Some("k1:9092"));
        assert_eq!(config.get("security.protocol"), Some("SASL_SSL"));
        assert_eq!(config.get("sasl.password"), Some("a=b"), "a value may hold '='");
        assert_eq!(KafkaClient::new("k", "").expect("none").config().get("security.protocol"), None);
        for (bad, says) in [
            ("security.protocol", "is not key=value"),
            ("=x", "has no property name"),
            ("enable.auto.commit=true", "set by the platform"),
            ("client.id=a, acks=1", "acks is set by the platform"),
        ] {
            let error = KafkaClient::new("k", bad).expect_err(bad);
            assert!(error.contains(says), "{bad}: {error}");
        }
    }
}
