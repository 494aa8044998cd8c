//! The stream's SQL side: [`StreamStore`] on the model store's database, and
//! [`SqlPointLog`], the partitioned log in the `stream_log` table that the
//! embedded default (and a deployment without Redis) streams through.

use super::statements::{RowsStatement, optional_f64, read_optional_f64};
use super::{IDS_PER_STATEMENT, parse_stored_id, to_version};
use crate::ports::stream::{
    AnomalyQuery, Checkpoint, LogEntry, LogPosition, PointLog, SeriesStream, StreamAnomaly, StreamMinute, StreamPoint,
    StreamStore, decode_points, encode_points,
};
use crate::{SqlModelStore, StoreError};
use anomaly_core::{Model, SeriesId};
use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::{AnyPool, AssertSqlSafe, Row};
use std::fmt::Write;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// The log in the `stream_log` table. Appends to one partition are
/// serialised (PostgreSQL: an advisory lock per partition, SQLite: its
/// single writer), so ids commit in order and a reader never skips one.
#[derive(Clone)]
pub struct SqlPointLog {
    store: SqlModelStore,
    partitions: u32,
    appended: Arc<Notify>,
}

impl SqlPointLog {
    /// A log of `partitions` partitions in `store`'s database.
    pub fn new(store: SqlModelStore, partitions: u32) -> Self {
        Self { store, partitions: partitions.max(1), appended: Arc::new(Notify::new()) }
    }

    fn pool(&self) -> &AnyPool {
        &self.store.pool
    }
}

#[async_trait]
impl PointLog for SqlPointLog {
    fn partitions(&self) -> u32 {
        self.partitions
    }

    fn ids_are_times(&self) -> bool {
        false
    }

    async fn append(&self, partition: u32, points: &[StreamPoint]) -> Result<LogPosition, StoreError> {
        let mut tx = self.pool().begin().await?;
        if self.store.backend == "postgres" {
            sqlx::query("SELECT CAST(pg_advisory_xact_lock(8317, $1) AS TEXT)")
                .bind(i32::try_from(partition).unwrap_or(i32::MAX))
                .execute(&mut *tx)
                .await?;
        }
        let id: i64 = sqlx::query("INSERT INTO stream_log (partition, points) VALUES ($1, $2) RETURNING id")
            .bind(i64::from(partition))
            .bind(encode_points(points))
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
        tx.commit().await?;
        self.appended.notify_waiters();
        Ok(LogPosition { major: id.max(0) as u64, minor: 0 })
    }

    async fn read_after(&self, partition: u32, after: LogPosition, count: usize) -> Result<Vec<LogEntry>, StoreError> {
        let rows =
            sqlx::query("SELECT id, points FROM stream_log WHERE partition = $1 AND id > $2 ORDER BY id LIMIT $3")
                .bind(i64::from(partition))
                .bind(i64::try_from(after.major).unwrap_or(i64::MAX))
                .bind(i64::try_from(count).unwrap_or(i64::MAX))
                .fetch_all(self.pool())
                .await?;
        rows.iter()
            .map(|row| {
                let id: i64 = row.try_get(0)?;
                let text: String = row.try_get(1)?;
                let (points, malformed) = decode_points(&text);
                Ok(LogEntry { id: LogPosition { major: id.max(0) as u64, minor: 0 }, points, malformed })
            })
            .collect()
    }

    /// Appends of this process wake the waiter at once; another process's
    /// are seen after `timeout` (a deployment of several processes uses Redis).
    async fn wait_for_appends(&self, _positions: &[(u32, LogPosition)], timeout: Duration) {
        let _ = tokio::time::timeout(timeout, self.appended.notified()).await;
    }

    async fn acknowledge(&self, partition: u32, upto: LogPosition) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM stream_log WHERE partition = $1 AND id <= $2")
            .bind(i64::from(partition))
            .bind(i64::try_from(upto.major).unwrap_or(i64::MAX))
            .execute(self.pool())
            .await?;
        Ok(())
    }

    async fn entries_after(&self, partition: u32, after: LogPosition) -> Result<u64, StoreError> {
        let count: i64 = sqlx::query("SELECT COUNT(*) FROM stream_log WHERE partition = $1 AND id > $2")
            .bind(i64::from(partition))
            .bind(i64::try_from(after.major).unwrap_or(i64::MAX))
            .fetch_one(self.pool())
            .await?
            .try_get(0)?;
        Ok(count.max(0) as u64)
    }
}

