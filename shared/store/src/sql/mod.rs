//! The model store: the source of truth. One implementation over sqlx's
//! `Any` driver serves both PostgreSQL and the embedded SQLite file; the
//! queries are written in the SQL both understand. Beside the models (this
//! file): their deletion (`delete`), the prediction history
//! (`predictions`), the stream's log, states and anomalies (`stream`), the
//! points it judged (`stream_points`), and the webhooks with their
//! deliveries (`webhooks`).

mod delete;
mod labels;
mod mutes;
mod predictions;
mod statements;
pub(crate) mod stream;
mod stream_points;
mod webhooks;

use crate::model_json::{self, StoredParts};
use crate::ports::models::{ModelStore, OwedSeries, SeriesSort, SeriesSortKey, TrainingPoints};
use crate::{StoreError, training_codec};
use anomaly_core::{ModelParams, ModelRecord, ModelVersion, SeriesId, TrainingSeries};
use async_trait::async_trait;
use delete::first_version_after_deletion;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, AssertSqlSafe, Row};
use std::collections::HashSet;
use std::time::Duration;

pub(crate) use crate::clock::unix_millis;

/// Series ids per `WHERE series_id IN (...)` statement.
pub(crate) const IDS_PER_STATEMENT: usize = 1000;

/// PostgreSQL ends a session of ours that sits this long inside a
/// transaction without sending anything: a stalled process (paused, swapped
/// out, stuck) would otherwise hold its row locks for good, and every other
/// process's delete, history write or checkpoint of those rows would wait
/// with it. Our transactions send their statements back to back.
const STALLED_TRANSACTION_TIMEOUT: &str = "60s";

/// [`ModelStore`] on PostgreSQL or SQLite.
#[derive(Debug, Clone)]
pub struct SqlModelStore {
    pub(crate) pool: AnyPool,
    pub(crate) backend: &'static str,
    /// The Unix days whose point partitions this process knows exist.
    pub(crate) point_days: std::sync::Arc<std::sync::Mutex<HashSet<i64>>>,
}

impl SqlModelStore {
    /// Connects to `url` (`postgres://…` or `sqlite://…`) and applies the
    /// migrations of that backend.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") { "sqlite" } else { "postgres" };
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(Duration::from_secs(5))
            .after_connect(move |connection, _| {
                Box::pin(async move {
                    if backend == "postgres" {
                        let set = format!("SET idle_in_transaction_session_timeout = '{STALLED_TRANSACTION_TIMEOUT}'");
                        sqlx::query(AssertSqlSafe(set)).execute(connection).await?;
                    }
                    Ok(())
                })
            })
            .connect(url)
            .await?;
        if backend == "sqlite" {
            // WAL lets readers go on while a fit writes; it persists in the file.
            sqlx::query("PRAGMA journal_mode = WAL").execute(&pool).await?;
            sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        } else {
            sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        }
        Ok(Self { pool, backend, point_days: Default::default() })
    }

    /// The embedded default: a SQLite file at `path`, created when missing.
    pub async fn open_sqlite_file(path: &std::path::Path, max_connections: u32) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Database(sqlx::Error::Io(e)))?;
        }
        Self::connect(&format!("sqlite://{}?mode=rwc", path.display()), max_connections).await
    }
}

/// The column the series list is sorted on for `key`.
fn sort_column(key: SeriesSortKey) -> &'static str {
    match key {
        SeriesSortKey::SeriesId => "series_id",
        SeriesSortKey::Version => "latest_version",
        SeriesSortKey::PointsUsed => "points_used",
        SeriesSortKey::TrainedAt => "trained_at_ms",
    }
}

/// Series at least this long are packed off the async workers.
const BLOCKING_PACK_POINTS: usize = 50_000;

/// The columns of `models` in the order the queries use, as a literal so
/// the SQL stays a `&'static str` (sqlx refuses strings built at run time).
macro_rules! model_columns {
    () => {
        "series_id, version, mean, std, threshold, direction, points_used, trained_at_ms, kind, params"
    };
}

