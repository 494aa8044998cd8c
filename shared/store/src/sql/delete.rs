//! Deleting a series from the database: its versions, training points,
//! prediction history, stream state, stream anomalies and stream points, in one
//! transaction. The last version is remembered in `deleted_series`, so a
//! series fitted again continues after it: a version number never names two
//! different models, and a cache that missed the delete can never serve an
//! old model for a new version. The delete is also owed to the shared cache
//! and the replicas (the `cache_repairs` outbox, `deleted_through`) until
//! [`crate::Backends::announce_deleted`] has told them.

use super::{SqlModelStore, to_version, unix_millis};
use crate::StoreError;
use anomaly_core::{ModelVersion, SeriesId};
use sqlx::{Any, Row, Transaction};

/// What a delete removes besides the version counter and the outbox row,
/// children before parents.
const SERIES_TABLES: [&str; 8] = [
    "training_data",
    "models",
    "series",
    "predictions",
    "series_activity",
    "stream_series",
    "anomalies",
    "stream_points",
];

impl SqlModelStore {
    /// Removes everything stored about `series_id`; its last version, or
    /// `None` when it has no model (then nothing is removed).
    pub(crate) async fn delete_series_rows(&self, series_id: &SeriesId) -> Result<Option<ModelVersion>, StoreError> {
        let mut tx = self.pool.begin().await?;
        // Locks the series row first (a no-op update, which both databases
        // take as a write): a fit in flight commits before the deletes
        // below read, so none of its rows is left behind.
        let last: Option<i64> = sqlx::query(
            "UPDATE series SET latest_version = latest_version WHERE series_id = $1 RETURNING latest_version",
        )
        .bind(series_id.as_str())
        .fetch_optional(&mut *tx)
        .await?
        .map(|row| row.try_get(0))
        .transpose()?;
        let Some(last) = last else { return Ok(None) };
        for table in SERIES_TABLES {
            let delete = format!("DELETE FROM {table} WHERE series_id = $1");
            sqlx::query(sqlx::AssertSqlSafe(delete)).bind(series_id.as_str()).execute(&mut *tx).await?;
        }
        sqlx::query(
            "INSERT INTO deleted_series (series_id, last_version) VALUES ($1, $2) \
             ON CONFLICT (series_id) DO UPDATE SET last_version = excluded.last_version",
        )
        .bind(series_id.as_str())
        .bind(last)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO cache_repairs (series_id, version, since_ms, deleted_through) VALUES ($1, $2, $3, $2) \
             ON CONFLICT (series_id) DO UPDATE SET version = excluded.version, deleted_through = excluded.deleted_through",
        )
        .bind(series_id.as_str())
        .bind(last)
        .bind(unix_millis())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(to_version(last)?))
    }
}

/// The version a fit stores when the series row was just created as
/// version 1: after the last version of a deleted series of that id, if
/// any. Runs in the fit's transaction, in a statement of its own so that
/// it sees a delete committed while the fit waited for the series row.
pub(crate) async fn first_version_after_deletion(
    tx: &mut Transaction<'static, Any>,
    series_id: &SeriesId,
) -> Result<i64, StoreError> {
    let deleted: Option<i64> = sqlx::query("SELECT last_version FROM deleted_series WHERE series_id = $1")
        .bind(series_id.as_str())
        .fetch_optional(&mut **tx)
        .await?
        .map(|row| row.try_get(0))
        .transpose()?;
    let Some(last) = deleted else { return Ok(1) };
    sqlx::query("UPDATE series SET latest_version = $2 WHERE series_id = $1")
        .bind(series_id.as_str())
        .bind(last + 1)
        .execute(&mut **tx)
        .await?;
    Ok(last + 1)
}
