//! [`MuteStore`] on the database: the `mutes` table.

use super::SqlModelStore;
use crate::StoreError;
use crate::ports::mutes::{Mute, MuteStore};
use async_trait::async_trait;
use sqlx::Row;
use sqlx::any::AnyRow;

fn mute(row: &AnyRow) -> Result<Mute, StoreError> {
    Ok(Mute {
        id: row.try_get("id")?,
        series_id: row.try_get("series_id")?,
        from: row.try_get("from_s")?,
        to: row.try_get("to_s")?,
        reason: row.try_get("reason")?,
        created_at_ms: row.try_get("created_at_ms")?,
    })
}

#[async_trait]
impl MuteStore for SqlModelStore {
    async fn create_mute(&self, mute: &Mute) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO mutes (id, series_id, from_s, to_s, reason, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&mute.id)
        .bind(&mute.series_id)
        .bind(mute.from)
        .bind(mute.to)
        .bind(&mute.reason)
        .bind(mute.created_at_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn mutes(&self) -> Result<Vec<Mute>, StoreError> {
        sqlx::query("SELECT id, series_id, from_s, to_s, reason, created_at_ms FROM mutes ORDER BY to_s DESC, id")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(mute)
            .collect()
    }

    async fn end_mute(&self, id: &str, now: i64) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let removed =
            sqlx::query("DELETE FROM mutes WHERE id = $1 AND from_s > $2").bind(id).bind(now).execute(&mut *tx).await?;
        let ended = sqlx::query("UPDATE mutes SET to_s = CASE WHEN to_s > $2 THEN $2 ELSE to_s END WHERE id = $1")
            .bind(id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(removed.rows_affected() + ended.rows_affected() > 0)
    }
}