#[async_trait]
impl ModelStore for SqlModelStore {
    #[tracing::instrument(skip(self, params, training), fields(points = training.len()))]
    async fn insert_next_version(
        &self,
        series_id: &SeriesId,
        params: &ModelParams,
        training: TrainingSeries,
    ) -> Result<ModelRecord, StoreError> {
        let trained_at_ms = unix_millis();
        let points = training.len();
        let pack = move || training_codec::pack(training.timestamps(), training.values());
        let blob = if points >= BLOCKING_PACK_POINTS { tokio::task::spawn_blocking(pack).await? } else { pack() };
        let mut tx = self.pool.begin().await?;
        let version: i64 = sqlx::query(
            "INSERT INTO series (series_id, latest_version, trained_at_ms, points_used) VALUES ($1, 1, $2, $3) \
             ON CONFLICT (series_id) DO UPDATE SET latest_version = series.latest_version + 1, \
             trained_at_ms = excluded.trained_at_ms, points_used = excluded.points_used \
             RETURNING latest_version",
        )
        .bind(series_id.as_str())
        .bind(trained_at_ms)
        .bind(params.points_used as i64)
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
        let version = if version == 1 { first_version_after_deletion(&mut tx, series_id).await? } else { version };
        sqlx::query(concat!(
            "INSERT INTO models (",
            model_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        ))
        .bind(series_id.as_str())
        .bind(version)
        .bind(params.mean)
        .bind(params.std)
        .bind(params.threshold())
        .bind(params.direction().as_str())
        .bind(params.points_used as i64)
        .bind(trained_at_ms)
        .bind(params.model.kind())
        .bind(model_json::encode_model(&params.model))
        .execute(&mut *tx)
        .await?;
        sqlx::query("INSERT INTO training_data (series_id, version, points) VALUES ($1, $2, $3)")
            .bind(series_id.as_str())
            .bind(version)
            .bind(blob)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO cache_repairs (series_id, version, since_ms) VALUES ($1, $2, $3) \
             ON CONFLICT (series_id) DO UPDATE SET version = excluded.version",
        )
        .bind(series_id.as_str())
        .bind(version)
        .bind(trained_at_ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(ModelRecord {
            series_id: series_id.clone(),
            version: to_version(version)?,
            params: params.clone(),
            trained_at_ms,
        })
    }

    #[tracing::instrument(skip(self))]
    async fn model(
        &self,
        series_id: &SeriesId,
        version: Option<ModelVersion>,
    ) -> Result<Option<ModelRecord>, StoreError> {
        let row = match version {
            Some(v) => {
                sqlx::query(concat!("SELECT ", model_columns!(), " FROM models WHERE series_id = $1 AND version = $2"))
                    .bind(series_id.as_str())
                    .bind(i64::from(v.number()))
                    .fetch_optional(&self.pool)
                    .await?
            }
            None => {
                sqlx::query(concat!(
                    "SELECT ",
                    model_columns!(),
                    " FROM models WHERE series_id = $1 ORDER BY version DESC LIMIT 1"
                ))
                .bind(series_id.as_str())
                .fetch_optional(&self.pool)
                .await?
            }
        };
        row.map(|r| record_from_row(&r)).transpose()
    }

