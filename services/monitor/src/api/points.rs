//! The stream's history as an API: `GET /series/{series_id}/points` (the
//! points the stream judged, with their verdicts, newest first; JSON pages
//! or a streamed CSV) and `GET /series/{series_id}/points/summary` (min,
//! max, mean, count and anomalies per time bucket, computed in the
//! database). A series the stream never judged has no points: both answer
//! 200 with none.

use crate::MonitorState;
use crate::query_params::{check_range, format_param, page_limit};
use anomaly_core::SeriesId;
use anomaly_http::model_description::rfc3339_millis;
use anomaly_http::{ApiError, ApiQuery, ErrorBody, SeriesIdPath};
use anomaly_store::{Buckets, JudgedPoint, PointBucket, PointHistory, PointQuery};
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use std::fmt::Write;
use std::sync::Arc;
use utoipa::ToSchema;

/// Most points a JSON page holds.
const MAX_LIMIT: u32 = 10_000;
/// Rows read per query while a CSV streams.
const CSV_PAGE: u32 = 1000;
/// Most buckets a summary has.
const MAX_BUCKETS: u32 = 2000;

/// Which points to read.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PointsQuery {
    /// Points at or after this Unix second; not after `to` (else 422 `invalid_range`).
    pub from: Option<i64>,
    /// Points at or before this Unix second.
    pub to: Option<i64>,
    /// Values at or above this; finite (else 422 `non_finite_value`).
    pub min_value: Option<f64>,
    /// Values at or below this; finite.
    pub max_value: Option<f64>,
    /// `true`: anomalies only; `false`: the other points only.
    pub anomaly: Option<bool>,
    /// Points per page, 1 to 10000 (default 1000). A CSV holds every
    /// matching point unless it is given.
    #[param(minimum = 1, maximum = 10000)]
    pub limit: Option<u32>,
    /// Points before this Unix second: `next_after` of the previous page.
    pub after: Option<i64>,
    /// `json` (default) or `csv`; `Accept: text/csv` asks for CSV too.
    #[param(pattern = r"^(json|csv)$")]
    pub format: Option<String>,
}

/// One judged point with its verdict.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PointView {
    /// The point's time, Unix seconds.
    pub timestamp: i64,
    /// The point's value.
    pub value: f64,
    /// The detector's score, when judged and finite.
    pub score: Option<f64>,
    /// The graded anomaly score in [0, 1] (0 while warming up; flagged
    /// from 0.5); `null` for points stored before it existed.
    pub anomaly_score: Option<f64>,
    /// The detector's decision.
    pub anomaly: bool,
    /// The detector had not seen enough points to judge yet.
    pub warming_up: bool,
    /// The detector kind that judged it.
    pub detector: String,
    /// The fitted version whose detector judged it; `null`: the stream's default detector.
    #[schema(example = "v3")]
    pub model_version: Option<String>,
    /// When the stream judged it (RFC 3339, UTC).
    pub judged_at: String,
}

impl From<&JudgedPoint> for PointView {
    fn from(point: &JudgedPoint) -> Self {
        Self {
            timestamp: point.timestamp,
            value: point.value,
            score: point.score,
            anomaly_score: point.anomaly_score,
            anomaly: point.anomaly,
            warming_up: point.warming_up,
            detector: point.detector.to_string(),
            model_version: point.version.map(|v| v.to_string()),
            judged_at: rfc3339_millis(point.judged_at_ms),
        }
    }
}

/// One page of points, newest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PointsPage {
    /// The points.
    pub points: Vec<PointView>,
    /// Pass as `after` for the next page; `null` on the last page.
    pub next_after: Option<i64>,
}

