//! Webhooks and their deliveries: what the monitor registers and sends.
//! Stored durably (see [`crate::sql`]), so a restarted monitor resumes
//! pending deliveries, and leased, so one delivery is attempted by one
//! replica at a time. A delivery is one anomaly for one webhook, unique by
//! the anomaly's key: an anomaly published twice (the feed is at least
//! once) is delivered once.

use crate::StoreError;
use crate::ports::stream::LogPosition;
use async_trait::async_trait;

/// A registered endpoint.
#[derive(Clone, PartialEq)]
pub struct Webhook {
    /// `wh_` and 16 hex digits.
    pub id: String,
    /// Where deliveries are POSTed (http or https).
    pub url: String,
    /// The HMAC-SHA256 key of the signature.
    pub secret: String,
    /// Only this series' anomalies, when set.
    pub series_id: Option<String>,
    /// Only anomalies scoring at least this, when set.
    pub min_score: Option<f64>,
    /// `incident` (one delivery when a burst of a series' anomalies opens,
    /// one when it closes) or `anomaly` (one per anomaly).
    pub mode: String,
    /// `json` (our signed JSON) or `slack` (Slack's incoming-webhook message).
    pub format: String,
    /// When it was registered, Unix milliseconds.
    pub created_at_ms: i64,
}

/// An incident a webhook has open for a series: its anomalies so far, from
/// the first, each judged within the grouping time of the one before.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenIncident {
    /// The webhook.
    pub webhook_id: String,
    /// The series.
    pub series_id: String,
    /// The id of its first anomaly: what makes the incident unique (two
    /// replicas, or a page read twice, open it once).
    pub first_anomaly: String,
    /// When its first anomaly was judged, Unix milliseconds.
    pub opened_at_ms: i64,
    /// When its latest anomaly was judged, Unix milliseconds.
    pub last_at_ms: i64,
    /// Its anomalies so far.
    pub anomalies: u64,
    /// The highest graded score among them.
    pub max_anomaly_score: Option<f64>,
    /// The latest anomaly, as listed (JSON).
    pub last: String,
    /// The feed entry of the latest anomaly: entries up to it are counted.
    pub last_entry: LogPosition,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("id", &self.id)
            .field("url", &self.url)
            .field("secret", &crate::redacted(true))
            .field("series_id", &self.series_id)
            .field("min_score", &self.min_score)
            .field("mode", &self.mode)
            .field("format", &self.format)
            .field("created_at_ms", &self.created_at_ms)
            .finish()
    }
}

/// A delivery to create.
#[derive(Debug, Clone, PartialEq)]
pub struct NewDelivery {
    /// `dl_` and 16 hex digits.
    pub id: String,
    /// The webhook.
    pub webhook_id: String,
    /// What makes the anomaly unique (series, time, source, judge).
    pub anomaly_key: String,
    /// The JSON body to POST.
    pub payload: String,
    /// When the anomaly was judged, Unix milliseconds (delivery latency).
    pub found_at_ms: i64,
}

/// Where a delivery stands.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// Its id (the `X-Anomaly-Delivery` header).
    pub id: String,
    /// The webhook.
    pub webhook_id: String,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    /// Attempts made.
    pub attempts: u32,
    /// The last attempt's error (transport error or status), if any.
    pub last_error: Option<String>,
    /// The last HTTP status the endpoint answered.
    pub last_status_code: Option<u16>,
    /// The body.
    pub payload: String,
    /// When it was created, Unix milliseconds.
    pub created_at_ms: i64,
    /// When the next attempt is due (pending), Unix milliseconds.
    pub next_attempt_ms: i64,
    /// When it was delivered or given up, Unix milliseconds.
    pub finished_at_ms: Option<i64>,
}

/// A delivery a replica holds the lease of, with what it needs to send it.
#[derive(Clone, PartialEq)]
pub struct ClaimedDelivery {
    /// The delivery.
    pub id: String,
    /// The webhook.
    pub webhook_id: String,
    /// Its URL.
    pub url: String,
    /// Its secret.
    pub secret: String,
    /// The body.
    pub payload: String,
    /// Attempts made before this one.
    pub attempts: u32,
    /// When the anomaly was judged, Unix milliseconds.
    pub found_at_ms: i64,
}