    #[tracing::instrument(skip(self))]
    async fn latest_models(
        &self,
        filter: Option<&str>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<ModelRecord>, StoreError> {
        if matches_nothing(filter) {
            return Ok(Vec::new());
        }
        let pattern = filter.map(like_pattern);
        let rows = sqlx::query(concat!(
            "SELECT ",
            model_columns!(),
            " FROM models WHERE (series_id, version) IN (SELECT series_id, latest_version FROM series",
            " WHERE series_id > $1 AND lower(series_id) LIKE lower($2) ESCAPE '\\' ORDER BY series_id LIMIT $3)"
        ))
        .bind(after.unwrap_or(""))
        .bind(pattern.unwrap_or_else(|| "%".to_owned()))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        let mut records = rows.iter().map(record_from_row).collect::<Result<Vec<_>, _>>()?;
        // Byte order, as the page was chosen (the models table's own
        // collation may differ in PostgreSQL).
        records.sort_by(|a, b| a.series_id.as_str().cmp(b.series_id.as_str()));
        Ok(records)
    }

    #[tracing::instrument(skip(self))]
    async fn series_page(
        &self,
        filter: Option<&str>,
        sort: SeriesSort,
        offset: u64,
        limit: u32,
    ) -> Result<(Vec<ModelRecord>, u64), StoreError> {
        if matches_nothing(filter) {
            return Ok((Vec::new(), 0));
        }
        let pattern = filter.filter(|f| !f.is_empty()).map(like_pattern);
        let condition = if pattern.is_some() { "WHERE lower(s.series_id) LIKE lower($1) ESCAPE '\\'" } else { "" };
        let (column, direction) = (sort_column(sort.key), if sort.descending { "DESC" } else { "ASC" });
        // Both databases take a signed 64-bit OFFSET; anything past it is past the end anyway.
        let offset = offset.min(i64::MAX as u64);
        // The page is chosen on the series table alone (an index scan on the
        // sort column), then joined to the 50 or so models it names.
        // The subquery's columns are named apart (id, v, k), so the model
        // columns need no table prefix.
        let columns = model_columns!();
        let page_sql = format!(
            "SELECT {columns} FROM (SELECT s.series_id AS id, s.latest_version AS v, s.{column} AS k \
             FROM series s {condition} ORDER BY s.{column} {direction}, s.series_id {direction} \
             LIMIT {limit} OFFSET {offset}) p JOIN models m ON m.series_id = p.id AND m.version = p.v \
             ORDER BY p.k {direction}, p.id {direction}"
        );
        let count_sql = format!("SELECT COUNT(*) FROM series s {condition}");
        let mut page = sqlx::query(sqlx::AssertSqlSafe(page_sql));
        let mut count = sqlx::query(sqlx::AssertSqlSafe(count_sql));
        if let Some(pattern) = &pattern {
            page = page.bind(pattern.clone());
            count = count.bind(pattern.clone());
        }
        let rows = page.fetch_all(&self.pool).await?;
        let total: i64 = count.fetch_one(&self.pool).await?.try_get(0)?;
        let records = rows.iter().map(record_from_row).collect::<Result<Vec<_>, _>>()?;
        Ok((records, total.max(0) as u64))
    }

    async fn version_count(&self) -> Result<u64, StoreError> {
        // Versions are gapless, from 1 or from after the last deleted one,
        // so the latest numbers less the deleted ones add up to the count.
        // (SUM of a BIGINT is NUMERIC in PostgreSQL, which sqlx's Any driver cannot read.)
        let count: Option<i64> = sqlx::query(
            "SELECT CAST(SUM(s.latest_version - COALESCE(d.last_version, 0)) AS BIGINT) \
             FROM series s LEFT JOIN deleted_series d ON d.series_id = s.series_id",
        )
        .fetch_one(&self.pool)
        .await?
        .try_get(0)?;
        Ok(count.unwrap_or(0).max(0) as u64)
    }

    #[tracing::instrument(skip(self))]
    async fn versions(&self, series_id: &SeriesId) -> Result<Vec<ModelRecord>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            model_columns!(),
            " FROM models WHERE series_id = $1 ORDER BY version DESC"
        ))
        .bind(series_id.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(record_from_row).collect()
    }

    #[tracing::instrument(skip(self))]
    async fn training_points(
        &self,
        series_id: &SeriesId,
        version: ModelVersion,
    ) -> Result<Option<TrainingPoints>, StoreError> {
        let row = sqlx::query("SELECT points FROM training_data WHERE series_id = $1 AND version = $2")
            .bind(series_id.as_str())
            .bind(i64::from(version.number()))
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let blob: Vec<u8> = row.try_get(0)?;
        let (timestamps, values) = training_codec::unpack(&blob)?;
        Ok(Some(TrainingPoints { timestamps, values }))
    }

    async fn fitted_among(&self, series: &[SeriesId]) -> Result<HashSet<SeriesId>, StoreError> {
        let mut fitted = HashSet::new();
        for chunk in series.chunks(IDS_PER_STATEMENT) {
            let sql = format!("SELECT DISTINCT series_id FROM models WHERE series_id IN {}", self.in_list(chunk.len()));
            let mut query = sqlx::query(AssertSqlSafe(sql));
            for series_id in chunk {
                query = query.bind(series_id.as_str());
            }
            for row in query.fetch_all(&self.pool).await? {
                let id: String = row.try_get(0)?;
                fitted.insert(parse_stored_id(&id)?);
            }
        }
        Ok(fitted)
    }

    async fn series_count(&self) -> Result<u64, StoreError> {
        let count: i64 = sqlx::query("SELECT COUNT(*) FROM series").fetch_one(&self.pool).await?.try_get(0)?;
        Ok(count.max(0) as u64)
    }

    async fn delete_series(&self, series_id: &SeriesId) -> Result<Option<ModelVersion>, StoreError> {
        self.delete_series_rows(series_id).await
    }

    async fn cache_repairs(&self, limit: u32) -> Result<Vec<OwedSeries>, StoreError> {
        let rows = sqlx::query("SELECT series_id, deleted_through FROM cache_repairs ORDER BY since_ms LIMIT $1")
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                let id: String = row.try_get(0)?;
                let deleted_through: Option<i64> = row.try_get(1)?;
                Ok(OwedSeries {
                    series_id: parse_stored_id(&id)?,
                    deleted_through: deleted_through.map(to_version).transpose()?,
                })
            })
            .collect()
    }

    async fn cache_repaired(&self, series_id: &SeriesId, version: ModelVersion) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM cache_repairs WHERE series_id = $1 AND version <= $2 AND deleted_through IS NULL")
            .bind(series_id.as_str())
            .bind(i64::from(version.number()))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn cache_forgotten(&self, series_id: &SeriesId, through: ModelVersion) -> Result<(), StoreError> {
        sqlx::query("UPDATE cache_repairs SET deleted_through = NULL WHERE series_id = $1 AND deleted_through <= $2")
            .bind(series_id.as_str())
            .bind(i64::from(through.number()))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    fn backend(&self) -> &'static str {
        self.backend
    }
}

