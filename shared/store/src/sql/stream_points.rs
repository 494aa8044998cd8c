//! [`PointHistory`] on the database: the `stream_points` table, written in
//! bulk inside the stream's commit ([`SqlModelStore::write_points`]),
//! read newest first by series and time, summarised per bucket with
//! `GROUP BY`, and kept for the retention period.
//!
//! On PostgreSQL a row is a block: the points of one series one batch
//! judged (with one detector and version), in arrays, indexed by series and
//! the block's last time (see migration 0018); reads pick blocks by their
//! time range and unnest them. The table is partitioned by the day the
//! points were judged (`stream_points_d<Unix day>`), created ahead and
//! dropped whole. On SQLite a row is a point, and old rows are deleted in
//! chunks.

use super::SqlModelStore;
use super::statements::{RowsStatement, optional_f64, read_optional_f64};
use super::stream::optional_version;
use crate::StoreError;
use crate::ports::stream_points::{Buckets, JudgedPoint, PointBucket, PointHistory, PointQuery, unix_day};
use anomaly_core::SeriesId;
use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::{Any, AssertSqlSafe, Row, Transaction};
use std::borrow::Cow;
use std::fmt::Write;
use std::sync::PoisonError;

/// Blocks one PostgreSQL insert writes (as arrays).
const BLOCKS_PER_INSERT: usize = 5_000;

/// The points of one series a batch judged with one detector and version,
/// in judging (and so time) order.
type Block<'a> = Vec<&'a JudgedPoint>;

/// `points` cut into blocks, each series' in the order its points came,
/// sorted by series and time (index order: neighbouring rows land on the
/// same index pages).
fn blocks(points: &[JudgedPoint]) -> Vec<Block<'_>> {
    let mut index: std::collections::HashMap<(&str, &str, i64, i64), usize> = std::collections::HashMap::new();
    let mut blocks: Vec<Block<'_>> = Vec::new();
    for point in points {
        let key = (
            point.series_id.as_str(),
            point.detector.as_ref(),
            point.version.map_or(0, |v| i64::from(v.number())),
            point.judged_at_ms,
        );
        let at = *index.entry(key).or_insert_with(|| {
            blocks.push(Vec::new());
            blocks.len() - 1
        });
        blocks[at].push(point);
    }
    blocks.sort_unstable_by(|a, b| {
        (a[0].series_id.as_str(), a[0].timestamp).cmp(&(b[0].series_id.as_str(), b[0].timestamp))
    });
    blocks
}

/// The thirteen columns of blocks as PostgreSQL array literals, in the
/// order of the insert: seven of one value per block, then six whose
/// elements are the blocks' own arrays, written as quoted array literals
/// (`{"{1,2}","{3}"}`, cast to arrays row by row). Series ids and detector
/// kinds need no quoting (letters, digits and `._:-` only); a missing
/// score or anomaly score is `NULL`.
struct BlockColumns([String; 13]);

