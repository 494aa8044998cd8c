//! Webhooks and their deliveries in the SQL database.

use crate::ports::stream::LogPosition;
use crate::ports::webhooks::{
    AttemptOutcome, ClaimedDelivery, Delivery, DeliveryQuery, NewDelivery, OpenIncident, Webhook, WebhookStore,
};
use crate::sql::statements::{optional_f64, read_optional_f64};
use crate::{SqlModelStore, StoreError};
use async_trait::async_trait;
use sqlx::Row;
use sqlx::any::AnyRow;

fn webhook(row: &AnyRow) -> Result<Webhook, StoreError> {
    Ok(Webhook {
        id: row.try_get("id")?,
        url: row.try_get("url")?,
        secret: row.try_get("secret")?,
        series_id: row.try_get("series_id")?,
        min_score: row.try_get("min_score")?,
        mode: row.try_get("mode")?,
        format: row.try_get("format")?,
        created_at_ms: row.try_get("created_at_ms")?,
    })
}

fn incident(row: &AnyRow) -> Result<OpenIncident, StoreError> {
    Ok(OpenIncident {
        webhook_id: row.try_get("webhook_id")?,
        series_id: row.try_get("series_id")?,
        first_anomaly: row.try_get("first_anomaly")?,
        opened_at_ms: row.try_get("opened_at_ms")?,
        last_at_ms: row.try_get("last_at_ms")?,
        anomalies: row.try_get::<i64, _>("anomalies")?.max(0) as u64,
        max_anomaly_score: read_optional_f64(row.try_get("max_anomaly_score")?),
        last: row.try_get("last_anomaly")?,
        last_entry: LogPosition::parse(&row.try_get::<String, _>("last_entry")?)
            .ok_or_else(|| StoreError::Corrupt("an incident's last feed entry".into()))?,
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

const WEBHOOK_COLUMNS: &str = "id, url, secret, series_id, min_score, mode, format, created_at_ms";
const DELIVERY_COLUMNS: &str = "id, webhook_id, status, attempts, last_error, last_status_code, payload, \
                                created_at_ms, next_attempt_ms, finished_at_ms";

#[async_trait]
impl WebhookStore for SqlModelStore {
    /// Registers `hook`.
    async fn create_webhook(&self, hook: &Webhook) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO webhooks (id, url, secret, series_id, min_score, mode, format, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&hook.id)
        .bind(&hook.url)
        .bind(&hook.secret)
        .bind(&hook.series_id)
        .bind(hook.min_score)
        .bind(&hook.mode)
        .bind(&hook.format)
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
        sqlx::query("DELETE FROM webhook_incidents WHERE webhook_id = $1").bind(id).execute(&mut *tx).await?;
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
    async fn webhook_feed_position(&self) -> Result<Option<LogPosition>, StoreError> {
        let row =
            sqlx::query("SELECT last_entry FROM webhook_feed_position WHERE id = 1").fetch_optional(&self.pool).await?;
        row.map(|row| row.try_get::<String, _>("last_entry")).transpose()?.map_or(Ok(None), |text| {
            LogPosition::parse(&text).map(Some).ok_or_else(|| StoreError::Corrupt(format!("feed position {text}")))
        })
    }

    /// Records that the feed up to `position` has been turned into deliveries.
    async fn set_webhook_feed_position(&self, position: LogPosition) -> Result<(), StoreError> {
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

    async fn open_incidents(&self) -> Result<Vec<OpenIncident>, StoreError> {
        sqlx::query(
            "SELECT webhook_id, series_id, first_anomaly, opened_at_ms, last_at_ms, anomalies, max_anomaly_score, \
             last_anomaly, last_entry FROM webhook_incidents ORDER BY opened_at_ms",
        )
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(incident)
        .collect()
    }

    async fn save_incidents(&self, open: &[OpenIncident], closed: &[OpenIncident]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for gone in closed {
            sqlx::query(
                "DELETE FROM webhook_incidents WHERE webhook_id = $1 AND series_id = $2 AND first_anomaly = $3",
            )
            .bind(&gone.webhook_id)
            .bind(&gone.series_id)
            .bind(&gone.first_anomaly)
            .execute(&mut *tx)
            .await?;
        }
        for incident in open {
            sqlx::query(
                "INSERT INTO webhook_incidents (webhook_id, series_id, first_anomaly, opened_at_ms, last_at_ms, \
                 anomalies, max_anomaly_score, last_anomaly, last_entry) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                 ON CONFLICT (webhook_id, series_id) DO UPDATE SET first_anomaly = excluded.first_anomaly, \
                 opened_at_ms = excluded.opened_at_ms, last_at_ms = excluded.last_at_ms, \
                 anomalies = excluded.anomalies, max_anomaly_score = excluded.max_anomaly_score, \
                 last_anomaly = excluded.last_anomaly, last_entry = excluded.last_entry",
            )
            .bind(&incident.webhook_id)
            .bind(&incident.series_id)
            .bind(&incident.first_anomaly)
            .bind(incident.opened_at_ms)
            .bind(incident.last_at_ms)
            .bind(i64::try_from(incident.anomalies).unwrap_or(i64::MAX))
            .bind(optional_f64(incident.max_anomaly_score))
            .bind(&incident.last)
            .bind(incident.last_entry.to_string())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
