//! [`PredictionHistory`] on the SQL store: batched multi-row inserts, and
//! counters upserted in key order (so concurrent writers never deadlock).
//! SQLite gets anonymous `?` placeholders in the long statements: sqlx looks
//! each numbered `$N` up by name, which is quadratic in their number.

use super::statements::{RowsStatement, optional_f64, read_optional_f64};
use super::{parse_stored_id, to_version};
use crate::ports::latency_log::current_minute;
use crate::{
    MinuteActivity, PredictionBatch, PredictionHistory, PredictionQuery, PredictionRecord, SeriesActivity,
    SqlModelStore, StoreError,
};
use anomaly_core::SeriesId;
use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};
use std::collections::HashMap;
use std::fmt::Write;

/// Per-minute prediction counters are kept this many minutes.
const ACTIVITY_MINUTES_KEPT: i64 = 24 * 60;

#[async_trait]
impl PredictionHistory for SqlModelStore {
    #[tracing::instrument(skip_all, fields(rows = batch.rows.len()))]
    async fn append(&self, batch: &PredictionBatch) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        let head = "INSERT INTO predictions (series_id, version, ts, value, score, anomaly_score, anomaly, recorded_at_ms) \
                    VALUES ";
        self.insert_rows(&mut tx, RowsStatement { head, columns: 8, tail: "" }, &batch.rows, |insert, record| {
            insert
                .bind(record.series_id.as_str())
                .bind(i64::from(record.version.number()))
                .bind(record.timestamp)
                .bind(record.value)
                .bind(optional_f64(record.score))
                .bind(optional_f64(record.anomaly_score))
                .bind(record.anomaly)
                .bind(record.recorded_at_ms)
        })
        .await?;
        let per_series: Vec<_> = batch.per_series.iter().collect();
        let upsert = RowsStatement {
            head: "INSERT INTO series_activity (series_id, predictions, anomalies, last_predicted_ms) VALUES ",
            columns: 4,
            tail: " ON CONFLICT (series_id) DO UPDATE SET \
                   predictions = series_activity.predictions + excluded.predictions, \
                   anomalies = series_activity.anomalies + excluded.anomalies, \
                   last_predicted_ms = CASE WHEN excluded.last_predicted_ms > series_activity.last_predicted_ms \
                   THEN excluded.last_predicted_ms ELSE series_activity.last_predicted_ms END",
        };
        self.insert_rows(&mut tx, upsert, &per_series, |upsert, (series_id, activity)| {
            upsert
                .bind(series_id.as_str())
                .bind(activity.predictions as i64)
                .bind(activity.anomalies as i64)
                .bind(activity.last_predicted_ms)
        })
        .await?;
        let per_minute: Vec<_> = batch.per_minute.iter().collect();
        let upsert = RowsStatement {
            head: "INSERT INTO activity_minutes (minute, predictions, anomalies) VALUES ",
            columns: 3,
            tail: " ON CONFLICT (minute) DO UPDATE SET \
                   predictions = activity_minutes.predictions + excluded.predictions, \
                   anomalies = activity_minutes.anomalies + excluded.anomalies",
        };
        self.insert_rows(&mut tx, upsert, &per_minute, |upsert, (minute, (predictions, anomalies))| {
            upsert.bind(**minute).bind(*predictions as i64).bind(*anomalies as i64)
        })
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn prune(&self, keep: u64) -> Result<u64, StoreError> {
        let keep = i64::try_from(keep).unwrap_or(i64::MAX);
        let deleted = sqlx::query("DELETE FROM predictions WHERE id <= (SELECT MAX(id) FROM predictions) - $1")
            .bind(keep)
            .execute(&self.pool)
            .await?
            .rows_affected();
        let oldest_minute = current_minute() - ACTIVITY_MINUTES_KEPT;
        sqlx::query("DELETE FROM activity_minutes WHERE minute < $1").bind(oldest_minute).execute(&self.pool).await?;
        Ok(deleted)
    }

    #[tracing::instrument(skip(self))]
    async fn predictions(&self, query: &PredictionQuery) -> Result<Vec<PredictionRecord>, StoreError> {
        let mut sql = String::from(
            "SELECT series_id, version, ts, value, score, anomaly_score, recorded_at_ms, label, label_note, \
             labelled_at_ms, CAST(CASE WHEN anomaly THEN 1 ELSE 0 END AS BIGINT) AS anomaly FROM predictions WHERE 1 = 1",
        );
        let conditions = [
            (query.series_id.is_some(), "series_id ="),
            (query.from.is_some(), "ts >="),
            (query.to.is_some(), "ts <="),
        ];
        self.push_conditions(&mut sql, 0, &conditions);
        if query.anomalies_only {
            sql.push_str(" AND anomaly");
        }
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
        rows.iter().map(prediction_from_row).collect()
    }