impl BlockColumns {
    fn of(blocks: &[Block<'_>]) -> Self {
        let points: usize = blocks.iter().map(Vec::len).sum();
        let mut columns: [String; 13] = Default::default();
        for (index, column) in columns.iter_mut().enumerate() {
            column.reserve(if index < 7 { blocks.len() * 12 } else { points * 8 + blocks.len() * 4 });
            column.push('{');
        }
        for (row, block) in blocks.iter().enumerate() {
            if row > 0 {
                columns.iter_mut().for_each(|column| column.push(','));
            }
            let (first, last) = (block[0], block[block.len() - 1]);
            let [series, first_ts, last_ts, count, detector, version, judged_at, arrays @ ..] = &mut columns;
            series.push_str(first.series_id.as_str());
            let _ = write!(first_ts, "{}", first.timestamp);
            let _ = write!(last_ts, "{}", last.timestamp);
            let _ = write!(count, "{}", block.len());
            detector.push_str(&first.detector);
            let _ = write!(version, "{}", first.version.map_or(0, |v| v.number()));
            let _ = write!(judged_at, "{}", first.judged_at_ms);
            for array in arrays.iter_mut() {
                array.push_str("\"{");
            }
            for (i, point) in block.iter().enumerate() {
                if i > 0 {
                    arrays.iter_mut().for_each(|array| array.push(','));
                }
                let [ts, value, score, anomaly_score, anomaly, warming_up] = arrays;
                let _ = write!(ts, "{}", point.timestamp);
                let _ = write!(value, "{:?}", point.value);
                push_optional(score, point.score);
                push_optional(anomaly_score, point.anomaly_score);
                anomaly.push(if point.anomaly { 't' } else { 'f' });
                warming_up.push(if point.warming_up { 't' } else { 'f' });
            }
            for array in arrays.iter_mut() {
                array.push_str("}\"");
            }
        }
        columns.iter_mut().for_each(|column| column.push('}'));
        Self(columns)
    }
}

/// Appends `value` to an array literal: the number, or `NULL` when it is
/// missing or not finite.
fn push_optional(column: &mut String, value: Option<f64>) {
    match value {
        Some(v) if v.is_finite() => {
            let _ = write!(column, "{v:?}");
        }
        _ => column.push_str("NULL"),
    }
}

/// The points of the blocks `b`, one row each, as the row layout names its
/// columns (PostgreSQL).
const UNNESTED: &str = "stream_points b CROSS JOIN LATERAL unnest(b.ts, b.value, b.score, b.anomaly_score, \
     b.anomaly, b.warming_up) AS p(ts, value, score, anomaly_score, anomaly, warming_up)";

/// Rows one retention statement deletes on SQLite: small enough that the
/// stream's commits wait for it only briefly.
const DELETE_CHUNK: i64 = 5_000;
/// The name of the partition of points judged on Unix day `day`.
fn partition_name(day: i64) -> String {
    format!("stream_points_d{day}")
}

/// Values are summed divided by this (and the mean multiplied back): a sum
/// of values near `f64::MAX` would overflow, which PostgreSQL refuses (its
/// `AVG` of doubles sums squares too, so it is not used). Values below
/// 1e-290 count as 0 in the sum, as dividing them would underflow, which
/// PostgreSQL refuses as well; they move no mean a chart could show.
const MEAN_SCALE: f64 = 1e10;

impl SqlModelStore {
    /// Inserts `points` in `tx`: on PostgreSQL as blocks (one row per
    /// series, detector and version), thirteen arrays a statement
    /// (`unnest`); on SQLite many rows a statement.
    pub(crate) async fn write_points(
        &self,
        tx: &mut Transaction<'_, Any>,
        points: &[JudgedPoint],
    ) -> Result<(), StoreError> {
        if self.backend == "postgres" {
            for chunk in blocks(points).chunks(BLOCKS_PER_INSERT) {
                let columns = BlockColumns::of(chunk);
                let mut insert = sqlx::query(
                    "INSERT INTO stream_points (series_id, first_ts, last_ts, points, detector, version, judged_at_ms, \
                     ts, value, score, anomaly_score, anomaly, warming_up) \
                     SELECT s, f, l, n, d, v, j, CAST(t AS BIGINT[]), CAST(x AS DOUBLE PRECISION[]), \
                     CAST(sc AS DOUBLE PRECISION[]), CAST(a AS DOUBLE PRECISION[]), CAST(an AS BOOLEAN[]), \
                     CAST(w AS BOOLEAN[]) FROM unnest(CAST($1 AS TEXT[]), CAST($2 AS BIGINT[]), CAST($3 AS BIGINT[]), \
                     CAST($4 AS INTEGER[]), CAST($5 AS TEXT[]), CAST($6 AS BIGINT[]), CAST($7 AS BIGINT[]), \
                     CAST($8 AS TEXT[]), CAST($9 AS TEXT[]), CAST($10 AS TEXT[]), CAST($11 AS TEXT[]), \
                     CAST($12 AS TEXT[]), CAST($13 AS TEXT[])) AS u(s, f, l, n, d, v, j, t, x, sc, a, an, w)",
                );
                for column in columns.0 {
                    insert = insert.bind(column);
                }
                insert.execute(&mut **tx).await?;
            }
            return Ok(());
        }
        let insert = RowsStatement {
            head: "INSERT INTO stream_points (series_id, ts, value, score, anomaly_score, anomaly, warming_up, detector, \
                   version, judged_at_ms) VALUES ",
            columns: 10,
            tail: "",
        };
        self.insert_rows(tx, insert, points, |insert, point| {
            insert
                .bind(point.series_id.as_str())
                .bind(point.timestamp)
                .bind(point.value)
                .bind(optional_f64(point.score))
                .bind(optional_f64(point.anomaly_score))
                .bind(point.anomaly)
                .bind(point.warming_up)
                .bind(point.detector.as_ref())
                .bind(point.version.map_or(0, |v| i64::from(v.number())))
                .bind(point.judged_at_ms)
        })
        .await
    }