/// Whether no series id can contain `filter`: it is longer than any id
/// (answered without a query: SQLite refuses LIKE patterns of 50,000 bytes).
fn matches_nothing(filter: Option<&str>) -> bool {
    filter.is_some_and(|f| f.len() > SeriesId::MAX_LEN)
}

/// A LIKE pattern matching ids that contain `text`. `_` is allowed in ids
/// and is a LIKE wildcard: escape it (and `%`, `\`).
fn like_pattern(text: &str) -> String {
    format!("%{}%", text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"))
}

fn record_from_row(row: &AnyRow) -> Result<ModelRecord, StoreError> {
    let series_id: String = row.try_get("series_id")?;
    let direction: String = row.try_get("direction")?;
    let params: String = row.try_get("params")?;
    let points_used: i64 = row.try_get("points_used")?;
    Ok(ModelRecord {
        series_id: parse_stored_id(&series_id)?,
        version: to_version(row.try_get("version")?)?,
        params: model_json::params_from_parts(StoredParts {
            mean: row.try_get("mean")?,
            std: row.try_get("std")?,
            threshold: row.try_get("threshold")?,
            direction: &direction,
            points_used: points_used.max(0) as u64,
            params: &params,
        })?,
        trained_at_ms: row.try_get("trained_at_ms")?,
    })
}

/// A series id read back from the database.
pub(crate) fn parse_stored_id(text: &str) -> Result<SeriesId, StoreError> {
    SeriesId::parse(text).map_err(|e| StoreError::Corrupt(format!("series id {text}: {e}")))
}

pub(crate) fn to_version(raw: i64) -> Result<ModelVersion, StoreError> {
    u32::try_from(raw).ok().and_then(ModelVersion::new).ok_or_else(|| StoreError::Corrupt(format!("version {raw}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::Connection;

    /// A PostgreSQL session of ours ends a transaction left idle (needs the
    /// PostgreSQL of `make test`, `TEST_DATABASE_URL`).
    #[tokio::test]
    async fn postgres_sessions_end_a_stalled_transaction() {
        sqlx::any::install_default_drivers();
        let admin = std::env::var("TEST_DATABASE_URL").expect("TEST_DATABASE_URL (run `make test`)");
        let name = format!("store_session_{}", std::process::id());
        let mut conn = sqlx::AnyConnection::connect(&admin).await.expect("PostgreSQL");
        sqlx::raw_sql(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name}")))
            .execute(&mut conn)
            .await
            .expect("dropped");
        sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut conn).await.expect("created");
        let url = format!("{}/{name}", &admin[..admin.rfind('/').expect("a database in the URL")]);
        let store = SqlModelStore::connect(&url, 2).await.expect("connected");
        let setting: String = sqlx::query("SELECT current_setting('idle_in_transaction_session_timeout')")
            .fetch_one(&store.pool)
            .await
            .expect("read")
            .get(0);
        store.pool.close().await;
        sqlx::raw_sql(AssertSqlSafe(format!("DROP DATABASE {name}"))).execute(&mut conn).await.expect("dropped");
        assert_eq!(setting, "1min");
    }
}