#[async_trait]
impl StreamStore for SqlModelStore {
    async fn partition_position(&self, log: &str, partition: u32) -> Result<(LogPosition, u64), StoreError> {
        let row = sqlx::query("SELECT last_entry, epoch FROM stream_positions WHERE log = $1 AND partition = $2")
            .bind(log)
            .bind(i64::from(partition))
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok((LogPosition::START, 0)) };
        let (text, epoch): (String, i64) = (row.try_get(0)?, row.try_get(1)?);
        let entry = LogPosition::parse(&text).ok_or_else(|| StoreError::Corrupt(format!("stream position {text}")))?;
        Ok((entry, epoch.max(0) as u64))
    }

    async fn series_stream(&self, series_id: &SeriesId) -> Result<Option<SeriesStream>, StoreError> {
        let row = sqlx::query(
            "SELECT series_id, version, state, last_ts, last_value, points, anomalies, late, updated_ms \
             FROM stream_series WHERE series_id = $1",
        )
        .bind(series_id.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| series_from_row(&r)).transpose()
    }

    async fn series_streams(&self, series: &[SeriesId]) -> Result<Vec<SeriesStream>, StoreError> {
        let mut found = Vec::new();
        for chunk in series.chunks(IDS_PER_STATEMENT) {
            let sql = format!(
                "SELECT series_id, version, state, last_ts, last_value, points, anomalies, late, updated_ms \
                 FROM stream_series WHERE series_id IN {}",
                self.in_list(chunk.len())
            );
            let mut query = sqlx::query(AssertSqlSafe(sql));
            for series_id in chunk {
                query = query.bind(series_id.as_str());
            }
            for row in query.fetch_all(&self.pool).await? {
                found.push(series_from_row(&row)?);
            }
        }
        Ok(found)
    }

    #[tracing::instrument(skip_all, fields(partition = checkpoint.partition, series = checkpoint.series.len()))]
    async fn commit(&self, checkpoint: &Checkpoint) -> Result<bool, StoreError> {
        self.prepare_point_days(&checkpoint.judged).await?;
        let mut tx = self.pool.begin().await?;
        let moved = sqlx::query(
            "INSERT INTO stream_positions (log, partition, last_entry, epoch) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (log, partition) DO UPDATE SET last_entry = excluded.last_entry, epoch = excluded.epoch \
             WHERE stream_positions.epoch <= excluded.epoch",
        )
        .bind(checkpoint.log.as_str())
        .bind(i64::from(checkpoint.partition))
        .bind(checkpoint.last_entry.to_string())
        .bind(i64::try_from(checkpoint.epoch).unwrap_or(i64::MAX))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if moved == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        let upsert = RowsStatement {
            head: "INSERT INTO stream_series (series_id, version, state, last_ts, last_value, points, anomalies, late, \
                   updated_ms) VALUES ",
            columns: 9,
            tail: " ON CONFLICT (series_id) DO UPDATE SET version = excluded.version, state = excluded.state, \
                   last_ts = excluded.last_ts, last_value = excluded.last_value, points = excluded.points, \
                   anomalies = excluded.anomalies, late = excluded.late, updated_ms = excluded.updated_ms",
        };
        self.insert_rows(&mut tx, upsert, &checkpoint.series, |upsert, series| {
            upsert
                .bind(series.series_id.as_str())
                .bind(series.version.map_or(0, |v| i64::from(v.number())))
                .bind(serde_json::to_string(&series.model).unwrap_or_default())
                .bind(series.last_point.map(|p| p.0))
                .bind(optional_f64(series.last_point.map(|p| p.1)))
                .bind(series.points as i64)
                .bind(series.anomalies as i64)
                .bind(series.late as i64)
                .bind(series.updated_ms)
        })
        .await?;
        let insert = RowsStatement {
            head: "INSERT INTO anomalies (series_id, ts, value, score, anomaly_score, detector, version, recorded_at_ms) \
                   VALUES ",
            columns: 8,
            tail: " ON CONFLICT (series_id, ts, detector, version) DO NOTHING",
        };
        self.insert_rows(&mut tx, insert, &checkpoint.anomalies, |insert, anomaly| {
            insert
                .bind(anomaly.series_id.as_str())
                .bind(anomaly.timestamp)
                .bind(anomaly.value)
                .bind(optional_f64(anomaly.score))
                .bind(optional_f64(anomaly.anomaly_score))
                .bind(anomaly.detector.as_str())
                .bind(anomaly.version.map_or(0, |v| i64::from(v.number())))
                .bind(anomaly.recorded_at_ms)
        })
        .await?;
        self.write_points(&mut tx, &checkpoint.judged).await?;
        if checkpoint.points > 0 {
            sqlx::query(
                "INSERT INTO stream_minutes (minute, log, partition, points, anomalies) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (minute, log, partition) DO UPDATE SET points = stream_minutes.points + excluded.points, \
                 anomalies = stream_minutes.anomalies + excluded.anomalies",
            )
            .bind(checkpoint.minute)
            .bind(checkpoint.log.as_str())
            .bind(i64::from(checkpoint.partition))
            .bind(i64::try_from(checkpoint.points).unwrap_or(i64::MAX))
            .bind(checkpoint.anomalies.len() as i64)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn record_lag(&self, log: &str, partitions: &[(u32, u64)], minute: i64) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM stream_minutes WHERE minute < $1")
            .bind(minute - crate::MINUTES_KEPT)
            .execute(&mut *tx)
            .await?;
        for &(partition, lag) in partitions {
            sqlx::query(
                "INSERT INTO stream_minutes (minute, log, partition, lag_entries) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (minute, log, partition) DO UPDATE SET lag_entries = CASE \
                 WHEN excluded.lag_entries > stream_minutes.lag_entries THEN excluded.lag_entries \
                 ELSE stream_minutes.lag_entries END",
            )
            .bind(minute)
            .bind(log)
            .bind(i64::from(partition))
            .bind(i64::try_from(lag).unwrap_or(i64::MAX))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn stream_minutes(&self, since_minute: i64) -> Result<Vec<StreamMinute>, StoreError> {
        let rows = sqlx::query(
            "SELECT minute, CAST(SUM(points) AS BIGINT) AS points, CAST(SUM(anomalies) AS BIGINT) AS anomalies, \
             MAX(lag_entries) AS lag_entries \
             FROM stream_minutes WHERE minute >= $1 GROUP BY minute ORDER BY minute",
        )
        .bind(since_minute)
        .fetch_all(&self.pool)
        .await?;
        let count = |row: &sqlx::any::AnyRow, column: &str| -> Result<u64, StoreError> {
            Ok(u64::try_from(row.try_get::<i64, _>(column)?).unwrap_or(0))
        };
        rows.iter()
            .map(|row| {
                Ok(StreamMinute {
                    minute: row.try_get("minute")?,
                    points: count(row, "points")?,
                    anomalies: count(row, "anomalies")?,
                    lag_entries: count(row, "lag_entries")?,
                })
            })
            .collect()
    }

    async fn stream_anomalies(&self, query: &AnomalyQuery) -> Result<Vec<StreamAnomaly>, StoreError> {
        let mut sql = String::from(
            "SELECT series_id, ts, value, score, anomaly_score, detector, version, recorded_at_ms, label, label_note, \
             labelled_at_ms FROM anomalies WHERE 1 = 1",
        );
        let conditions = [
            (query.series_id.is_some(), "series_id ="),
            (query.from.is_some(), "ts >="),
            (query.to.is_some(), "ts <="),
        ];
        self.push_conditions(&mut sql, 0, &conditions);
        sql.push_str(super::labels::label_condition(query.label));
        let _ = write!(sql, " ORDER BY ts DESC, id DESC LIMIT {}", query.limit);
        let mut select = sqlx::query(AssertSqlSafe(sql));
        if let Some(series_id) = &query.series_id {
            select = select.bind(series_id.as_str());
        }
        for bound in [query.from, query.to].into_iter().flatten() {
            select = select.bind(bound);
        }
        let rows = select.fetch_all(&self.pool).await?;
        rows.iter().map(anomaly_from_row).collect()
    }
}

pub(super) fn optional_version(raw: i64) -> Result<Option<anomaly_core::ModelVersion>, StoreError> {
    if raw == 0 { Ok(None) } else { to_version(raw).map(Some) }
}

fn series_from_row(row: &AnyRow) -> Result<SeriesStream, StoreError> {
    let (series_id, state): (String, String) = (row.try_get("series_id")?, row.try_get("state")?);
    let model: Model = serde_json::from_str(&state).map_err(|e| StoreError::Corrupt(format!("stream state: {e}")))?;
    let (last_ts, last_value): (Option<i64>, Option<f64>) =
        (row.try_get("last_ts")?, read_optional_f64(row.try_get("last_value")?));
    let count = |name: &str| row.try_get::<i64, _>(name).map(|n| n.max(0) as u64);
    Ok(SeriesStream {
        series_id: parse_stored_id(&series_id)?,
        version: optional_version(row.try_get("version")?)?,
        model,
        last_point: last_ts.zip(last_value),
        points: count("points")?,
        anomalies: count("anomalies")?,
        late: count("late")?,
        updated_ms: row.try_get("updated_ms")?,
    })
}

fn anomaly_from_row(row: &AnyRow) -> Result<StreamAnomaly, StoreError> {
    let series_id: String = row.try_get("series_id")?;
    Ok(StreamAnomaly {
        series_id: parse_stored_id(&series_id)?,
        timestamp: row.try_get("ts")?,
        value: row.try_get("value")?,
        score: read_optional_f64(row.try_get("score")?),
        anomaly_score: read_optional_f64(row.try_get("anomaly_score")?),
        detector: row.try_get("detector")?,
        version: optional_version(row.try_get("version")?)?,
        recorded_at_ms: row.try_get("recorded_at_ms")?,
        label: super::labels::label_from_row(row)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ModelStore;
    use anomaly_core::{DetectorConfig, ModelParams, Threshold, TrainingSeries};

    fn id(n: usize) -> SeriesId {
        SeriesId::parse(&format!("s{n}")).expect("valid")
    }

    #[tokio::test]
    async fn many_series_are_read_in_chunks_of_one_statement() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqlModelStore::open_sqlite_file(&dir.path().join("s.db"), 2).await.expect("opened");
        let rolling = DetectorConfig::RollingZscore(anomaly_core::RollingZScoreParams {
            window: 5,
            threshold: Threshold::new(3.0).expect("valid"),
        });
        // 1,500 streamed series (more than one statement's worth of ids).
        let series = (0..1500)
            .map(|n| SeriesStream {
                series_id: id(n),
                version: None,
                model: rolling.start().expect("online"),
                last_point: Some((n as i64, 1.5)),
                points: 1,
                anomalies: 0,
                late: 0,
                updated_ms: 7,
            })
            .collect();
        let checkpoint = Checkpoint { log: "points".into(), partition: 0, epoch: 1, series, ..Default::default() };
        assert!(store.commit(&checkpoint).await.expect("committed"));
        let training = TrainingSeries::new(vec![1, 2, 3], vec![1.0, 2.0, 4.0], 1).expect("valid");
        let three_sigma = DetectorConfig::ThreeSigma(anomaly_core::ThreeSigmaParams {
            threshold: Threshold::new(3.0).expect("valid"),
            direction: Default::default(),
        });
        let params = ModelParams::fit(&three_sigma, &training).expect("fits");
        for fitted in [3, 1499, 2400] {
            store.insert_next_version(&id(fitted), &params, training.clone()).await.expect("stored");
        }

        let asked: Vec<SeriesId> = (0..2500).map(|n| id(n * 7 % 2500)).collect();
        let mut streamed = store.series_streams(&asked).await.expect("read");
        streamed.sort_by_key(|state| state.last_point.map(|(timestamp, _)| timestamp));
        assert_eq!(streamed.len(), 1500);
        assert_eq!(streamed[1234], store.series_stream(&id(1234)).await.expect("read").expect("stored"));
        assert_eq!(streamed[1234].last_point, Some((1234, 1.5)));
        let fitted = store.fitted_among(&asked).await.expect("read");
        assert_eq!(fitted, [3, 1499, 2400].into_iter().map(id).collect());
        assert!(store.series_streams(&[]).await.expect("read").is_empty());
        assert!(store.fitted_among(&[id(5)]).await.expect("read").is_empty());
    }
}