    /// Makes sure `points` can be stored: on PostgreSQL the partitions of
    /// the days they were judged on exist, and the next day's too (made
    /// ahead, so a batch just after midnight does not wait for it). Each
    /// day is created once per process; a no-op on SQLite.
    pub(crate) async fn prepare_point_days(&self, points: &[JudgedPoint]) -> Result<(), StoreError> {
        let (Some(first), Some(last)) = (points.first(), points.last()) else { return Ok(()) };
        if self.backend != "postgres" {
            return Ok(());
        }
        let known = |day: &i64| self.point_days.lock().unwrap_or_else(PoisonError::into_inner).contains(day);
        let days = unix_day(first.judged_at_ms)..=unix_day(last.judged_at_ms) + 1;
        let missing: Vec<i64> = days.filter(|day| !known(day)).collect();
        if missing.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        // One process at a time: two creating the same partition would collide.
        sqlx::query("SELECT CAST(pg_advisory_xact_lock(8318) AS TEXT)").execute(&mut *tx).await?;
        for &day in &missing {
            let create = format!(
                "CREATE TABLE IF NOT EXISTS {} PARTITION OF stream_points FOR VALUES FROM ({}) TO ({})",
                partition_name(day),
                day * 86_400_000,
                (day + 1) * 86_400_000
            );
            sqlx::query(AssertSqlSafe(create)).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        self.point_days.lock().unwrap_or_else(PoisonError::into_inner).extend(missing);
        Ok(())
    }

    /// The partitions of `stream_points` by their Unix day.
    async fn point_partitions(&self) -> Result<Vec<i64>, StoreError> {
        let rows = sqlx::query(
            "SELECT CAST(c.relname AS TEXT) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
             JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'stream_points'",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut days = Vec::with_capacity(rows.len());
        for row in rows {
            let name: String = row.try_get(0)?;
            if let Some(day) = name.strip_prefix("stream_points_d").and_then(|d| d.parse().ok()) {
                days.push(day);
            }
        }
        Ok(days)
    }
}

#[async_trait]
impl PointHistory for SqlModelStore {
    async fn points(&self, query: &PointQuery) -> Result<Vec<JudgedPoint>, StoreError> {
        let postgres = self.backend == "postgres";
        let mut sql = String::from(if postgres {
            "SELECT b.series_id, p.ts, p.value, p.score, p.anomaly_score, \
             CAST(CASE WHEN p.anomaly THEN 1 ELSE 0 END AS BIGINT) AS anomaly, \
             CAST(CASE WHEN p.warming_up THEN 1 ELSE 0 END AS BIGINT) AS warming_up, b.detector, b.version, \
             b.judged_at_ms"
        } else {
            "SELECT series_id, ts, value, score, anomaly_score, CAST(CASE WHEN anomaly THEN 1 ELSE 0 END AS BIGINT) AS anomaly, \
             CAST(CASE WHEN warming_up THEN 1 ELSE 0 END AS BIGINT) AS warming_up, detector, version, judged_at_ms"
        });
        let (table, block, point) = if postgres { (UNNESTED, "b.", "p.") } else { ("stream_points", "", "") };
        let _ = write!(sql, " FROM {table} WHERE {block}series_id = ");
        self.push_placeholder(&mut sql, 1);
        // On PostgreSQL each time bound picks the blocks by their range
        // too, with the same parameter; SQLite binds one per placeholder.
        let bounds = [
            (query.from.is_some(), "b.last_ts >=", "ts >="),
            (query.to.is_some(), "b.first_ts <=", "ts <="),
            (query.before.is_some(), "b.first_ts <", "ts <"),
            (query.min_value.is_some(), "", "value >="),
            (query.max_value.is_some(), "", "value <="),
        ];
        for (number, (_, blocks, points)) in (2..).zip(bounds.into_iter().filter(|(present, ..)| *present)) {
            if postgres && !blocks.is_empty() {
                let _ = write!(sql, " AND {blocks} ");
                self.push_placeholder(&mut sql, number);
            }
            let _ = write!(sql, " AND {point}{points} ");
            self.push_placeholder(&mut sql, number);
        }
        match query.anomaly {
            Some(true) => {
                let _ = write!(sql, " AND {point}anomaly");
            }
            Some(false) => {
                let _ = write!(sql, " AND NOT {point}anomaly");
            }
            None => {}
        }
        // A series' blocks hold disjoint, ascending ranges: newest block first, then its newest point.
        let order = if postgres { "b.first_ts DESC, p.ts DESC" } else { "ts DESC" };
        let _ = write!(sql, " ORDER BY {order} LIMIT {}", query.limit);
        let mut select = sqlx::query(AssertSqlSafe(sql)).bind(query.series_id.as_str());
        for bound in [query.from, query.to, query.before].into_iter().flatten() {
            select = select.bind(bound);
        }
        for bound in [query.min_value, query.max_value].into_iter().flatten() {
            select = select.bind(bound);
        }
        select.fetch_all(&self.pool).await?.iter().map(point_from_row).collect()
    }

    async fn point_range(&self, series_id: &SeriesId) -> Result<Option<(i64, i64)>, StoreError> {
        let sql = if self.backend == "postgres" {
            "SELECT MIN(first_ts), MAX(last_ts) FROM stream_points WHERE series_id = $1"
        } else {
            "SELECT MIN(ts), MAX(ts) FROM stream_points WHERE series_id = $1"
        };
        let row = sqlx::query(sql).bind(series_id.as_str()).fetch_one(&self.pool).await?;
        let (first, last): (Option<i64>, Option<i64>) = (row.try_get(0)?, row.try_get(1)?);
        Ok(first.zip(last))
    }

    async fn point_summary(&self, series_id: &SeriesId, buckets: Buckets) -> Result<Vec<PointBucket>, StoreError> {
        let sql = if self.backend == "sqlite" {
            "SELECT (ts - ?) / ? AS bucket, COUNT(*), MIN(value), MAX(value), SUM(CASE WHEN ABS(value) < 1e-290 THEN 0.0 ELSE value / ? END), \
             SUM(CASE WHEN anomaly THEN 1 ELSE 0 END) FROM stream_points \
             WHERE series_id = ? AND ts >= ? AND ts <= ? GROUP BY bucket ORDER BY bucket"
        } else {
            "SELECT (p.ts - $1) / $2 AS bucket, CAST(COUNT(*) AS BIGINT), MIN(p.value), MAX(p.value), \
             SUM(CASE WHEN ABS(p.value) < 1e-290 THEN 0.0 ELSE p.value / $3 END), \
             CAST(SUM(CASE WHEN p.anomaly THEN 1 ELSE 0 END) AS BIGINT) FROM stream_points b \
             CROSS JOIN LATERAL unnest(b.ts, b.value, b.anomaly) AS p(ts, value, anomaly) \
             WHERE b.series_id = $4 AND b.last_ts >= $5 AND b.first_ts <= $6 AND p.ts >= $5 AND p.ts <= $6 \
             GROUP BY bucket ORDER BY bucket"
        };
        let mut select =
            sqlx::query(sql).bind(buckets.from).bind(buckets.width).bind(MEAN_SCALE).bind(series_id.as_str());
        select = select.bind(buckets.from).bind(buckets.to);
        let rows = select.fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| {
                let (from, to) = buckets.bounds(row.try_get(0)?);
                let (min, max): (f64, f64) = (row.try_get(2)?, row.try_get(3)?);
                let count = row.try_get::<i64, _>(1)?.max(1) as u64;
                let mean = (row.try_get::<f64, _>(4)? / count as f64 * MEAN_SCALE).clamp(min, max);
                Ok(PointBucket { from, to, count, min, max, mean, anomalies: row.try_get::<i64, _>(5)?.max(0) as u64 })
            })
            .collect()
    }

    async fn drop_points_before(&self, first_kept_day: i64) -> Result<u64, StoreError> {
        if self.backend == "sqlite" {
            let mut deleted = 0;
            loop {
                let gone = sqlx::query(
                    "DELETE FROM stream_points WHERE rowid IN \
                     (SELECT rowid FROM stream_points WHERE judged_at_ms < ? LIMIT ?)",
                )
                .bind(first_kept_day.saturating_mul(86_400_000))
                .bind(DELETE_CHUNK)
                .execute(&self.pool)
                .await?
                .rows_affected();
                deleted += gone;
                if gone < DELETE_CHUNK as u64 {
                    return Ok(deleted);
                }
                tokio::task::yield_now().await;
            }
        }
        let mut dropped = 0;
        for day in self.point_partitions().await? {
            if day < first_kept_day {
                let drop = format!("DROP TABLE IF EXISTS {}", partition_name(day));
                sqlx::query(AssertSqlSafe(drop)).execute(&self.pool).await?;
                self.point_days.lock().unwrap_or_else(PoisonError::into_inner).remove(&day);
                dropped += 1;
            }
        }
        Ok(dropped)
    }
}

/// A stored point from its row.
fn point_from_row(row: &AnyRow) -> Result<JudgedPoint, StoreError> {
    let series_id: String = row.try_get("series_id")?;
    let version: i64 = row.try_get("version")?;
    let detector: String = row.try_get("detector")?;
    Ok(JudgedPoint {
        series_id: SeriesId::parse(&series_id).map_err(|_| StoreError::Corrupt(format!("series id {series_id:?}")))?,
        timestamp: row.try_get("ts")?,
        value: row.try_get("value")?,
        score: read_optional_f64(row.try_get("score")?),
        anomaly_score: read_optional_f64(row.try_get("anomaly_score")?),
        anomaly: row.try_get::<i64, _>("anomaly")? != 0,
        warming_up: row.try_get::<i64, _>("warming_up")? != 0,
        detector: Cow::Owned(detector),
        version: optional_version(version)?,
        judged_at_ms: row.try_get("judged_at_ms")?,
    })
}
