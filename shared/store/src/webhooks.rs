//! Webhooks and their deliveries, in the SQL database: durable, so a
//! restarted monitor resumes pending deliveries, and leased, so one
//! delivery is attempted by one replica at a time. A delivery is one
//! anomaly for one webhook, unique by the anomaly's key: an anomaly
//! published twice (the feed is at least once) is delivered once.

use crate::stream::EntryId;
use crate::{SqlModelStore, StoreError};
use async_trait::async_trait;
use sqlx::Row;
use sqlx::any::AnyRow;

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
    /// When it was registered, Unix milliseconds.
    pub created_at_ms: i64,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("id", &self.id)
            .field("url", &self.url)
            .field("secret", &crate::redacted(true))
            .field("series_id", &self.series_id)
            .field("min_score", &self.min_score)
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

fn webhook(row: &AnyRow) -> Result<Webhook, StoreError> {
    Ok(Webhook {
        id: row.try_get("id")?,
        url: row.try_get("url")?,
        secret: row.try_get("secret")?,
        series_id: row.try_get("series_id")?,
        min_score: row.try_get("min_score")?,
        created_at_ms: row.try_get("created_at_ms")?,
    })
}

fn delivery(row: &AnyRow) -> Result<Delivery, StoreError> {
    Ok(Delivery {
        id: row.try_get("id")?,
        webhook_id: row.try_get("webhook_id")?,
        status: row.try_get("status")?,
        attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX),
        last_error: row.try_get("last_error")?,
        last_status_code: row.try_get::<Option<i64>, _>("last_status_code")?.and_then(|c| u16::try_from(c).ok()),
        payload: row.try_get("payload")?,
        created_at_ms: row.try_get("created_at_ms")?,
        next_attempt_ms: row.try_get("next_attempt_ms")?,
        finished_at_ms: row.try_get("finished_at_ms")?,
    })
}

const WEBHOOK_COLUMNS: &str = "id, url, secret, series_id, min_score, created_at_ms";
const DELIVERY_COLUMNS: &str = "id, webhook_id, status, attempts, last_error, last_status_code, payload, \
                                created_at_ms, next_attempt_ms, finished_at_ms";

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
    async fn webhook_feed_position(&self) -> Result<Option<EntryId>, StoreError>;

    /// Records that the feed up to `position` has been turned into deliveries.
    async fn set_webhook_feed_position(&self, position: EntryId) -> Result<(), StoreError>;

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
}

#[async_trait]
impl WebhookStore for SqlModelStore {
    /// Registers `hook`.
    async fn create_webhook(&self, hook: &Webhook) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO webhooks (id, url, secret, series_id, min_score, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&hook.id)
        .bind(&hook.url)
        .bind(&hook.secret)
        .bind(&hook.series_id)
        .bind(hook.min_score)
        .bind(hook.created_at_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Every webhook, oldest first.
    async fn webhooks(&self) -> Result<Vec<Webhook>, StoreError> {
        let sql = format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks ORDER BY created_at_ms, id");
        sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&self.pool).await?.iter().map(webhook).collect()
    }

    /// One webhook.
    async fn webhook(&self, id: &str) -> Result<Option<Webhook>, StoreError> {
        let sql = format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = $1");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(webhook)
            .transpose()
    }

    /// Removes a webhook and its deliveries; `false` if there was none.
    async fn delete_webhook(&self, id: &str) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM webhook_deliveries WHERE webhook_id = $1").bind(id).execute(&mut *tx).await?;
        let deleted = sqlx::query("DELETE FROM webhooks WHERE id = $1").bind(id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(deleted.rows_affected() > 0)
    }