/// The points the stream judged of one series, with their verdicts, newest
/// first. JSON pages by default; CSV (`timestamp,value,score,anomaly,
/// warming_up,detector,model_version,judged_at`), streamed, with
/// `Accept: text/csv` or `?format=csv`.
#[utoipa::path(
    get,
    path = "/series/{series_id}/points",
    tag = "monitor",
    params(anomaly_http::SeriesIdParam, PointsQuery),
    responses(
        (status = 200, description = "The points (none for a series never streamed)", body = PointsPage,
         content_type = "application/json"),
        (status = 200, description = "The points as CSV", body = String, content_type = "text/csv"),
        (status = 422, description = "Invalid series id, range, bound, limit or format", body = ErrorBody),
        (status = 503, description = "A storage dependency is down", body = ErrorBody),
    )
)]
pub async fn series_points(
    State(state): State<MonitorState>,
    SeriesIdPath(series_id): SeriesIdPath,
    ApiQuery(params): ApiQuery<PointsQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let csv = wants_csv(params.format.as_deref(), &headers)?;
    let mut query = point_query(series_id, &params)?;
    let history = state.backends.stream_points.clone();
    if csv {
        let limit = params.limit.map(|_| query.limit);
        return Ok(csv_response(history, query, limit));
    }
    query.limit += 1;
    let mut points = history.points(&query).await?;
    let more = points.len() > (query.limit - 1) as usize;
    points.truncate((query.limit - 1) as usize);
    let next_after = more.then(|| points.last().map(|p| p.timestamp)).flatten();
    Ok(Json(PointsPage { points: points.iter().map(PointView::from).collect(), next_after }).into_response())
}

/// Whether the answer is CSV: `format` wins, then `Accept`.
fn wants_csv(format: Option<&str>, headers: &HeaderMap) -> Result<bool, ApiError> {
    match format_param(format, ["json", "csv"])? {
        Some(chosen) => Ok(chosen == "csv"),
        None => Ok(headers
            .get(header::ACCEPT)
            .and_then(|accept| accept.to_str().ok())
            .is_some_and(|accept| accept.split(',').any(|part| part.trim().starts_with("text/csv")))),
    }
}

/// The store query `params` ask for, checked.
fn point_query(series_id: SeriesId, params: &PointsQuery) -> Result<PointQuery, ApiError> {
    check_range(params.from, params.to)?;
    for (name, bound) in [("min_value", params.min_value), ("max_value", params.max_value)] {
        if bound.is_some_and(|b| !b.is_finite()) {
            return Err(ApiError::BadRequest {
                code: "non_finite_value",
                message: format!("{name} must be a finite number"),
            });
        }
    }
    Ok(PointQuery {
        series_id,
        from: params.from,
        to: params.to,
        min_value: params.min_value,
        max_value: params.max_value,
        anomaly: params.anomaly,
        before: params.after,
        limit: page_limit(params.limit, 1000, MAX_LIMIT)?,
    })
}

/// The CSV header line.
const CSV_HEADER: &str = "timestamp,value,score,anomaly,warming_up,detector,model_version,judged_at\n";

/// A CSV of the points `query` matches (at most `limit`), read a page at
/// a time as the client takes it. An error after the first byte ends the
/// body early (the client sees a cut transfer, not a partial file taken
/// for whole).
fn csv_response(history: Arc<dyn PointHistory>, query: PointQuery, limit: Option<u32>) -> Response {
    let cursor = CsvCursor { history, query, left: limit.map_or(u64::MAX, u64::from), started: false, done: false };
    let pages = futures::stream::try_unfold(cursor, |mut cursor| async move {
        if cursor.done {
            return Ok::<_, ApiError>(None);
        }
        cursor.query.limit = CSV_PAGE.min(u32::try_from(cursor.left).unwrap_or(u32::MAX));
        let points = cursor.history.points(&cursor.query).await?;
        let mut text = String::with_capacity(points.len() * 64 + CSV_HEADER.len());
        if !cursor.started {
            text.push_str(CSV_HEADER);
            cursor.started = true;
        }
        for point in &points {
            write_csv_row(&mut text, point);
        }
        cursor.left -= points.len() as u64;
        cursor.done = points.len() < cursor.query.limit as usize || cursor.left == 0;
        cursor.query.before = points.last().map(|p| p.timestamp).or(cursor.query.before);
        Ok(Some((text, cursor)))
    });
    ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], Body::from_stream(pages)).into_response()
}

/// Where a streaming CSV is: the next page's query and what is left.
struct CsvCursor {
    history: Arc<dyn PointHistory>,
    query: PointQuery,
    left: u64,
    started: bool,
    done: bool,
}