impl std::fmt::Debug for ClaimedDelivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClaimedDelivery")
            .field("id", &self.id)
            .field("webhook_id", &self.webhook_id)
            .field("url", &self.url)
            .field("secret", &crate::redacted(true))
            .field("attempts", &self.attempts)
            .field("found_at_ms", &self.found_at_ms)
            .finish_non_exhaustive()
    }
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq)]
pub enum AttemptOutcome {
    /// 2xx.
    Delivered {
        /// The status.
        status_code: u16,
    },
    /// Try again at `next_attempt_ms`.
    Retry {
        /// When.
        next_attempt_ms: i64,
        /// What went wrong.
        error: String,
        /// The status, when the endpoint answered.
        status_code: Option<u16>,
    },
    /// Given up: out of attempts, or refused for good (4xx).
    Failed {
        /// What went wrong.
        error: String,
        /// The status, when the endpoint answered.
        status_code: Option<u16>,
    },
}

/// One page of a webhook's deliveries: newest first.
#[derive(Debug, Clone, Copy)]
pub struct DeliveryQuery<'a> {
    /// One webhook, or all.
    pub webhook_id: Option<&'a str>,
    /// Only this status, or all.
    pub status: Option<&'a str>,
    /// At most this many.
    pub limit: u32,
}

/// Webhooks and deliveries (the SQL database behind it).
#[async_trait]
pub trait WebhookStore: Send + Sync {
    /// Registers `hook`.
    async fn create_webhook(&self, hook: &Webhook) -> Result<(), StoreError>;

    /// Every webhook, oldest first.
    async fn webhooks(&self) -> Result<Vec<Webhook>, StoreError>;

    /// One webhook.
    async fn webhook(&self, id: &str) -> Result<Option<Webhook>, StoreError>;

    /// Removes a webhook and its deliveries; `false` if there was none.
    async fn delete_webhook(&self, id: &str) -> Result<bool, StoreError>;

    /// Creates `deliveries`, due now; one that exists (same webhook and
    /// anomaly) is left as it is. Returns how many were new.
    async fn enqueue_deliveries(&self, deliveries: &[NewDelivery], now_ms: i64) -> Result<u64, StoreError>;

    /// How far the anomaly feed has been turned into deliveries.
    async fn webhook_feed_position(&self) -> Result<Option<LogPosition>, StoreError>;

    /// Records that the feed up to `position` has been turned into deliveries.
    async fn set_webhook_feed_position(&self, position: LogPosition) -> Result<(), StoreError>;

    /// Takes the lease (until `lease_until_ms`) of due pending deliveries
    /// nobody holds: of each webhook only as many as keep its deliveries in
    /// flight (on every replica) at `per_webhook`, the oldest due first, so
    /// a slow or dead endpoint never crowds out the others; `limit` in all.
    async fn claim_deliveries(
        &self,
        owner: &str,
        now_ms: i64,
        lease_until_ms: i64,
        per_webhook: u32,
        limit: u32,
    ) -> Result<Vec<ClaimedDelivery>, StoreError>;

    /// Records attempts of deliveries `owner` holds (delivery id and
    /// outcome), in one transaction; per attempt, `false` if `owner` no
    /// longer holds it (its lease ran out and another replica took it).
    async fn finish_attempts(
        &self,
        owner: &str,
        attempts: &[(String, AttemptOutcome)],
        now_ms: i64,
    ) -> Result<Vec<bool>, StoreError>;

    /// Deliveries, newest first.
    async fn deliveries(&self, query: DeliveryQuery<'_>) -> Result<Vec<Delivery>, StoreError>;

    /// Every open incident.
    async fn open_incidents(&self) -> Result<Vec<OpenIncident>, StoreError>;

    /// Stores `open` (each replacing the webhook's open incident of its
    /// series) and removes `closed`, in one transaction.
    async fn save_incidents(&self, open: &[OpenIncident], closed: &[OpenIncident]) -> Result<(), StoreError>;
}