    /// Creates `deliveries`, due now; one that exists (same webhook and
    /// anomaly) is left as it is. Returns how many were new.
    async fn enqueue_deliveries(&self, deliveries: &[NewDelivery], now_ms: i64) -> Result<u64, StoreError> {
        let mut created = 0;
        let mut tx = self.pool.begin().await?;
        for new in deliveries {
            created += sqlx::query(
                "INSERT INTO webhook_deliveries (id, webhook_id, anomaly_key, payload, status, attempts, \
                 next_attempt_ms, found_at_ms, created_at_ms) VALUES ($1, $2, $3, $4, 'pending', 0, $5, $6, $5) \
                 ON CONFLICT (webhook_id, anomaly_key) DO NOTHING",
            )
            .bind(&new.id)
            .bind(&new.webhook_id)
            .bind(&new.anomaly_key)
            .bind(&new.payload)
            .bind(now_ms)
            .bind(new.found_at_ms)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        tx.commit().await?;
        Ok(created)
    }

    /// How far the anomaly feed has been turned into deliveries.
    async fn webhook_feed_position(&self) -> Result<Option<EntryId>, StoreError> {
        let row =
            sqlx::query("SELECT last_entry FROM webhook_feed_position WHERE id = 1").fetch_optional(&self.pool).await?;
        row.map(|row| row.try_get::<String, _>("last_entry")).transpose()?.map_or(Ok(None), |text| {
            EntryId::parse(&text).map(Some).ok_or_else(|| StoreError::Corrupt(format!("feed position {text}")))
        })
    }

    /// Records that the feed up to `position` has been turned into deliveries.
    async fn set_webhook_feed_position(&self, position: EntryId) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO webhook_feed_position (id, last_entry) VALUES (1, $1) \
             ON CONFLICT (id) DO UPDATE SET last_entry = excluded.last_entry",
        )
        .bind(position.to_string())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

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
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        let mut hooks = sqlx::query("SELECT id, url, secret FROM webhooks ORDER BY created_at_ms, id")
            .fetch_all(&self.pool)
            .await?;
        // A different webhook goes first each round, so `limit` never
        // leaves the same ones waiting.
        if !hooks.is_empty() {
            let first = now_ms.rem_euclid(hooks.len() as i64) as usize;
            hooks.rotate_left(first);
        }
        let mut claimed = Vec::new();
        for hook in hooks {
            let room = i64::from(limit) - claimed.len() as i64;
            if room <= 0 {
                break;
            }
            let webhook_id: String = hook.try_get("id")?;
            // Served by the partial index of leased deliveries: cheap
            // however long the webhook's backlog is.
            let held: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM webhook_deliveries WHERE webhook_id = $1 AND lease_until_ms >= $2 \
                 AND status = 'pending'",
            )
            .bind(&webhook_id)
            .bind(now_ms)
            .fetch_one(&self.pool)
            .await?;
            let wanted = (i64::from(per_webhook) - held).min(room);
            if wanted <= 0 {
                continue;
            }
            // The oldest due ones, over the (webhook, status, next attempt)
            // index; the outer conditions are checked again as each row is
            // updated, so a delivery another replica took meanwhile is skipped.
            let taken = sqlx::query(
                "UPDATE webhook_deliveries SET lease_owner = $1, lease_until_ms = $2 WHERE id IN (SELECT id \
                 FROM webhook_deliveries WHERE webhook_id = $3 AND status = 'pending' AND next_attempt_ms <= $4 \
                 AND (lease_until_ms IS NULL OR lease_until_ms < $4) ORDER BY next_attempt_ms, id LIMIT $5) \
                 AND status = 'pending' AND next_attempt_ms <= $4 AND (lease_until_ms IS NULL OR lease_until_ms < $4) \
                 RETURNING id, payload, attempts, found_at_ms, next_attempt_ms",
            )
            .bind(owner)
            .bind(lease_until_ms)
            .bind(&webhook_id)
            .bind(now_ms)
            .bind(wanted)
            .fetch_all(&self.pool)
            .await?;
            let mut taken = taken
                .iter()
                .map(|row| {
                    let delivery = ClaimedDelivery {
                        id: row.try_get("id")?,
                        webhook_id: webhook_id.clone(),
                        url: hook.try_get("url")?,
                        secret: hook.try_get("secret")?,
                        payload: row.try_get("payload")?,
                        attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX),
                        found_at_ms: row.try_get("found_at_ms")?,
                    };
                    Ok((row.try_get::<i64, _>("next_attempt_ms")?, delivery))
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            // RETURNING keeps no order: the oldest due are attempted first.
            taken.sort_by(|a, b| (a.0, &a.1.id).cmp(&(b.0, &b.1.id)));
            claimed.extend(taken.into_iter().map(|(_, delivery)| delivery));
        }
        Ok(claimed)
    }

    /// Records attempts of deliveries `owner` holds (delivery id and
    /// outcome), in one transaction; per attempt, `false` if `owner` no
    /// longer holds it (its lease ran out and another replica took it).
    async fn finish_attempts(
        &self,
        owner: &str,
        attempts: &[(String, AttemptOutcome)],
        now_ms: i64,
    ) -> Result<Vec<bool>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let mut recorded = Vec::with_capacity(attempts.len());
        for (id, outcome) in attempts {
            let (status, next_attempt_ms, error, status_code, finished) = match outcome {
                AttemptOutcome::Delivered { status_code } => {
                    ("delivered", now_ms, None, Some(*status_code), Some(now_ms))
                }
                AttemptOutcome::Retry { next_attempt_ms, error, status_code } => {
                    ("pending", *next_attempt_ms, Some(error.as_str()), *status_code, None)
                }
                AttemptOutcome::Failed { error, status_code } => {
                    ("failed", now_ms, Some(error.as_str()), *status_code, Some(now_ms))
                }
            };
            let updated = sqlx::query(
                "UPDATE webhook_deliveries SET status = $1, attempts = attempts + 1, next_attempt_ms = $2, \
                 last_error = $3, last_status_code = $4, finished_at_ms = $5, lease_owner = NULL, \
                 lease_until_ms = NULL WHERE id = $6 AND lease_owner = $7",
            )
            .bind(status)
            .bind(next_attempt_ms)
            .bind(error)
            .bind(status_code.map(i64::from))
            .bind(finished)
            .bind(id)
            .bind(owner)
            .execute(&mut *tx)
            .await?;
            recorded.push(updated.rows_affected() > 0);
        }
        tx.commit().await?;
        Ok(recorded)
    }

    /// Deliveries, newest first.
    async fn deliveries(&self, query: DeliveryQuery<'_>) -> Result<Vec<Delivery>, StoreError> {
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE ($1 IS NULL OR webhook_id = $1) \
             AND ($2 IS NULL OR status = $2) ORDER BY created_at_ms DESC, id DESC LIMIT $3"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(query.webhook_id)
            .bind(query.status)
            .bind(i64::from(query.limit))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(delivery)
            .collect()
    }
}