fn write_csv_row(text: &mut String, point: &JudgedPoint) {
    let _ = write!(text, "{},{:?},", point.timestamp, point.value);
    if let Some(score) = point.score {
        let _ = write!(text, "{score:?}");
    }
    let version = point.version.map(|v| v.to_string()).unwrap_or_default();
    let _ = writeln!(
        text,
        ",{},{},{},{version},{}",
        point.anomaly,
        point.warming_up,
        point.detector,
        rfc3339_millis(point.judged_at_ms)
    );
}

/// The time range and bucket count of a summary.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SummaryQuery {
    /// The first Unix second (default: the series' first stored point).
    pub from: Option<i64>,
    /// The last Unix second (default: its last stored point); not before `from`.
    pub to: Option<i64>,
    /// Buckets of equal width over the range, 1 to 2000 (default 500).
    #[param(minimum = 1, maximum = 2000)]
    pub buckets: Option<u32>,
}

/// The points of one time bucket.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BucketView {
    /// Its first Unix second.
    pub from: i64,
    /// Its last Unix second.
    pub to: i64,
    /// Points in it.
    pub count: u64,
    /// Their lowest value.
    pub min: f64,
    /// Their highest value.
    pub max: f64,
    /// Their mean.
    pub mean: f64,
    /// Of which anomalous.
    pub anomalies: u64,
}

impl From<&PointBucket> for BucketView {
    fn from(bucket: &PointBucket) -> Self {
        Self {
            from: bucket.from,
            to: bucket.to,
            count: bucket.count,
            min: bucket.min,
            max: bucket.max,
            mean: bucket.mean,
            anomalies: bucket.anomalies,
        }
    }
}

/// A series' points summarised per time bucket.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PointSummary {
    /// The series.
    pub series_id: String,
    /// The first Unix second summarised (`null` when nothing is stored and none was asked).
    pub from: Option<i64>,
    /// The last Unix second summarised.
    pub to: Option<i64>,
    /// The buckets holding points, oldest first (empty ones are left out).
    pub buckets: Vec<BucketView>,
}

/// The stream's points of one series per time bucket (count, min, max,
/// mean, anomalies), computed in the database: a chart of any range
/// without shipping every point.
#[utoipa::path(
    get,
    path = "/series/{series_id}/points/summary",
    tag = "monitor",
    params(anomaly_http::SeriesIdParam, SummaryQuery),
    responses(
        (status = 200, description = "The buckets (none for a series never streamed)", body = PointSummary),
        (status = 422, description = "Invalid series id, range or bucket count", body = ErrorBody),
        (status = 503, description = "A storage dependency is down", body = ErrorBody),
    )
)]
pub async fn point_summary(
    State(state): State<MonitorState>,
    SeriesIdPath(series_id): SeriesIdPath,
    ApiQuery(params): ApiQuery<SummaryQuery>,
) -> Result<Json<PointSummary>, ApiError> {
    let summary = summarise(state.backends.stream_points.as_ref(), series_id, &params).await?;
    Ok(Json(summary))
}

/// The summary `params` ask for (the series page draws its chart from it).
pub(crate) async fn summarise(
    history: &dyn PointHistory,
    series_id: SeriesId,
    params: &SummaryQuery,
) -> Result<PointSummary, ApiError> {
    check_range(params.from, params.to)?;
    let count = params.buckets.unwrap_or(500);
    if !(1..=MAX_BUCKETS).contains(&count) {
        return Err(ApiError::BadRequest {
            code: "invalid_limit",
            message: format!("buckets must be from 1 to {MAX_BUCKETS}; got {count}"),
        });
    }
    let stored =
        if params.from.is_none() || params.to.is_none() { history.point_range(&series_id).await? } else { None };
    let from = params.from.or(stored.map(|s| s.0));
    let to = params.to.or(stored.map(|s| s.1));
    let buckets = match (from, to) {
        (Some(from), Some(to)) if from <= to => history
            .point_summary(&series_id, Buckets::over(from, to, count))
            .await?
            .iter()
            .map(BucketView::from)
            .collect(),
        _ => Vec::new(),
    };
    Ok(PointSummary { series_id: series_id.to_string(), from, to, buckets })
}