    async fn series_activity(&self, series: &[SeriesId]) -> Result<Vec<SeriesActivity>, StoreError> {
        if series.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT series_id, predictions, anomalies, last_predicted_ms FROM series_activity WHERE series_id IN {}",
            self.in_list(series.len())
        );
        let mut select = sqlx::query(AssertSqlSafe(sql));
        for series_id in series {
            select = select.bind(series_id.as_str());
        }
        let mut found = HashMap::new();
        for row in select.fetch_all(&self.pool).await? {
            let series_id: String = row.try_get(0)?;
            let (predictions, anomalies): (i64, i64) = (row.try_get(1)?, row.try_get(2)?);
            let activity = SeriesActivity {
                predictions: predictions.max(0) as u64,
                anomalies: anomalies.max(0) as u64,
                last_predicted_ms: row.try_get(3)?,
            };
            found.insert(series_id, activity);
        }
        Ok(series.iter().map(|id| found.get(id.as_str()).copied().unwrap_or_default()).collect())
    }

    async fn minutes(&self, since_minute: i64) -> Result<Vec<MinuteActivity>, StoreError> {
        let rows = sqlx::query(
            "SELECT minute, predictions, anomalies FROM activity_minutes WHERE minute >= $1 ORDER BY minute",
        )
        .bind(since_minute)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let (predictions, anomalies): (i64, i64) = (row.try_get(1)?, row.try_get(2)?);
                Ok(MinuteActivity {
                    minute: row.try_get(0)?,
                    predictions: predictions.max(0) as u64,
                    anomalies: anomalies.max(0) as u64,
                })
            })
            .collect()
    }
}

fn prediction_from_row(row: &AnyRow) -> Result<PredictionRecord, StoreError> {
    let series_id: String = row.try_get("series_id")?;
    let version: i64 = row.try_get("version")?;
    Ok(PredictionRecord {
        series_id: parse_stored_id(&series_id)?,
        version: to_version(version)?,
        timestamp: row.try_get("ts")?,
        value: row.try_get("value")?,
        score: read_optional_f64(row.try_get("score")?),
        anomaly_score: read_optional_f64(row.try_get("anomaly_score")?),
        // Read as an integer: sqlx's Any driver cannot decode SQLite booleans.
        anomaly: row.try_get::<i64, _>("anomaly")? != 0,
        recorded_at_ms: row.try_get("recorded_at_ms")?,
        label: super::labels::label_from_row(row)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use anomaly_core::ModelVersion;

    fn verdict(series: &str, timestamp: i64, anomaly: bool) -> PredictionRecord {
        PredictionRecord {
            series_id: SeriesId::parse(series).expect("valid"),
            version: ModelVersion::new(1).expect("valid"),
            timestamp,
            value: timestamp as f64,
            score: anomaly.then_some(4.5),
            anomaly_score: Some(if anomaly { 0.6 } else { 0.1 }),
            anomaly,
            recorded_at_ms: 120_000 + timestamp,
            label: None,
        }
    }

    #[tokio::test]
    async fn stores_counts_and_prunes_on_sqlite() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqlModelStore::open_sqlite_file(&dir.path().join("h.db"), 2).await.expect("opened");
        let batch: Vec<_> = (1..=5).map(|t| verdict(if t % 2 == 0 { "b" } else { "a" }, t, t >= 4)).collect();
        store.append(&PredictionBatch::of(batch)).await.expect("appended");

        let query = PredictionQuery { series_id: SeriesId::parse("a").ok(), limit: 10, ..Default::default() };
        let of_a: Vec<_> = store.predictions(&query).await.expect("read").iter().map(|p| p.timestamp).collect();
        assert_eq!(of_a, [5, 3, 1]);
        let anomalies = PredictionQuery { anomalies_only: true, limit: 10, ..Default::default() };
        assert_eq!(store.predictions(&anomalies).await.expect("read"), [verdict("a", 5, true), verdict("b", 4, true)]);

        let ids = [SeriesId::parse("b").expect("valid"), SeriesId::parse("never").expect("valid")];
        let activity = store.series_activity(&ids).await.expect("read");
        assert_eq!(activity[0], SeriesActivity { predictions: 2, anomalies: 1, last_predicted_ms: 120_004 });
        assert_eq!(activity[1], SeriesActivity::default());
        let minutes = store.minutes(0).await.expect("read");
        assert_eq!(minutes, [MinuteActivity { minute: 2, predictions: 5, anomalies: 2 }]);

        let mut counted_only = PredictionBatch::default();
        counted_only.count(&verdict("b", 9, true));
        store.append(&counted_only).await.expect("appended");
        let activity = store.series_activity(&ids[..1]).await.expect("read");
        assert_eq!((activity[0].predictions, activity[0].anomalies), (3, 2), "counted without a row");

        let rows_only = PredictionBatch { rows: vec![verdict("b", 10, false)], ..PredictionBatch::default() };
        store.append(&rows_only).await.expect("appended");
        let activity = store.series_activity(&ids[..1]).await.expect("read");
        assert_eq!(activity[0].predictions, 3, "a row without its count (counted in a later batch)");

        assert_eq!(store.prune(2).await.expect("pruned"), 4);
        let everything = PredictionQuery { limit: 10, ..Default::default() };
        let left: Vec<_> = store.predictions(&everything).await.expect("read").iter().map(|p| p.timestamp).collect();
        assert_eq!(left, [10, 5]);
    }
}
